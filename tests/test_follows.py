"""Following a promise, a person or a tracker by e-mail: double opt-in, digests through a real SMTP server, leaving."""

import re
from html import unescape
from datetime import timedelta

import pytest
from sqlalchemy import select

from kb.newsroom import follows
from kb.ops.cli import main
from kb.store.follows import Digest, Follow, Follower
from kb.web import create_app
from kb.web.content_store import current_tree

from .conftest import CLAIM, CLAIM_FILE, corrupt, write

ADDRESS = "lectrice@exemple.fr"
NEW_ENTRY = """  - date: 2023-03-01
    status: in_progress
    note: Une balayeuse en panne.
    evidence:
      - source: deliberation-test
        quote: "une pour chaque commune"
reply:"""


@pytest.fixture
def site(inbox, content_dir, tmp_path, monkeypatch):
    """The site with a mail server; `kb notify` (the command) sees the same settings."""
    settings = {
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(inbox.port), "SMTP_TLS": "none", "MAIL_FROM": "suivi@example.org", "SITE_NAME": "Le Suivi",
        "SITE_URL": "http://localhost",
    }  # fmt: skip
    for name, value in settings.items():
        monkeypatch.setenv(f"KB_{name}", value)
    monkeypatch.setenv("KB_CONTENT_DIR", str(content_dir))
    app = create_app({"TESTING": True, "CONTENT_DIR": str(content_dir), "INSTANCE_DIR": str(tmp_path / "instance"), "CONTENT_RECHECK_SECONDS": 0})
    return app


def ask(client, target="promise:balayeuses-communes", email=ADDRESS, headers=None, **extra):
    return client.post("/suivre", data={"email": email, "target": target, **extra}, headers=headers or {})


def link_in(message, pattern: str) -> str:
    return re.search(pattern, message.get_content()).group(0)


def confirmed(client, inbox, target="promise:balayeuses-communes", email=ADDRESS) -> None:
    count = len(inbox.received)
    assert ask(client, target, email).status_code == 200
    message = inbox.wait(count + 1)[-1][1]
    path = link_in(message, r"/suivre/confirmer/[\w-]+")
    assert client.post(path).status_code == 200


def add_status(content_dir) -> None:
    corrupt(content_dir, "reply:", NEW_ENTRY)
    corrupt(content_dir, "status: done\nhistory", "status: in_progress\nhistory")


def notify(runner):
    return runner.invoke(main, ["notify"])


def test_without_a_mail_server_there_is_no_follow_form_and_asking_says_why(client):
    assert 'action="/suivre"' not in unescape(client.get("/promesses/balayeuses-communes").get_data(as_text=True))
    response = ask(client)
    assert response.status_code == 503 and "n'envoie pas d'e-mails" in unescape(response.get_data(as_text=True))


def test_promise_person_and_tracker_pages_offer_to_follow_them(site):
    client = site.test_client()
    for page, target in (("/promesses/balayeuses-communes", "promise:balayeuses-communes"), ("/elus/bernard-gerard", "person:bernard-gerard"),
                         ("/suivis/marcq-la-madeleine-2014-2020", "tracker:marcq-la-madeleine-2014-2020")):  # fmt: skip
        html = unescape(client.get(page).get_data(as_text=True))
        assert 'action="/suivre"' in html and f'value="{target}"' in html, page
        assert '<label for="suivre-email">Votre adresse e-mail</label>' in html


def test_asking_mails_a_confirmation_link_and_nothing_more(site, inbox):
    response = ask(site.test_client())
    assert response.status_code == 200 and "lien de confirmation" in unescape(response.get_data(as_text=True))
    recipients, message = inbox.wait(1)[0]
    assert recipients == [ADDRESS]
    assert message["Subject"] == "[Le Suivi] Confirmez votre suivi : Acheter deux balayeuses en commun"
    assert "/suivre/confirmer/" in message.get_content()
    with site.extensions["kb.db"]() as session:
        assert session.scalar(select(Follow)).active is False


def test_opening_the_link_asks_for_a_click_and_only_the_click_confirms(site, inbox):
    client = site.test_client()
    ask(client)
    path = link_in(inbox.wait(1)[0][1], r"/suivre/confirmer/[\w-]+")
    page = client.get(path)  # what a mail scanner fetching links does
    assert page.status_code == 200 and f'action="{path}"' in unescape(page.get_data(as_text=True))
    with site.extensions["kb.db"]() as session:
        assert session.scalar(select(Follow)).active is False
    done = client.post(path)
    assert done.status_code == 200 and "C'est confirmé" in unescape(done.get_data(as_text=True))
    with site.extensions["kb.db"]() as session:
        assert session.scalar(select(Follow)).active is True
    assert client.post(path).status_code == 404  # a used link is spent


