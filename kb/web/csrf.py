"""CSRF protection: every state-changing request carries the session's secret token.

The token lives in the (signed, HttpOnly, SameSite) session cookie and in each form as a hidden
field; a cross-site page can make a browser send the cookie, never read the token.
"""

from __future__ import annotations

import hmac
import secrets

from flask import Flask, abort, current_app, request, session

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
FIELD = "csrf_token"


def token() -> str:
    """The current session's token (created on first use)."""
    if FIELD not in session:
        session[FIELD] = secrets.token_urlsafe(32)
    return session[FIELD]


def exempt(view):
    """A form anyone may post with no session (asking to follow by e-mail, whose link must then be
    confirmed; a mail client's one-click unsubscribe): what it does needs a secret it cannot forge."""
    view.csrf_exempt = True
    return view


def _check() -> None:
    if request.method in SAFE_METHODS:
        return
    if getattr(current_app.view_functions.get(request.endpoint), "csrf_exempt", False):
        return
    expected = session.get(FIELD)
    sent = request.form.get(FIELD) or request.headers.get("X-CSRF-Token") or ""
    if not expected or not hmac.compare_digest(expected, sent):
        abort(400, description="csrf")


def init_app(app: Flask) -> None:
    app.before_request(_check)
    app.add_template_global(token, "csrf_token")
