"""The workflow database as the web app uses it: one SQLAlchemy session per request."""

from __future__ import annotations

import logging

from flask import Flask, current_app, g
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from kb.store import audit
from kb.store.db import first_line, open_database

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    url = app.config["DATABASE_URL"]
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


def change_record(target: str) -> list | None:
    """A file's public change record (its publications), or None when the database cannot say.

    Public pages are made from the files; the change record is the one part that needs the
    database, so an outage hides the record (said on the page, which is then not cached) instead
    of failing the page.
    """
    try:
        return audit.publications(db(), target)
    except SQLAlchemyError as error:
        db().rollback()
        log.warning("journal des modifications de %s indisponible : %s", target, first_line(error))
        g.kb_degraded = True
        return None
