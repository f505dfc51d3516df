"""The workflow database: users, change requests, the audit log, login throttling.

SQLite in the instance directory by default, so one command runs everything; PostgreSQL
(or any SQLAlchemy URL) through DATABASE_URL when several servers share the work. The tables'
shape is kept by migrations (kb/store/schema.py, migrations/).
"""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

# Engines made by this process, so that their connections can be closed on purpose (end of a
# command, of a test) rather than by the garbage collector, which psycopg reports as a leak.
_engines: set[Engine] = set()


class Base(DeclarativeBase):
    """Base of the workflow tables."""


def utcnow() -> datetime:
    """Now, in UTC: every timestamp of the workflow tables."""
    return datetime.now(timezone.utc)


def normalize_url(url: str) -> str:
    """`postgres://` and `postgresql://` as psycopg 3 URLs (SQLAlchemy would look for psycopg2)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 — a URL SQLAlchemy cannot read is shown without its credentials
        return url.split("@")[-1]


def first_line(error: BaseException) -> str:
    """An error said in one line (a driver's message runs on with SQL and links); its type when it says nothing."""
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets foreign keys and write-ahead logging (readers never wait).

    PostgreSQL sessions run in UTC: timestamps are stored as UTC whatever the server's zone.
    """
    url = normalize_url(url)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    options = {}
    if url.startswith("postgresql"):
        # Server options already in the URL (?options=-csearch_path%3D…) are kept beside the zone.
        server_options = " ".join(filter(None, [make_url(url).query.get("options"), "-c timezone=UTC"]))
        # pool_pre_ping: a connection cut by a database restart is replaced, not handed to a request.
        options = {"pool_pre_ping": True, "connect_args": {"options": server_options, "connect_timeout": 10}}
    engine = create_engine(url, **options)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            _write_ahead_logging(cursor)
            # Several workers write (login failures, requests): wait for the writer, do not fail.
            cursor.execute("PRAGMA busy_timeout = 10000")
            cursor.close()

    _engines.add(engine)
    return engine


def _write_ahead_logging(cursor) -> None:
    # Processes opening a new file at once all switch it to WAL; SQLite answers one of them
    # "database is locked" at once, without waiting (waiting could deadlock): that one tries again.
    deadline = time.monotonic() + 10
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _forget_inherited_connections() -> None:
    # A forked child (static build workers, gunicorn with preload) must not talk over its
    # parent's sockets: both would read each other's answers. close=False leaves them to the parent.
    for engine in _engines:
        engine.dispose(close=False)


os.register_at_fork(after_in_child=_forget_inherited_connections)


def dispose_all() -> None:
    """Close every pooled connection this process opened (tests, before dropping a database)."""
    for engine in list(_engines):
        engine.dispose()  # the engine stays usable: a later query opens a new connection


def open_database(url: str, upgrade: bool = True) -> sessionmaker[Session]:
    """Sessions on the database at `url`, its tables created or migrated to the latest schema.

    With `upgrade` False (production), a database behind the code is refused with the command
    that upgrades it: several servers must not race to migrate one database.
    """
    from kb.store import schema

    engine = make_engine(url)
    schema.prepare(engine, upgrade=upgrade)
    return sessionmaker(engine, expire_on_commit=False)
