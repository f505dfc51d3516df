"""Home page scorecards and the pages of each politician and territory."""

import re

import pytest

from .conftest import DEMO_CONTENT


@pytest.fixture
def demo_client(tmp_path):
    from kb.web import create_app

    return create_app({"TESTING": True, "CONTENT_DIR": str(DEMO_CONTENT), "INSTANCE_DIR": str(tmp_path)}).test_client()


def test_home_scorecard_counts_every_published_promise(demo_client):
    html = demo_client.get("/").get_data(as_text=True)
    counts = [int(n) for n in re.findall(r'</span> <strong>(\d+)</strong> <span class="meta">', html)]
    assert sum(counts) == 45
    assert re.search(r"(\d+) promesses en retard", html)


def test_home_lists_latest_changes_and_confirmations(demo_client):
    html = demo_client.get("/").get_data(as_text=True)
    assert "28/01/2026" in html.split("Derniers changements")[1][:800]
    assert "confirmé" in html  # a later entry keeping the same status is not a change "réalisée → réalisée"


def test_home_links_each_politician_and_territory_to_its_page(demo_client):
    html = demo_client.get("/").get_data(as_text=True)
    assert 'href="/elus/martine-aubry"' in html
    assert 'href="/territoires/marcq-en-baroeul-et-la-madeleine"' in html


def test_a_politicians_page_has_their_scorecard_promises_and_feed(demo_client):
    html = demo_client.get("/elus/bernard-gerard").get_data(as_text=True)
    assert "<h1>Bernard Gérard</h1>" in html
    assert html.count('<h3><a href="/promesses/') == 5
    assert "/flux.atom?made_by=bernard-gerard" in html


def test_the_address_of_a_name_written_before_people_had_files_leads_to_its_person(demo_client):
    response = demo_client.get("/elus/bernard-gerard-et-sebastien-lepretre")
    assert response.status_code == 301 and response.headers["Location"].endswith("/elus/bernard-gerard")


def test_a_territorys_page_lists_its_promises(demo_client):
    html = demo_client.get("/territoires/lille").get_data(as_text=True)
    assert 'href="/promesses/aubry-mutualisation-lille-lomme-hellemmes"' in html


@pytest.mark.parametrize("url", ["/elus/personne", "/territoires/nulle-part"])
def test_unknown_people_and_places_are_404(demo_client, url):
    assert demo_client.get(url).status_code == 404


def test_scorecard_bars_use_classes_not_inline_styles(demo_client):
    html = demo_client.get("/").get_data(as_text=True)
    assert 'class="seg status-planned w-' in html and ' style="' not in html
    assert ".w-47 { width: 47%; }" in demo_client.get("/statuts.css").get_data(as_text=True)


def test_names_differing_only_in_case_are_one_politician_and_no_name_gives_an_empty_link(tmp_path):
    import shutil

    from kb.content.listing import slug
    from kb.web import create_app

    content = shutil.copytree(DEMO_CONTENT, tmp_path / "content")
    source = (content / "promises" / "aubry-mutualisation-lille-lomme-hellemmes.md").read_text(encoding="utf-8")
    (content / "promises" / "aubry-bis.md").write_text(source.replace("made_by: martine-aubry", "made_by: MARTINE AUBRY"), encoding="utf-8")
    (content / "promises" / "grec.md").write_text(source.replace("made_by: martine-aubry", "made_by: Δήμαρχος"), encoding="utf-8")
    client = create_app({"TESTING": True, "CONTENT_DIR": str(content), "INSTANCE_DIR": str(tmp_path / "i")}).test_client()
    html = client.get("/").get_data(as_text=True)
    assert html.count('href="/elus/martine-aubry"') == 1
    assert 'href="/elus/"' not in html and slug("Δήμαρχος").startswith("n-")
    assert client.get(f"/elus/{slug('Δήμαρχος')}").status_code == 200


def test_each_badge_shows_its_sign_before_its_label_without_reading_it_aloud(demo_client):
    css = demo_client.get("/statuts.css").get_data(as_text=True)
    assert '.badge.status-done::before { content: "\\25cf \\20 " / ""; }' in css
    assert '.badge.verdict-accurate::before { content: "\\2713 \\20 " / ""; }' in css


def test_the_home_page_says_what_the_colours_of_its_bars_mean(demo_client):
    html = demo_client.get("/").get_data(as_text=True)
    assert 'class="legend" aria-hidden="true"' in html and "Les couleurs des barres" in html


def test_the_navigation_leads_to_trackers_people_promises_fact_checks_and_the_method(demo_client):
    html = demo_client.get("/").get_data(as_text=True)
    nav = html[html.index('aria-label="Navigation principale"') : html.index("</nav>")]
    for address in ("/suivis", "/elus", "/promesses", "/affirmations", "/pages/methodologie"):
        assert f'href="{address}"' in nav, address
