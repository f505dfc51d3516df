"""Every class of problem `kb check` reports in a claim file, each on a scratch tree with one defect."""

from datetime import date
from pathlib import Path

import pytest

from kb.content.check import check_content, check_text
from kb.content.claims import MAX_BYTES as MAX_CLAIM_BYTES
from kb.content.claims import parse as parse_claim
from kb.content.claims import to_text as claim_to_text
from kb.content.files import display_path
from kb.content.kinds import CLAIM as CLAIM_KIND
from kb.content.registry import Key
from kb.content.tree import read_tree
from kb.ops.cli import main

from .conftest import CLAIM, CLAIM_FILE, DEMO_CONTENT, SOURCE, write

TODAY = date(2026, 11, 23)
@pytest.fixture
def tree_with_claim(content_dir: Path) -> Path:
    write(content_dir / CLAIM_FILE, CLAIM)
    return content_dir


def corrupt(root: Path, old: str, new: str, name: str = CLAIM_FILE) -> None:
    path = root / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def without_line(root: Path, start: str, name: str = CLAIM_FILE) -> None:
    """Drop the line(s) of the file that start with `start`."""
    path = root / name
    lines = path.read_text(encoding="utf-8").split("\n")
    kept = [line for line in lines if not line.startswith(start)]
    assert len(kept) < len(lines), start
    path.write_text("\n".join(kept), encoding="utf-8")


def claim_problems(root: Path, severity: str = "error") -> list:
    report = check_content(root, today=TODAY)
    found = report.errors if severity == "error" else report.warnings
    return [problem for problem in found if problem.path.endswith("deux-balayeuses.md")]


def the_error(root: Path):
    report = check_content(root, today=TODAY)
    assert len(report.errors) == 1, [str(problem) for problem in report.errors]
    problem = report.errors[0]
    assert problem.path == display_path(root / CLAIM_FILE)
    return problem


# -- a valid claim --------------------------------------------------------------------------


def test_a_valid_claim_has_no_problem_and_is_counted(tree_with_claim):
    report = check_content(tree_with_claim, today=TODAY)
    assert report.problems == []
    assert report.claims == 1
    assert report.verified_quotes == 2 + 2  # the promise's two, the claim's own and its evidence
    assert list(read_tree(tree_with_claim).claims) == ["deux-balayeuses"]


def test_a_tree_without_a_claims_folder_is_fine(content_dir):
    assert not (content_dir / "claims").exists()
    report = check_content(content_dir, today=TODAY)
    assert report.problems == [] and report.claims == 0
    assert read_tree(content_dir).claims == {}


# -- required fields ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, line_start, line",
    [
        ("title", "title:", None),
        ("claimed_by", "claimed_by:", None),
        ("claimed_on", "claimed_on:", None),
        ("verdict", "verdict:", None),
        ("reviewed_on", "reviewed_on:", None),
        ("claim.source", "  source: deliberation-test", 5),  # missing in the claim: its parent's line
        ("claim.quote", '  quote: "achat de deux balayeuses"', 5),
    ],
)
def test_a_missing_required_field_is_named_with_its_line(tree_with_claim, field, line_start, line):
    without_line(tree_with_claim, line_start)
    problem = the_error(tree_with_claim)
    assert problem.field == field and problem.line == line
    assert "obligatoire" in problem.message


def test_a_claim_without_its_quoted_statement_is_reported(tree_with_claim):
    corrupt(tree_with_claim, 'claim:\n  source: deliberation-test\n  quote: "achat de deux balayeuses"\n', "")
    problem = the_error(tree_with_claim)
    assert problem.field == "claim" and problem.line is None
    assert "affirmation manquante" in problem.message and "quote" in problem.message


def test_a_claim_that_is_not_a_mapping_is_reported(tree_with_claim):
    corrupt(tree_with_claim, 'claim:\n  source: deliberation-test\n  quote: "achat de deux balayeuses"\n', 'claim: "achat de deux balayeuses"\n')
    problem = the_error(tree_with_claim)
    assert problem.field == "claim" and problem.line == 5
    assert "doit être une table" in problem.message


# -- unknown keys ----------------------------------------------------------------------------


