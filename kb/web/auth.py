"""Logging in and out of the newsroom (Flask-Login), with throttling and safe redirects."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, redirect, render_template, request, session, url_for
from flask_login import LoginManager, current_user, login_user, logout_user

from kb.config.i18n import gettext as _
from kb.config.i18n import lazy_gettext, ngettext
from kb.store import audit, sessions, throttle
from kb.store.accounts import AccountError, User, authenticate, normalize_email
from kb.web.database import db

bp = Blueprint("auth", __name__, url_prefix="/redaction")
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = lazy_gettext("Connectez-vous pour accéder à l'espace de la rédaction.")
# Flashed into the session, which keeps only plain strings: translated when flashed.
login_manager.localize_callback = str
login_manager.login_message_category = "info"


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    user_id, _, token = session_id.partition(":")
    if not user_id.isdigit() or not token:
        return None
    user = db().get(User, int(user_id))
    # The cookie opens the newsroom only while its session is open server-side: ended at logout,
    # at a change of password or role, when the account is disabled, or by an admin.
    if user is None or not user.active or sessions.find_open(db(), user.id, token) is None:
        return None
    user.session_token = token
    return user


def init_app(app: Flask) -> None:
    login_manager.init_app(app)
    app.register_blueprint(bp)


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site; None for anything that could leave it."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ch in target for ch in "\\\r\n\t") or any(ord(ch) < 32 for ch in target):
        return None
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else None


def _throttle_keys(email: str) -> dict[str, str]:
    return {"account": f"account:{email}", "client": f"client:{request.remote_addr or '?'}"}


@bp.route("/connexion", methods=["GET", "POST"])
def login():
    next_url = safe_next(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("newsroom.home"))
    if request.method == "GET":
        return render_template("newsroom/login.html", next_url=next_url, email="")
    raw_email = request.form.get("email", "")
    try:
        email = normalize_email(raw_email)
    except AccountError:
        email = raw_email.strip().lower()[:254]
    keys = _throttle_keys(email)
    wait = throttle.wait_seconds(db(), keys)
    if wait:
        minutes = max(1, round(wait / 60))
        message = ngettext(
            "Trop de tentatives de connexion. Réessayez dans %(num)s minute.", "Trop de tentatives de connexion. Réessayez dans %(num)s minutes.", minutes
        )
        page = render_template("newsroom/login.html", next_url=next_url, email=raw_email, error=message)
        return page, 429, {"Retry-After": str(wait)}
    user = authenticate(db(), email, request.form.get("password", ""))
    if user is None:
        throttle.record_failure(db(), keys)
        error = _("Adresse e-mail ou mot de passe incorrect (ou compte désactivé).")
        return render_template("newsroom/login.html", next_url=next_url, email=raw_email, error=error), 401
    throttle.forget(db(), keys["account"])
    # A new session for a new identity: nothing set before logging in carries over (fixation).
    session.clear()
    session.permanent = True
    user.session_token = sessions.start(db(), user.id, request.user_agent.string, request.remote_addr)
    login_user(user)
    audit.record(db(), "user.login", user)
    db().commit()
    return redirect(next_url or url_for("newsroom.home"))


@bp.post("/deconnexion")
def logout():
    if current_user.is_authenticated:
        # Every session of the account ends, not only this browser's: a copied cookie opens nothing.
        sessions.end_all(db(), current_user.id, "logout")
        audit.record(db(), "user.logout", current_user)
        db().commit()
    logout_user()
    session.clear()
    flash(_("Vous êtes déconnecté."), "info")
    return redirect(url_for("auth.login"))
