"""Fact-checks through the newsroom: journalists propose claims and verdict changes, editors review the diff and publish."""

import json
import re

import pytest

from kb.newsroom.workflow import ChangeRequest
from kb.store import audit

from .conftest import CLAIM, CLAIM_FILE, Newsroom, write

CLAIM_ID = "deux-balayeuses"


@pytest.fixture
def claim_file(content_dir):
    return write(content_dir / CLAIM_FILE, CLAIM)


def claim_form(**changes) -> dict:
    """The claim form as a journalist fills it for the claim above."""
    form = {
        "title": "Deux balayeuses achetées en commun ?",
        "claimed_by": "ville-de-marcq-en-baroeul",
        "claimed_on": "2022-11-08",
        "claim_source": "deliberation-test",
        "claim_quote": "achat de deux balayeuses",
        "verdict": "accurate",
        "reviewed_on": "2023-01-10",
        "evidence_source": ["deliberation-test", "", ""],
        "evidence_quote": ["une pour chaque commune", "", ""],
        "evidence_note": ["La délibération précise la répartition.", "", ""],
        "promises": ["balayeuses-communes"],
        "body": "La délibération confirme l'achat de deux balayeuses.",
        "then": "submit",
    }
    return form | changes


def change_number(response) -> int:
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/redaction/demandes/(\d+)$", response.headers["Location"]).group(1))


def visible(page: str) -> str:
    return re.sub(r'<span class="visually-hidden">[^<]*</span>', "", page)


def test_a_new_claim_is_proposed_reviewed_and_published(newsroom, content_dir):
    journalist, editor, public = newsroom.client("journalist"), newsroom.client("editor"), newsroom.app.test_client()
    number = change_number(Newsroom.post(journalist, "/redaction/affirmations/nouvelle", id=CLAIM_ID, **claim_form()))
    with newsroom.session() as session:
        change = session.get(ChangeRequest, number)
        assert (change.change_type, change.target, change.state) == ("claim", f"claim:{CLAIM_ID}", "submitted")
    assert not (content_dir / "claims" / f"{CLAIM_ID}.md").exists()
    assert public.get(f"/affirmations/{CLAIM_ID}").status_code == 404

    review = visible(editor.get(f"/redaction/demandes/{number}").get_data(as_text=True))
    assert "nouvelle vérification" in review and "<ins>exact</ins>" in review  # the verdict by its label
    assert "« une pour chaque commune » (deliberation-test) — La délibération précise la répartition." in review

    assert Newsroom.post(editor, f"/redaction/demandes/{number}/approve").status_code == 302
    page = public.get(f"/affirmations/{CLAIM_ID}").get_data(as_text=True)
    assert 'class="badge verdict-accurate">exact<' in page and "achat de deux balayeuses" in page
    assert "publication de la vérification (exact)" in page
    hits = public.get("/api/search?q=balayeuses&kind=claim").get_json()["results"]
    assert [(hit["id"], hit["verdict"]) for hit in hits] == [(CLAIM_ID, "accurate")]
    with newsroom.session() as session:
        [row] = audit.entries(session, "claim.publish", 10, 0)
        assert (row.target, row.data["new_status"]) == (f"claim:{CLAIM_ID}", "accurate")


def test_a_verdict_change_shows_both_labels_in_the_diff_and_in_the_public_change_record(newsroom, claim_file):
    journalist, editor = newsroom.client("journalist"), newsroom.client("editor")
    form = journalist.get(f"/redaction/affirmations/{CLAIM_ID}/modifier").get_data(as_text=True)
    base_sha256 = re.search(r'name="base_sha256" value="([0-9a-f]{64})"', form).group(1)
    assert "une pour chaque commune" in form and 'value="balayeuses-communes" selected' in form  # prefilled
    response = Newsroom.post(
        journalist,
        f"/redaction/affirmations/{CLAIM_ID}/modifier",
        base_sha256=base_sha256,
        **claim_form(verdict="needs_context", reviewed_on="2023-02-01", body="Une seule balayeuse a été livrée."),
    )
    number = change_number(response)
    with newsroom.session() as session:
        assert session.get(ChangeRequest, number).change_type == "verdict"
    review = visible(editor.get(f"/redaction/demandes/{number}").get_data(as_text=True))
    assert "<del>exact</del><ins>à nuancer</ins>" in review
    Newsroom.post(editor, f"/redaction/demandes/{number}/approve")
    page = newsroom.app.test_client().get(f"/affirmations/{CLAIM_ID}").get_data(as_text=True)
    assert 'verdict-needs_context">à nuancer<' in page and "Une seule balayeuse a été livrée." in page
    assert re.search(r"verdict exact → à nuancer\s*— approuvé par Editor Test", page)
    ld = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S).group(1))
    assert ld["reviewRating"]["alternateName"] == "à nuancer" and ld["datePublished"] == "2023-02-01"


