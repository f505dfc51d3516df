"""One holder at a time, across processes — and across servers when they share PostgreSQL.

With PostgreSQL, a session advisory lock in the database every server shares; else an flock on a
file, which serializes the processes of one machine (SQLite is one machine's database). Either is
released when its holder dies — the kernel closes the file, PostgreSQL ends the dead
connection's session — so a killed process never leaves the others waiting.
"""

from __future__ import annotations

import fcntl
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, text

# An arbitrary constant naming kb's publish lock among PostgreSQL advisory locks: whoever holds it
# may write content files and the catalog derived from them.
PUBLISH_LOCK_KEY = 0x6B620002
NOTIFY_LOCK_KEY = 0x6B620003  # one `kb notify` at a time: two would send the same digests


@contextmanager
def exclusive(key: int, lock_path: Path | None, engine: Engine | None = None) -> Iterator[None]:
    """Hold lock `key` (PostgreSQL) or the flock on `lock_path` (otherwise; None: no lock needed)."""
    if engine is not None and engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            try:
                connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
                connection.commit()
                yield
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                connection.commit()
            except BaseException:
                # A session lock outlives transactions: a pooled connection still holding it would
                # block everyone. Closing the connection ends the session, and the lock with it.
                connection.invalidate()
                raise
        return
    if lock_path is None:
        yield
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def attempt(key: int, lock_path: Path | None, engine: Engine | None = None) -> Iterator[bool]:
    """Take lock `key` (as `exclusive` does) only if it is free at once: yields whether it was taken.

    For work that one process is enough to do (a scan of the files): whoever finds the lock taken
    leaves it to its holder rather than waiting.
    """
    if engine is not None and engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            try:
                taken = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
                connection.commit()
                yield taken
                if taken:
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    connection.commit()
            except BaseException:
                connection.invalidate()  # see exclusive: a pooled connection must not keep the lock
                raise
        return
    if lock_path is None:
        yield True
        return
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle, flock_if_free(handle) as taken:
        yield taken


@contextmanager
def flock_if_free(handle) -> Iterator[bool]:
    """The flock on an open file, only if no other process holds it: yields whether it was taken."""
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        yield False
        return
    try:
        yield True
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
