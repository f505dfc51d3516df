"""Newsroom accounts: created only on purpose, passwords kept only as hashes."""

import socket

import pytest
from sqlalchemy import select

from kb.ops.cli import main
from kb.store.accounts import AccountError, User, add_user, authenticate, disable, list_users, set_role
from kb.store.db import open_database

PASSWORD = "correct horse battery"


@pytest.fixture
def session(database_url):
    with open_database(database_url)() as session:
        yield session


def test_an_account_logs_in_with_its_password_only(session):
    add_user(session, "Journaliste@Mediacites.fr ", PASSWORD, "journalist")
    assert authenticate(session, "journaliste@mediacites.fr", PASSWORD).role == "journalist"
    assert authenticate(session, "journaliste@mediacites.fr", PASSWORD + "!") is None
    assert authenticate(session, "inconnu@mediacites.fr", PASSWORD) is None


def test_passwords_are_stored_as_scrypt_hashes(session):
    add_user(session, "a@b.fr", PASSWORD, "editor")
    stored = session.scalar(select(User.password_hash))
    assert stored.startswith("scrypt:") and PASSWORD not in stored


@pytest.mark.parametrize(
    ("email", "password", "role", "message"),
    [
        ("pas-une-adresse", PASSWORD, "editor", "adresse e-mail invalide"),
        ("a@b.fr", "court", "editor", "trop court"),
        ("a@b.fr", PASSWORD, "rédacteur en chef", "rôle inconnu"),
    ],
)
def test_bad_account_requests_are_refused_clearly(session, email, password, role, message):
    with pytest.raises(AccountError, match=message):
        add_user(session, email, password, role)
    assert list_users(session) == []


def test_an_email_has_one_account(session):
    add_user(session, "a@b.fr", PASSWORD, "editor")
    with pytest.raises(AccountError, match="existe déjà"):
        add_user(session, "A@B.FR", PASSWORD, "journalist")


def test_a_disabled_account_cannot_log_in(session):
    add_user(session, "a@b.fr", PASSWORD, "editor")
    disable(session, "a@b.fr")
    assert authenticate(session, "a@b.fr", PASSWORD) is None


def test_a_role_can_be_changed_but_not_for_a_missing_account(session):
    add_user(session, "a@b.fr", PASSWORD, "journalist")
    assert set_role(session, "a@b.fr", "editor").role == "editor"
    with pytest.raises(AccountError, match="aucun compte"):
        set_role(session, "x@b.fr", "editor")


def test_kb_user_asks_the_password_twice_without_echo_and_manages_accounts(runner, tmp_path):
    env = {"KB_INSTANCE_DIR": str(tmp_path / "instance")}
    added = runner.invoke(main, ["user", "add", "ed@mediacites.fr", "--role", "editor"], input=f"{PASSWORD}\n{PASSWORD}\n", env=env)
    assert added.exit_code == 0, added.output
    assert PASSWORD not in added.output and "compte créé : ed@mediacites.fr (editor)" in added.output
    assert "ed@mediacites.fr\ted\teditor\tactif" in runner.invoke(main, ["user", "list"], env=env).output
    assert runner.invoke(main, ["user", "set-role", "ed@mediacites.fr", "admin"], env=env).exit_code == 0
    assert runner.invoke(main, ["user", "disable", "ed@mediacites.fr"], env=env).exit_code == 0
    assert "ed@mediacites.fr\ted\tadmin\tdésactivé" in runner.invoke(main, ["user", "list"], env=env).output


def test_kb_user_errors_are_messages_not_tracebacks(runner, tmp_path):
    env = {"KB_INSTANCE_DIR": str(tmp_path / "instance")}
    result = runner.invoke(main, ["user", "add", "x@y.fr", "--role", "editor", "--password", "court"], env=env)
    assert result.exit_code == 1 and "trop court" in result.output and "Traceback" not in result.output
    assert "aucun compte" in runner.invoke(main, ["user", "list"], env=env).output


def test_there_is_no_default_account(database_url):
    with open_database(database_url)() as session:
        assert list_users(session) == []


def test_kb_user_demo_creates_one_account_per_role_only_when_asked(runner, tmp_path, database_url):
    env = {"KB_INSTANCE_DIR": str(tmp_path / "instance")}
    result = runner.invoke(main, ["user", "demo"], env=env)
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.output.splitlines() if line.count("\t") == 2]
    assert {row[2] for row in rows} == {"journalist", "editor", "admin"}
    with open_database(database_url)() as session:
        email, password, role = rows[0]
        assert authenticate(session, email, password).role == role
    again = runner.invoke(main, ["user", "demo"], env=env)
    assert "existe déjà, inchangé" in again.output


def test_the_display_name_defaults_to_the_start_of_the_address(session):
    assert add_user(session, "julie.martin@redaction.fr", PASSWORD, "journalist").name == "julie.martin"
    assert add_user(session, "b@redaction.fr", PASSWORD, "editor", "  Bruno   Éditeur ").name == "Bruno Éditeur"


def test_kb_user_on_an_unreachable_database_is_a_message_without_the_password(runner, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nobody listens there
    env = {"KB_INSTANCE_DIR": str(tmp_path / "instance"), "DATABASE_URL": f"postgresql://kb:motdepasse@127.0.0.1:{port}/kb"}
    result = runner.invoke(main, ["user", "list"], env=env)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"base postgresql://kb:***@127.0.0.1:{port}/kb :" in result.output and "motdepasse" not in result.output


def test_kb_user_demo_prints_the_address_of_the_server_as_configured(runner, tmp_path, database_url):
    instance = tmp_path / "instance"
    default = runner.invoke(main, ["user", "demo"], env={"KB_INSTANCE_DIR": str(instance)})
    assert "Connexion : http://127.0.0.1:5000/redaction/connexion" in default.output
    configured = runner.invoke(main, ["user", "demo"], env={"KB_INSTANCE_DIR": str(instance), "KB_PORT": "8080"})
    assert "Connexion : http://127.0.0.1:8080/redaction/connexion" in configured.output
    given = runner.invoke(main, ["user", "demo", "--port", "5001", "--host", "0.0.0.0"], env={"KB_INSTANCE_DIR": str(instance)})
    assert "Connexion : http://127.0.0.1:5001/redaction/connexion" in given.output