def test_an_unknown_key_suggests_the_right_one(tree_with_claim):
    corrupt(tree_with_claim, "territory:", "teritory:")
    problem = the_error(tree_with_claim)
    assert problem.field == "teritory" and problem.line == 8
    assert "champ inconnu" in problem.message and "vouliez-vous dire « territory »" in problem.message


def test_an_unknown_key_in_the_evidence_suggests_the_right_one(tree_with_claim):
    corrupt(tree_with_claim, "    note: La délibération", "    notes: La délibération")
    problem = the_error(tree_with_claim)
    assert problem.field == "evidence[0].notes" and problem.line == 15
    assert "vouliez-vous dire « note »" in problem.message


def test_a_note_is_for_evidence_only_not_for_the_claim_itself(tree_with_claim):
    corrupt(tree_with_claim, '  quote: "achat de deux balayeuses"\n', '  quote: "achat de deux balayeuses"\n  note: Annonce.\n')
    problem = the_error(tree_with_claim)
    assert problem.field == "claim.note" and problem.line == 8 and "champ inconnu" in problem.message


def test_an_unknown_key_far_from_any_known_one_lists_the_known_fields(tree_with_claim):
    corrupt(tree_with_claim, "theme:", "zzz: x\ntheme:")
    problem = the_error(tree_with_claim)
    assert problem.field == "zzz" and problem.line == 9
    assert "champs connus" in problem.message and "claimed_by" in problem.message and "reviewed_on" in problem.message


# -- dates -----------------------------------------------------------------------------------


@pytest.mark.parametrize("field, line", [("claimed_on", 4), ("reviewed_on", 11)])
@pytest.mark.parametrize("bad", ["2022-13-01", "2022-02-30", "08/11/2022", "hier"])
def test_a_bad_date_is_reported(tree_with_claim, field, line, bad):
    old = {"claimed_on": "claimed_on: 2022-11-08", "reviewed_on": "reviewed_on: 2023-01-15"}[field]
    corrupt(tree_with_claim, old, f"{field}: {bad}")
    problem = the_error(tree_with_claim)
    assert problem.field == field and problem.line == line
    assert f"date invalide « {bad} »" in problem.message


def test_a_review_dated_in_the_future_is_reported(tree_with_claim):
    corrupt(tree_with_claim, "reviewed_on: 2023-01-15", "reviewed_on: 2026-11-24")
    problem = the_error(tree_with_claim)
    assert problem.field == "reviewed_on" and problem.line == 11
    assert "date dans le futur (2026-11-24)" in problem.message


def test_a_claim_dated_in_the_future_is_reported(tree_with_claim):
    corrupt(tree_with_claim, "claimed_on: 2022-11-08", "claimed_on: 2027-01-01")
    future = [problem for problem in claim_problems(tree_with_claim) if "futur" in problem.message]
    assert [(problem.field, problem.line) for problem in future] == [("claimed_on", 4)]
    assert "2027-01-01" in future[0].message


def test_a_review_dated_before_the_claim_is_reported(tree_with_claim):
    corrupt(tree_with_claim, "reviewed_on: 2023-01-15", "reviewed_on: 2022-01-01")
    problem = the_error(tree_with_claim)
    assert problem.field == "reviewed_on" and problem.line == 11
    assert "vérification datée avant l'affirmation (claimed_on 2022-11-08)" in problem.message


def test_a_claim_dated_after_the_document_it_appears_in_is_a_warning(tree_with_claim):
    corrupt(tree_with_claim, "claimed_on: 2022-11-08", "claimed_on: 2022-12-01")
    report = check_content(tree_with_claim, today=TODAY)
    assert report.errors == []
    [warning] = report.warnings
    assert warning.path == display_path(tree_with_claim / CLAIM_FILE)
    assert warning.field == "claimed_on" and warning.line == 4
    assert "après le document où elle figure (« deliberation-test », 2022-11-08)" in warning.message


# -- verdicts --------------------------------------------------------------------------------


def test_an_unknown_verdict_lists_the_known_verdicts(tree_with_claim):
    corrupt(tree_with_claim, "verdict: accurate", "verdict: vrai")
    problem = the_error(tree_with_claim)
    assert problem.field == "verdict" and problem.line == 10
    assert "verdict inconnu « vrai »" in problem.message
    assert "accurate, mostly_accurate, needs_context, misleading, inaccurate, unverifiable" in problem.message


