import shutil
import subprocess

import pytest

from kb.ops.cli import main

from .conftest import DEMO_CONTENT, git_repository


def test_check_passes_on_a_valid_tree_and_prints_the_counts(runner, content_dir):
    result = runner.invoke(main, ["check", "--content", str(content_dir)])
    assert result.exit_code == 0, result.output
    assert "1 promesses, 1 sources, 0 vérifications, 1 suivis, 2 élus et institutions, 0 pages, 2 entrées d'historique, 2 citations vérifiées — 0 erreur(s)" in result.output


def test_check_lists_each_problem_and_exits_non_zero(runner, content_dir):
    path = content_dir / "promises" / "balayeuses-communes.md"
    path.write_text(
        path.read_text(encoding="utf-8").replace("theme: Propreté", "").replace("status: planned", "status: prevue"),
        encoding="utf-8",
    )
    result = runner.invoke(main, ["check", "--content", str(content_dir)])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if "balayeuses-communes.md" in line]
    assert len(lines) == 2
    assert any(": theme: champ obligatoire" in line for line in lines)
    assert any(":12: history[0].status: statut inconnu" in line for line in lines)


def test_check_strict_fails_on_warnings(runner, content_dir):
    path = content_dir / "promises" / "balayeuses-communes.md"
    path.write_text(path.read_text(encoding="utf-8").replace("    evidence:\n      - source: deliberation-test\n        quote: \"achat de deux balayeuses\"\n", ""), encoding="utf-8")
    assert runner.invoke(main, ["check", "--content", str(content_dir)]).exit_code == 0
    assert runner.invoke(main, ["check", "--strict", "--content", str(content_dir)]).exit_code == 1


def test_check_on_a_missing_directory_is_a_clear_error(runner, tmp_path):
    result = runner.invoke(main, ["check", "--content", str(tmp_path / "absent")])
    assert result.exit_code == 1
    assert "dossier de contenu introuvable" in result.output
    assert "Traceback" not in result.output


def test_content_directory_comes_from_the_environment(runner, content_dir):
    result = runner.invoke(main, ["check"], env={"KB_CONTENT_DIR": str(content_dir)})
    assert result.exit_code == 0 and "1 promesses" in result.output


def test_check_passes_on_the_demo_corpus(runner):
    result = runner.invoke(main, ["check", "--strict", "--content", str(DEMO_CONTENT)])
    assert result.exit_code == 0, result.output


def test_help_documents_every_command(runner):
    overview = runner.invoke(main, ["--help"]).output
    for name, command in main.commands.items():
        assert name in overview
        assert command.help, name
        assert runner.invoke(main, [name, "--help"]).exit_code == 0


