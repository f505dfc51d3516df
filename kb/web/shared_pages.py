"""Pages drawn once per machine, not once per worker.

Every publication changes the pages that list promises (the home page, the lists and their
filters, the feeds): in each worker's page cache (kb.web.page_cache) they went stale,
and with five workers each drew them again; and each worker drew each promise and source page it
served for the first time (40–90 ms each at 10,000 promises) — together more than a 2-core
machine had under `kb bench-live`. A worker that draws a page now leaves a copy in a folder beside the index,
stamped with its place in the catalog's change log (kb.web.follower) when it began drawing; a worker
whose copy went stale takes that copy instead of drawing, when the stamp shows it was drawn
knowing at least every change this worker knows. While another process of the machine draws a
page (a lock file, one per page among LOCK_SLOTS), a worker that has an older copy gives it
(marked `no-cache`, as kb.web.page_cache does within a process) rather than drawing it too.

A copy's modification time is when a worker last drew it or took it: when readers last asked for
the page. The machine's page drawer (kb.web.page_drawer) draws again, right after a change, the
pages asked for since the one before; its own copies keep the time of the copy they replace. It
claims the lists it is about to draw (CLAIM_FILE): a worker gives its older copy of one meanwhile.

The folder is derived (deleting it costs drawings) and bounded: past MAX_BYTES, the copies used
least recently go first.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from kb.store.locks import flock_if_free

log = logging.getLogger(__name__)

# Pages share a lock by slot: while one is drawn, a page of the same slot found stale is given
# stale too (and the page drawer, kb.web.page_drawer, leaves a page whose slot is held).
LOCK_SLOTS = 4096
# The pages the machine's drawer is drawing (kb.web.page_drawer), in a file of the folder; a claim
# older than this is over whatever the file says (a drawer that died meanwhile).
CLAIM_FILE = ".claimed"
CLAIM_SECONDS = 2.5
# The folder's bound, checked every PRUNE_EVERY copies saved by a process.
MAX_BYTES = 512 * 1024 * 1024
PRUNE_EVERY = 500


class SharedPages:
    """A folder of drawn pages, each with the change-log place it was drawn at."""

    def __init__(self, directory: Path, asked_here: bool = True):
        self.directory = Path(directory)
        # False in the page drawer: what it draws and takes is not readers asking for the page.
        self.asked_here = asked_here
        self._saved = 0
        self._held: dict[int, object] = {}  # slots whose lock this process holds (`holding`)

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
        if self.asked_here:
            _touch(self.directory / self._name(key))
        return header, body

    def save(self, key: tuple, cursor: int | None, status: int, headers: dict, etag: str, tags, body: bytes, cost_ms: float | None = None) -> None:
        """Leave the copy drawn for `key` knowing the changes up to `cursor`; `cost_ms`: the processor time its drawing takes."""
        if cursor is None:
            return
        header = {
            "key": repr(key), "page": list(key), "cursor": cursor, "status": status, "headers": headers, "etag": etag, "tags": sorted(tags), "length": len(body),
        }  # fmt: skip
        if cost_ms is not None:
            header["cost_ms"] = round(cost_ms, 1)
        path = self.directory / self._name(key)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            asked = None if self.asked_here else _asked_at(path)
            _replace(path, json.dumps(header, ensure_ascii=False).encode("utf-8") + b"\n" + body)
            if asked is not None:
                os.utime(path, ns=asked)
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

    def asked_since(self, since: float) -> list[tuple[float, dict]]:
        """(when, header) of the copies readers asked for after `since` (a time.time()), first asked first."""
        found = []
        try:
            with os.scandir(self.directory) as entries:
                for entry in entries:
                    if entry.name.startswith("."):
                        continue
                    try:
                        asked = entry.stat().st_mtime
                        if asked > since:
                            with open(entry.path, "rb") as handle:
                                found.append((asked, json.loads(handle.readline(MAX_HEADER_BYTES))))
                    except (OSError, ValueError):
                        continue  # replaced or pruned meanwhile, or torn
        except OSError:
            return []
        return sorted((item for item in found if isinstance(item[1], dict)), key=lambda item: item[0])

    def claim(self, keys: list[tuple], cursor: int | None) -> None:
        """Say which pages this process (the machine's drawer) is about to draw, knowing the changes up
        to `cursor` (no keys: its drawing is over). Until then a worker that has an older copy of one
        gives it rather than drawing the page too (`claimed`). A claim is over after CLAIM_SECONDS anyway
        (or when the clock shows it made in the future)."""
        claim = {"cursor": cursor, "at": time.time(), "names": [self._name(key) for key in keys]}
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            _replace(self.directory / CLAIM_FILE, json.dumps(claim).encode("ascii"))
        except OSError as error:  # the workers draw the pages themselves, as without a drawer
            log.warning("pages à redessiner non annoncées (%s) : %s", self.directory, error)

    def claimed(self, key: tuple, cursor: int | None) -> bool:
        """Whether the machine's drawer is drawing `key` now, knowing at least the changes up to `cursor`
        (never in the drawer itself: it draws what it claimed)."""
        if not self.asked_here or cursor is None:
            return False
        try:
            claim = json.loads((self.directory / CLAIM_FILE).read_bytes())
            return (
                claim["cursor"] is not None and int(claim["cursor"]) >= cursor and 0 <= time.time() - float(claim["at"]) < CLAIM_SECONDS
                and self._name(key) in claim["names"]
            )  # fmt: skip
        except (OSError, ValueError, TypeError, KeyError):
            return False

    @contextmanager
    def holding(self, key: tuple) -> Iterator[bool]:
        """True inside while this process holds the drawing lock of `key`; False when another one holds it
        (or the lock file cannot be opened).

        For the page drawer: meanwhile a worker gives its older copy rather than drawing it too, and
        `drawing` in this process finds the lock its own.
        """
        slot = self._slot(key)
        if slot in self._held:
            yield True
            return
        handle = self._lock_file(slot)
        if handle is None:
            yield False
            return
        with handle, flock_if_free(handle) as held:  # not held: another process draws it, its copy will do
            if held:
                self._held[slot] = handle
            try:
                yield held
            finally:
                self._held.pop(slot, None)

    def _slot(self, key: tuple) -> int:
        return int(self._name(key)[:8], 16) % LOCK_SLOTS

    def _lock_file(self, slot: int):
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            return open(self.directory / f".lock-{slot}", "a")
        except OSError:
            return None

    @contextmanager
    def drawing(self, key: tuple):
        """True inside while this process alone of the machine draws `key`; False when another one is at it."""
        slot = self._slot(key)
        if slot in self._held:
            yield True  # held by `holding`, for this very drawing
            return
        handle = self._lock_file(slot)
        if handle is None:
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


MAX_HEADER_BYTES = 64 * 1024


def _touch(path: Path) -> None:
    try:
        os.utime(path)
    except OSError:
        pass  # replaced or pruned meanwhile: the next copy is new anyway


def _asked_at(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_atime_ns, stat.st_mtime_ns


def _replace(path: Path, data: bytes) -> None:
    # Written aside and renamed: a reader sees the old copy or the new one. Not fsynced: a copy
    # lost in a crash is drawn again (and a torn one fails its length check).
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
