"""Promises imported from a spreadsheet: what each row does, and every reason a row is refused, by row and column."""

from datetime import date

import pytest

from kb.content.opendata import promises_csv
from kb.content.promises import parse as parse_promise
from kb.content.spreadsheets import Table, read_table
from kb.content.tree import read_tree
from kb.newsroom.imports import ImportRefused, column_name, read_sheet

from .conftest import CHECK_DAY, write

HEADER = ["id", "titre", "suivi", "statut", "auteur_ids", "territoire", "theme", "promis_le", "echeance"]
NEW_ROW = ["piscine-marcq", "Rénover la piscine", "marcq-la-madeleine-2014-2020", "planned", "bernard-gerard", "Marcq-en-Barœul", "Sport", "2014-03-01", "2019-12-31"]


def sheet(*rows, header=HEADER) -> Table:
    """A table as the spreadsheet reader gives it: the header on row 1, then the rows."""
    return Table(name="import.csv", header=list(header), rows=[(number, list(row)) for number, row in enumerate(rows, start=2)])


def preview(content_dir, *rows, header=HEADER):
    return read_sheet(read_tree(content_dir), sheet(*rows, header=header), CHECK_DAY)


def with_cell(row: list[str], column: str, value: str, header=HEADER) -> list[str]:
    changed = list(row)
    changed[header.index(column)] = value
    return changed


def only_error(result) -> tuple[int, str, str]:
    [error] = result.errors
    return error


# -- new promises -------------------------------------------------------------------------------


def test_a_row_with_a_new_id_proposes_a_new_promise_file(content_dir):
    result = preview(content_dir, NEW_ROW)
    [row] = result.rows
    assert (row.outcome, row.promise_id) == ("new", "piscine-marcq")
    [proposed] = result.files
    assert (proposed.change_type, proposed.target, proposed.base_sha256) == ("create", "promise:piscine-marcq", None)
    promise, problems = parse_promise(content_dir / "promises" / "piscine-marcq.md", proposed.text)
    assert not [problem for problem in problems if problem.severity == "error"]
    assert (promise.tracker, promise.made_by, promise.status, promise.due) == ("marcq-la-madeleine-2014-2020", ["bernard-gerard"], "planned", date(2019, 12, 31))
    assert [(entry.date, entry.status) for entry in promise.history] == [(date(2014, 3, 1), "planned")]


def test_a_new_row_without_an_id_takes_one_from_its_title(content_dir):
    [row] = preview(content_dir, with_cell(NEW_ROW, "id", "")).rows
    assert (row.outcome, row.promise_id) == ("new", "renover-la-piscine")


def test_a_new_row_without_a_status_starts_as_the_first_status_of_the_vocabulary(content_dir):
    [row] = preview(content_dir, with_cell(NEW_ROW, "statut", "")).rows
    assert row.outcome == "new" and "status: planned" in row.proposed.text


def test_a_status_may_be_written_as_its_label(content_dir):
    [row] = preview(content_dir, with_cell(NEW_ROW, "statut", "En cours")).rows
    assert row.outcome == "new" and "status: in_progress" in row.proposed.text


def test_dates_may_be_written_in_french_order(content_dir):
    [row] = preview(content_dir, with_cell(NEW_ROW, "promis_le", "01/03/2014")).rows
    assert row.outcome == "new" and "made_on: 2014-03-01" in row.proposed.text


def test_authors_may_be_given_by_name_when_there_is_no_id(content_dir):
    header = [*HEADER, "auteur"]
    row = [*with_cell(NEW_ROW, "auteur_ids", ""), "Bernard Gérard"]
    [result] = preview(content_dir, row, header=header).rows
    assert result.outcome == "new" and "made_by: bernard-gerard" in result.proposed.text


def test_a_new_row_quoting_its_source_starts_with_that_evidence(content_dir):
    header = [*HEADER, "date_statut", "source", "citation"]
    row = [*NEW_ROW, "2014-03-01", "deliberation-test", "achat de deux balayeuses"]
    [result] = preview(content_dir, row, header=header).rows
    assert result.outcome == "new"
    assert "source: deliberation-test" in result.proposed.text and "achat de deux balayeuses" in result.proposed.text


# -- published promises --------------------------------------------------------------------------


def exported(content_dir) -> Table:
    """The scratch tree's promises as the CSV export writes them, read back by the spreadsheet reader."""
    tree = read_tree(content_dir)
    text = promises_csv(list(tree.promises.values()), tree.statuses, CHECK_DAY, tree.final_statuses, lambda p: f"/promesses/{p.id}", " et ".join)
    return read_table("promesses.csv", text.encode("utf-8"))


