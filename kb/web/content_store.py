"""The content tree as the web app sees it: read once, re-read when files change on disk.

Files are the published truth and may be edited by hand or by git: a cheap look at the
files' sizes and modification times (at most once per CONTENT_RECHECK_SECONDS) tells
whether the tree must be read again, so a request never serves a stale page for long.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from pathlib import Path

from flask import Flask, current_app, redirect, url_for

from kb.content.kinds import KINDS
from kb.content.registry import Kinds
from kb.content.statuses import FILE_NAME as STATUSES_FILE
from kb.content.tree import ContentTree, read_tree
from kb.content.verdicts import FILE_NAME as VERDICTS_FILE


def _signature(root: Path, kinds: Kinds) -> tuple:
    entries = []
    for folder in (kind.folder for kind in kinds):
        try:
            with os.scandir(root / folder) as scan:
                for entry in scan:
                    try:
                        stat = entry.stat()
                    except OSError:  # a broken or looping link: kb check reports it
                        entries.append((folder, entry.name, None))
                        continue
                    # Inode and ctime too: an edit of the same size with its mtime restored
                    # (cp -p, tar, some editors) still changes them.
                    entries.append((folder, entry.name, stat.st_mtime_ns, stat.st_size, stat.st_ino, stat.st_ctime_ns))
        except OSError:
            entries.append((folder, None))
    for name in (STATUSES_FILE, VERDICTS_FILE):
        try:
            stat = (root / name).stat()
            entries.append((name, stat.st_mtime_ns, stat.st_size, stat.st_ino, stat.st_ctime_ns))
        except OSError:
            pass
    return tuple(sorted(entries, key=repr))


class ContentStore:
    """Holds the current tree for one app; thread-safe."""

    def __init__(self, root: Path, recheck_seconds: float, kinds: Kinds = KINDS):
        self.root = root
        self.kinds = kinds
        self.recheck_seconds = recheck_seconds
        self._lock = threading.Lock()
        self._tree: ContentTree | None = None
        self._signature: tuple | None = None
        self._checked_at = float("-inf")
        self.version = ""
        self._reads = 0

    def invalidate(self, reread: bool = False) -> None:
        """Look at the files again at the next request (after a publication in this process).

        `reread`: read them again even if their sizes and times look unchanged — another server
        published, and a network file system may still show this one the old attributes.
        """
        self._checked_at = float("-inf")
        if reread:
            self._signature = None

    def tree(self) -> ContentTree:
        now = time.monotonic()
        if self._tree is not None and now - self._checked_at < self.recheck_seconds:
            return self._tree
        with self._lock:
            signature = _signature(self.root, self.kinds)
            if self._tree is None or self._signature is None or signature != self._signature:
                self._tree = read_tree(self.root, kinds=self.kinds)
                self._signature = signature
                # Names this state of the files: pages rendered from it are cached under it.
                self._reads += 1
                self.version = hashlib.sha256(repr((signature, self._reads)).encode()).hexdigest()[:16]
            self._checked_at = now
            return self._tree


def init_app(app: Flask) -> None:
    app.extensions["kb.content"] = ContentStore(
        Path(app.config["CONTENT_DIR"]), float(app.config["CONTENT_RECHECK_SECONDS"]), app.extensions["kb.kinds"]
    )


def current_tree() -> ContentTree:
    """The content tree of the running app."""
    return current_app.extensions["kb.content"].tree()


def content_version() -> str:
    """A name for the current state of the content files (changes whenever any file does)."""
    store = current_app.extensions["kb.content"]
    store.tree()
    return store.version


def find_promise(promise_id: str, endpoint: str):
    """(tree, promise, None), or (tree, None, a 301 to `endpoint` under the new id), or (tree, None, None)."""
    tree = current_tree()
    found = tree.promises.get(promise_id)
    if found is not None:
        return tree, found, None
    target = tree.alias_target(promise_id)
    return tree, None, redirect(url_for(endpoint, promise_id=target), code=301) if target else None
