"""`kb serve --production`'s scanner: one process of the machine looks for edits made by hand or by git.

Without it, the workers take turns (kb.web.content_store): a background thread of one of them
scans the files and re-indexes what changed, in a process whose threads serve pages — they share
one interpreter lock, and a `git pull` of 100 files took 1.8 s to scan there instead of 0.9 s,
then as long again to index while readers waited. This process does both beside the workers,
every CONTENT_RECHECK_SECONDS; the workers follow the catalog's change log as for any
publication (kb.web.follower) and find the files indexed already. Should this process die, the
workers' own scanning takes over (they scan when nobody has for a few periods:
kb.web.content_store.SCANNER_LATE), so hand edits are never left unseen.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from pathlib import Path
from typing import Any

from kb.catalog.update import EVERYTHING, Catalog
from kb.config import logs
from kb.config.settings import publish_lock_path
from kb.search.index import SearchIndex
from kb.store.db import first_line, make_engine

log = logging.getLogger(__name__)

# How long a round waits for the index's writer (a publication re-indexing): then the next round tries again.
INDEX_WAIT_SECONDS = 2.0


def start(values: dict[str, Any]):
    """The scanner, running in a child of this process (stopped with `stop`)."""
    context = multiprocessing.get_context("fork")
    stopping = context.Event()
    process = context.Process(target=_scan_forever, args=(values, stopping, os.getpid()), name="kb-scanner", daemon=True)
    process.start()
    process.stopping = stopping
    return process


def stop(process) -> None:
    process.stopping.set()
    process.join(10)
    if process.is_alive():
        process.kill()
        process.join(5)


def _scan_forever(values: dict[str, Any], stopping, parent: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the server stops this process itself
    logs.configure(values.get("LOG_FORMAT") or "text", values.get("LOG_LEVEL") or "INFO")
    period = float(values["CONTENT_RECHECK_SECONDS"])
    engine = make_engine(values["DATABASE_URL"])
    scanner = Scanner(
        Catalog(engine, Path(values["CONTENT_DIR"]), publish_lock_path(values)),
        SearchIndex(Path(values["INDEX_DIR"]), Path(values["CONTENT_DIR"])),
    )
    log.info(
        "fichiers modifiés à la main ou par git : cherchés toutes les %g s par ce processus (pid %d)", period, os.getpid(),
        extra={"event": "scanner.start", "fields": {"pid": os.getpid(), "seconds": period}},
    )  # fmt: skip
    try:
        while not stopping.wait(period):
            if os.getppid() != parent:
                return  # the server is gone (killed): nobody to scan for
            scanner.round(period)
    finally:
        engine.dispose()


class Scanner:
    """A round: the files changed on disk into the catalog (and its change log), then into the index."""

    def __init__(self, catalog: Catalog, index: SearchIndex):
        self.catalog = catalog
        self.index = index
        self.pending: set[str] = set()  # changed, not indexed yet (the index's writer was busy)

    def round(self, every: float = 0.0) -> list[str]:
        """One look; the keys it changed. Never raises: a failed round is done again at the next."""
        # The index's writer first: the workers hear of the changes as soon as the scan commits them
        # and would each try to index them at a request's start; finding it held, they leave it here.
        writer = self.index.writer_if_free()
        try:
            try:
                report = self.catalog.scan(every)
            except Exception as error:  # noqa: BLE001 — a database hiccup: the next round looks again
                log.warning("recherche des fichiers modifiés impossible : %s", first_line(error))
                return []
            if report.changed:
                log.info(
                    "fichiers modifiés sur le disque : %s", ", ".join(report.changed[:20]),
                    extra={"event": "catalog.scan", "fields": {"changed": len(report.changed), "seconds": round(report.seconds, 3)}},
                )  # fmt: skip
                self.pending.update(report.changed)
            if self.pending:
                self._index(sorted(self.pending), writer)
                writer = None  # committed or cancelled by catch_up
        finally:
            if writer is not None:
                writer.cancel()
        if not report.changed and not self.pending and not report.skipped:
            self._merge()
        return report.changed

    def _index(self, keys: list[str], writer) -> None:
        try:
            if EVERYTHING in keys:
                if writer is not None:
                    writer.cancel()  # a rebuild of everything takes the writer itself
                indexed = self.index.sync()
            else:
                indexed = self.index.catch_up(keys, timeout=INDEX_WAIT_SECONDS, writer=writer)
        except Exception as error:  # noqa: BLE001 — the workers index what they follow anyway
            log.warning("réindexation de %d fichier(s) remise à plus tard : %s", len(keys), first_line(error))
            if writer is not None:
                _cancel_quietly(writer)  # an error before the writing began leaves it open
            return
        if not indexed.skipped:
            self.pending.difference_update(keys)

    def _merge(self) -> None:
        """Between rounds with nothing to index: the index's larger merges (kb.search.merging)."""
        try:
            merged = self.index.merge_when_due()
        except Exception as error:  # noqa: BLE001 — the index stays as it is, merged at a later round
            log.warning("fusion des segments de l'index remise à plus tard : %s", first_line(error))
            return
        if merged:
            log.info("index : %d segments fusionnés", merged, extra={"event": "index.merge", "fields": {"segments": merged}})


def _cancel_quietly(writer) -> None:
    try:
        writer.cancel()
    except Exception:  # noqa: BLE001 — cancelled or committed already
        pass
