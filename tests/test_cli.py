from kb.cli import main

from .conftest import DEMO_CONTENT


def test_check_passes_on_a_valid_tree_and_prints_the_counts(runner, content_dir):
    result = runner.invoke(main, ["check", "--content", str(content_dir)])
    assert result.exit_code == 0, result.output
    assert "1 promesses, 1 sources, 2 entrées d'historique, 2 citations vérifiées — 0 erreur(s)" in result.output


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
