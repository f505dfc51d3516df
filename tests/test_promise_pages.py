"""Promise and source pages: what a citizen reads, and what must never reach it."""

import json
import re

import pytest

from .conftest import PROMISE, write


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def test_promise_page_shows_status_people_dates_and_reply(client):
    html = page(client, "/promesses/balayeuses-communes")
    assert "Acheter deux balayeuses en commun" in html
    assert "Bernard Gérard" in html and "Les Républicains (LR)" in html
    assert '<time datetime="2018-12-31">31/12/2018</time>' in html
    assert "La Ville précise que l&#39;achat a été fait" in html
    assert "<strong>acheté</strong>" in html  # the analysis is rendered Markdown


def test_history_is_newest_first_with_each_quote_linked_to_its_passage(client):
    html = page(client, "/promesses/balayeuses-communes")
    history = html[html.index('id="historique"') :]
    assert history.index("2022-11-08") < history.index("2017-04-11")
    links = re.findall(r'href="/sources/deliberation-test#(citation-[^"]+)"', html)
    assert len(links) == 2
    source = page(client, "/sources/deliberation-test")
    for anchor in links:
        assert f'id="{anchor}"' in source


def test_source_page_highlights_every_quoted_passage_and_lists_who_cites_it(client):
    html = page(client, "/sources/deliberation-test")
    assert "<mark>achat de deux balayeuses</mark>" in html
    assert "<mark>l’adhésion à la Centrale d’Achats Métropolitaine</mark>" in html
    assert 'href="/promesses/balayeuses-communes"' in html


def test_an_overdue_promise_says_so(client, content_dir):
    path = content_dir / "promises" / "balayeuses-communes.md"
    path.write_text(path.read_text(encoding="utf-8").replace("status: done\n  - date", "status: in_progress\n  - date").replace("status: done\nhistory", "status: in_progress\nhistory"), encoding="utf-8")
    assert "en retard" in page(client, "/promesses/balayeuses-communes")


def test_an_old_id_redirects_permanently(client):
    response = client.get("/promesses/balayeuses")
    assert response.status_code == 301
    assert response.headers["Location"].endswith("/promesses/balayeuses-communes")


@pytest.mark.parametrize("url", ["/promesses/inconnue", "/sources/inconnue", "/promesses/../etc/passwd"])
def test_unknown_pages_are_404_in_french(client, url):
    response = client.get(url)
    assert response.status_code == 404


def test_promise_page_describes_the_promise_as_an_article_not_a_claim_review(client):
    """ClaimReview is for fact-checks of claims (Google): a promise's fulfilment is no truth rating."""
    html = page(client, "/promesses/balayeuses-communes")
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))
    assert data["@type"] == "Article" and "ClaimReview" not in html
    assert data["headline"] == data["about"]["name"] == "Acheter deux balayeuses en commun"
    assert data["mentions"] == [{"@type": "Person", "name": "Bernard Gérard"}]
    assert (data["datePublished"], data["dateModified"]) == ("2017-04-11", "2022-11-08")
    assert "réalisée" in data["description"]
    assert '<meta property="og:title" content="Acheter deux balayeuses en commun">' in html


PAYLOADS = {
    "title": '"<script>alert(1)</script>"',
    "made_by": '"<img src=x onerror=alert(1)>"',
    "party": '"<script>alert(1)</script>"',
    "territory": '"<svg onload=alert(1)>"',
    "theme": '"<script>alert(1)</script>"',
    "reply": '"<script>alert(1)</script>"',
    "note": '"<svg onload=alert(1)>"',
    "quote": '"<script>alert(1)</script>"',
}


@pytest.mark.parametrize("field", sorted(PAYLOADS))
def test_markup_in_a_content_field_never_reaches_the_page(client, content_dir, field):
    text = PROMISE
    if field == "note":
        text = text.replace("note: Annonce.", f"note: {PAYLOADS[field]}")
    elif field == "quote":
        text = text.replace('quote: "achat de deux balayeuses"', f"quote: {PAYLOADS[field]}")
    else:
        text = re.sub(rf"^{field}: .*$", f"{field}: {PAYLOADS[field]}", text, count=1, flags=re.M)
    write(content_dir / "promises" / "balayeuses-communes.md", text)
    for url in ("/promesses/balayeuses-communes", "/", "/promesses", "/recherche?q=balayeuses", "/sources/deliberation-test"):
        html = client.get(url).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html and "<svg onload" not in html, url


