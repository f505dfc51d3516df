"""The newsroom's e-mails, received by a real SMTP server the tests start: who hears of what."""

import logging
import time

import pytest

from kb.web import create_app

from .conftest import EMAILS, Newsroom, free_port


@pytest.fixture
def mailing_newsroom(inbox, content_dir, tmp_path):
    app = create_app({
        "TESTING": True, "CONTENT_DIR": str(content_dir), "INSTANCE_DIR": str(tmp_path / "instance"), "CONTENT_RECHECK_SECONDS": 0,
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": inbox.port, "SMTP_TLS": "none", "MAIL_FROM": "redaction@example.org", "SITE_NAME": "Le Suivi",
    })  # fmt: skip
    return Newsroom(app)


def submitted_request(newsroom) -> int:
    client = newsroom.client("journalist")
    response = Newsroom.post(
        client, "/redaction/promesses/balayeuses-communes/statut", date="2023-01-15", status="done", note="Confirmé.",
        source="deliberation-test", quote="achat de deux balayeuses", then="submit",
    )  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def test_a_request_sent_for_review_is_mailed_to_every_editor_but_its_author(mailing_newsroom, inbox):
    number = submitted_request(mailing_newsroom)
    inbox.wait(3)
    editors = {EMAILS["editor"], "paul@redaction.fr", EMAILS["admin"]}
    assert {address for recipients, _ in inbox.received for address in recipients} == editors
    message = inbox.to(EMAILS["editor"])[0]
    assert message["Subject"] == f"[Le Suivi] À relire : demande n° {number} — Acheter deux balayeuses en commun : réalisée"
    assert message["From"] == "Le Suivi <redaction@example.org>"
    assert f"http://localhost/redaction/demandes/{number}" in message.get_payload(decode=True).decode("utf-8")


def test_the_author_hears_that_changes_are_requested_with_the_editors_words(mailing_newsroom, inbox):
    number = submitted_request(mailing_newsroom)
    inbox.wait(3)
    Newsroom.post(mailing_newsroom.client("editor"), f"/redaction/demandes/{number}/request_changes", comment="Citez la délibération de 2022.")
    inbox.wait(4)
    [message] = inbox.to(EMAILS["journalist"])
    assert message["Subject"] == f"[Le Suivi] Demande n° {number} : des corrections sont demandées"
    assert "Citez la délibération de 2022." in message.get_payload(decode=True).decode("utf-8")


def test_the_author_hears_that_the_request_is_published(mailing_newsroom, inbox):
    number = submitted_request(mailing_newsroom)
    inbox.wait(3)
    Newsroom.post(mailing_newsroom.client("editor"), f"/redaction/demandes/{number}/approve")
    inbox.wait(4)
    [message] = inbox.to(EMAILS["journalist"])
    assert message["Subject"].endswith(": elle est publiée")


def test_an_unreachable_mail_server_never_fails_the_action(content_dir, tmp_path, caplog):
    app = create_app({
        "TESTING": True, "CONTENT_DIR": str(content_dir), "INSTANCE_DIR": str(tmp_path / "instance"), "CONTENT_RECHECK_SECONDS": 0,
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": free_port(), "SMTP_TLS": "none",
    })  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="kb.newsroom.mailer"):
        submitted_request(Newsroom(app))
        deadline = time.monotonic() + 10
        while not any("e-mail non envoyé" in record.getMessage() for record in caplog.records) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert any("e-mail non envoyé" in record.getMessage() for record in caplog.records)


def test_without_a_mail_server_the_start_says_so(content_dir, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="kb.web"):
        create_app({"TESTING": True, "CONTENT_DIR": str(content_dir), "INSTANCE_DIR": str(tmp_path / "instance")})
    assert any("aucun serveur réglé (SMTP_HOST)" in record.getMessage() for record in caplog.records)


def test_a_title_with_a_line_break_makes_a_one_line_subject():
    from kb.newsroom.mailer import Mailer

    mailer = Mailer("127.0.0.1", 25, "none", None, None, "kb@example.org", "kb")
    message = mailer.message("julie@redaction.fr", "À relire : une\u2028promesse\nsur deux lignes", "texte")
    assert message["Subject"] == "À relire : une promesse sur deux lignes"