def test_kb_source_add_extracts_a_pdf_and_records_its_sha256(runner, content_dir, tmp_path, database_url):
    import hashlib

    from kb.content.files import sha256_text
    from kb.content.tree import read_tree
    from kb.ops.cli import main
    from kb.store import audit
    from kb.store.db import open_database

    from .pdfs import pdf_with_text

    pdf = content_dir.parent / "deliberation.pdf"
    pdf.write_bytes(pdf_with_text("Le conseil approuve le schema de mutualisation."))
    result = runner.invoke(
        main,
        ["source", "add", str(pdf), "--title", "Délibération du 3 février", "--publisher", "Ville de Lille",
         "--kind", "deliberation", "--date", "2026-02-03", "--content", str(content_dir)],
        env={"KB_INSTANCE_DIR": str(tmp_path / "instance")},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    source = read_tree(content_dir).sources["deliberation-du-3-fevrier"]
    assert "approuve le schema de mutualisation" in source.text
    assert source.sha256 == hashlib.sha256(pdf.read_bytes()).hexdigest()
    # In the publication log, so that every server indexes it at once.
    with open_database(database_url)() as session:
        (publication,) = audit.publications(session, "source:deliberation-du-3-fevrier")
        assert publication.new_sha256 == sha256_text(source.path.read_text(encoding="utf-8"))


def test_kb_source_add_refuses_an_empty_pdf_and_writes_nothing(runner, content_dir):
    from kb.ops.cli import main

    from .pdfs import blank_pdf

    pdf = content_dir.parent / "scan.pdf"
    pdf.write_bytes(blank_pdf())
    result = runner.invoke(
        main,
        ["source", "add", str(pdf), "--id", "scan", "--title", "Scan", "--publisher", "X", "--kind", "other",
         "--date", "2026-02-03", "--content", str(content_dir)],
        env={"KB_INSTANCE_DIR": str(content_dir.parent / "instance")},
    )  # fmt: skip
    assert result.exit_code == 1 and "ne contient pas de texte" in result.output
    assert not (content_dir / "sources" / "scan.md").exists()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_kb_source_add_reads_a_scanned_pdf_by_ocr_and_says_so(runner, content_dir, tmp_path):
    from kb.content.tree import read_tree
    from kb.ops.cli import main

    from .pdfs import scanned_pdf

    pdf = content_dir.parent / "scan.pdf"
    pdf.write_bytes(scanned_pdf("Le conseil approuve la mutualisation", "des services de la commune."))
    result = runner.invoke(
        main,
        ["source", "add", str(pdf), "--id", "scan", "--title", "Délibération scannée", "--publisher", "Ville de Lille",
         "--kind", "deliberation", "--date", "2026-02-03", "--content", str(content_dir)],
        env={"KB_INSTANCE_DIR": str(tmp_path / "instance")},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1 page dont 1 lue par reconnaissance de caractères" in result.output
    assert "approuve la mutualisation des services de la commune." in read_tree(content_dir).sources["scan"].text


def test_kb_source_add_commits_the_new_source_when_the_content_tree_is_a_git_repository(runner, content_dir, tmp_path):
    import hashlib

    from kb.ops.cli import main

    git = git_repository(content_dir)
    text = content_dir.parent / "communique.txt"
    text.write_text("La Métropole annonce la mutualisation des achats.\n", encoding="utf-8")
    result = runner.invoke(
        main,
        ["source", "add", str(text), "--id", "communique-achats", "--title", "Communiqué achats", "--publisher", "MEL",
         "--kind", "press-release", "--date", "2026-02-03", "--content", str(content_dir)],
        env={"KB_INSTANCE_DIR": str(tmp_path / "instance"), "GIT_AUTHOR_NAME": "Julie", "GIT_AUTHOR_EMAIL": "julie@redaction.fr"},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert git("status", "--porcelain") == ""
    author, subject = git("log", "-1", "--format=%an <%ae>%n%s").splitlines()
    assert (author, subject) == ("Julie <julie@redaction.fr>", "Nouvelle source : Communiqué achats")
    digest = hashlib.sha256(text.read_bytes()).hexdigest()
    # The original, archived under its fingerprint, is committed with the source that names it.
    assert git("show", "--name-only", "--format=", "HEAD").split() == [f"originals/{digest}.txt", "sources/communique-achats.md"]


def test_kb_source_add_works_as_a_command_of_its_own(content_dir, tmp_path, database_url):
    """A real process imports only what the command needs: the audit row must still be written."""
    import sys

    from kb.content.tree import read_tree
    from kb.store import audit
    from kb.store.db import open_database

    note = tmp_path / "note.txt"
    note.write_text("La Ville annonce une mutualisation des achats.\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-c", "from kb.ops.cli import main; main()", "source", "add", str(note), "--id", "note-achats",
         "--title", "Note", "--publisher", "Ville", "--kind", "other", "--date", "2026-02-03", "--content", str(content_dir)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "mutualisation des achats" in read_tree(content_dir).sources["note-achats"].text
    with open_database(database_url)() as session:
        assert len(audit.publications(session, "source:note-achats")) == 1
