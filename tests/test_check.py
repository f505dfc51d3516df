"""Every class of problem `kb check` reports, each on a scratch tree with one defect."""

from pathlib import Path

import pytest

from kb.content.check import check_content
from kb.content.promises import MAX_BYTES as MAX_PROMISE_BYTES

from .conftest import CHECK_DAY as TODAY
from .conftest import PROMISE, PROMISE_FILE, SOURCE, corrupt, the_error, write


def errors(root: Path) -> list:
    return check_content(root, today=TODAY).errors


def test_valid_tree_has_no_problem(content_dir):
    report = check_content(content_dir, today=TODAY)
    assert report.problems == []
    assert (report.promises, report.sources, report.history_entries, report.verified_quotes) == (1, 1, 2, 2)


def test_invalid_yaml_names_file_and_line(content_dir):
    corrupt(content_dir, "theme: Propreté", "theme: [Propreté")
    problem = the_error(content_dir)
    assert problem.path.endswith("balayeuses-communes.md")
    assert "YAML invalide" in problem.message
    assert problem.line in (7, 8)


def test_missing_front_matter_is_reported(content_dir):
    write(content_dir / PROMISE_FILE, "Juste du texte.\n")
    assert "commencer par une ligne « --- »" in the_error(content_dir).message


def test_unclosed_front_matter_is_reported(content_dir):
    write(content_dir / PROMISE_FILE, "---\ntitle: x\n")
    assert "non terminé" in the_error(content_dir).message


@pytest.mark.parametrize("field", ["title", "made_by", "territory", "theme", "made_on", "status"])
def test_missing_required_field_is_named(content_dir, field):
    text = "\n".join(line for line in PROMISE.splitlines() if not line.startswith(f"{field}:")) + "\n"
    write(content_dir / PROMISE_FILE, text)
    problem = next(problem for problem in errors(content_dir) if problem.field == field)
    assert "obligatoire" in problem.message


def test_missing_history_is_reported(content_dir):
    text = PROMISE.split("history:")[0] + "aliases: []\n---\nTexte.\n"
    write(content_dir / PROMISE_FILE, text)
    assert any(problem.field == "history" for problem in errors(content_dir))


def test_unknown_status_names_field_line_and_vocabulary(content_dir):
    corrupt(content_dir, "    status: planned", "    status: prevue")
    problem = the_error(content_dir)
    assert problem.field == "history[0].status"
    assert problem.line == 12
    assert "statut inconnu « prevue »" in problem.message and "planned" in problem.message


def test_vocabulary_file_defines_the_statuses(content_dir):
    (content_dir / "statuses.yml").write_text(
        'prevu:\n  label: prévue\n  color: "#475569"\n  final: false\n'
        'fait:\n  label: faite\n  color: "#15803d"\n  final: true\n',
        encoding="utf-8",
    )
    fields = {problem.field for problem in errors(content_dir)}
    assert fields == {"status", "history[0].status", "history[1].status"}


def test_invalid_vocabulary_entry_is_reported(content_dir):
    line = (content_dir / "statuses.yml").read_text(encoding="utf-8").split("\n").index('  color: "#15803d"') + 1
    corrupt(content_dir, 'color: "#15803d"', "color: vert", name="statuses.yml")
    problem = the_error(content_dir)
    assert problem.path.endswith("statuses.yml") and problem.field == "done.color" and problem.line == line


def test_a_vocabulary_sign_longer_than_three_characters_is_reported(content_dir):
    corrupt(content_dir, 'symbol: "●"', 'symbol: "réalisée"', name="statuses.yml")
    problem = the_error(content_dir)
    assert problem.field == "done.symbol" and "signe" in problem.message


@pytest.mark.parametrize("bad", ["2020-13-01", "2020-02-30", "11/04/2017", "demain"])
def test_bad_date_is_reported(content_dir, bad):
    corrupt(content_dir, "made_on: 2017-04-11", f"made_on: {bad}")
    problem = the_error(content_dir)
    assert problem.field == "made_on" and problem.line == 7
    assert "date invalide" in problem.message


def test_future_date_is_reported(content_dir):
    corrupt(content_dir, "  - date: 2022-11-08", "  - date: 2027-01-01")
    corrupt(content_dir, "due: 2018-12-31", "due: 2030-01-01")  # a deadline may be in the future
    problem = the_error(content_dir)
    assert problem.field == "history[1].date" and "futur" in problem.message


