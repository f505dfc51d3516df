"""Following the catalog's change log: what another process or server changed shows here at once.

Every change of a content file — a publication, in the transaction that records it; an edit by
hand or by git, found by the scan — is a row of `catalog_changes`. Each process reads the rows
after the last one it has seen (at most every PUBLICATION_POLL_SECONDS, at the start of a request),
re-indexes those files in this machine's own index when the index does not hold them as they are,
and drops the rendered pages that read them (kb.web.page_cache). Where the index stopped is kept
beside it, so a server that was down catches up from the log when it comes back.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Callable

from flask import Flask, current_app
from sqlalchemy import select

from kb.catalog import tables
from kb.catalog.update import EVERYTHING
from kb.content.files import atomic_write
from kb.content.registry import Key
from kb.store.db import first_line

log = logging.getLogger(__name__)


class ChangeFollower:
    """One per process: a cursor in the catalog's change log, and the index and pages it keeps current."""

    def __init__(self, app: Flask):
        self.store = app.extensions["kb.content"]
        self.search_index = app.extensions["kb.search"].index
        self.pages = app.extensions["kb.pages"]
        self.shared_pages = app.extensions["kb.shared_pages"]
        self.poll_seconds = float(app.config["PUBLICATION_POLL_SECONDS"])
        index_dir = Path(app.config["INDEX_DIR"])
        self.cursor_path = index_dir.parent / f"{index_dir.name}.catalog-changes"
        self._cursor: int | None = None
        self._applied = 0  # the log's last change when this process last applied changes of its own
        self._polled_at = float("-inf")
        self._lock = threading.Lock()
        # Files whose re-indexing waits for the index's writer (another process held it): tried again at each poll.
        self._pending: set[str] = set()
        self._pending_lock = threading.Lock()
        self.store.on_changes.append(self.apply)
        # Called with the tags of the pages each change made stale (kb.web.page_drawer draws them again).
        self.after_changes: list[Callable[[set[str]], None]] = []
        # Whether this process re-indexes what it follows. Not the page drawer's: in the scanner
        # process, with a share of the CPU the workers leave it, it took the index's writer from the
        # publishing worker (which then leaves the file to it) and a publication took seconds to be found.
        self.indexes = True
        # The workers' scanning thread, when it scans for the machine, also does the index's larger merges.
        self.store.between_scans.append(self.search_index.merge_when_due)

    @property
    def position(self) -> int | None:
        """How far in the log a page drawn now must know (None before the first look): the last change
        followed, or past it the last one logged when this process applied its own scan's changes."""
        if self._cursor is None:
            return None
        return max(self._cursor, self._applied)

    def _read_cursor(self) -> int | None:
        try:
            return int(self.cursor_path.read_text().strip())
        except (OSError, ValueError):
            return None

    def _save_cursor(self, cursor: int, rewind: bool = False) -> None:
        if not self.indexes:
            return  # the place says how far the index is current: not this process's to move
        try:
            # Several workers share the file: never move it back behind what another one saved
            # (unless `rewind`: the saved place is past the end of this database's log).
            saved = self._read_cursor()
            if rewind or saved is None or saved < cursor:
                atomic_write(self.cursor_path, f"{cursor}\n")
        except OSError as error:
            log.warning("position dans le journal des changements non enregistrée (%s) : %s", self.cursor_path, error)

    def poll(self, force: bool = False) -> int:
        """Apply what changed since the last look; the number of files re-indexed."""
        now = time.monotonic()
        if not force and now - self._polled_at < self.poll_seconds:
            return 0
        # A publication of this process waits for a poll in progress: its editor must see the page at once.
        if not self._lock.acquire(blocking=force, timeout=10 if force else -1):
            return 0  # another thread of this process is at it
        try:
            self._polled_at = now
            return self._follow()
        except Exception as error:  # noqa: BLE001 — a database hiccup must not fail the page: the next poll retries
            # One line, no traceback: during an outage this runs at every poll of every worker.
            log.warning("journal des changements illisible : %s", first_line(error))
            return 0
        finally:
            self._lock.release()

    def _follow(self) -> int:
        catalog = self.store.catalog
        with catalog.engine.connect() as connection:
            last = catalog.last_change(connection)
            if self._cursor is None:
                saved = self._read_cursor()
                if saved is None:
                    # First start of this index: it was built from the files, which already hold
                    # every change logged so far.
                    self._forget_reads()
                    self._cursor = last
                    self._save_cursor(last)
                    return 0
                if saved > last:
                    # A place past the log's end belongs to another database (an older backup
                    # restored, a catalog built anew in a new database): start again from its end.
                    saved = last
                    self._save_cursor(saved, rewind=True)
                    self.shared_pages.clear()
                self._forget_reads()
                self._cursor = saved
            elif last < self._cursor:
                self._cursor = last  # the log was made anew below us (a restored database): follow it from its end
                self.shared_pages.clear()
                self._forget_reads()
            rows = catalog.changes_after(connection, self._cursor)
            if not rows:
                return self._retry_pending()
            keys = list(dict.fromkeys(key for _, key in rows))
            tags = _tags(connection, keys, self._cursor)
            self._refresh_reads(connection, keys)
        # The new place before the pages go stale: a page drawn again here, or taken from another
        # worker (kb.web.shared_pages), must know these changes. Pages first, whatever the index
        # does: a busy or broken index must not keep stale pages.
        self._cursor = rows[-1][0]
        stale = self._invalidate(tags)
        self._save_cursor(self._cursor)
        self._index_later(keys)
        updated = self._retry_pending()
        log.info(
            "changements du catalogue suivis : %s", ", ".join(keys[:20]),
            extra={"event": "index.catch_up", "fields": {"targets": keys[:100], "cursor": self._cursor, "pages_stale": stale}},
        )  # fmt: skip
        return updated

    def apply(self, keys: list[str]) -> None:
        """Apply changes this process made itself (a scan) at once, before its next poll."""
        with self.store.catalog.engine.connect() as connection:
            # From where this process is in the log: its scan's changes are after it (no place yet:
            # no page drawn yet either).
            since = self._cursor if self._cursor is not None else self.store.catalog.last_change(connection)
            tags = _tags(connection, keys, since)
            self._refresh_reads(connection, keys)
            # Logged already: a page taken from another worker must know them (kb.web.shared_pages).
            self._applied = max(self._applied, self.store.catalog.last_change(connection))
        self._invalidate(tags)
        self._index_later(keys)
        self._retry_pending()

    def _forget_reads(self) -> None:
        """From a new place in the log, what this process read before (rows, pages) may be older than it: read again."""
        self.store.listed.clear()
        self._invalidate({EVERYTHING})

    def _invalidate(self, tags: set[str]) -> int:
        stale = self.pages.invalidate(tags)
        for hook in self.after_changes:
            hook(tags)
        return stale

    def _refresh_reads(self, connection, keys: list[str]) -> None:
        """What this process keeps of the catalog, made current for `keys`: before any page is drawn again."""
        if EVERYTHING in keys:
            self.store.vocabularies.reload()  # statuses.yml or verdicts.yml may have changed
            self.store.listed.clear()
        else:
            self.store.listed.refresh(connection, keys)

    def _index_later(self, keys: list[str]) -> None:
        if self.indexes:
            with self._pending_lock:
                self._pending.update(keys)

    def _retry_pending(self) -> int:
        """Re-index the files waiting for it; those the index's writer could not take stay pending."""
        with self._pending_lock:
            keys = sorted(self._pending)
        if not keys:
            return 0
        try:
            # Without waiting for the index's writer: this runs at a request's start, and the process
            # holding it (a publication, the scanner) is mostly indexing these very files: the next
            # poll finds them indexed.
            report = self.search_index.sync() if EVERYTHING in keys else self.search_index.catch_up(keys, timeout=0)
        except Exception as error:  # noqa: BLE001 — pages are current already; the index is retried at the next poll
            log.warning("réindexation de %d fichier(s) remise à plus tard : %s", len(keys), first_line(error))
            return 0
        if report.skipped:
            return 0  # another process is writing the index: the next poll tries again
        with self._pending_lock:
            self._pending.difference_update(keys)
        return report.added + report.updated + report.removed


def _tags(connection, keys: list[str], since: int) -> set[str]:
    """What pages that depend on these items recorded having read (kb.catalog.reader's `used`).

    `since`: the log's place before these changes, whose own tags (the groups of related promises
    an item joined or left, "ids:KIND" when an item came, went or changed state) are read from
    there on — changes past them too at worst, which only draws a few pages again.
    """
    if EVERYTHING in keys:
        return {EVERYTHING}
    tags = set(keys)
    tags.update(f"list:{Key.split(key).kind}" for key in keys)
    changes = tables.changes.c
    for (logged,) in connection.execute(select(changes.tags).where(changes.id > since, changes.tags.is_not(None))):
        tags.update(logged.splitlines())
    links = tables.links.c
    for row in connection.execute(select(links.relation, links.target).where(links.key.in_(keys))):
        tags.add(f"{row.relation}:{row.target}")
    return tags


def init_app(app: Flask) -> None:
    app.extensions["kb.follower"] = ChangeFollower(app)
    app.before_request(_poll)


def _poll() -> None:
    current_app.extensions["kb.follower"].poll()
