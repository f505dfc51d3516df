"""The newsroom's accounts page (/redaction/comptes): an admin sees who can log in and ends sessions.

Routes of the newsroom blueprint, kept apart from the change requests' views.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user

from kb.config.i18n import gettext as _
from kb.config.i18n import ngettext
from kb.store import audit, sessions
from kb.store.accounts import User, list_users
from kb.web.database import db
from kb.web.newsroom import bp, requires


@bp.get("/comptes")
@requires("users.manage")
def accounts():
    users = list_users(db())
    open_by_user = {user.id: sessions.open_sessions(db(), user.id) for user in users}
    return render_template("newsroom/accounts.html", users=users, open_by_user=open_by_user)


def _account(user_id: int) -> User:
    user = db().get(User, user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/comptes/<int:user_id>")
@requires("users.manage")
def account(user_id: int):
    user = _account(user_id)
    return render_template("newsroom/account.html", user=user, open_sessions=sessions.open_sessions(db(), user.id), reasons=sessions.REASONS)


@bp.post("/comptes/<int:user_id>/sessions/<int:session_id>/fermer")
@requires("users.manage")
def end_session(user_id: int, session_id: int):
    user = _account(user_id)
    found = sessions.end(db(), session_id, "admin")
    if found is None or found.user_id != user.id:
        db().rollback()
        abort(404)
    audit.record(db(), "user.session.end", current_user, target=f"user:{user.id}", comment=f"session n° {session_id}")
    db().commit()
    flash(_("Session fermée : ce navigateur devra se reconnecter."), "success")
    return redirect(url_for("newsroom.account", user_id=user.id))


@bp.post("/comptes/<int:user_id>/sessions/fermer")
@requires("users.manage")
def end_sessions(user_id: int):
    user = _account(user_id)
    count = sessions.end_all(db(), user.id, "admin")
    audit.record(db(), "user.session.end", current_user, target=f"user:{user.id}", comment=f"{count} session(s)")
    db().commit()
    flash(ngettext("%(num)s session fermée.", "%(num)s sessions fermées.", count), "success")
    return redirect(url_for("newsroom.account", user_id=user.id))