def test_a_verdicts_file_defines_the_verdicts(tree_with_claim):
    write(tree_with_claim / "verdicts.yml", 'vrai:\n  label: vrai\n  color: "#15803d"\n  rating: 5\n')
    corrupt(tree_with_claim, "verdict: accurate", "verdict: vrai")
    assert check_content(tree_with_claim, today=TODAY).problems == []
    assert list(read_tree(tree_with_claim).verdicts) == ["vrai"]


def test_a_verdicts_file_replaces_the_defaults(tree_with_claim):
    write(tree_with_claim / "verdicts.yml", 'vrai:\n  label: vrai\n  color: "#15803d"\n  rating: 5\n')
    problem = the_error(tree_with_claim)  # "accurate" is no longer known
    assert problem.field == "verdict" and "verdicts connus : vrai)" in problem.message


def test_a_custom_verdict_off_the_rating_scale_is_valid(tree_with_claim):
    shipped = (DEMO_CONTENT / "verdicts.yml").read_text(encoding="utf-8")
    write(tree_with_claim / "verdicts.yml", shipped + 'satire:\n  label: satire\n  color: "#6d28d9"\n')
    corrupt(tree_with_claim, "verdict: accurate", "verdict: satire")
    assert check_content(tree_with_claim, today=TODAY).problems == []
    verdict = read_tree(tree_with_claim).verdicts["satire"]
    assert (verdict.label, verdict.rating) == ("satire", None)


VERDICTS = 'vrai:\n  label: vrai\n  color: "#15803d"\n  rating: 5\n'  # lines 1-4


@pytest.mark.parametrize(
    "old, new, field, line, message",
    [
        ('color: "#15803d"', "color: vert", "vrai.color", 3, "couleur attendue au format #rrggbb"),
        ("rating: 5", "rating: 6", "vrai.rating", 4, "un entier de 1 (faux) à 5 (exact)"),
        ("rating: 5", "rating: 0", "vrai.rating", 4, "un entier de 1 (faux) à 5 (exact)"),
        ("rating: 5", "rating: cinq", "vrai.rating", 4, "un entier de 1 (faux) à 5 (exact)"),
        ("rating: 5", "rating: true", "vrai.rating", 4, "un entier de 1 (faux) à 5 (exact)"),
        ("rating: 5", "rating: 5\n  final: true", "vrai.final", 5, "champ inconnu"),
        ("label: vrai", 'label: ""', "vrai.label", 2, "libellé manquant"),
    ],
)
def test_a_bad_verdicts_file_entry_is_reported(tree_with_claim, old, new, field, line, message):
    write(tree_with_claim / "verdicts.yml", VERDICTS.replace(old, new))
    corrupt(tree_with_claim, "verdict: accurate", "verdict: vrai")
    errors = check_content(tree_with_claim, today=TODAY).errors
    assert len(errors) == 1, [str(error) for error in errors]
    problem = errors[0]
    assert problem.path == display_path(tree_with_claim / "verdicts.yml")
    assert (problem.field, problem.line) == (field, line)
    assert message in problem.message


def test_a_verdict_with_a_bad_attribute_still_exists_so_claims_using_it_stay_valid(tree_with_claim):
    write(tree_with_claim / "verdicts.yml", VERDICTS.replace("rating: 5", "rating: 9"))
    corrupt(tree_with_claim, "verdict: accurate", "verdict: vrai")
    assert claim_problems(tree_with_claim) == []
    assert read_tree(tree_with_claim).verdicts["vrai"].rating is None


def test_a_verdicts_file_with_bad_yaml_is_reported_and_the_defaults_apply(tree_with_claim):
    write(tree_with_claim / "verdicts.yml", "vrai: [\n")
    [problem] = check_content(tree_with_claim, today=TODAY).errors
    assert problem.path == display_path(tree_with_claim / "verdicts.yml") and "YAML invalide" in problem.message
    assert "accurate" in read_tree(tree_with_claim).verdicts


def test_a_verdict_colour_too_light_for_white_text_is_a_warning(tree_with_claim):
    write(tree_with_claim / "verdicts.yml", VERDICTS.replace("#15803d", "#fde68a"))
    corrupt(tree_with_claim, "verdict: accurate", "verdict: vrai")
    report = check_content(tree_with_claim, today=TODAY)
    assert report.errors == []
    assert [(problem.field, problem.line) for problem in report.warnings] == [("vrai.color", 3)]


