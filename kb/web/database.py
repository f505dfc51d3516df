"""The workflow database as the web app uses it: one SQLAlchemy session per request."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from ..db import database_url, open_database


def init_app(app: Flask) -> None:
    url = app.config.get("DATABASE_URL") or database_url(Path(app.config["INSTANCE_DIR"]))
    # In production the schema is upgraded once, by `kb db upgrade`, not by every worker.
    app.extensions["kb.db"] = open_database(url, upgrade=not app.config["PRODUCTION"])
    app.teardown_appcontext(_close)


def db() -> Session:
    """This request's database session (opened on first use, closed at the end of the request)."""
    if "kb_db" not in g:
        g.kb_db = current_app.extensions["kb.db"]()
    return g.kb_db


def _close(_error) -> None:
    session = g.pop("kb_db", None)
    if session is not None:
        session.close()