def test_an_export_imported_again_changes_nothing(content_dir):
    result = read_sheet(read_tree(content_dir), exported(content_dir), CHECK_DAY)
    assert [row.outcome for row in result.rows] == ["unchanged"] and result.files == [] and not result.warnings


def test_an_edited_cell_of_an_export_changes_exactly_that_field(content_dir):
    table = exported(content_dir)
    theme = table.header.index("theme")
    table.rows[0][1][theme] = "Voirie"
    [row] = read_sheet(read_tree(content_dir), table, CHECK_DAY).rows
    assert (row.outcome, row.changed) == ("changed", ["theme"])
    path = content_dir / "promises" / "balayeuses-communes.md"
    before, _ = parse_promise(path, path.read_text(encoding="utf-8"))
    after, _ = parse_promise(path, row.proposed.text)
    before.theme = "Voirie"
    assert after == before and row.proposed.change_type == "edit"


def test_an_emptied_optional_cell_removes_the_field(content_dir):
    header = ["id", "parti"]
    [row] = preview(content_dir, ["balayeuses-communes", ""], header=header).rows
    assert (row.outcome, row.changed) == ("changed", ["parti"]) and "party:" not in row.proposed.text


def test_columns_absent_from_the_sheet_are_left_as_they_are(content_dir):
    [row] = preview(content_dir, ["balayeuses-communes", "Sport"], header=["id", "theme"]).rows
    assert row.changed == ["theme"] and "territory: Marcq-en-Barœul" in row.proposed.text


def test_a_changed_status_with_its_date_and_quote_adds_a_history_entry(content_dir):
    header = ["id", "statut", "date_statut", "source", "citation", "note"]
    [row] = preview(content_dir, ["balayeuses-communes", "partial", "2023-01-10", "deliberation-test", "une pour chaque commune", "Vérifié."], header=header).rows
    assert (row.outcome, row.changed, row.proposed.change_type) == ("changed", ["statut", "historique"], "status")
    promise, _ = parse_promise(content_dir / "promises" / "balayeuses-communes.md", row.proposed.text)
    assert promise.status == "partial"
    assert (promise.history[-1].date, promise.history[-1].note, promise.history[-1].evidence[0].quote) == (date(2023, 1, 10), "Vérifié.", "une pour chaque commune")


def test_the_same_status_entry_imported_twice_adds_nothing_the_second_time(content_dir):
    header = ["id", "statut", "date_statut", "source", "citation"]
    row = ["balayeuses-communes", "partial", "2023-01-10", "deliberation-test", "une pour chaque commune"]
    [first] = preview(content_dir, row, header=header).rows
    write(content_dir / "promises" / "balayeuses-communes.md", first.proposed.text)
    [second] = preview(content_dir, row, header=header).rows
    assert second.outcome == "unchanged"


# -- refused rows: the row, the column, the reason -----------------------------------------------


def test_an_unknown_status_is_refused_naming_the_known_ones(content_dir):
    number, column, reason = only_error(preview(content_dir, with_cell(NEW_ROW, "statut", "finie")))
    assert (number, column) == (2, "statut") and "statut inconnu « finie »" in reason and "planned" in reason


def test_an_unknown_tracker_is_refused_with_the_nearest_one(content_dir):
    number, column, reason = only_error(preview(content_dir, with_cell(NEW_ROW, "suivi", "marcq-la-madeleine-2014-2021")))
    assert (number, column) == (2, "suivi") and "vouliez-vous dire « marcq-la-madeleine-2014-2020 »" in reason


def test_an_unknown_person_is_refused(content_dir):
    number, column, reason = only_error(preview(content_dir, with_cell(NEW_ROW, "auteur_ids", "jean-dupont")))
    assert (number, column) == (2, "auteur_ids") and "personne inconnue « jean-dupont »" in reason


def test_a_bad_date_is_refused(content_dir):
    number, column, reason = only_error(preview(content_dir, with_cell(NEW_ROW, "promis_le", "31/02/2014")))
    assert (number, column) == (2, "promis_le") and "date invalide « 31/02/2014 »" in reason


def test_a_date_in_the_future_is_refused_by_kb_checks_rule(content_dir):
    result = preview(content_dir, with_cell(with_cell(NEW_ROW, "promis_le", "2030-01-01"), "echeance", ""))
    assert result.errors == [(2, "promis_le", "date dans le futur (2030-01-01)")]


def test_a_duplicate_id_is_refused_on_its_second_row(content_dir):
    result = preview(content_dir, NEW_ROW, with_cell(NEW_ROW, "titre", "Autre"))
    assert [row.outcome for row in result.rows] == ["new", "error"]
    assert result.errors == [(3, "id", "identifiant en double : déjà à la ligne 2")]


