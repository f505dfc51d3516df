"""Following the database's publication log: what another worker or server published shows here at once.

Every publication writes its file and a `<kind>.publish` row in the audit log, under the
publish lock. Each process reads the rows after the last one it has seen (at most every
PUBLICATION_POLL_SECONDS, at the start of a request), re-indexes those files in this machine's
own index when the index does not hold them as they are, and has the pages re-read. Where the
process stopped is kept beside the index, so a server that was down catches up from the log
when it comes back. The hash comparison of every file (INDEX_SYNC_SECONDS) stays as the safety
net for edits made by hand or by git, which write no row.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from flask import Flask, current_app

from kb.content.files import atomic_write
from kb.store.audit import last_publication_id, publications_after
from kb.store.db import first_line

log = logging.getLogger(__name__)


class PublicationFollower:
    """One per process: a cursor in the publication log, and the index and pages it keeps current."""

    def __init__(self, app: Flask):
        self.sessions = app.extensions["kb.db"]
        self.search_index = app.extensions["kb.search"].index
        self.content = app.extensions["kb.content"]
        self.poll_seconds = float(app.config["PUBLICATION_POLL_SECONDS"])
        index_dir = Path(app.config["INDEX_DIR"])
        self.cursor_path = index_dir.parent / f"{index_dir.name}.publications"
        self._cursor: int | None = None
        self._polled_at = float("-inf")
        self._lock = threading.Lock()

    def _read_cursor(self) -> int | None:
        try:
            return int(self.cursor_path.read_text().strip())
        except (OSError, ValueError):
            return None

    def _save_cursor(self, cursor: int, rewind: bool = False) -> None:
        try:
            # Several workers share the file: never move it back behind what another one saved
            # (unless `rewind`: the saved place is past the end of this database's log).
            saved = self._read_cursor()
            if rewind or saved is None or saved < cursor:
                atomic_write(self.cursor_path, f"{cursor}\n")
        except OSError as error:
            log.warning("position dans le journal des publications non enregistrée (%s) : %s", self.cursor_path, error)

    def poll(self, force: bool = False) -> int:
        """Index what was published since the last look; the number of files brought up to date."""
        now = time.monotonic()
        if not force and now - self._polled_at < self.poll_seconds:
            return 0
        if not self._lock.acquire(blocking=False):
            return 0  # another thread of this process is at it
        try:
            self._polled_at = now
            return self._follow()
        except Exception as error:  # noqa: BLE001 — a database hiccup must not fail the page: the hash sync still catches up
            # One line, no traceback: during an outage this runs at every poll of every worker.
            log.warning(
                "journal des publications illisible (%s) ; l'index rattrapera les fichiers par leurs empreintes", first_line(error)
            )
            return 0
        finally:
            self._lock.release()

    def _follow(self) -> int:
        with self.sessions() as session:
            if self._cursor is None:
                saved = self._read_cursor()
                if saved is None:
                    # First start of this index: it was built from the files, which already
                    # hold every publication logged so far.
                    self._cursor = last_publication_id(session)
                    self._save_cursor(self._cursor)
                    return 0
                last = last_publication_id(session)
                if saved > last:
                    # A place past the log's end belongs to another database (an older backup
                    # restored, a new database): its ids start again below it, and every
                    # publication up to the old place would be skipped.
                    saved = last
                    self._save_cursor(saved, rewind=True)
                self._cursor = saved
            rows = publications_after(session, self._cursor)
        if not rows:
            return 0
        targets = list(dict.fromkeys(target for _, target in rows))
        report = self.search_index.catch_up(targets)
        if report.skipped:
            return 0  # another process is writing the index: the next poll tries again
        self.content.invalidate(reread=True)
        self._cursor = rows[-1][0]
        self._save_cursor(self._cursor)
        if report.changed:
            log.info(
                "publications d'autres processus indexées : %s",
                ", ".join(targets),
                extra={"event": "index.catch_up", "fields": {"targets": targets, "cursor": self._cursor}},
            )
        return report.updated + report.removed


def init_app(app: Flask) -> None:
    app.extensions["kb.publications"] = PublicationFollower(app)
    app.before_request(_poll)


def _poll() -> None:
    current_app.extensions["kb.publications"].poll()
