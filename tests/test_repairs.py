"""Quotes that no longer hold: a corrected source breaks a quote; kb lists it with the nearest passage
of the new text and drafts, on one click, the request that repairs it — reviewed like any other."""

import re

from kb.content.check import check_tree
from kb.content.tree import read_tree
from kb.store.changes import ChangeRequest

from .conftest import Newsroom

BROKEN = "achat de deux balayeuses"


def correct_the_source(content_dir):
    """The deliberation re-uploaded, corrected: "deux balayeuses" became "deux machines balayeuses"."""
    path = content_dir / "sources" / "deliberation-test.md"
    path.write_text(path.read_text(encoding="utf-8").replace("« achat de deux balayeuses »", "« achat de deux machines balayeuses »"), encoding="utf-8")


def test_a_corrected_source_lists_the_quote_it_broke_with_the_nearest_passage(newsroom, content_dir):
    correct_the_source(content_dir)
    html = newsroom.client("journalist").get("/redaction/citations").get_data(as_text=True)
    assert "1 citation à reprendre" in html
    assert f"<del>« {BROKEN} »</del>" in html and "<ins>« achat de deux machines balayeuses »</ins>" in html


def test_the_newsroom_home_says_so_and_leads_there(newsroom, content_dir):
    correct_the_source(content_dir)
    html = newsroom.client("journalist").get("/redaction/").get_data(as_text=True)
    assert 'href="/redaction/citations"' in html


def test_one_click_drafts_the_repair_which_once_approved_makes_kb_check_clean(newsroom, content_dir):
    correct_the_source(content_dir)
    assert any("citation introuvable" in problem.message for problem in check_tree(read_tree(content_dir)).problems)
    journalist = newsroom.client("journalist")
    response = Newsroom.post(
        journalist, "/redaction/citations/reparer", key="promise:balayeuses-communes", field="history[0].evidence[0]",
        old=BROKEN, new="achat de deux machines balayeuses",
    )  # fmt: skip
    assert response.status_code == 302
    number = int(re.search(r"/redaction/demandes/(\d+)$", response.headers["Location"]).group(1))
    with newsroom.session() as session:
        change = session.get(ChangeRequest, number)
        assert (change.change_type, change.state) == ("edit", "draft")
        assert "achat de deux machines balayeuses" in change.proposed_text and BROKEN not in change.proposed_text
        assert "l'adhésion à la Centrale d'Achats Métropolitaine" in change.proposed_text  # the other quote untouched
    Newsroom.post(journalist, f"/redaction/demandes/{number}/submit")
    response = Newsroom.post(newsroom.client("editor"), f"/redaction/demandes/{number}/approve")
    assert response.status_code == 302
    assert not [problem for problem in check_tree(read_tree(content_dir)).problems if problem.severity == "error"]


def test_an_items_other_broken_quote_is_repaired_in_the_same_request(newsroom, content_dir):
    correct_the_source(content_dir)
    path = content_dir / "sources" / "deliberation-test.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Centrale d’Achats Métropolitaine", "Centrale d’Achat Métropolitaine"), encoding="utf-8")
    response = Newsroom.post(
        newsroom.client("journalist"), "/redaction/citations/reparer", key="promise:balayeuses-communes", field="history[0].evidence[0]",
        old=BROKEN, new="achat de deux machines balayeuses",
    )  # fmt: skip
    assert response.status_code == 302 and "/redaction/demandes/" in response.headers["Location"]
    with newsroom.session() as session:
        (change,) = session.query(ChangeRequest).all()
        assert "achat de deux machines balayeuses" in change.proposed_text
        assert "Centrale d’Achat Métropolitaine" in change.proposed_text
        assert change.summary.endswith("(et 1 autre de la fiche)")


def test_a_repair_with_a_passage_the_source_does_not_hold_is_refused_and_drafts_nothing(newsroom, content_dir):
    correct_the_source(content_dir)
    response = Newsroom.post(
        newsroom.client("journalist"), "/redaction/citations/reparer", key="promise:balayeuses-communes", field="history[0].evidence[0]",
        old=BROKEN, new="achat de trois balayeuses",
    )  # fmt: skip
    assert response.status_code == 302 and response.headers["Location"].endswith("/redaction/citations")
    with newsroom.session() as session:
        assert session.query(ChangeRequest).count() == 0


def test_a_repair_of_a_quote_that_changed_meanwhile_is_refused(newsroom, content_dir):
    correct_the_source(content_dir)
    response = Newsroom.post(
        newsroom.client("journalist"), "/redaction/citations/reparer", key="promise:balayeuses-communes", field="history[0].evidence[0]",
        old="une autre citation", new="achat de deux machines balayeuses",
    )  # fmt: skip
    assert response.status_code == 302 and response.headers["Location"].endswith("/redaction/citations")
    with newsroom.session() as session:
        assert session.query(ChangeRequest).count() == 0