# -- quotes and sources ----------------------------------------------------------------------


def test_a_claim_quote_absent_from_its_source_is_reported_with_where_it_diverges(tree_with_claim):
    corrupt(tree_with_claim, '"achat de deux balayeuses"', '"achat de trois balayeuses"')
    problem = the_error(tree_with_claim)
    assert problem.field == "claim.quote" and problem.line == 7
    assert "citation introuvable dans la source « deliberation-test »" in problem.message
    assert "le début « achat de » s'y trouve, la suite diffère" in problem.message


def test_an_evidence_quote_absent_from_its_source_is_reported(tree_with_claim):
    corrupt(tree_with_claim, '"une pour chaque commune"', '"une pour toutes les communes"')
    problem = the_error(tree_with_claim)
    assert problem.field == "evidence[0].quote" and problem.line == 14
    assert "citation introuvable" in problem.message and "« une pour »" in problem.message


def test_a_quote_whose_first_word_is_absent_says_so(tree_with_claim):
    corrupt(tree_with_claim, '"une pour chaque commune"', '"zorglub pour chaque commune"')
    problem = the_error(tree_with_claim)
    assert problem.field == "evidence[0].quote" and "même son premier mot en est absent" in problem.message


def test_a_claim_quote_with_other_typography_is_verified(tree_with_claim):
    corrupt(tree_with_claim, '"achat de deux balayeuses"', "'la mutualisation est en marche : \"ACHAT de deux balayeuses\"'")
    assert check_content(tree_with_claim, today=TODAY).problems == []


def test_a_claim_quoted_from_an_unknown_source_is_reported(tree_with_claim):
    corrupt(tree_with_claim, "  source: deliberation-test\n  quote", "  source: deliberation-absente\n  quote")
    problem = the_error(tree_with_claim)
    assert problem.field == "claim.source" and problem.line == 6
    assert "source inconnue « deliberation-absente » (aucun fichier sources/deliberation-absente.md)" in problem.message


def test_evidence_from_an_unknown_source_is_reported(tree_with_claim):
    corrupt(tree_with_claim, "  - source: deliberation-test", "  - source: deliberation-absente")
    problem = the_error(tree_with_claim)
    assert problem.field == "evidence[0].source" and problem.line == 13
    assert "source inconnue « deliberation-absente »" in problem.message


def test_an_unreadable_source_is_reported_once_per_claim(tree_with_claim):
    write(tree_with_claim / "sources" / "deliberation-test.md", "---\ntitle: [\n---\ntexte\n")
    found = claim_problems(tree_with_claim)
    assert len(found) == 1  # the claim and its evidence quote the same source: said once
    assert found[0].field == "claim.source" and found[0].line == 6
    assert "la source « deliberation-test » est illisible : corrigez d'abord ses erreurs" in found[0].message


def test_a_source_with_errors_still_verifies_the_claims_quotes(tree_with_claim):
    write(tree_with_claim / "sources" / "deliberation-test.md", SOURCE.replace("kind: deliberation", "kind: tract"))
    errors = check_content(tree_with_claim, today=TODAY).errors
    assert [(Path(problem.path).name, problem.field) for problem in errors] == [("deliberation-test.md", "kind")]


# -- related promises ------------------------------------------------------------------------


def test_an_unknown_related_promise_is_reported(tree_with_claim):
    corrupt(tree_with_claim, "  - balayeuses-communes", "  - promesse-inconnue")
    problem = the_error(tree_with_claim)
    assert problem.field == "promises[0]" and problem.line == 17
    assert "promesse inconnue « promesse-inconnue » (aucun fichier promises/promesse-inconnue.md)" in problem.message


def test_a_related_promise_given_by_its_old_id_names_the_new_one(tree_with_claim):
    corrupt(tree_with_claim, "  - balayeuses-communes", "  - balayeuses")
    problem = the_error(tree_with_claim)
    assert problem.field == "promises[0]" and problem.line == 17
    assert "promesse inconnue « balayeuses » : c'est l'ancien identifiant de « balayeuses-communes »" in problem.message