def test_a_new_status_reaches_the_follower_once_with_its_quote_and_unsubscribe_headers(site, inbox, runner, content_dir):
    client = site.test_client()
    confirmed(client, inbox)
    result = notify(runner)
    assert result.exit_code == 0, result.output
    assert "0 résumé(s) préparé(s), 0 envoyé(s)" in result.output  # what the promise said before is not news
    add_status(content_dir)
    result = notify(runner)
    assert "1 résumé(s) préparé(s), 1 envoyé(s)" in result.output, result.output
    message = inbox.wait(2)[-1][1]
    text = message.get_content()
    assert message["Subject"] == "[Le Suivi] Du nouveau : Acheter deux balayeuses en commun"
    assert "01/03/2023 — Acheter deux balayeuses en commun : en cours" in text
    assert "« une pour chaque commune » (Délibération sur le schéma de mutualisation)" in text
    assert re.fullmatch(r"<http://localhost/suivre/[\w-]+/desabonner>", message["List-Unsubscribe"])
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "1 résumé(s) préparé(s)" not in notify(runner).output
    assert len(inbox.wait(3, seconds=1)) == 2


def test_nothing_is_sent_before_the_link_is_used(site, inbox, runner, content_dir):
    ask(site.test_client())
    inbox.wait(1)
    add_status(content_dir)
    assert "0 résumé(s) préparé(s), 0 envoyé(s)" in notify(runner).output
    assert len(inbox.wait(2, seconds=1)) == 1


def test_a_person_follower_hears_of_their_promises_and_of_a_new_fact_check(site, inbox, runner, content_dir):
    client = site.test_client()
    confirmed(client, inbox, "person:bernard-gerard")
    add_status(content_dir)
    write(content_dir / CLAIM_FILE, CLAIM)  # a new fact-check about the promise
    assert "1 résumé(s) préparé(s), 1 envoyé(s)" in notify(runner).output
    text = inbox.wait(2)[-1][1].get_content()
    assert "Acheter deux balayeuses en commun : en cours" in text
    assert "Vérification : « Deux balayeuses » pour deux communes : exact" in text


def test_the_one_click_unsubscribe_deletes_the_address(site, inbox, runner, content_dir):
    client = site.test_client()
    confirmed(client, inbox)
    add_status(content_dir)
    notify(runner)
    message = inbox.wait(2)[-1][1]
    url = message["List-Unsubscribe"].strip("<>").removeprefix("http://localhost")
    # What a mail client sends (RFC 8058): a POST with no cookie and no form token.
    response = site.test_client().post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    with site.extensions["kb.db"]() as session:
        assert session.scalars(select(Follower)).all() == [] and session.scalars(select(Follow)).all() == []
        assert session.scalars(select(Digest)).all() == []


def test_no_digest_is_sent_twice_when_notify_dies_between_sending_and_recording(site, inbox, content_dir):
    client = site.test_client()
    confirmed(client, inbox)
    confirmed(client, inbox, email="second@exemple.fr")
    add_status(content_dir)
    client.get("/")  # the catalog sees the edit

    def crash(digest):
        raise SystemExit("kill -9")  # the message has left; its record has not

    with site.test_request_context():
        view, mailer = current_tree(), site.extensions["kb.mailer"]
        with site.extensions["kb.db"]() as session, pytest.raises(SystemExit):
            follows.notify(session, view, mailer, None, None, on_sent=crash)
        with site.extensions["kb.db"]() as session:
            run = follows.notify(session, view, mailer, None, None)
            assert (run.composed, run.sent, run.uncertain) == (0, 1, 1)  # the other address's digest, and only it
            assert sorted(session.scalars(select(Digest.state))) == ["sent", "uncertain"]
    digests = [recipients for recipients, message in inbox.wait(4) if "Du nouveau" in message["Subject"]]
    assert sorted(digests) == [["lectrice@exemple.fr"], ["second@exemple.fr"]]


def test_a_digest_composed_but_not_sent_leaves_at_the_next_run(site, inbox, content_dir):
    client = site.test_client()
    confirmed(client, inbox)
    add_status(content_dir)
    client.get("/")
    with site.test_request_context():
        view, mailer = current_tree(), site.extensions["kb.mailer"]
        with site.extensions["kb.db"]() as session:
            assert follows.compose_due(session, view, "Le Suivi", None) == 1  # then the process died
            run = follows.notify(session, view, mailer, None, None)
    assert (run.composed, run.sent) == (0, 1)
    assert len([message for _, message in inbox.wait(2) if "Du nouveau" in message["Subject"]]) == 1


def test_an_unreachable_mail_server_keeps_the_digest_for_the_next_run(site, inbox, runner, content_dir, monkeypatch):
    confirmed(site.test_client(), inbox)
    add_status(content_dir)
    monkeypatch.setenv("KB_SMTP_PORT", "1")  # nothing listens there
    result = notify(runner)
    assert result.exit_code == 1 and "repartiront au prochain passage" in result.output
    monkeypatch.setenv("KB_SMTP_PORT", str(inbox.port))
    assert "0 résumé(s) préparé(s), 1 envoyé(s)" in notify(runner).output


