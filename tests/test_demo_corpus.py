"""The shipped demo corpus: what the issue asks of it, checked on the real files."""

import hashlib
from datetime import date

import pytest

from kb.content.check import check_tree
from kb.content.tree import read_tree

from .conftest import DEMO_CONTENT, REPO

SEEDS = REPO.parent / "shared" / "seeds"


def test_demo_corpus_has_no_problem():
    report = check_tree(read_tree(DEMO_CONTENT))
    assert report.problems == []


def test_demo_corpus_has_at_least_thirty_promises_all_backed_by_quotes():
    tree = read_tree(DEMO_CONTENT)
    assert len(tree.promises) >= 30
    for promise in tree.promises.values():
        assert promise.made_by and promise.territory and promise.theme
        assert all(entry.evidence for entry in promise.history), promise.id


def test_aubry_pledge_is_partial_with_every_action_quoted_and_a_reply():
    promise = read_tree(DEMO_CONTENT).promises["aubry-mutualisation-lille-lomme-hellemmes"]
    assert promise.status == "partial"
    assert promise.reply and "Ville de Lille" in promise.reply
    quotes = " | ".join(proof.quote for proof in promise.history[-1].evidence)
    for action in ("services informatiques", "transition écologique", "plan 90 hectares", "Comed", "stade des Ormes", "paie"):
        assert action in quotes


def test_every_source_keeps_its_seed_text_and_hash():
    tree = read_tree(DEMO_CONTENT)
    assert len(tree.sources) == 5
    if not SEEDS.is_dir():
        pytest.skip("the seed documents live beside the repository (../shared/seeds), not in this checkout")
    seeds = {hashlib.sha256(path.read_bytes()).hexdigest(): path for path in SEEDS.glob("*.txt")}
    for source in tree.sources.values():
        seed = seeds[source.sha256]
        assert seed.read_text(encoding="utf-8") == source.text, source.id


def test_perspectives_without_later_evidence_are_not_done():
    tree = read_tree(DEMO_CONTENT)
    for promise in tree.promises.values():
        if promise.status == "done":
            assert promise.history[-1].date <= date(2022, 11, 17), promise.id
            assert any(entry.evidence for entry in promise.history if entry.status == "done")


def test_tests_read_the_demo_corpus_as_git_holds_it_never_the_checkouts_content():
    """Trying the demo (a publication, `kb source add`) changes ./content: the tests must not see it."""
    import shutil
    import subprocess

    assert REPO not in DEMO_CONTENT.parents
    if not (REPO / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout: the tests read a copy of ./content as it is")
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "--", "content"], capture_output=True, text=True, check=True)
    tracked = sorted(line.removeprefix("content/") for line in listed.stdout.splitlines())
    assert sorted(str(path.relative_to(DEMO_CONTENT)) for path in DEMO_CONTENT.rglob("*") if path.is_file()) == tracked
    for name in tracked:
        staged = subprocess.run(["git", "-C", str(REPO), "show", f":content/{name}"], capture_output=True, check=True).stdout
        assert (DEMO_CONTENT / name).read_bytes() == staged, name