def test_a_related_promise_listed_twice_is_reported(tree_with_claim):
    corrupt(tree_with_claim, "  - balayeuses-communes", "  - balayeuses-communes\n  - balayeuses-communes")
    problem = the_error(tree_with_claim)
    assert problem.field == "promises[1]" and problem.line == 18
    assert "la promesse « balayeuses-communes » est déjà listée" in problem.message


def test_a_related_promise_that_is_not_an_id_is_reported(tree_with_claim):
    corrupt(tree_with_claim, "  - balayeuses-communes", "  - Balayeuses Communes")
    problem = the_error(tree_with_claim)
    assert problem.field == "promises[0]" and problem.line == 17 and "identifiant invalide" in problem.message


def test_a_related_promise_whose_file_is_unreadable_is_not_called_unknown(tree_with_claim):
    write(tree_with_claim / "promises" / "balayeuses-communes.md", "---\ntitle: [\n---\n")
    assert claim_problems(tree_with_claim) == []


# -- explanation and evidence ----------------------------------------------------------------


def test_a_claim_without_explanation_is_an_error(tree_with_claim):
    corrupt(tree_with_claim, "La délibération confirme l'**achat** des deux balayeuses, une par commune.\n", "\n  \n")
    problem = the_error(tree_with_claim)
    assert problem.field == "verdict" and problem.line == 10
    assert "explication manquante" in problem.message


def test_a_claim_without_evidence_is_a_warning_not_an_error(tree_with_claim):
    corrupt(tree_with_claim, '  - source: deliberation-test\n    quote: "une pour chaque commune"\n    note: La délibération précise la répartition.\n', "")
    corrupt(tree_with_claim, "evidence:\n", "evidence: []\n")
    report = check_content(tree_with_claim, today=TODAY)
    assert report.errors == []
    [warning] = report.warnings
    assert warning.field == "evidence" and warning.line == 12
    assert "vérification sans preuve" in warning.message


def test_evidence_that_is_not_a_list_is_reported(tree_with_claim):
    corrupt(
        tree_with_claim,
        'evidence:\n  - source: deliberation-test\n    quote: "une pour chaque commune"\n    note: La délibération précise la répartition.\n',
        "evidence: une pour chaque commune\n",
    )
    problem = the_error(tree_with_claim)
    assert problem.field == "evidence" and problem.line == 12 and "doit être une liste" in problem.message


# -- unreadable and broken files -------------------------------------------------------------


def test_a_claim_with_bad_yaml_is_reported_and_not_published(tree_with_claim):
    corrupt(tree_with_claim, "theme: Propreté", "theme: [Propreté")
    problem = the_error(tree_with_claim)
    assert "YAML invalide" in problem.message and problem.line in (9, 10)
    tree = read_tree(tree_with_claim)
    assert tree.claims == {} and tree.broken_claims == []
    assert tree.unreadable_claims == {"deux-balayeuses"}
    assert check_content(tree_with_claim, today=TODAY).claims == 0


def test_a_claim_that_is_not_utf8_names_the_line(tree_with_claim):
    write(tree_with_claim / CLAIM_FILE, CLAIM.encode().replace("Propreté".encode(), b"Propret\xe9"))
    problem = the_error(tree_with_claim)
    assert problem.line == 9 and "UTF-8" in problem.message


def test_an_oversized_claim_is_reported_without_being_read(tree_with_claim):
    write(tree_with_claim / CLAIM_FILE, CLAIM + "x" * MAX_CLAIM_BYTES)
    problem = the_error(tree_with_claim)
    assert problem.line is None and "trop gros" in problem.message
    assert read_tree(tree_with_claim).unreadable_claims == {"deux-balayeuses"}


def test_a_broken_claim_is_not_published_but_still_checked(tree_with_claim):
    corrupt(tree_with_claim, "claimed_on: 2022-11-08", "claimed_on: 2022-11-31")
    corrupt(tree_with_claim, "verdict: accurate", "verdict: vrai")
    corrupt(tree_with_claim, '"une pour chaque commune"', '"une pour toutes les communes"')
    tree = read_tree(tree_with_claim)
    assert "deux-balayeuses" not in tree.claims
    assert [claim.id for claim in tree.broken_claims] == ["deux-balayeuses"]
    found = {(problem.field, problem.line) for problem in claim_problems(tree_with_claim)}
    assert found == {("claimed_on", 4), ("verdict", 10), ("evidence[0].quote", 14)}
    assert check_content(tree_with_claim, today=TODAY).claims == 1  # counted: it is checked


