"""Pages drawn once per machine, not once per worker.

Every publication changes the pages that list promises (the home page, the lists and their
filters, the feeds, the sitemap): in each worker's page cache (kb.web.page_cache) they went stale,
and with five workers each drew them again; and each worker drew each promise and source page it
served for the first time (40–90 ms each at 10,000 promises) — together more than a 2-core
machine had under `kb bench-live`. A worker that draws a page now leaves a copy in a folder beside the index,
stamped with its place in the catalog's change log (kb.web.follower) when it began drawing; a worker
whose copy went stale takes that copy instead of drawing, when the stamp shows it was drawn
knowing at least every change this worker knows. While another process of the machine draws a
page (a lock file, one per page among LOCK_SLOTS), a worker that has an older copy gives it
(marked `no-cache`, as kb.web.page_cache does within a process) rather than drawing it too.

The folder is derived (deleting it costs drawings) and bounded: past MAX_BYTES, the copies used
least recently go first.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from contextlib import contextmanager
from pathlib import Path

from kb.store.locks import flock_if_free

log = logging.getLogger(__name__)

LOCK_SLOTS = 64
# The folder's bound, checked every PRUNE_EVERY copies saved by a process.
MAX_BYTES = 512 * 1024 * 1024
PRUNE_EVERY = 500


class SharedPages:
    """A folder of drawn pages, each with the change-log place it was drawn at."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._saved = 0

    def _name(self, key: tuple) -> str:
        return hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:40]

    def load(self, key: tuple, cursor: int | None) -> tuple[dict, bytes] | None:
        """(header, body) of the page drawn for `key` knowing every change up to `cursor` at least, if any."""
        if cursor is None:
            return None
        try:
            data = (self.directory / self._name(key)).read_bytes()
            head, _, body = data.partition(b"\n")
            header = json.loads(head)
        except (OSError, ValueError):
            return None
        if header.get("key") != repr(key) or int(header.get("cursor", -1)) < cursor or len(body) != header.get("length"):
            return None
        return header, body

    def save(self, key: tuple, cursor: int | None, status: int, headers: dict, etag: str, tags, body: bytes) -> None:
        if cursor is None:
            return
        header = {"key": repr(key), "cursor": cursor, "status": status, "headers": headers, "etag": etag, "tags": sorted(tags), "length": len(body)}
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            _replace(self.directory / self._name(key), json.dumps(header, ensure_ascii=False).encode("utf-8") + b"\n" + body)
        except OSError as error:  # a full or read-only disk costs drawings, never a page
            log.warning("page partagée non enregistrée (%s) : %s", self.directory, error)
            return
        self._saved += 1
        if self._saved % PRUNE_EVERY == 0:
            self._prune()

    def clear(self) -> None:
        """Remove every copy: their stamps are places in another change log (a database restored, made anew)."""
        try:
            with os.scandir(self.directory) as entries:
                for entry in entries:
                    if not entry.name.startswith("."):
                        os.unlink(entry.path)
        except OSError:
            pass

    @contextmanager
    def drawing(self, key: tuple):
        """True inside while this process alone of the machine draws `key`; False when another one is at it."""
        slot = int(self._name(key)[:8], 16) % LOCK_SLOTS
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            handle = open(self.directory / f".lock-{slot}", "a")
        except OSError:
            yield True  # no lock to take: draw, as if alone
            return
        with handle, flock_if_free(handle) as alone:
            yield alone

    def _prune(self) -> None:
        """Past MAX_BYTES, remove the copies read or written longest ago, down to three quarters of it."""
        try:
            with os.scandir(self.directory) as entries:
                copies = [(entry.stat(), entry.path) for entry in entries if not entry.name.startswith(".")]
            total = sum(stat.st_size for stat, _ in copies)
            for stat, path in sorted(copies, key=lambda copy: max(copy[0].st_atime, copy[0].st_mtime)):
                if total <= MAX_BYTES * 3 // 4:
                    break
                os.unlink(path)
                total -= stat.st_size
        except OSError:
            pass


def _replace(path: Path, data: bytes) -> None:
    # Written aside and renamed: a reader sees the old copy or the new one. Not fsynced: a copy
    # lost in a crash is drawn again (and a torn one fails its length check).
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