def test_history_out_of_order_is_reported(content_dir):
    corrupt(content_dir, "  - date: 2022-11-08", "  - date: 2017-01-01")
    found = errors(content_dir)
    assert any("désordre" in problem.message and problem.field == "history[1].date" for problem in found)


def test_history_before_the_promise_was_made_is_reported(content_dir):
    corrupt(content_dir, "  - date: 2017-04-11", "  - date: 2016-01-01")
    problem = the_error(content_dir)
    assert problem.field == "history[0].date" and "avant l'engagement" in problem.message


def test_status_differing_from_last_history_entry_is_reported(content_dir):
    corrupt(content_dir, "status: done\nhistory", "status: partial\nhistory")
    problem = the_error(content_dir)
    assert problem.field == "status" and "history[1]" in problem.message


def test_evidence_naming_a_missing_source_is_reported(content_dir):
    corrupt(content_dir, "source: deliberation-test", "source: deliberation-absente")
    problem = the_error(content_dir)
    assert problem.field == "history[0].evidence[0].source"
    assert "deliberation-absente" in problem.message


def test_quote_absent_from_its_source_is_reported_with_where_it_diverges(content_dir):
    corrupt(content_dir, '"achat de deux balayeuses"', '"achat de trois balayeuses"')
    problem = the_error(content_dir)
    assert problem.field == "history[0].evidence[0].quote" and problem.line == 16
    assert "citation introuvable" in problem.message and "« achat de »" in problem.message


def test_quote_with_other_typography_is_verified(content_dir):
    corrupt(content_dir, '"achat de deux balayeuses"', "'MARCQ-EN-BAROEUL et La Madeleine, la mutualisation est en marche : \"achat de deux balayeuses\"'")
    assert errors(content_dir) == []


def test_duplicate_field_is_reported(content_dir):
    corrupt(content_dir, "theme: Propreté", "theme: Propreté\ntheme: Voirie")
    problem = the_error(content_dir)
    assert problem.field == "theme" and "double" in problem.message


def test_unknown_field_suggests_the_right_one(content_dir):
    corrupt(content_dir, "territory:", "teritory:")
    messages = [problem.message for problem in errors(content_dir)]
    assert any("vouliez-vous dire « territory »" in message for message in messages)


def test_id_field_not_matching_file_name_is_reported(content_dir):
    corrupt(content_dir, "title:", "id: autre-chose\ntitle:")
    problem = the_error(content_dir)
    assert problem.field == "id" and "nom du fichier" in problem.message


def test_file_name_that_is_not_an_id_is_reported(content_dir):
    (content_dir / PROMISE_FILE).rename(content_dir / "promises" / "Balayeuses Communes.md")
    assert "nom de fichier invalide" in the_error(content_dir).message


def test_alias_that_is_another_promise_id_is_reported(content_dir):
    write(content_dir / "promises" / "balayeuses.md", PROMISE.replace("  - balayeuses", "  - autre"))
    found = errors(content_dir)
    assert any("balayeuses-communes.md" in p.path and "autre promesse" in p.message for p in found)


def test_alias_declared_twice_is_reported(content_dir):
    write(content_dir / "promises" / "autre-promesse.md", PROMISE)
    problem = the_error(content_dir)
    assert problem.field == "aliases[0]" and "déjà déclaré" in problem.message


def test_non_utf8_file_names_the_line(content_dir):
    write(content_dir / PROMISE_FILE, PROMISE.encode().replace("Propreté".encode(), b"Propret\xe9"))
    problem = the_error(content_dir)
    assert problem.line == 6 and "UTF-8" in problem.message


def test_oversized_file_is_reported_without_being_read(content_dir):
    write(content_dir / PROMISE_FILE, PROMISE + "x" * MAX_PROMISE_BYTES)
    assert "trop gros" in the_error(content_dir).message


def test_source_with_bad_metadata_reports_each_field(content_dir):
    text = SOURCE.replace("kind: deliberation", "kind: tract").replace("date: 2022-11-08", "date: 2022-11-31")
    write(content_dir / "sources" / "deliberation-test.md", text.replace("reference:", "url: ftp://x\nreference:"))
    fields = {problem.field for problem in errors(content_dir) if "sources" in problem.path}
    assert fields == {"kind", "date", "url"}


