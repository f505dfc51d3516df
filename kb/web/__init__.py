"""The web application: public site (and, later, newsroom and API) over the content tree."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, current_app, jsonify, render_template, request

from ..content import ContentError
from ..model import SOURCE_KIND_LABELS
from ..opendata import status_label
from ..paths import STATIC, TEMPLATES, default_content_dir, default_instance_dir
from ..search import open_search
from . import api, content_store, public
from .page_cache import PageCache


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application; `test_config` overrides the defaults and the environment."""
    app = Flask("kb", template_folder=str(TEMPLATES), static_folder=str(STATIC))
    app.config.from_mapping(
        CONTENT_DIR=str(default_content_dir()),
        # How often, at most, a request looks at the files for changes made on disk.
        CONTENT_RECHECK_SECONDS=1.0,
        INSTANCE_DIR=str(default_instance_dir()),
        INDEX_DIR=None,  # default: INSTANCE_DIR/index
        # How often, at most, searches compare the index with the files (content hashes).
        INDEX_SYNC_SECONDS=2.0,
    )
    app.config.from_prefixed_env("KB")
    if test_config:
        app.config.update(test_config)
    app.config["INDEX_DIR"] = app.config["INDEX_DIR"] or str(Path(app.config["INSTANCE_DIR"]) / "index")
    content_store.init_app(app)
    app.extensions["kb.pages"] = PageCache()
    app.extensions["kb.search"] = open_search(
        Path(app.config["INDEX_DIR"]), Path(app.config["CONTENT_DIR"]), float(app.config["INDEX_SYNC_SECONDS"])
    )
    app.add_template_global(status_label)
    app.add_template_global(SOURCE_KIND_LABELS, "source_kind_labels")
    app.register_blueprint(public.bp)
    app.register_blueprint(api.bp)
    app.register_error_handler(404, _not_found)
    app.register_error_handler(500, lambda error: (render_template("errors/500.html"), 500))
    app.register_error_handler(ContentError, _content_unavailable)
    app.after_request(_security_headers)
    return app


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
