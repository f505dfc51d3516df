"""The newsroom's form rules, without Flask: prefill, what a request is based on, staleness, change types."""

from __future__ import annotations

from datetime import date

import pytest

from kb.content.files import sha256_text
from kb.content.kinds import KINDS
from kb.content.tree import read_tree
from kb.newsroom import forms
from kb.newsroom.proposals import status_update
from kb.newsroom.workflow import ChangeNotFound, WorkflowError
from kb.store.changes import ChangeRequest

from .conftest import CLAIM, CLAIM_FILE, PROMISE, SOURCE, write

TODAY = date(2026, 3, 2)
PROMISE_ID = "balayeuses-communes"


def request_for(target: str, change_type: str, base: str | None, proposed: str) -> ChangeRequest:
    return ChangeRequest(target=target, change_type=change_type, base_text=base, proposed_text=proposed, summary="s", state="draft")


def published(content_dir, kind: str = "promise", item_id: str = PROMISE_ID):
    return read_tree(content_dir).items[kind][item_id]


def test_a_new_status_form_starts_at_today():
    assert forms.status_prefill(KINDS, None, TODAY) == {"date": "2026-03-02"}


def test_amending_a_status_request_shows_the_entry_it_adds(content_dir):
    promise = published(content_dir)
    proposed = status_update(promise, "2026-02-01", "partial", "Une seule balayeuse.", [("deliberation-test", "achat de deux balayeuses")])
    form = forms.status_prefill(KINDS, request_for(f"promise:{PROMISE_ID}", "status", PROMISE, proposed), TODAY)
    assert form["date"] == "2026-02-01" and form["status"] == "partial" and form["note"] == "Une seule balayeuse."
    assert form["evidence"] == [("deliberation-test", "achat de deux balayeuses")]
    assert form["body"] == promise.body


def test_amending_a_request_that_adds_no_entry_shows_only_the_analysis():
    changed = PROMISE.replace("Les deux villes ont", "Les villes ont")
    assert forms.status_prefill(KINDS, request_for(f"promise:{PROMISE_ID}", "status", PROMISE, changed), TODAY) == {
        "body": "Les villes ont **acheté** deux balayeuses."
    }


def test_an_edit_form_shows_the_published_promise_or_the_request_amended(content_dir):
    promise = published(content_dir)
    form = forms.prefill(KINDS, promise, None, forms.promise_prefill, TODAY)
    assert form["title"] == "Acheter deux balayeuses en commun" and form["made_on"] == "2017-04-11" and form["due"] == "2018-12-31"
    change = request_for(f"promise:{PROMISE_ID}", "edit", PROMISE, PROMISE.replace("Acheter deux", "Acheter trois"))
    amended = forms.prefill(KINDS, promise, change, forms.promise_prefill, TODAY)
    assert amended["title"] == "Acheter trois balayeuses en commun" and amended["id"] == PROMISE_ID


def test_a_new_promise_form_starts_on_today():
    assert forms.promise_prefill(None, TODAY) == {"made_on": "2026-03-02"}


def test_a_source_request_amended_shows_its_document_type_in_the_kind_field():
    change = request_for("source:deliberation-test", "source", None, SOURCE)
    form = forms.source_prefill(KINDS, change, TODAY)
    assert form["kind"] == "deliberation" and form["date"] == "2022-11-08" and form["id"] == "deliberation-test"
    assert forms.source_prefill(KINDS, None, TODAY) == {"date": "2026-03-02"}


def test_a_claim_form_shows_its_quotes_evidence_and_related_promises(content_dir):
    write(content_dir / CLAIM_FILE, CLAIM)
    form = forms.claim_prefill(published(content_dir, "claim", "deux-balayeuses"), TODAY)
    assert form["claim_quote"] == "achat de deux balayeuses" and form["verdict"] == "accurate"
    assert form["evidence"] == [("deliberation-test", "une pour chaque commune", "La délibération précise la répartition.")]
    assert form["promises"] == [PROMISE_ID]