def test_markup_in_the_analysis_is_sanitized(client, content_dir):
    write(
        content_dir / "promises" / "balayeuses-communes.md",
        PROMISE.replace("Les deux villes", '<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror="alert(1)"> Les deux villes'),
    )
    html = page(client, "/promesses/balayeuses-communes")
    assert "<script>alert" not in html and "javascript:" not in html and "onerror" not in html


def test_pages_forbid_inline_script_and_sniffing(client):
    response = client.get("/promesses/balayeuses-communes")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert ' style="' not in response.get_data(as_text=True)


def test_a_server_error_is_a_french_page_in_the_sites_style(content_dir, tmp_path):
    from kb.web import create_app

    app = create_app({"CONTENT_DIR": str(content_dir), "INSTANCE_DIR": str(tmp_path), "PROPAGATE_EXCEPTIONS": False})

    @app.get("/panne")
    def broken():
        raise RuntimeError("panne simulée")

    response = app.test_client().get("/panne")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Un problème est survenu de notre côté" in html and "panne simulée" not in html
    assert 'href="/"' in html


def test_every_status_badge_is_readable_white_on_colour():
    from kb.content.statuses import DEFAULT_STATUSES, contrast_with_white, load_statuses

    from .conftest import DEMO_CONTENT

    statuses, problems = load_statuses(DEMO_CONTENT)
    assert problems == []
    for status in [*statuses.values(), *DEFAULT_STATUSES.values()]:
        assert contrast_with_white(status.color) >= 4.5, (status.key, status.color)


def test_a_quote_not_found_in_its_source_is_flagged_not_linked(client, content_dir):
    write(content_dir / "promises" / "balayeuses-communes.md", PROMISE.replace('"achat de deux balayeuses"', '"achat de trois balayeuses"'))
    html = page(client, "/promesses/balayeuses-communes")
    assert "citation non retrouvée dans ce document" in html
    assert len(re.findall(r'href="/sources/deliberation-test#citation-', html)) == 1  # only the verified one


def test_a_quote_from_a_missing_source_says_so(client, content_dir):
    write(content_dir / "promises" / "balayeuses-communes.md", PROMISE.replace("source: deliberation-test\n        quote: \"achat", "source: disparue\n        quote: \"achat"))
    html = page(client, "/promesses/balayeuses-communes")
    assert "document source introuvable" in html and 'href="/sources/disparue' not in html


def test_an_old_id_redirects_for_the_feed_and_the_api_too(client):
    assert client.get("/promesses/balayeuses.atom").headers["Location"].endswith("/promesses/balayeuses-communes.atom")
    assert client.get("/api/promises/balayeuses").headers["Location"].endswith("/api/promises/balayeuses-communes")


def test_an_unknown_api_address_is_a_json_404_open_to_every_origin(client):
    response = client.get("/api/inconnue")
    assert response.status_code == 404 and response.get_json()["error"] == "not_found"
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_the_territory_and_theme_of_a_promise_are_links(client):
    html = page(client, "/promesses/balayeuses-communes")
    assert '<a href="/territoires/marcq-en-baroeul">Marcq-en-Barœul</a>' in html
    assert '<a href="/promesses?theme=Propret%C3%A9">Propreté</a>' in html


def test_quotes_in_a_row_from_one_source_name_it_once_with_its_publisher_and_date(client, content_dir):
    html = page(client, "/promesses/balayeuses-communes")
    history = html[html.index('id="historique"') :]
    assert history.count("voir le passage") == 2
    footers = re.findall(r"<footer>— (.*?)</footer>", history, re.S)
    assert len(footers) == 2  # one per history entry: each has one quote of the source
    assert all("Délibération sur le schéma de mutualisation</a>, Ville de Marcq-en-Barœul, <time datetime=\"2022-11-08\">" in footer for footer in footers)


def test_a_promise_never_followed_up_says_so_rather_than_updated_the_day_it_was_made(client, content_dir):
    path = content_dir / "promises" / "balayeuses-communes.md"
    text = path.read_text(encoding="utf-8")
    start = text.index("  - date: 2022-11-08")
    end = text.index("reply:")
    path.write_text((text[:start] + text[end:]).replace("status: done\n", "status: planned\n"), encoding="utf-8")
    html = page(client, "/promesses/balayeuses-communes")
    assert "promis le <time datetime=\"2017-04-11\">11/04/2017</time>, pas encore de suivi" in html and "mis à jour le" not in html