def test_requests_are_throttled_per_address_and_per_client(site):
    client = site.test_client()
    assert [ask(client).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert "Retry-After" in ask(client).headers
    statuses = [ask(client, email=f"lecteur{n}@exemple.fr").status_code for n in range(20)]
    assert statuses.count(429) == 3  # 20 requests per client and window; the 3 taken above count, those refused do not


@pytest.mark.parametrize(
    "email, target, message",
    [
        ("pas-une-adresse", "promise:balayeuses-communes", "Adresse e-mail invalide"),
        (ADDRESS, "promise:absente", "Cette fiche n'est pas (ou plus) publiée"),
        (ADDRESS, "source:deliberation-test", "On ne peut suivre qu'une promesse, un élu ou un suivi"),
    ],
)
def test_a_bad_request_is_refused_with_its_reason_and_keeps_nothing(site, email, target, message):
    response = ask(site.test_client(), target, email)
    assert response.status_code == 400 and message in unescape(response.get_data(as_text=True))
    with site.extensions["kb.db"]() as session:
        assert session.scalars(select(Follower)).all() == []


def test_asking_again_for_what_one_follows_answers_the_same_and_mails_nothing(site, inbox):
    client = site.test_client()
    confirmed(client, inbox)
    again = ask(client)
    assert again.status_code == 200 and "lien de confirmation" in unescape(again.get_data(as_text=True))
    assert len(inbox.wait(2, seconds=1)) == 1


def test_the_manage_page_hides_the_address_and_stopping_the_last_follow_deletes_it(site, inbox):
    client = site.test_client()
    confirmed(client, inbox)
    path = link_in(inbox.received[0][1], r"/suivre/(?!confirmer)[\w-]+(?=\s)")
    html = unescape(client.get(path).get_data(as_text=True))
    assert ADDRESS not in html and "l…@exemple.fr" in html
    stop = re.search(r'action="(/suivre/[\w-]+/arreter/\d+)"', html).group(1)
    response = client.post(stop)
    assert "votre adresse a été supprimée" in unescape(response.get_data(as_text=True))
    with site.extensions["kb.db"]() as session:
        assert session.scalars(select(Follower)).all() == []


def test_requests_never_confirmed_are_forgotten_after_a_week(site):
    ask(site.test_client())
    with site.extensions["kb.db"]() as session:
        session.scalar(select(Follow)).requested_at -= timedelta(days=8)
        session.commit()
        assert follows.forget_unconfirmed(session) == 1
        assert session.scalars(select(Follower)).all() == []


def test_a_robot_filling_the_hidden_field_is_answered_but_nothing_is_kept(site, inbox):
    response = ask(site.test_client(), site_web="http://spam.example")
    assert response.status_code == 200
    with site.extensions["kb.db"]() as session:
        assert session.scalars(select(Follower)).all() == []


def test_the_links_mailed_name_the_sites_address_never_the_requests_host(site, inbox):
    ask(site.test_client(), headers={"Host": "evil.example"})
    text = inbox.wait(1)[0][1].get_content()
    assert "evil.example" not in text and "http://localhost/suivre/confirmer/" in text


def test_another_sites_page_cannot_make_its_visitors_ask(site, inbox):
    client = site.test_client()
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://ailleurs.example"}):
        assert ask(client, headers=headers).status_code == 403
    assert ask(client, headers={"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"}).status_code == 200
    assert len(inbox.wait(1)) == 1  # only the same-site request mailed its link


def test_without_its_own_address_the_site_offers_no_following(inbox, content_dir, tmp_path):
    app = create_app({"TESTING": True, "CONTENT_DIR": str(content_dir), "INSTANCE_DIR": str(tmp_path / "i"), "SMTP_HOST": "127.0.0.1", "SMTP_PORT": inbox.port, "SMTP_TLS": "none"})
    client = app.test_client()
    assert 'action="/suivre"' not in client.get("/promesses/balayeuses-communes").get_data(as_text=True)
    assert ask(client).status_code == 503


def test_a_renamed_promise_is_still_followed_and_its_history_is_no_news(site, inbox, runner, content_dir):
    client = site.test_client()
    confirmed(client, inbox)
    confirmed(client, inbox, "person:bernard-gerard", email="second@exemple.fr")
    assert "0 résumé(s) préparé(s)" in notify(runner).output
    old = content_dir / "promises" / "balayeuses-communes.md"
    text = old.read_text(encoding="utf-8").replace("aliases:\n  - balayeuses", "aliases:\n  - balayeuses\n  - balayeuses-communes")
    (content_dir / "promises" / "balayeuses-en-commun.md").write_text(text, encoding="utf-8")
    old.unlink()
    assert "0 résumé(s) préparé(s), 0 envoyé(s)" in notify(runner).output  # same entries, another id: nothing new
    corrupt(content_dir, "reply:", NEW_ENTRY, "promises/balayeuses-en-commun.md")
    assert "2 résumé(s) préparé(s), 2 envoyé(s)" in notify(runner).output  # and a new entry reaches both
    with site.extensions["kb.db"]() as session:
        assert "promise:balayeuses-en-commun" in {follow.target for follow in session.scalars(select(Follow))}


def test_kb_notify_without_a_mail_server_says_so(runner, content_dir, monkeypatch):
    monkeypatch.setenv("KB_CONTENT_DIR", str(content_dir))
    result = notify(runner)
    assert result.exit_code == 1 and "SMTP_HOST" in result.output

