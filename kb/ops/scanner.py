"""`kb serve --production`'s scanner: one process of the machine looks for edits made by hand or by git.

Without it, the workers take turns (kb.web.content_store): a background thread of one of them
scans the files and re-indexes what changed, in a process whose threads serve pages — they share
one interpreter lock, and a `git pull` of 100 files took 1.8 s to scan there instead of 0.9 s,
then as long again to index while readers waited. This process does both beside the workers,
every CONTENT_RECHECK_SECONDS; the workers follow the catalog's change log as for any
publication (kb.web.follower) and find the files indexed already. Should this process die, the
workers' own scanning takes over (they scan when nobody has for a few periods:
kb.web.content_store.SCANNER_LATE), so hand edits are never left unseen.

The same process draws again, right after each change, the pages readers asked for that the
change made stale (kb.web.page_drawer), in a thread with an app of its own: the workers take the
copies rather than drawing them between two requests.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from kb.catalog.update import EVERYTHING, Catalog
from kb.config import logs, settings
from kb.ops import collector
from kb.config.settings import publish_lock_path
from kb.search.index import SearchIndex
from kb.store.db import first_line, make_engine

log = logging.getLogger(__name__)

# How long a round waits for the index's writer (a publication re-indexing): then the next round tries again.
INDEX_WAIT_SECONDS = 2.0
# After a round that found files changed, how soon the next one looks (see next_look).
AGAIN_SECONDS = 0.1


# The server's settings are handed to the scanner as JSON in its environment (never on its command
# line: the database URL may hold a password): its page drawer makes the app the workers make.
ENVIRONMENT_KEY = "KB_SCANNER_SETTINGS"


def start(values: dict[str, Any]) -> subprocess.Popen:
    """The scanner, in a process of its own (stopped with `stop`; gone by itself if this process dies).

    A new interpreter, not a fork: gunicorn forks its workers from this process, and a worker that
    inherited a multiprocessing child would, at its exit, signal and wait for a process not its own.
    """
    given = {name: values[name] for name in settings.BY_NAME}
    environment = {**os.environ, ENVIRONMENT_KEY: json.dumps({**given, "parent": os.getpid()}, default=str)}
    return subprocess.Popen([sys.executable, "-m", "kb.ops.scanner"], env=environment, stdin=subprocess.DEVNULL)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def main() -> None:
    """`python -m kb.ops.scanner`, as `start` runs it."""
    values = json.loads(os.environ[ENVIRONMENT_KEY])
    # Ctrl-C reaches the whole group: the server stops this process itself. SIGTERM ends a round
    # at once: the catalog's transaction and the index's writer are given up, nothing half-written.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(0))
    scan_forever(values, int(values["parent"]))


def scan_forever(values: dict[str, Any], parent: int) -> None:
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
    drawing, rounds, every = None, 0, period
    try:
        while os.getppid() == parent:  # else the server is gone (killed): nobody to scan for
            changed = scanner.round(every)
            rounds += 1
            if rounds == 1:
                # After the first round has stamped the machine's scan: the workers must not take
                # this process for late while it makes the drawer's app (seconds at 10,000 promises).
                drawing = _start_drawing(values)
            every, wait = next_look(bool(changed), period)
            time.sleep(wait)
    finally:
        if drawing is not None:
            drawing.set()
        engine.dispose()


def next_look(changed: bool, period: float) -> tuple[float, float]:
    """(the least time since the machine's last scan, the wait) before the next round.

    Files found moving are looked at again soon, whoever scanned last: a `git pull` or a copy of many
    files is often still writing when a round comes. Under `kb bench-live`, 100 files edited by hand
    were found by two rounds 3 s apart (the first one's indexing, then a whole period), and were live
    after 3 to 5.8 s against a target of 5.
    """
    return (0.0, AGAIN_SECONDS) if changed else (period, period)


def _start_drawing(values: dict[str, Any]) -> threading.Event | None:
    """The page drawer's thread (kb.web.page_drawer), unless PREDRAW_PAGES is 0; the event that stops it."""
    most = int(values.get("PREDRAW_PAGES") or 0)
    if not most:
        return None
    stop = threading.Event()
    threading.Thread(target=_draw, args=(values, most, stop), name="kb-page-drawer", daemon=True).start()
    return stop


def _draw(values: dict[str, Any], most: int, stop: threading.Event) -> None:
    """The drawer's thread: its app is made here, beside the scanner's rounds, not before them."""
    try:
        from kb.web import create_app, page_drawer  # only here: the scanner alone needs no web application

        given = {name: value for name, value in values.items() if name in settings.BY_NAME}
        app = create_app({**given, "PRODUCTION": True, "CONTENT_SCANNER": "process"})
        drawer = page_drawer.PageDrawer(app, most, float(app.config["PREDRAW_LEAST_MS"]))
    except Exception as error:  # noqa: BLE001 — the workers draw the pages themselves: the scanning goes on
        log.warning("pages non redessinées par ce processus : %s", first_line(error))
        return
    collector.start()  # its app's rows and columns out of the collector's full passes, as in a worker (kb.ops.collector)
    log.info(
        "pages redessinées après chaque changement par ce processus (%d au plus)", most,
        extra={"event": "drawer.start", "fields": {"pid": os.getpid(), "most": most}},
    )  # fmt: skip
    page_drawer.draw_forever(drawer, stop)


class Scanner:
    """A round: the files changed on disk into the catalog (and its change log), then into the index."""

    def __init__(self, catalog: Catalog, index: SearchIndex):
        self.catalog = catalog
        self.index = index
        self.pending: set[str] = set()  # changed, not indexed yet (the index's writer was busy)

    def round(self, every: float = 0.0) -> list[str]:
        """One look; the keys it changed. Never raises: a failed round is done again at the next."""
        # The index's writer before the scan commits changes: the workers hear of them as soon as it
        # has, and would each try to index them at a request's start; finding it held, they leave it
        # here. Taken only when files moved: held at every round, it kept publications waiting.
        taken: list = []
        try:
            try:
                report = self.catalog.scan(every, before_changes=lambda: taken.append(self.index.writer_if_free()))
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
                self._index(sorted(self.pending), taken.pop() if taken else None)  # committed or cancelled there
        finally:
            for writer in taken:
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


if __name__ == "__main__":
    from kb.ops import scanner  # this file again, under its own name: its log lines are kb's

    scanner.main()