def test_a_request_is_based_on_the_file_as_it_is_on_disk_now(content_dir):
    promise = published(content_dir)
    path = content_dir / "promises" / f"{PROMISE_ID}.md"
    path.write_text(PROMISE.replace("Acheter deux", "Acheter vraiment deux"), encoding="utf-8")
    now, (text, sha) = forms.fresh(KINDS, "promise", promise)
    assert now.title == "Acheter vraiment deux balayeuses en commun" and sha == sha256_text(text)


def test_a_published_file_under_repair_cannot_be_the_base_of_a_request(content_dir):
    promise = published(content_dir)
    (content_dir / "promises" / f"{PROMISE_ID}.md").write_text(PROMISE.replace("status: done", "status: 12"), encoding="utf-8")
    with pytest.raises(WorkflowError, match="en cours de réparation"):
        forms.fresh(KINDS, "promise", promise)


def test_a_published_file_deleted_since_is_not_found(content_dir):
    promise = published(content_dir)
    (content_dir / "promises" / f"{PROMISE_ID}.md").unlink()
    with pytest.raises(ChangeNotFound):
        forms.fresh(KINDS, "promise", promise)


def test_a_form_opened_on_an_older_version_is_refused():
    with pytest.raises(WorkflowError, match="la fiche a été modifiée depuis que vous avez ouvert ce formulaire"):
        forms.ensure_unchanged("a" * 64, ("texte", "b" * 64), "la fiche")


def test_a_form_opened_on_the_current_version_or_without_a_version_passes():
    forms.ensure_unchanged("b" * 64, ("texte", "b" * 64), "la fiche")
    forms.ensure_unchanged(None, ("texte", "b" * 64), "la fiche")
    forms.ensure_unchanged("a" * 64, None, "la fiche")  # amending a request: its own base decides


def test_an_analysis_left_as_shown_is_not_part_of_a_status_request():
    shown = "Analyse.\r\n"
    assert forms.edited_body(shown, sha256_text("Analyse.\n"), "b" * 64, ("t", "c" * 64)) is None
    assert forms.edited_body(None, None, None, None) is None


def test_an_analysis_changed_on_the_current_version_is_taken():
    assert forms.edited_body("Nouvelle analyse.", sha256_text("Analyse."), "b" * 64, ("t", "b" * 64)) == "Nouvelle analyse."


def test_an_analysis_changed_on_an_older_version_is_refused():
    with pytest.raises(WorkflowError, match="l'analyse a été modifiée depuis"):
        forms.edited_body("Nouvelle analyse.", sha256_text("Analyse."), "a" * 64, ("t", "b" * 64))


def test_a_new_verdict_makes_a_verdict_request_named_by_its_label(content_dir):
    write(content_dir / CLAIM_FILE, CLAIM)
    tree = read_tree(content_dir)
    claim = tree.claims["deux-balayeuses"]
    assert forms.claim_change(claim, " misleading ", tree.verdicts) == ("verdict", f"{claim.title} : trompeur")
    assert forms.claim_change(claim, "accurate", tree.verdicts) == ("edit", f"{claim.title} : modification")


@pytest.mark.parametrize(
    "target, change_type, base, expected",
    [
        (f"promise:{PROMISE_ID}", "status", PROMISE, "status"),
        (f"promise:{PROMISE_ID}", "edit", PROMISE, "promise"),
        ("promise:nouvelle", "create", None, "new_promise"),
        ("source:nouvelle", "source", None, "source"),
        ("claim:nouvelle", "claim", None, "new_claim"),
        ("claim:deux-balayeuses", "verdict", CLAIM, "claim"),
        ("claim:deux-balayeuses", "verdict", "---\ntitle: [\n---\n", "file"),  # a base that no longer reads
        (f"promise:{PROMISE_ID}", "revert", PROMISE, "file"),
    ],
)
def test_each_request_is_amended_with_the_form_of_its_change_type(target, change_type, base, expected):
    assert forms.amend_form(KINDS, request_for(target, change_type, base, base or "x")) == expected
