"""Sessions end server-side: at logout, with a new password or role, a disabled account, or by an admin."""

import re

from sqlalchemy import select

from kb.ops.cli import main
from kb.store import sessions
from kb.store.accounts import disable, set_role
from kb.store.sessions import UserSession

from .conftest import EMAILS, Newsroom

COOKIE = "kb_session"


def copy_of(newsroom, client):
    """Another browser holding a copy of `client`'s session cookie (as a thief would)."""
    other = newsroom.app.test_client()
    other.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return other


def test_a_cookie_copied_before_logout_opens_nothing_after_it(newsroom):
    client = newsroom.client("journalist")
    stolen = copy_of(newsroom, client)
    assert stolen.get("/redaction/").status_code == 200
    Newsroom.post(client, "/redaction/deconnexion")
    response = stolen.get("/redaction/")
    assert response.status_code == 302 and "/redaction/connexion" in response.headers["Location"]


def test_logging_out_ends_every_session_of_the_account(newsroom):
    laptop, phone = newsroom.client("editor"), newsroom.client("editor")
    Newsroom.post(laptop, "/redaction/deconnexion")
    assert phone.get("/redaction/").status_code == 302


def test_a_new_password_ends_every_session(newsroom, runner, database_url):
    client = newsroom.client("journalist")
    result = runner.invoke(main, ["user", "set-password", EMAILS["journalist"]], input="un-tout-nouveau-secret\nun-tout-nouveau-secret\n", env={"DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert client.get("/redaction/").status_code == 302


def test_a_new_role_ends_every_session(newsroom):
    client = newsroom.client("editor")
    with newsroom.session() as session:
        set_role(session, EMAILS["editor"], "journalist")
    assert client.get("/redaction/").status_code == 302


def test_disabling_an_account_ends_its_sessions_in_the_database(newsroom):
    newsroom.client("editor")
    with newsroom.session() as session:
        user = disable(session, EMAILS["editor"])
        assert sessions.open_sessions(session, user.id) == []


def test_the_database_never_holds_the_cookies_token(newsroom):
    client = newsroom.client("journalist")
    cookie = client.get_cookie(COOKIE).value
    with newsroom.session() as session:
        hashes = session.scalars(select(UserSession.token_hash)).all()
    assert hashes and all(len(value) == 64 and value not in cookie for value in hashes)


def test_an_admin_sees_a_users_sessions_and_ends_one(newsroom):
    laptop, phone = newsroom.client("journalist"), newsroom.client("journalist")
    admin = newsroom.client("admin")
    user_id = newsroom.user(EMAILS["journalist"]).id
    page = admin.get(f"/redaction/comptes/{user_id}").get_data(as_text=True)
    assert "2 sessions ouvertes" in page
    first = re.findall(rf'/redaction/comptes/{user_id}/sessions/(\d+)/fermer', page)
    with newsroom.session() as session:
        phone_session = max(session.scalars(select(UserSession.id).where(UserSession.user_id == user_id)).all())
    assert str(phone_session) in first
    assert Newsroom.post(admin, f"/redaction/comptes/{user_id}/sessions/{phone_session}/fermer").status_code == 302
    assert phone.get("/redaction/").status_code == 302
    assert laptop.get("/redaction/").status_code == 200
    assert "user.session.end" in admin.get("/redaction/journal?action=user.").get_data(as_text=True)


def test_an_admin_ends_every_session_of_a_user(newsroom):
    client = newsroom.client("editor")
    admin = newsroom.client("admin")
    user_id = newsroom.user(EMAILS["editor"]).id
    assert "1 session(s)" not in admin.get("/redaction/comptes").get_data(as_text=True)
    Newsroom.post(admin, f"/redaction/comptes/{user_id}/sessions/fermer")
    assert client.get("/redaction/").status_code == 302
    assert "Aucune session ouverte" in admin.get(f"/redaction/comptes/{user_id}").get_data(as_text=True)


def test_ending_a_session_of_another_user_through_the_wrong_address_is_a_404(newsroom):
    newsroom.client("editor")
    admin = newsroom.client("admin")
    editor_id = newsroom.user(EMAILS["editor"]).id
    journalist_id = newsroom.user(EMAILS["journalist"]).id
    with newsroom.session() as session:
        editor_session = session.scalar(select(UserSession.id).where(UserSession.user_id == editor_id))
    assert Newsroom.post(admin, f"/redaction/comptes/{journalist_id}/sessions/{editor_session}/fermer").status_code == 404
    with newsroom.session() as session:
        assert session.get(UserSession, editor_session).ended_at is None


def test_kb_user_sessions_lists_and_ends_them(newsroom, runner, database_url):
    client = newsroom.client("journalist")
    listed = runner.invoke(main, ["user", "sessions", EMAILS["journalist"]], env={"DATABASE_URL": database_url})
    assert listed.exit_code == 0 and "ouverte" in listed.output
    ended = runner.invoke(main, ["user", "sessions", EMAILS["journalist"], "--end"], env={"DATABASE_URL": database_url})
    assert "1 session(s) fermée(s)" in ended.output
    assert client.get("/redaction/").status_code == 302


def test_a_session_older_than_its_lifetime_opens_nothing(newsroom):
    from datetime import timedelta

    client = newsroom.client("journalist")
    with newsroom.session() as session:
        for found in session.scalars(select(UserSession)).all():
            found.created_at -= sessions.MAX_AGE + timedelta(minutes=1)
        session.commit()
    assert client.get("/redaction/").status_code == 302
