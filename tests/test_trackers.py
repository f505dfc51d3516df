"""Trackers: every promise belongs to one term's tracker; a closed tracker's record is final."""

import csv
import io
import re
from datetime import date

import pytest

from kb.catalog import queries
from kb.content import listing
from kb.content.check import check_content
from kb.content.tree import read_tree

from .conftest import DEMO_CONTENT, PROMISE_FILE, corrupt, the_error, write

TRACKER_FILE = "trackers/marcq-la-madeleine-2014-2020.md"




@pytest.fixture
def demo_client(tmp_path):
    from kb.web import create_app

    return create_app({"TESTING": True, "CONTENT_DIR": str(DEMO_CONTENT), "INSTANCE_DIR": str(tmp_path)}).test_client()


# -- kb check -------------------------------------------------------------------------------------


def test_a_promise_without_a_tracker_is_an_error_at_its_file(content_dir):
    corrupt(content_dir, "tracker: marcq-la-madeleine-2014-2020\n", "")
    problem = the_error(content_dir)
    assert (problem.path.endswith(PROMISE_FILE), problem.field) == (True, "tracker")
    assert "obligatoire" in problem.message


def test_a_promise_naming_an_unknown_tracker_gets_the_nearest_one_suggested(content_dir):
    corrupt(content_dir, "tracker: marcq-la-madeleine-2014-2020", "tracker: marcq-la-madeleine-2014-2021")
    problem = the_error(content_dir)
    assert problem.field == "tracker" and problem.line is not None
    assert "suivi inconnu « marcq-la-madeleine-2014-2021 »" in problem.message
    assert "vouliez-vous dire « marcq-la-madeleine-2014-2020 »" in problem.message


def test_a_term_that_ends_before_it_starts_is_an_error(content_dir):
    corrupt(content_dir, "term_end: 2020-06-28", "term_end: 2013-06-28", TRACKER_FILE)
    problem = the_error(content_dir)
    assert (problem.path.endswith(TRACKER_FILE), problem.field) == (True, "term_end")


def test_a_closed_tracker_needs_its_end_date(content_dir):
    corrupt(content_dir, "term_end: 2020-06-28\n", "", TRACKER_FILE)
    problem = the_error(content_dir)
    assert problem.field == "closed" and "term_end" in problem.message


def test_closed_must_be_true_or_false(content_dir):
    corrupt(content_dir, "closed: true", "closed: oui", TRACKER_FILE)
    problem = the_error(content_dir)
    assert problem.field == "closed" and "true ou false" in problem.message


def test_carrying_over_an_unknown_promise_is_an_error(content_dir):
    corrupt(content_dir, "aliases:", "carried_over_from: promesse-absente\naliases:")
    problem = the_error(content_dir)
    assert problem.field == "carried_over_from" and "promesse inconnue « promesse-absente »" in problem.message


def test_the_demo_sorts_every_promise_into_a_tracker():
    tree = read_tree(DEMO_CONTENT)
    assert len(tree.trackers) >= 3
    assert all(promise.tracker in tree.trackers for promise in tree.promises.values())
    assert tree.promises["aubry-mutualisation-lille-lomme-hellemmes"].tracker == "lille-2020-2026"
    assert check_content(DEMO_CONTENT).errors == []


# -- final records ----------------------------------------------------------------------------------


def test_a_closed_trackers_final_record_counts_statuses_as_of_its_end(content_dir):
    # The promise was "planned" in 2017 and "done" in 2022: the 2014-2020 term ended with it planned.
    promise = read_tree(content_dir).promises["balayeuses-communes"]
    record = listing.final_record([promise], ["planned", "done"], date(2020, 6, 28), {"done"})
    assert record.counts == {"planned": 1}


def test_entries_after_the_end_do_not_change_the_final_record(demo_copy, tmp_path):
    from kb.web import create_app

    client = create_app({"TESTING": True, "CONTENT_DIR": str(demo_copy), "INSTANCE_DIR": str(tmp_path / "i"), "CONTENT_RECHECK_SECONDS": 0}).test_client()
    before = client.get("/api/trackers/lille-2020-2026").get_json()
    assert before["final_record"]["counts"] == [{"status": "partial", "status_label": "en partie réalisée", "count": 1}]
    path = demo_copy / "promises" / "aubry-mutualisation-lille-lomme-hellemmes.md"
    text = path.read_text(encoding="utf-8")
    later = "  - date: 2026-06-01\n    status: done\n    note: Après le mandat.\n"
    path.write_text(text.replace("\nreply:", "\n" + later.rstrip("\n") + "\nreply:", 1).replace("status: partial\nhistory", "status: done\nhistory"), encoding="utf-8")
    after = client.get("/api/trackers/lille-2020-2026").get_json()
    assert after["scorecard"]["counts"][0]["status"] == "done"  # today it stands done
    assert after["final_record"] == before["final_record"]  # its term still ended partly done


