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


@pytest.fixture(scope="module")
def newsroom_sized(tmp_path_factory):
    """A synthetic tree with more trackers, people and territories than the home page shows."""
    from kb.bench.synthetic import write_corpus
    from kb.web import create_app

    root = tmp_path_factory.mktemp("sized")
    write_corpus(root / "content", promises=400, sources=20, source_bytes=2_000, seed=3)
    app = create_app({"TESTING": True, "CONTENT_DIR": str(root / "content"), "INSTANCE_DIR": str(root / "instance")})
    return app.test_client()


def _section(html: str, anchor: str) -> str:
    return html.split(f'aria-labelledby="{anchor}"', 1)[1].split("</section>", 1)[0]


def test_at_a_newsrooms_size_the_home_shows_the_first_rows_of_each_table_and_links_to_them_all(newsroom_sized):
    from kb.web.public.home import HOME_ROWS

    html = newsroom_sized.get("/").get_data(as_text=True)
    territories = _section(html, "par-territoire")
    assert territories.count('<th scope="row">') == HOME_ROWS
    total = int(re.search(r'href="/territoires">Les (\d+) territoires →', territories).group(1))
    assert total > HOME_ROWS
    people = _section(html, "par-elu")
    assert re.search(r'href="/elus">Les (\d+) élus et institutions →', people)
    trackers = _section(html, "par-suivi")
    assert trackers.count('<th scope="row">') == HOME_ROWS and re.search(r'href="/suivis">Les (\d+) suivis →', trackers)
    # Every territory is on its own page, biggest first, as the home page counts them.
    listed = newsroom_sized.get("/territoires").get_data(as_text=True)
    rows = re.findall(r'<th scope="row"><a href="/territoires/[^"]+">[^<]+</a></th>\s*<td>(\d+)</td>', listed)
    assert len(rows) == total and [int(n) for n in rows] == sorted((int(n) for n in rows), reverse=True)
    shown = re.findall(r'<th scope="row"><a href="(/territoires/[^"]+)">', territories)
    assert shown == re.findall(r'<th scope="row"><a href="(/territoires/[^"]+)">', listed)[:HOME_ROWS]


def test_the_territories_page_gives_the_record_on_a_day_asked(newsroom_sized):
    def totals(html: str) -> int:
        return sum(int(n) for n in re.findall(r'</a></th>\s*<td>(\d+)</td>', html))

    today = newsroom_sized.get("/territoires").get_data(as_text=True)
    back_then = newsroom_sized.get("/territoires?au=2022-06-01").get_data(as_text=True)
    assert 'au <time datetime="2022-06-01">' in back_then and 0 < totals(back_then) < totals(today)
    before = newsroom_sized.get("/territoires?au=2000-01-01").get_data(as_text=True)
    assert totals(before) == 0 and "Aucune promesse n'était encore faite ce jour-là." in before


def test_the_demo_home_still_shows_every_territory_without_a_link_to_more(demo_client):
    html = demo_client.get("/").get_data(as_text=True)
    assert 'href="/territoires">' not in html
    assert demo_client.get("/territoires").status_code == 200


def test_the_record_as_of_a_day_keeps_every_row_of_every_table(newsroom_sized):
    html = newsroom_sized.get("/?au=2024-06-01").get_data(as_text=True)
    territories = _section(html, "par-territoire")
    listed = newsroom_sized.get("/territoires?au=2024-06-01").get_data(as_text=True)
    assert territories.count('<th scope="row">') == listed.count('<th scope="row">') > 12
    assert _section(html, "par-suivi").count('<th scope="row">') > 12