def test_entry_without_evidence_is_a_warning_not_an_error(content_dir):
    corrupt(content_dir, '    evidence:\n      - source: deliberation-test\n        quote: "achat de deux balayeuses"\n', "")
    report = check_content(content_dir, today=TODAY)
    assert report.errors == []
    assert [problem.field for problem in report.warnings] == ["history[0]"]


def test_every_problem_of_a_tree_is_reported_in_one_run(demo_copy):
    corrupt(demo_copy, "status: partial\nhistory", "status: done\nhistory", "promises/aubry-mutualisation-lille-lomme-hellemmes.md")
    corrupt(demo_copy, "made_on: 2017-04-11", "made_on: 2017-04-31", "promises/marcq-la-madeleine-balayeuses.md")
    corrupt(demo_copy, "quote: ", "quote: zorglub ", "promises/mel-service-unifie-rgpd.md")
    write(demo_copy / "promises" / "fichier-casse.md", "---\ntitle: [\n---\n")
    write(demo_copy / "promises" / "latin1.md", "---\ntitle: é\n---\n".encode("latin-1"))
    files = {Path(problem.path).name for problem in errors(demo_copy)}
    assert files == {
        "aubry-mutualisation-lille-lomme-hellemmes.md",
        "marcq-la-madeleine-balayeuses.md",
        "mel-service-unifie-rgpd.md",
        "fichier-casse.md",
        "latin1.md",
    }


def test_yaml_aliases_are_refused_so_a_tiny_file_cannot_explode(content_dir):
    bomb = "".join(f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]\n" for n in range(1, 10))
    write(content_dir / PROMISE_FILE, "---\na0: &a0 [x]\n" + bomb + "---\n")
    assert "alias" in the_error(content_dir).message


def test_deeply_nested_yaml_is_a_message_not_a_crash(content_dir):
    write(content_dir / PROMISE_FILE, "---\ntitle: " + "[" * 5000 + "\n---\n")
    assert "YAML invalide" in the_error(content_dir).message


def test_control_characters_in_a_field_are_refused(content_dir):
    corrupt(content_dir, "made_by: bernard-gerard", 'made_by: "Bernard\\0 Gérard\\e"')
    problem = the_error(content_dir)
    assert problem.field == "made_by" and "U+0000" in problem.message


def test_problems_after_an_unreadable_entry_keep_their_own_field_and_line(content_dir):
    corrupt(content_dir, "history:\n", "history:\n  - oops\n")
    corrupt(content_dir, "  - date: 2022-11-08", "  - date: 2027-01-01")
    found = {(problem.field, problem.line) for problem in errors(content_dir)}
    assert ("history[0]", 11) in found  # "oops"
    assert ("history[2].date", 18) in found  # the future date, where it really is
    assert not any(problem.field == "status" for problem in errors(content_dir))


def test_an_unreadable_source_is_reported_once_per_promise_not_per_quote(content_dir):
    write(content_dir / "sources" / "deliberation-test.md", "---\ntitle: [\n---\ntexte\n")
    found = [problem for problem in errors(content_dir) if "balayeuses" in problem.path]
    assert len(found) == 1 and "illisible" in found[0].message


def test_an_alias_listed_twice_is_reported(content_dir):
    corrupt(content_dir, "  - balayeuses", "  - balayeuses\n  - balayeuses")
    problem = the_error(content_dir)
    assert problem.field == "aliases[1]" and "déjà listé" in problem.message


def test_a_looping_link_is_reported_as_not_a_regular_file(content_dir):
    (content_dir / "promises" / "boucle.md").symlink_to(content_dir / "promises" / "boucle.md")
    report = check_content(content_dir, today=TODAY)
    assert report.errors == []
    assert any("pas un fichier ordinaire" in problem.message for problem in report.warnings)


def test_a_status_colour_too_light_for_white_text_is_a_warning(content_dir):
    corrupt(content_dir, 'color: "#15803d"', 'color: "#fde68a"', name="statuses.yml")
    report = check_content(content_dir, today=TODAY)
    assert report.errors == []
    assert [problem.field for problem in report.warnings] == ["done.color"]
