"""The web application: the public site, the read API and the newsroom, over the content tree.

`create_app` is the app factory: settings (defaults < kb.toml < environment < `test_config`), the
content kinds it serves (kb.content.kinds unless a test brings its own registry), one blueprint per
audience (public and claims for citizens, api for programs, newsroom for journalists and editors,
health for operators), and the one publisher every publication of this process goes through.
"""

from __future__ import annotations

import logging

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from kb.config import settings
from kb.config.paths import STATIC, TEMPLATES
from kb.content.kinds import KINDS
from kb.content.listing import slug
from kb.content.opendata import status_label, verdict_label
from kb.content.registry import Kinds
from kb.content.sources import DOCUMENT_TYPE_LABELS
from kb.newsroom.publishing import Publisher
from kb.search.query import open_search
from kb.content.render import markdown_to_html
from kb.newsroom.mailer import Mailer
from kb.store import sessions
from kb.web import api, auth, content_store, csrf, database, errors, follower, health, i18n, identity, kept_pages, newsroom, public, request_log
from kb.web.page_cache import PageCache
from kb.web.shared_pages import SharedPages
from kb.web.pages import RENDERERS, item_view

log = logging.getLogger(__name__)


def create_app(test_config: dict[str, Any] | None = None, kinds: Kinds = KINDS) -> Flask:
    """Build the application; `test_config` overrides the defaults and the environment."""
    app = Flask("kb", template_folder=str(TEMPLATES), static_folder=str(STATIC))
    app.extensions["kb.kinds"] = kinds
    app.config.update(settings.load(instance_dir=(test_config or {}).get("INSTANCE_DIR")))
    if test_config:
        app.config.update(test_config)
    settings.finish(app.config)
    _session_settings(app)
    if app.config["PRODUCTION"]:
        problems = settings.production_problems(app.config, app.config["SECRET_KEY_GENERATED"])
        if problems:
            raise settings.SettingsError("refus de démarrer en production : " + " ; ".join(problems))
    kept_pages.init_app(app)  # first: the proxy fix goes around it
    if app.config["PROXY_HOPS"]:
        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops, x_prefix=hops)
    request_log.init_app(app)
    i18n.init_app(app)  # before anything answers: the language of the answer is chosen first
    database.init_app(app)
    content_store.init_app(app)
    csrf.init_app(app)
    auth.init_app(app)
    app.extensions["kb.pages"] = PageCache()
    index_dir = Path(app.config["INDEX_DIR"])
    app.extensions["kb.shared_pages"] = SharedPages(index_dir.parent / f"{index_dir.name}.pages")
    # The catalog's change log brings every change to the index (kb.web.follower): a periodic
    # comparison of every file's hash is only done when INDEX_SYNC_SECONDS asks for it.
    app.extensions["kb.search"] = open_search(
        Path(app.config["INDEX_DIR"]), Path(app.config["CONTENT_DIR"]), float(app.config["INDEX_SYNC_SECONDS"]) or None, kinds
    )
    follower.init_app(app)
    identity.init_app(app)
    _mail(app)
    app.add_template_global(markdown_to_html, "markdown")
    app.add_template_global(status_label)
    app.add_template_global(verdict_label)
    app.add_template_filter(slug, "slug")  # a territory's address: /territoires/<slug>
    app.add_template_global(facet_order)
    app.add_template_global(DOCUMENT_TYPE_LABELS, "document_type_labels")
    app.register_blueprint(public.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(newsroom.bp)
    app.register_blueprint(health.bp)
    for kind in kinds:
        if kind.name not in RENDERERS:  # a kind with no view of its own: its template at its address
            app.add_url_rule(kind.url.replace("{id}", "<item_id>"), f"{kind.name}_page", item_view(kind.name))
    if app.config["STATIC_BUILD_DIR"]:
        from kb.web.static_rebuild import StaticRebuilder

        app.extensions.setdefault("kb.after_publish", []).append(StaticRebuilder(app, Path(app.config["STATIC_BUILD_DIR"])))
    app.extensions["kb.publisher"] = _publisher(app)
    errors.init_app(app)
    return app


def _publisher(app: Flask) -> Publisher:
    """This process's publisher: after each publication, pages are read again and the file re-indexed here at once."""

    def reindex(target: str) -> None:
        # The catalog's change is committed: index the file and drop the pages it touched, here, now.
        app.extensions["kb.follower"].poll(force=True)

    # Looked up at each publication: tests and the static build may add hooks after the app is made.
    def derived(target: str) -> None:
        for hook in app.extensions.get("kb.after_publish", []):
            try:
                hook(target)
            except Exception:  # the file is published: a derived copy lagging must not say otherwise
                app.logger.exception("après publication de %s", target)

    return Publisher.from_settings(app.config, app.extensions["kb.db"].kw["bind"], [reindex, derived], app.extensions["kb.kinds"])


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
        PERMANENT_SESSION_LIFETIME=sessions.MAX_AGE,
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


def _mail(app: Flask) -> None:
    """The newsroom's mail server, said at start (no SMTP_HOST: no notification, and the log says so once)."""
    mailer = Mailer.from_settings(app.config)
    app.extensions["kb.mailer"] = mailer
    # Readers follow by e-mail only when mail can leave and the site knows its own address (SITE_URL):
    # the links of those e-mails carry secrets, never built from a request's Host header.
    app.add_template_global(mailer is not None and bool(app.config["SITE_URL"]), "follow_by_email")
    if mailer is None:
        log.info("e-mails : aucun serveur réglé (SMTP_HOST) : la rédaction ne reçoit pas de notifications")
    else:
        log.info("e-mails : notifications par %s:%s (%s), expéditeur %s", mailer.host, mailer.port, mailer.tls, mailer.sender)


def facet_order(name: str, counts: dict) -> dict:
    """A facet's values as a reader expects them: statuses in the life of a promise (planned → done…) and
    verdicts from exact to false, as the vocabularies list them; other facets by count."""
    from kb.web.content_store import current_tree

    if name not in ("status", "verdict"):
        return counts
    tree = current_tree()
    vocabulary = tree.statuses if name == "status" else tree.verdicts
    return {key: counts[key] for key in vocabulary if key in counts} | {key: count for key, count in counts.items() if key not in vocabulary}
