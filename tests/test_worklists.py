"""What needs work: the newsroom's worklist, and review assignment with its due date."""

import re

from .conftest import EMAILS, PROMISE, SOURCE, Newsroom, write


def submitted(newsroom) -> int:
    response = Newsroom.post(
        newsroom.client("journalist"), "/redaction/promesses/balayeuses-communes/statut", date="2023-01-15", status="done",
        note="Confirmé.", source="deliberation-test", quote="achat de deux balayeuses", then="submit",
    )  # fmt: skip
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def section(html: str, anchor: str) -> str:
    return html.split(f'id="{anchor}"', 1)[1].split("</section>", 1)[0]


# -- worklist ----------------------------------------------------------------------------------------


def test_the_worklist_lists_late_promises_and_those_without_news(newsroom, content_dir):
    late = PROMISE.replace("due: 2018-12-31\nstatus: done", "due: 2019-06-30\nstatus: planned").replace("    status: done\n", "    status: planned\n")
    write(content_dir / "promises" / "piscine-en-retard.md", late)
    html = newsroom.client("journalist").get("/redaction/").get_data(as_text=True)
    assert 'href="/promesses/piscine-en-retard"' in section(html, "en-retard")
    assert 'href="/promesses/piscine-en-retard"' in section(html, "sans-nouvelles")
    assert "balayeuses-communes" not in section(html, "en-retard")  # done: not late


def test_the_worklist_lists_promises_whose_quotes_no_longer_verify(newsroom, content_dir):
    write(content_dir / "sources" / "deliberation-test.md", SOURCE.replace("« achat de deux balayeuses »", "« achat d'une balayeuse »"))
    html = newsroom.client("journalist").get("/redaction/").get_data(as_text=True)
    assert "Citations qui ne se vérifient plus (1)" in html
    assert 'href="/promesses/balayeuses-communes"' in section(html, "citations")


def test_a_request_sent_back_is_at_the_top_of_its_authors_home(newsroom):
    number = submitted(newsroom)
    Newsroom.post(newsroom.client("editor"), f"/redaction/demandes/{number}/request_changes", comment="Une source de plus.")
    html = newsroom.client("journalist").get("/redaction/").get_data(as_text=True)
    assert f'href="/redaction/demandes/{number}"' in section(html, "renvoyees")


# -- review assignment ---------------------------------------------------------------------------------


def test_an_editor_takes_a_review_and_the_others_see_it(newsroom):
    number = submitted(newsroom)
    assert Newsroom.post(newsroom.client("editor"), f"/redaction/demandes/{number}/prendre").status_code == 302
    queue = newsroom.client("paul@redaction.fr").get("/redaction/relecture").get_data(as_text=True)
    assert "Editor Test" in queue.split(f'number={number}', 1)[-1] or re.search(r"<td>Editor Test</td>", queue)
    page = newsroom.client("paul@redaction.fr").get(f"/redaction/demandes/{number}").get_data(as_text=True)
    assert "Relecture prise par <strong>Editor Test</strong>" in page
    assert "change.assign" in newsroom.client("admin").get("/redaction/journal?action=change.").get_data(as_text=True)


def test_nobody_takes_the_review_of_their_own_request(newsroom):
    response = Newsroom.post(newsroom.client("editor"), "/redaction/demandes/0/prendre")
    assert response.status_code == 404
    own = Newsroom.post(
        newsroom.client("editor"), "/redaction/promesses/balayeuses-communes/statut", date="2023-01-15", status="done",
        note="Confirmé.", source="deliberation-test", quote="achat de deux balayeuses", then="submit",
    )  # fmt: skip
    number = int(own.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert Newsroom.post(newsroom.client("editor"), f"/redaction/demandes/{number}/prendre").status_code == 403


def test_a_review_gets_a_due_date_and_the_queue_shows_it_late(newsroom):
    number = submitted(newsroom)
    editor = newsroom.client("editor")
    Newsroom.post(editor, f"/redaction/demandes/{number}/echeance", review_due="2020-01-31")
    queue = editor.get("/redaction/relecture").get_data(as_text=True)
    assert '<span class="late">31/01/2020</span>' in queue and "<td>0 h</td>" in queue


def test_a_bad_due_date_is_said_and_changes_nothing(newsroom):
    number = submitted(newsroom)
    editor = newsroom.client("editor")
    response = Newsroom.post(editor, f"/redaction/demandes/{number}/echeance", review_due="31/01/2020")
    assert response.status_code == 302
    page = editor.get(f"/redaction/demandes/{number}").get_data(as_text=True)
    assert "date invalide « 31/01/2020 »" in page and "À relire avant le" not in page


def test_journalists_cannot_take_reviews(newsroom):
    number = submitted(newsroom)
    assert Newsroom.post(newsroom.client("journalist"), f"/redaction/demandes/{number}/prendre").status_code == 403
    assert EMAILS["journalist"]


def test_a_review_taken_by_one_editor_is_not_taken_over_silently(newsroom):
    number = submitted(newsroom)
    Newsroom.post(newsroom.client("editor"), f"/redaction/demandes/{number}/prendre")
    response = Newsroom.post(newsroom.client("paul@redaction.fr"), f"/redaction/demandes/{number}/prendre")
    assert response.status_code in (400, 409) and "déjà prise par Editor Test" in response.get_data(as_text=True)
