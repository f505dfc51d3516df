"""Who gets into the newsroom: login, throttling, cookies, CSRF, redirects, the permission table."""

import re

import pytest

from kb.newsroom.permissions import ACTIONS, PERMISSIONS
from kb.store.accounts import disable, set_role
from kb.web.auth import safe_next
from kb.web.newsroom import ROUTE_ACTIONS

from .conftest import EMAILS, PASSWORDS, csrf_token


def login(client, email, password):
    return client.post("/redaction/connexion", data={"csrf_token": csrf_token(client), "email": email, "password": password})


def newsroom_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("newsroom.")]


def test_every_newsroom_route_names_its_permission(app):
    rules = newsroom_rules(app)
    assert len(rules) >= 15
    unchecked = [rule.rule for rule in rules if rule.endpoint not in ROUTE_ACTIONS]
    assert unchecked == []
    assert set(ROUTE_ACTIONS.values()) <= set(ACTIONS)


def _example_url(rule) -> str:
    values = {"promise_id": "balayeuses-communes", "claim_id": "deux-balayeuses", "source_id": "deliberation-test", "number": 1, "action": "submit", "sha": "0" * 64, "user_id": 1, "session_id": 1, "kind_name": "tracker"}
    return re.sub(r"<(?:[^:>]+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule)


def test_every_newsroom_route_sends_strangers_to_the_login_page(app, client):
    for rule in newsroom_rules(app):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(_example_url(rule), method=method, data={"csrf_token": csrf_token(client)})
            assert response.status_code == 302, (rule.rule, method)
            assert response.headers["Location"].startswith("/redaction/connexion?next="), rule.rule


@pytest.mark.parametrize("role", ["journalist", "editor", "admin"])
def test_every_newsroom_route_refuses_roles_without_its_permission(newsroom, role):
    client = newsroom.client(role)
    for rule in newsroom_rules(newsroom.app):
        if ROUTE_ACTIONS[rule.endpoint] in PERMISSIONS[role]:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(_example_url(rule), method=method, data={"csrf_token": client.token})
            assert response.status_code == 403, (role, rule.rule, method)
            assert "Accès refusé" in response.get_data(as_text=True)


def test_the_permission_table_gives_each_role_more_than_the_last():
    assert PERMISSIONS["journalist"] < PERMISSIONS["editor"] < PERMISSIONS["admin"]
    assert "change.review" not in PERMISSIONS["journalist"] and "audit.view" not in PERMISSIONS["editor"]


def test_login_then_logout(newsroom):
    client = newsroom.client("journalist")
    assert client.get("/redaction/").status_code == 200
    response = client.post("/redaction/deconnexion", data={"csrf_token": client.token})
    assert response.status_code == 302
    assert client.get("/redaction/").status_code == 302


def test_a_wrong_password_says_nothing_about_which_part_was_wrong(newsroom):
    client = newsroom.app.test_client()
    wrong_password = login(client, EMAILS["editor"], "pas le bon mot de passe")
    unknown = login(client, "personne@redaction.fr", "pas le bon mot de passe")
    assert wrong_password.status_code == unknown.status_code == 401
    assert "Adresse e-mail ou mot de passe incorrect" in wrong_password.get_data(as_text=True)


def test_login_is_throttled_after_five_failures(newsroom):
    client = newsroom.app.test_client()
    for _ in range(5):
        assert login(client, EMAILS["editor"], "mauvais").status_code == 401
    response = login(client, EMAILS["editor"], PASSWORDS["editor"])  # even the right password must wait
    assert response.status_code == 429
    assert "Trop de tentatives" in response.get_data(as_text=True) and int(response.headers["Retry-After"]) > 0
    # Another account from the same client is not locked out by these five.
    assert login(client, EMAILS["journalist"], PASSWORDS["journalist"]).status_code == 302


def test_a_successful_login_clears_the_accounts_failures(newsroom):
    client = newsroom.app.test_client()
    for _ in range(4):
        login(client, EMAILS["editor"], "mauvais")
    assert login(client, EMAILS["editor"], PASSWORDS["editor"]).status_code == 302
    other = newsroom.app.test_client()
    for _ in range(4):
        login(other, EMAILS["editor"], "mauvais")
    assert login(other, EMAILS["editor"], PASSWORDS["editor"]).status_code == 302


def test_a_disabled_user_is_logged_out_at_the_next_request(newsroom):
    client = newsroom.client("editor")
    with newsroom.session() as session:
        disable(session, EMAILS["editor"])
    assert client.get("/redaction/").status_code == 302
    assert login(newsroom.app.test_client(), EMAILS["editor"], PASSWORDS["editor"]).status_code == 401


def test_a_role_change_applies_at_the_next_login(newsroom):
    client = newsroom.client("editor")
    assert client.get("/redaction/relecture").status_code == 200
    with newsroom.session() as session:
        set_role(session, EMAILS["editor"], "journalist")
    assert client.get("/redaction/relecture").status_code == 302  # the session ended with the old role
    assert newsroom.client("editor").get("/redaction/relecture").status_code == 403


def test_a_post_without_the_csrf_token_is_refused(newsroom):
    client = newsroom.client("journalist")
    response = client.post("/redaction/deconnexion")
    assert response.status_code == 400 and "Formulaire expiré" in response.get_data(as_text=True)
    assert client.get("/redaction/").status_code == 200  # still logged in: the request did nothing


def test_a_login_form_without_the_csrf_token_is_refused(newsroom):
    client = newsroom.app.test_client()
    response = client.post("/redaction/connexion", data={"email": EMAILS["editor"], "password": PASSWORDS["editor"]})
    assert response.status_code == 400


def test_a_token_from_another_session_is_refused(newsroom):
    mallory = newsroom.client("journalist")
    victim = newsroom.client("editor")
    response = victim.post("/redaction/deconnexion", data={"csrf_token": mallory.token})
    assert response.status_code == 400


def test_session_cookie_is_httponly_and_samesite(newsroom):
    client = newsroom.app.test_client()
    response = client.get("/redaction/connexion")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_session_cookie_is_secure_when_configured(content_dir, tmp_path):
    from kb.web import create_app

    app = create_app({"TESTING": True, "CONTENT_DIR": str(content_dir), "INSTANCE_DIR": str(tmp_path / "i"), "SECURE_COOKIES": True})
    assert "Secure" in app.test_client().get("/redaction/connexion").headers["Set-Cookie"]


def test_login_returns_to_the_page_asked_for(newsroom):
    client = newsroom.app.test_client()
    response = client.get("/redaction/relecture")
    assert response.headers["Location"] == "/redaction/connexion?next=%2Fredaction%2Frelecture"
    response = client.post(
        "/redaction/connexion",
        data={"csrf_token": csrf_token(client), "email": EMAILS["editor"], "password": PASSWORDS["editor"], "next": "/redaction/relecture"},
    )
    assert response.headers["Location"] == "/redaction/relecture"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)", "/\\/evil.example", "\t/x", "/a\nb"],
)
def test_next_never_leaves_the_site(newsroom, target):
    assert safe_next(target) is None
    client = newsroom.app.test_client()
    response = client.post(
        "/redaction/connexion",
        data={"csrf_token": csrf_token(client), "email": EMAILS["editor"], "password": PASSWORDS["editor"], "next": target},
    )
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location


def test_no_account_exists_until_one_is_made(app):
    with app.extensions["kb.db"]() as session:
        from kb.store.accounts import list_users

        assert list_users(session) == []


def test_the_secret_key_is_random_and_kept_per_installation(content_dir, tmp_path):
    from kb.web import create_app

    first = create_app({"CONTENT_DIR": str(content_dir), "INSTANCE_DIR": str(tmp_path / "a")}).secret_key
    again = create_app({"CONTENT_DIR": str(content_dir), "INSTANCE_DIR": str(tmp_path / "a")}).secret_key
    other = create_app({"CONTENT_DIR": str(content_dir), "INSTANCE_DIR": str(tmp_path / "b")}).secret_key
    assert first == again != other and len(first) == 64
    assert oct((tmp_path / "a" / "secret_key").stat().st_mode & 0o777) == "0o600"