def test_a_quote_not_in_its_source_is_refused(content_dir):
    header = ["id", "statut", "date_statut", "source", "citation"]
    result = preview(content_dir, ["balayeuses-communes", "partial", "2023-01-10", "deliberation-test", "achat de trois balayeuses"], header=header)
    number, column, reason = only_error(result)
    assert (number, column) == (2, "citation") and "citation introuvable" in reason


def test_an_unknown_source_is_refused(content_dir):
    header = ["id", "statut", "date_statut", "source", "citation"]
    number, column, reason = only_error(preview(content_dir, ["balayeuses-communes", "partial", "2023-01-10", "deliberation-tset", "x"], header=header))
    assert (number, column) == (2, "source") and "source inconnue" in reason


def test_a_changed_status_without_date_and_evidence_is_refused_saying_which_columns(content_dir):
    result = preview(content_dir, ["balayeuses-communes", "partial"], header=["id", "statut"])
    assert [(number, column) for number, column, _ in result.errors] == [(2, "date_statut"), (2, "source"), (2, "citation")]
    assert all("statut changé (réalisée → en partie réalisée)" in reason for _, _, reason in result.errors)


def test_a_status_entry_dated_before_the_last_one_is_refused(content_dir):
    header = ["id", "statut", "date_statut", "source", "citation"]
    result = preview(content_dir, ["balayeuses-communes", "partial", "2020-01-10", "deliberation-test", "une pour chaque commune"], header=header)
    number, column, reason = only_error(result)
    assert (number, column) == (2, "date_statut") and "2022-11-08" in reason


def test_a_new_row_missing_a_required_cell_is_refused(content_dir):
    number, column, reason = only_error(preview(content_dir, with_cell(NEW_ROW, "territoire", "")))
    assert (number, column, reason) == (2, "territoire", "champ obligatoire vide")


def test_an_old_id_is_refused_with_the_current_one(content_dir):
    number, column, reason = only_error(preview(content_dir, ["balayeuses", "Sport"], header=["id", "theme"]))
    assert (number, column) == (2, "id") and "« balayeuses-communes »" in reason


def test_an_invalid_id_is_refused(content_dir):
    number, column, _ = only_error(preview(content_dir, with_cell(NEW_ROW, "id", "Piscine Marcq")))
    assert (number, column) == (2, "id")


def test_valid_rows_are_kept_beside_refused_ones(content_dir):
    result = preview(content_dir, NEW_ROW, with_cell(with_cell(NEW_ROW, "id", "autre"), "statut", "finie"))
    assert (result.count("new"), result.count("error"), len(result.files)) == (1, 1, 1)


# -- the sheet as a whole ------------------------------------------------------------------------


def test_headers_are_read_without_accents_or_case():
    assert [column_name(cell) for cell in ("Thème", "Échéance", "Auteur ids", " statut ")] == ["theme", "echeance", "auteur_ids", "statut"]


def test_unknown_columns_are_ignored_with_a_warning(content_dir):
    result = preview(content_dir, [*NEW_ROW, "à relire"], header=[*HEADER, "Commentaire interne"])
    assert result.count("new") == 1 and result.warnings == ["colonne « Commentaire interne » inconnue : ignorée"]


def test_a_sheet_naming_neither_id_nor_title_is_refused(content_dir):
    with pytest.raises(ImportRefused, match="ni colonne « id » ni colonne « titre »"):
        preview(content_dir, ["a", "b"], header=["nom", "prénom"])


def test_a_column_twice_in_the_header_is_refused(content_dir):
    with pytest.raises(ImportRefused, match="figure deux fois"):
        preview(content_dir, ["a", "b"], header=["id", "Id"])


def test_a_row_without_id_whose_title_names_a_published_promise_is_refused_not_applied_to_it(content_dir):
    header = ["titre", "suivi", "auteur_ids", "territoire", "theme", "promis_le"]
    row = ["Balayeuses communes", "marcq-la-madeleine-2014-2020", "bernard-gerard", "Lille", "Propreté", "2014-03-01"]
    number, column, reason = only_error(preview(content_dir, row, header=header))
    assert (number, column) == (2, "id") and "« balayeuses-communes »" in reason


def test_a_sheet_longer_than_an_import_may_be_is_refused_saying_to_split_it(content_dir):
    from kb.newsroom.imports import MAX_IMPORT_ROWS

    rows = [with_cell(NEW_ROW, "id", f"piscine-{n}") for n in range(MAX_IMPORT_ROWS + 1)]
    with pytest.raises(ImportRefused, match="découpez le tableur"):
        preview(content_dir, *rows)