def test_each_passage_says_who_cites_it_and_leads_to_the_next_and_previous(client):
    html = page(client, "/sources/deliberation-test")
    text = html[html.index('class="fulltext"') :]
    notes = re.findall(r'<span class="passage-note">(.*?)</span>', text)
    assert len(notes) == 2
    assert "passage 1 sur 2" in notes[0] and 'rel="next"' in notes[0] and 'rel="prev"' not in notes[0]
    assert "passage 2 sur 2" in notes[1] and 'rel="prev"' in notes[1] and 'rel="next"' not in notes[1]
    assert all('href="/promesses/balayeuses-communes"' in note for note in notes)
    first_next = re.search(r'href="#([^"]+)" rel="next"', notes[0]).group(1)
    assert text.index(f'id="{first_next}"') > text.index(notes[0])


def test_a_source_of_several_pages_marks_each_page_and_the_page_of_each_passage(client, content_dir):
    paged = SOURCE_OF_PAGES.replace("\\f", "\f")
    write(content_dir / "sources" / "deliberation-test.md", paged)
    html = page(client, "/sources/deliberation-test")
    assert "3 pages ;" in html
    text = html[html.index('class="fulltext"') :]
    assert [int(n) for n in re.findall(r'id="page-(\d+)"', text)] == [1, 2, 3]
    assert text.index('id="page-2"') < text.index("<mark>achat de deux balayeuses</mark>") < text.index('id="page-3"')
    listed = html[html.index('id="passages"') : html.index('id="texte"')]
    assert listed.index('href="#page-1">page 1</a>') < listed.index('href="#page-2">page 2</a>')


SOURCE_OF_PAGES = """\
---
title: Délibération sur le schéma de mutualisation
publisher: Ville de Marcq-en-Barœul
kind: deliberation
date: 2022-11-08
---
Le conseil municipal approuve l’adhésion à la Centrale d’Achats Métropolitaine.
\\f
Entre Marcq-en-Barœul et La Madeleine, la mutualisation est en marche : « achat de deux balayeuses ».
\\f
Fait à Marcq-en-Barœul.
"""


def test_a_source_reads_as_paragraphs_its_layout_breaks_joined_and_its_structure_kept():
    from kb.content.render import reading_text

    text = (
        "Préambule\n\n"
        "La mutualisation consiste en une mise en commun de moyens entre communes et EPCI :\n\n"
        "principalement des moyens humains, mais aussi des équipements et des moyens techniques.\n"
        "Déployé depuis 2015, le schéma de mutualisation et de coopération de la Métropole\n"
        "Européenne de Lille est aujourd'hui un outil structurant des coopérations.\n"
        "3.3. Registre dématérialisé des procédures de participation du public et des communes\n"
        "3.4. Dispositif de lutte contre la non-décence\n"
        "Le Maire,\nGérard CAUDRON\n"
    )
    read = reading_text(text)
    assert len(read) == len(text)  # the quotes' spans stay where they are
    assert "Préambule\n\nLa mutualisation" in read  # a heading stays a heading
    assert "EPCI :  principalement" in read  # a lower-case continuation joins, blank line or not
    assert "de la Métropole Européenne de Lille" in read  # a full line stopping on no punctuation runs on
    assert "des communes\n3.4. Dispositif" in read  # a numbered item starts its own line
    assert "Le Maire,\nGérard CAUDRON" in read  # short lines (a signature) keep their breaks


def test_a_short_heading_keeps_its_own_paragraph_even_before_a_lower_case_line():
    from kb.content.render import reading_text

    text = "Préambule\n\nune phrase qui commence en minuscule, comme une extraction les laisse.\n"
    assert reading_text(text).startswith("Préambule\n\nune phrase")


def test_a_source_reads_with_one_blank_line_at_most_between_paragraphs():
    from kb.content.render import reading_text

    text = "Ainsi fait et délibéré.\n \n\n\nPour extrait conforme,\n"
    read = reading_text(text)
    assert len(read) == len(text) and read.startswith("Ainsi fait et délibéré.\n\n") and read.count("\n") == 3
