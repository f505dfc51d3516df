"""The web application: public site (and, later, newsroom and API) over the content tree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, current_app, jsonify, render_template, request

import os
import secrets
from datetime import timedelta

from sqlalchemy.exc import OperationalError
from werkzeug.middleware.proxy_fix import ProxyFix

from .. import settings
from ..db import first_line
from ..content import ContentError
from ..permissions import NotAuthorized
from ..workflow import ChangeNotFound, InvalidTransition, WorkflowError
from ..model import SOURCE_KIND_LABELS
from ..opendata import status_label, verdict_label
from ..paths import STATIC, TEMPLATES
from ..search import open_search
from . import api, auth, claims, content_store, csrf, database, health, newsroom, public, publication_log, request_log
from .page_cache import PageCache


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application; `test_config` overrides the defaults and the environment."""
    app = Flask("kb", template_folder=str(TEMPLATES), static_folder=str(STATIC))
    app.config.update(settings.load(instance_dir=(test_config or {}).get("INSTANCE_DIR")))
    if test_config:
        app.config.update(test_config)
    settings.finish(app.config)
    _session_settings(app)
    if app.config["PRODUCTION"]:
        problems = settings.production_problems(app.config, app.config["SECRET_KEY_GENERATED"])
        if problems:
            raise settings.SettingsError("refus de démarrer en production : " + " ; ".join(problems))
    if app.config["PROXY_HOPS"]:
        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)
    request_log.init_app(app)
    content_store.init_app(app)
    database.init_app(app)
    csrf.init_app(app)
    auth.init_app(app)
    app.extensions["kb.pages"] = PageCache()
    app.extensions["kb.search"] = open_search(
        Path(app.config["INDEX_DIR"]), Path(app.config["CONTENT_DIR"]), float(app.config["INDEX_SYNC_SECONDS"])
    )
    publication_log.init_app(app)
    app.add_template_global(status_label)
    app.add_template_global(verdict_label)
    app.add_template_global(SOURCE_KIND_LABELS, "source_kind_labels")
    app.register_blueprint(public.bp)
    app.register_blueprint(claims.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(newsroom.bp)
    app.register_blueprint(health.bp)
    if app.config["STATIC_BUILD_DIR"]:
        from .static_rebuild import StaticRebuilder

        app.extensions.setdefault("kb.after_publish", []).append(StaticRebuilder(app, Path(app.config["STATIC_BUILD_DIR"])))
    app.register_error_handler(404, _not_found)
    app.register_error_handler(500, lambda error: (render_template("errors/500.html"), 500))
    app.register_error_handler(ContentError, _content_unavailable)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(400, _bad_request)
    app.register_error_handler(413, _too_large)
    app.register_error_handler(NotAuthorized, lambda error: _refused(error, 403, "Accès refusé"))
    app.register_error_handler(ChangeNotFound, lambda error: _refused(error, 404, "Introuvable"))
    app.register_error_handler(InvalidTransition, lambda error: _refused(error, 409, "Action impossible"))
    app.register_error_handler(WorkflowError, lambda error: _refused(error, 400, "Action impossible"))
    app.after_request(_security_headers)
    return app


def _session_settings(app: Flask) -> None:
    app.config["SECRET_KEY_GENERATED"] = not app.config["SECRET_KEY"]
    if app.config["SECRET_KEY_GENERATED"]:
        app.config["SECRET_KEY"] = _instance_secret(Path(app.config["INSTANCE_DIR"]))
    secure = bool(app.config["SECURE_COOKIES"])
    app.config.update(
        SESSION_COOKIE_NAME="kb_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        # The upload limit, plus room for the form's other fields.
        MAX_CONTENT_LENGTH=int(app.config["MAX_UPLOAD_BYTES"]) + 1024 * 1024,
        # Pasted source text and the raw file editor are form fields, not files: same limit.
        MAX_FORM_MEMORY_SIZE=int(app.config["MAX_UPLOAD_BYTES"]) + 1024 * 1024,
    )


def _instance_secret(instance_dir: Path) -> str:
    """A random key made once per installation and kept in the instance directory (mode 600)."""
    path = instance_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        instance_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker made it first
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        return key


def _refused(error: Exception, status: int, title: str):
    if request.path.startswith("/api/"):
        return jsonify({"error": title, "message": str(error)}), status
    return render_template("errors/newsroom.html", title=title, message=str(error)), status


def _bad_request(error):
    if getattr(error, "description", None) == "csrf":
        message = "Ce formulaire a expiré ou ne vient pas de ce site. Rechargez la page et recommencez."
        return render_template("errors/newsroom.html", title="Formulaire expiré", message=message), 400
    return render_template("errors/newsroom.html", title="Requête invalide", message="La requête est incomplète ou mal formée."), 400


def _too_large(error):
    limit = int(current_app.config["MAX_UPLOAD_BYTES"]) // 1_000_000
    message = f"Fichier trop gros : {limit} Mo au plus. Réduisez-le ou collez seulement le texte du document."
    return render_template("errors/newsroom.html", title="Fichier trop gros", message=message), 413


def _database_unavailable(error: OperationalError):
    # The database is down or unreachable (restart, network): a 503 a load balancer and a person
    # understand, with Retry-After, instead of a 500. Public pages rarely get here (see change_record).
    current_app.logger.error("base de données indisponible : %s", first_line(error.orig or error))
    message = "La base de données de la rédaction ne répond pas. Réessayez dans quelques instants ; rien n'a été enregistré."
    if request.path.startswith("/api/"):
        response = jsonify({"error": "unavailable", "message": message})
    else:
        response = current_app.make_response(
            (render_template("errors/newsroom.html", title="Service momentanément indisponible", message=message), 503)
        )
    response.status_code = 503
    response.headers["Retry-After"] = "30"
    return response


def _content_unavailable(error: ContentError):
    current_app.logger.error("contenu illisible : %s", error)
    return render_template("errors/503.html"), 503


# No inline script or style anywhere (badge colours come from /statuts.css), so the policy can
# forbid them: content that slipped past sanitizing still could not run.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def _security_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    return response


def _not_found(error):
    if request.path.startswith("/api/"):
        response = jsonify({"error": "not_found", "message": "adresse inconnue de l'API"})
        response.headers["Access-Control-Allow-Origin"] = "*"
        return response, 404
    return render_template("errors/404.html"), 404
