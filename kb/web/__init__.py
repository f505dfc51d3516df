"""The web application: public site (and, later, newsroom and API) over the content tree."""

from __future__ import annotations

from typing import Any

from flask import Flask, render_template

from ..paths import STATIC, TEMPLATES, default_content_dir
from . import content_store, public


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application; `test_config` overrides the defaults and the environment."""
    app = Flask("kb", template_folder=str(TEMPLATES), static_folder=str(STATIC))
    app.config.from_mapping(
        CONTENT_DIR=str(default_content_dir()),
        # How often, at most, a request looks at the files for changes made on disk.
        CONTENT_RECHECK_SECONDS=1.0,
    )
    app.config.from_prefixed_env("KB")
    if test_config:
        app.config.update(test_config)
    content_store.init_app(app)
    app.register_blueprint(public.bp)
    app.register_error_handler(404, lambda error: (render_template("errors/404.html"), 404))
    app.register_error_handler(500, lambda error: (render_template("errors/500.html"), 500))
    return app