def test_a_claim_with_only_check_errors_is_still_published(tree_with_claim):
    corrupt(tree_with_claim, "verdict: accurate", "verdict: vrai")
    assert list(read_tree(tree_with_claim).claims) == ["deux-balayeuses"]
    assert the_error(tree_with_claim).field == "verdict"


def test_a_claim_id_not_matching_its_file_name_is_reported(tree_with_claim):
    corrupt(tree_with_claim, "title:", "id: autre-chose\ntitle:")
    problem = the_error(tree_with_claim)
    assert problem.field == "id" and problem.line == 2 and "nom du fichier" in problem.message


def test_every_problem_of_every_claim_is_reported_in_one_run(demo_copy):
    corrupt(demo_copy, "verdict: accurate", "verdict: exact", "claims/lille-metropole-85-communes-2012.md")
    corrupt(demo_copy, "reviewed_on: 2026-11-23", "reviewed_on: 2026-11-31", "claims/mel-95-pour-cent-communes-5-actions.md")
    corrupt(demo_copy, "  - mel-etat-des-lieux-annuel", "  - mel-etat-des-lieux", "claims/mel-25-actions-mutualisation-depuis-2015.md")
    write(demo_copy / "claims" / "casse.md", "---\ntitle: [\n---\n")
    files = {Path(problem.path).name for problem in check_content(demo_copy, today=TODAY).errors}
    assert files == {
        "lille-metropole-85-communes-2012.md",
        "mel-95-pour-cent-communes-5-actions.md",
        "mel-25-actions-mutualisation-depuis-2015.md",
        "casse.md",
    }


# -- kb check --------------------------------------------------------------------------------


def test_kb_check_counts_the_claims(runner, tree_with_claim):
    result = runner.invoke(main, ["check", "--content", str(tree_with_claim)])
    assert result.exit_code == 0, result.output
    assert "1 promesses, 1 sources, 1 vérifications, 1 suivis, 2 élus et institutions, 0 pages, 2 entrées d'historique, 4 citations vérifiées — 0 erreur(s)" in result.output


