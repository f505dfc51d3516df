"""`kb import-promises`: the import page's rules from the command line — every error with its row, nothing written."""

from kb.ops.cli import main
from kb.store.accounts import add_user
from kb.store.changes import ChangeRequest
from kb.store.db import open_database

HEADER = "id;titre;suivi;statut;auteur_ids;territoire;theme;promis_le\r\n"
ROW = "piscine-{n};Rénover la piscine {n};marcq-la-madeleine-2014-2020;prévue;bernard-gerard;Marcq-en-Barœul;Sport;01/03/2014\r\n"


def sheet(tmp_path, *rows, name="promesses.csv"):
    path = tmp_path / name
    # Semicolons and Windows-1252, as French Excel saves a CSV.
    path.write_bytes((HEADER + "".join(rows)).encode("cp1252"))
    return path


def invoke(runner, content_dir, *args):
    return runner.invoke(main, ["import-promises", *map(str, args), "--content", str(content_dir)])


def test_a_dry_run_says_what_each_row_would_do_and_writes_nothing(runner, content_dir, tmp_path):
    result = invoke(runner, content_dir, sheet(tmp_path, ROW.format(n=1), ROW.format(n=2)), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "2 ligne(s) — 2 nouvelle(s), 0 modifiée(s), 0 inchangée(s), 0 refusée(s)" in result.output
    assert not (content_dir / "promises" / "piscine-1.md").exists()


def test_any_refused_row_exits_1_naming_every_error_and_writes_nothing(runner, content_dir, tmp_path):
    bad_status = ROW.format(n=2).replace("prévue", "finie")
    bad_date = ROW.format(n=3).replace("01/03/2014", "2014-13-01")
    result = invoke(runner, content_dir, sheet(tmp_path, ROW.format(n=1), bad_status, bad_date))
    assert result.exit_code == 1
    assert "promesses.csv, ligne 3, colonne statut : statut inconnu « finie »" in result.output
    assert "promesses.csv, ligne 4, colonne promis_le : date invalide « 2014-13-01 »" in result.output
    assert not (content_dir / "promises" / "piscine-1.md").exists()


def test_an_import_publishes_every_row_at_once(runner, content_dir, tmp_path):
    result = invoke(runner, content_dir, sheet(tmp_path, ROW.format(n=1), ROW.format(n=2)))
    assert result.exit_code == 0, result.output
    assert "2 fiche(s) publiée(s) ensemble" in result.output
    assert "title: Rénover la piscine 2" in (content_dir / "promises" / "piscine-2.md").read_text(encoding="utf-8")


def test_with_as_the_import_becomes_a_request_to_review(runner, content_dir, tmp_path, database_url):
    sessions = open_database(database_url)
    with sessions() as session:
        add_user(session, "julie@redaction.fr", "mot-de-passe-journaliste", "journalist", "Julie")
    result = invoke(runner, content_dir, sheet(tmp_path, ROW.format(n=1)), "--as", "julie@redaction.fr")
    assert result.exit_code == 0, result.output
    with sessions() as session:
        [change] = session.query(ChangeRequest).all()
        assert (change.change_type, change.state, len(change.files)) == ("import", "submitted", 1)
    assert not (content_dir / "promises" / "piscine-1.md").exists()


def test_a_file_that_is_no_spreadsheet_is_refused(runner, content_dir, tmp_path):
    path = tmp_path / "photo.xlsx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00binaire")
    result = invoke(runner, content_dir, path)
    assert result.exit_code == 1 and "rien n'a été écrit" in result.output