def test_a_claim_quote_not_in_its_source_is_refused_and_nothing_saved(newsroom):
    client = newsroom.client("journalist")
    response = Newsroom.post(client, "/redaction/affirmations/nouvelle", id=CLAIM_ID, **claim_form(claim_quote="achat de trois balayeuses"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "citation introuvable dans la source « deliberation-test »" in page and "<code>claim.quote</code>" in page
    assert "achat de trois balayeuses" in page  # kept as typed
    with newsroom.session() as session:
        assert session.query(ChangeRequest).count() == 0


def test_missing_verdict_explanation_and_claim_are_named_next_to_their_fields(newsroom):
    client = newsroom.client("journalist")
    response = Newsroom.post(client, "/redaction/affirmations/nouvelle", **claim_form(verdict="", body=" ", claim_quote=""))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="erreur-verdict">choisissez un verdict' in page
    assert 'id="erreur-body">expliquez le verdict' in page
    assert 'id="erreur-claim-quote-0">' in page


def test_an_evidence_row_without_its_source_is_named(newsroom):
    client = newsroom.client("journalist")
    form = claim_form(evidence_source=["", "", ""], evidence_quote=["une pour chaque commune", "", ""])
    page = Newsroom.post(client, "/redaction/affirmations/nouvelle", **form).get_data(as_text=True)
    assert 'id="erreur-source-0">choisissez le document source' in page


def test_a_claim_request_sent_back_is_amended_from_a_prefilled_form(newsroom):
    journalist, editor = newsroom.client("journalist"), newsroom.client("editor")
    number = change_number(Newsroom.post(journalist, "/redaction/affirmations/nouvelle", id=CLAIM_ID, **claim_form()))
    Newsroom.post(editor, f"/redaction/demandes/{number}/request_changes", comment="Citez aussi la date de livraison.")
    form = journalist.get(f"/redaction/demandes/{number}/modifier").get_data(as_text=True)
    assert "La délibération précise la répartition." in form and "readonly" in form  # the id of a request never changes
    response = Newsroom.post(journalist, f"/redaction/demandes/{number}/modifier", id=CLAIM_ID, **claim_form(body="Achat confirmé en 2022."))
    assert change_number(response) == number
    with newsroom.session() as session:
        change = session.get(ChangeRequest, number)
        assert change.state == "submitted" and "Achat confirmé en 2022." in change.proposed_text


def test_the_preview_shows_the_proposed_claim_page_marked_unpublished(newsroom):
    journalist = newsroom.client("journalist")
    number = change_number(Newsroom.post(journalist, "/redaction/affirmations/nouvelle", id=CLAIM_ID, **claim_form()))
    page = journalist.get(f"/redaction/demandes/{number}/apercu").get_data(as_text=True)
    assert "cette version n'est pas publiée" in page and "Ce que disent les documents" in page


def test_a_claim_form_opened_before_a_publication_is_refused(newsroom, claim_file):
    journalist = newsroom.client("journalist")
    response = Newsroom.post(journalist, f"/redaction/affirmations/{CLAIM_ID}/modifier", base_sha256="0" * 64, **claim_form(verdict="inaccurate"))
    assert response.status_code == 400
    assert "a été modifiée depuis que vous avez ouvert ce formulaire" in response.get_data(as_text=True)
    with newsroom.session() as session:
        assert session.query(ChangeRequest).count() == 0


def test_creating_a_claim_under_an_existing_id_is_refused(newsroom, claim_file):
    response = Newsroom.post(newsroom.client("journalist"), "/redaction/affirmations/nouvelle", id=CLAIM_ID, **claim_form())
    assert response.status_code == 400
    assert "existe déjà" in response.get_data(as_text=True)


def test_the_newsroom_lists_claims_to_update(newsroom, claim_file):
    page = newsroom.client("journalist").get("/redaction/affirmations").get_data(as_text=True)
    assert "« Deux balayeuses » pour deux communes : exact" in page and f"/redaction/affirmations/{CLAIM_ID}/modifier" in page


def test_a_request_whose_file_no_longer_reads_has_no_preview_but_a_clear_page(newsroom, claim_file):
    journalist = newsroom.client("journalist")
    number = change_number(Newsroom.post(journalist, f"/redaction/affirmations/{CLAIM_ID}/modifier", **claim_form(verdict="misleading")))
    with newsroom.session() as session:  # as a rebase over a hand-broken published file leaves it
        change = session.get(ChangeRequest, number)
        change.proposed_text = change.proposed_text.replace("reviewed_on: 2023-01-10\n", "")
        session.commit()
    response = journalist.get(f"/redaction/demandes/{number}/apercu")
    assert response.status_code == 400
    assert "pas d&#39;aperçu possible" in response.get_data(as_text=True) and "reviewed_on" in response.get_data(as_text=True)


def test_evidence_rows_of_unequal_length_are_kept_not_dropped(newsroom):
    form = claim_form() | {"evidence_note": []}
    number = change_number(Newsroom.post(newsroom.client("journalist"), "/redaction/affirmations/nouvelle", id=CLAIM_ID, **form))
    with newsroom.session() as session:
        assert "une pour chaque commune" in session.get(ChangeRequest, number).proposed_text