def test_kb_check_exits_non_zero_on_a_claim_error_and_names_file_line_and_field(runner, tree_with_claim):
    corrupt(tree_with_claim, "verdict: accurate", "verdict: vrai")
    result = runner.invoke(main, ["check", "--content", str(tree_with_claim)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if "deux-balayeuses.md" in line]
    assert len(lines) == 1
    assert lines[0].endswith("deux-balayeuses.md:10: verdict: verdict inconnu « vrai » (verdicts connus : accurate, mostly_accurate, needs_context, misleading, inaccurate, unverifiable)")
    assert "1 erreur(s)" in result.output


def test_kb_check_passes_with_a_claim_warning_unless_strict(runner, tree_with_claim):
    corrupt(tree_with_claim, "claimed_on: 2022-11-08", "claimed_on: 2022-12-01")
    assert runner.invoke(main, ["check", "--content", str(tree_with_claim)]).exit_code == 0
    assert runner.invoke(main, ["check", "--strict", "--content", str(tree_with_claim)]).exit_code == 1


def test_the_demo_claims_pass_the_check():
    report = check_content(DEMO_CONTENT)
    assert report.claims == 4
    assert [str(problem) for problem in report.problems if "claims" in problem.path] == []


# -- writing and checking a text -------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(path.name for path in (DEMO_CONTENT / "claims").glob("*.md")))
def test_a_demo_claim_written_back_reads_as_the_same_claim(name):
    claim, problems = CLAIM_KIND.read(DEMO_CONTENT / "claims" / name)
    assert problems == []
    text = claim_to_text(claim)
    again, problems = parse_claim(claim.path, text)
    assert problems == []
    assert again == claim
    assert claim_to_text(again) == text  # the layout is stable


def test_a_claim_written_back_keeps_every_field(tree_with_claim):
    claim, _ = CLAIM_KIND.read(tree_with_claim / CLAIM_FILE)
    again, problems = parse_claim(claim.path, claim_to_text(claim))
    assert problems == []
    assert (again.title, again.claimed_by, again.claimed_on, again.verdict, again.reviewed_on) == (
        "« Deux balayeuses » pour deux communes : exact", ["ville-de-marcq-en-baroeul"], date(2022, 11, 8), "accurate", date(2023, 1, 15),
    )  # fmt: skip
    assert (again.quote.source, again.quote.quote) == ("deliberation-test", "achat de deux balayeuses")
    assert [(proof.source, proof.quote, proof.note) for proof in again.evidence] == [
        ("deliberation-test", "une pour chaque commune", "La délibération précise la répartition.")
    ]
    assert (again.territory, again.theme, again.promises) == ("Marcq-en-Barœul", "Propreté", ["balayeuses-communes"])
    assert again.body == "La délibération confirme l'**achat** des deux balayeuses, une par commune."


def test_a_claim_without_optional_fields_is_written_back_without_them(tree_with_claim):
    without_line(tree_with_claim, "territory:")
    without_line(tree_with_claim, "theme:")
    without_line(tree_with_claim, "    note:")
    claim, _ = CLAIM_KIND.read(tree_with_claim / CLAIM_FILE)
    text = claim_to_text(claim)
    assert "territory" not in text and "theme" not in text and "note" not in text
    again, problems = parse_claim(claim.path, text)
    assert problems == [] and again == claim


BAD_CLAIM = (
    CLAIM.replace("verdict: accurate", "verdict: vrai")
    .replace("reviewed_on: 2023-01-15", "reviewed_on: 2027-01-01")
    .replace('"une pour chaque commune"', '"une pour toutes les communes"')
    .replace("  - balayeuses-communes", "  - balayeuses\n  - promesse-inconnue")
    .replace("territory:", "teritory:")
    .replace("claimed_on: 2022-11-08", "claimed_on: 2022-12-01")
)


def test_checking_a_claim_text_reports_what_kb_check_reports_for_the_file(tree_with_claim):
    write(tree_with_claim / CLAIM_FILE, BAD_CLAIM)
    on_disk = sorted(claim_problems(tree_with_claim) + claim_problems(tree_with_claim, "warning"), key=lambda p: p.sort_key())
    assert len(on_disk) >= 7
    write(tree_with_claim / CLAIM_FILE, CLAIM)  # the tree as it is, the proposal beside it
    as_text = check_text(read_tree(tree_with_claim), Key("claim", "deux-balayeuses"), BAD_CLAIM, today=TODAY)
    assert as_text == on_disk


def test_checking_a_valid_claim_text_finds_nothing(content_dir):
    assert check_text(read_tree(content_dir), Key("claim", "nouvelle-verification"), CLAIM, today=TODAY) == []


def test_checking_a_claim_text_with_bad_yaml_reports_it(content_dir):
    [problem] = check_text(read_tree(content_dir), Key("claim", "nouvelle"), "---\ntitle: [\n---\n", today=TODAY)
    assert problem.path == display_path(content_dir / "claims" / "nouvelle.md") and "YAML invalide" in problem.message


def test_checking_a_claim_text_citing_a_source_with_errors_reports_what_kb_check_reports(tree_with_claim):
    write(tree_with_claim / "sources" / "deliberation-test.md", SOURCE.replace("kind: deliberation", "kind: tract"))
    on_disk = claim_problems(tree_with_claim) + claim_problems(tree_with_claim, "warning")
    as_text = check_text(read_tree(tree_with_claim), Key("claim", "deux-balayeuses"), CLAIM, today=TODAY)
    assert as_text == on_disk == []  # the source's own error is its file's, not the claim's


def test_checking_an_oversized_claim_text_refuses_it_as_kb_check_would(content_dir):
    [problem] = check_text(read_tree(content_dir), Key("claim", "enorme"), CLAIM + "x" * MAX_CLAIM_BYTES, today=TODAY)
    assert problem.path == display_path(content_dir / "claims" / "enorme.md") and "trop gros" in problem.message


def test_a_related_promise_with_errors_of_its_own_is_not_called_unknown(tree_with_claim):
    corrupt(tree_with_claim, "made_on: 2017-04-11\n", "", name="promises/balayeuses-communes.md")
    messages = [problem.message for problem in check_content(tree_with_claim, today=TODAY).errors if problem.path.endswith(CLAIM_FILE)]
    assert messages == ["la promesse « balayeuses-communes » a des erreurs : corrigez d'abord son fichier"]
