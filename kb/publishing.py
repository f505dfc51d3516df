"""Writing an approved file into the content tree: under a lock, only over the version it was based on.

The file side of publishing, with no database: the workflow decides *whether* to publish and
records it; this module makes sure that what is written is exactly what was reviewed, and
that nothing anyone else published in the meantime is overwritten.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine

from .files import atomic_write
from .locks import exclusive

log = logging.getLogger(__name__)


class StaleBase(Exception):
    """The file is no longer the version the change was based on."""

    def __init__(self, current_sha256: str | None):
        super().__init__(current_sha256)
        self.current_sha256 = current_sha256


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def current_file(path: Path) -> tuple[str | None, str | None]:
    """(text, sha256) of the file as it is on disk now; (None, None) when it does not exist."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None, None
    return raw.decode("utf-8", "replace"), hashlib.sha256(raw).hexdigest()


# An arbitrary constant naming kb's publish lock among PostgreSQL advisory locks.
PUBLISH_LOCK_KEY = 0x6B620002


@contextmanager
def publish_lock(lock_path: Path, engine: Engine | None = None) -> Iterator[None]:
    """Held while a publication checks and writes: one at a time, across processes and servers.

    A PostgreSQL advisory lock when `engine` is PostgreSQL's, else an flock on `lock_path`;
    released when its holder dies, so a killed publish never leaves the newsroom locked.
    """
    with exclusive(PUBLISH_LOCK_KEY, lock_path, engine):
        yield


def write_over(path: Path, base_sha256: str | None, text: str) -> tuple[str | None, str]:
    """Write `text` to `path` if the file is still at `base_sha256` (None: must not exist yet).

    Call under publish_lock. Returns (old sha256, new sha256); raises StaleBase when the file
    changed since. A file already holding exactly `text` counts as written: a publication that
    died after its rename but before the database heard of it is finished, not redone.
    """
    _, current = current_file(path)
    new = sha256_text(text)
    if current == new:
        return base_sha256, new
    if current != base_sha256:
        raise StaleBase(current)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text)
    return current, new


def is_git_repository(root: Path) -> bool:
    """Whether the content directory is itself the top of a git repository."""
    return (root / ".git").exists() and shutil.which("git") is not None


def git_commit(root: Path, path: Path, message: str, author_name: str, author_email: str) -> bool:
    """Commit one published file, the journalist as author; False (logged) when git refuses.

    The file is already published: a failed commit must not undo it, only be reported.
    """
    if not is_git_repository(root):
        return False
    relative = str(path.relative_to(root))
    environment = dict(
        os.environ,
        GIT_AUTHOR_NAME=author_name,
        GIT_AUTHOR_EMAIL=author_email,
        GIT_COMMITTER_NAME=os.environ.get("GIT_COMMITTER_NAME", "kb"),
        GIT_COMMITTER_EMAIL=os.environ.get("GIT_COMMITTER_EMAIL", "kb@localhost"),
    )
    for command in (["add", "--", relative], ["commit", "--quiet", "--no-verify", "-m", message, "--", relative]):
        try:
            result = subprocess.run(
                ["git", "-C", str(root), *command], env=environment, capture_output=True, text=True, timeout=60
            )
        except (OSError, subprocess.SubprocessError) as error:
            log.error("git %s impossible pour %s : %s", command[0], relative, error)
            return False
        if result.returncode != 0:
            log.error("git %s a échoué pour %s : %s", command[0], relative, result.stderr.strip() or result.stdout.strip())
            return False
    return True
