"""/healthz, for load balancers: can this process read its database, its index and its content?

Each check is timed and says why it failed, in a word a person can act on; nothing in the
answer is secret (no traceback, no database password). Any failure gives 503, never 500, so a
load balancer takes the process out of rotation instead of seeing an error page.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

from flask import Blueprint, current_app, jsonify
from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError

from kb.config.i18n import gettext as _
from kb.content.tree import ContentError
from kb.store.db import Base
from kb.store.schema import current_revision, head_revision, known_revisions

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.route("/healthz")
def healthz():
    checks = {name: _timed(name, check) for name, check in CHECKS.items()}
    healthy = all(result["ok"] for result in checks.values())
    response = jsonify({"status": "ok" if healthy else "error", "checks": checks})
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


def _timed(name: str, check: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        result = {"ok": True, **check()}
    except Exception as error:  # noqa: BLE001 — whatever fails, the answer is a 503 that says what
        result = {"ok": False, "error": _redacted(_describe(error))}
        # An unforeseen failure's traceback goes to the log (for the operator), never into the answer.
        log.warning(
            "healthz : %s en échec : %s", name, result["error"], exc_info=not isinstance(error, FORESEEN),
            extra={"event": "health_check_failed", "fields": {"check": name, "error": result["error"]}},
        )  # fmt: skip
    result["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return result


class HealthProblem(Exception):
    """A check found something wrong without anything raising (a missing table, no index)."""


FORESEEN = (HealthProblem, ContentError, OSError, SQLAlchemyError)


def check_database() -> dict[str, Any]:
    with current_app.extensions["kb.db"]() as session:
        session.execute(text("SELECT 1"))
        present = set(inspect(session.connection()).get_table_names())
        revision = current_revision(session.connection())
    missing = sorted(set(Base.metadata.tables) - present)
    if missing:
        raise HealthProblem(_("tables manquantes : %(tables)s", tables=", ".join(missing)))
    head = head_revision()
    if revision == head:
        return {"revision": revision}
    if revision in known_revisions() or revision is None:
        # Behind the code: the tables this code needs may not exist yet.
        if revision is None:
            raise HealthProblem(_("base à la révision aucune, ce code attend %(head)s : lancez kb db upgrade", head=head))
        raise HealthProblem(_("base à la révision %(revision)s, ce code attend %(head)s : lancez kb db upgrade", revision=revision, head=head))
    # Ahead: another server ran `kb db upgrade` for a newer kb. Migrations only add, so this older
    # code still works until it is restarted on the new version; a 503 would drain every server at once.
    return {"revision": revision, "warning": _("base migrée par un kb plus récent (révision %(revision)s, ce code : %(head)s) : mettez ce serveur à jour", revision=revision, head=head)}


def check_index() -> dict[str, Any]:
    search_index = current_app.extensions["kb.search"].index
    # Open only: a rebuild is the search's business (or `kb index`'s), not a probe's every few seconds.
    ix = search_index._open_existing()
    if ix is None:
        raise HealthProblem(_("index de recherche absent ou illisible : lancez kb index"))
    return {"documents": ix.doc_count()}


def check_content() -> dict[str, Any]:
    store = current_app.extensions["kb.content"]
    if not store.root.is_dir():
        raise ContentError(_("dossier de contenu introuvable : %(path)s", path=store.root))
    tree = store.view()
    return {"promises": len(tree.promises), "sources": len(tree.sources), "claims": len(tree.claims)}


CHECKS: dict[str, Callable[[], dict[str, Any]]] = {"database": check_database, "index": check_index, "content": check_content}


def _describe(error: Exception) -> str:
    if isinstance(error, HealthProblem):
        return str(error)
    # A database error's text is the driver's message (SQLAlchemy adds the SQL and a link): first line only.
    message = str(getattr(error, "orig", None) or error).strip().splitlines()
    return f"{type(error).__name__}: {message[0]}" if message else type(error).__name__


def _redacted(message: str) -> str:
    """The message without the database password, should a driver ever repeat the URL."""
    try:
        password = current_app.extensions["kb.db"].kw["bind"].url.password
    except (KeyError, AttributeError):
        password = None
    return message.replace(str(password), "***") if password else message
