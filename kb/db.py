"""The workflow database: users, change requests, the audit log, login throttling.

SQLite in the instance directory by default, so one command runs everything; any SQLAlchemy
URL through DATABASE_URL (PostgreSQL when several servers share the work).
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker


class Base(DeclarativeBase):
    """Base of the workflow tables."""


def database_url(instance_dir: Path) -> str:
    """$DATABASE_URL, else a SQLite file in the instance directory."""
    return os.environ.get("DATABASE_URL") or f"sqlite:///{Path(instance_dir) / 'kb.sqlite3'}"


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets foreign keys and write-ahead logging (readers never wait)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection, _record):
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.close()

    return engine


def open_database(url: str) -> sessionmaker[Session]:
    """Sessions on the database at `url`, its tables created if missing."""
    from . import accounts, audit, throttle, workflow  # noqa: F401 — register their tables on Base

    engine = make_engine(url)
    Base.metadata.create_all(engine)
    return sessionmaker(engine, expire_on_commit=False)