def test_the_catalogs_final_record_is_the_trees(demo_client):
    demo_client.get("/")  # builds the catalog
    app = demo_client.application
    tree = read_tree(DEMO_CONTENT)
    with app.app_context():
        from kb.web.content_store import current_tree

        view = current_tree()
        for tracker in tree.trackers.values():
            if not tracker.closed:
                continue
            members = [promise for promise in tree.promises.values() if promise.tracker == tracker.id]
            expected = listing.final_record(members, list(tree.statuses), tracker.term_end, tree.final_statuses)
            assert queries.final_record(view, tracker, tracker.term_end) == expected, tracker.id


# -- pages, feeds, API ------------------------------------------------------------------------------


def test_the_trackers_page_shows_each_tracker_with_its_scorecard(demo_client):
    html = demo_client.get("/suivis").get_data(as_text=True)
    for title in ("Mairie de Lille, mandat 2020-2026", "Schéma de mutualisation de la MEL 2022-2026", "Marcq-en-Barœul et La Madeleine, mandat 2014-2020"):
        assert title in html
    assert html.count('class="bar"') >= 3
    assert "bilan final au" in html


def test_a_trackers_page_lists_its_promises_with_filters_and_feed(demo_client):
    html = demo_client.get("/suivis/mel-mutualisation-2022-2026").get_data(as_text=True)
    tree = read_tree(DEMO_CONTENT)
    members = [p for p in tree.promises.values() if p.tracker == "mel-mutualisation-2022-2026"]
    assert f"{len(members)} promesses" in html
    assert 'href="/suivis/mel-mutualisation-2022-2026.atom"' in html
    assert "Méthode" in html and "Villeneuve d" in html
    filtered = demo_client.get("/suivis/mel-mutualisation-2022-2026?status=done").get_data(as_text=True)
    done = sum(p.status == "done" for p in members)
    assert re.search(rf">{done} promesses? sur {len(members)}<", filtered)


def test_a_closed_trackers_page_says_its_record_is_final(demo_client):
    html = demo_client.get("/suivis/lille-2020-2026").get_data(as_text=True)
    assert "Bilan final" in html and "22/03/2026" in html


def test_an_unknown_tracker_is_a_friendly_404(demo_client):
    response = demo_client.get("/suivis/nulle-part")
    assert response.status_code == 404
    assert demo_client.get("/suivis/nulle-part.atom").status_code == 404
    assert demo_client.get("/api/trackers/nulle-part").get_json()["error"] == "not_found"


def test_a_trackers_feed_has_only_its_promises(demo_client):
    xml = demo_client.get("/suivis/marcq-la-madeleine-2014-2020.atom").get_data(as_text=True)
    assert "<entry>" in xml
    assert "/promesses/marcq-la-madeleine-" in xml and "/promesses/mel-" not in xml


def test_the_api_lists_trackers_and_one_with_its_promises(demo_client):
    data = demo_client.get("/api/trackers").get_json()
    ids = [tracker["id"] for tracker in data["trackers"]]
    assert ids[0] == "mel-mutualisation-2022-2026"  # the open one first
    one = demo_client.get("/api/trackers/marcq-la-madeleine-2014-2020").get_json()
    assert one["closed"] is True and one["term_end"] == "2020-06-28"
    assert sorted(one["promises"]) == sorted(p for p in read_tree(DEMO_CONTENT).promises if p.startswith("marcq-la-madeleine"))


def test_the_tracker_is_a_filter_of_the_list_and_a_column_of_the_csv(demo_client):
    html = demo_client.get("/promesses?tracker=lille-2020-2026").get_data(as_text=True)
    assert "1 promesse<" in html and "Mairie de Lille, mandat 2020-2026" in html
    rows = list(csv.DictReader(io.StringIO(demo_client.get("/export/promises.csv?tracker=lille-2020-2026").get_data(as_text=True).lstrip("\ufeff"))))
    assert [(row["id"], row["suivi"]) for row in rows] == [("aubry-mutualisation-lille-lomme-hellemmes", "lille-2020-2026")]
    api = demo_client.get("/api/promises?tracker=lille-2020-2026").get_json()
    assert api["total"] == 1 and api["promises"][0]["tracker"] == "lille-2020-2026"


def test_the_tracker_is_a_search_facet(demo_client):
    html = demo_client.get("/recherche?q=mutualisation").get_data(as_text=True)
    assert "<h3>Suivi</h3>" in html and "Schéma de mutualisation de la MEL 2022-2026" in html
    narrowed = demo_client.get("/recherche?q=mutualisation&tracker=lille-2020-2026").get_data(as_text=True)
    assert "Approfondir la mutualisation" in narrowed and "1 résultat" in narrowed


def test_a_carried_over_promise_links_both_ways(demo_client):
    later = demo_client.get("/promesses/mel-perennisation-permis-de-louer").get_data(as_text=True)
    assert "Reprise du mandat précédent" in later and 'href="/promesses/mel-permis-de-louer-mutualise"' in later
    earlier = demo_client.get("/promesses/mel-permis-de-louer-mutualise").get_data(as_text=True)
    assert "Reprise au mandat suivant" in earlier and 'href="/promesses/mel-perennisation-permis-de-louer"' in earlier
    assert 'href="/suivis/mel-mutualisation-2015-2020"' in earlier


def test_the_home_page_shows_every_tracker(demo_client):
    html = demo_client.get("/").get_data(as_text=True)
    assert 'id="par-suivi"' in html and html.count('href="/suivis/') >= 5


# -- the newsroom -------------------------------------------------------------------------------------


def test_a_new_tracker_is_proposed_as_a_file_reviewed_and_published(newsroom):
    from .conftest import Newsroom

    journalist = newsroom.client("journalist")
    form = journalist.get("/redaction/fiches/nouvelle/tracker").get_data(as_text=True)
    assert "term_start: 2026-03-22" in form  # the example to start from
    text = "---\ntitle: Marcq-en-Barœul, mandat 2026-2032\nterritory: Marcq-en-Barœul\noffice: Mairie de Marcq-en-Barœul\nterm_start: 2026-03-22\n---\nMéthode.\n"
    response = Newsroom.post(journalist, "/redaction/fiches/nouvelle/tracker", id="marcq-2026-2032", text=text, then="submit")
    assert response.status_code == 302
    number = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    Newsroom.post(newsroom.client("editor"), f"/redaction/demandes/{number}/approve")
    page = newsroom.app.test_client().get("/suivis/marcq-2026-2032").get_data(as_text=True)
    assert "Marcq-en-Barœul, mandat 2026-2032" in page and "suivi en cours" in page


def test_a_new_tracker_file_that_does_not_check_is_refused_with_its_problems(newsroom):
    from .conftest import Newsroom

    text = "---\ntitle: Sans date\nterritory: Lille\noffice: Mairie de Lille\n---\n"
    response = Newsroom.post(newsroom.client("journalist"), "/redaction/fiches/nouvelle/tracker", id="sans-date", text=text, then="draft")
    assert response.status_code == 400 and "term_start" in response.get_data(as_text=True)


def test_only_kinds_without_a_form_of_their_own_have_a_new_file_page(newsroom):
    assert newsroom.client("journalist").get("/redaction/fiches/nouvelle/promise").status_code == 404


def test_a_tracker_without_promises_lists_none_not_everyone(demo_copy, tmp_path):
    from kb.web import create_app

    write(demo_copy / "trackers" / "lille-2026-2032.md", "---\ntitle: Lille 2026-2032\nterritory: Lille\noffice: Mairie de Lille\nterm_start: 2026-03-22\n---\nMéthode.\n")
    client = create_app({"TESTING": True, "CONTENT_DIR": str(demo_copy), "INSTANCE_DIR": str(tmp_path / "i")}).test_client()
    html = client.get("/suivis/lille-2026-2032").get_data(as_text=True)
    assert ">0 promesse<" in html and 'href="/promesses/' not in html and "Exporter en CSV" not in html


def test_a_promise_without_a_tracker_stays_published_while_kb_check_asks_for_one(content_dir, client):
    corrupt(content_dir, "tracker: marcq-la-madeleine-2014-2020\n", "")
    assert client.get("/promesses/balayeuses-communes").status_code == 200
    assert the_error(content_dir).field == "tracker"
