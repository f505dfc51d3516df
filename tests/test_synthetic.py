"""The synthetic corpus for benchmarks: valid, deterministic, made of the demo's words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kb.bench.synthetic import demo_vocabulary, words_of, write_corpus
from kb.content.check import check_tree
from kb.content.sources import DOCUMENT_TYPES as SOURCE_KINDS
from kb.content.tree import read_tree

from .conftest import DEMO_CONTENT

SMALL = dict(promises=30, sources=5, source_bytes=3_000, demo=DEMO_CONTENT)


def files_of(root: Path) -> dict[str, bytes]:
    return {str(path.relative_to(root)): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic") / "content"
    write_corpus(root, **SMALL)
    return root


def test_small_corpus_passes_kb_check_without_any_problem(corpus):
    report = check_tree(read_tree(corpus))
    assert report.problems == []
    assert (report.promises, report.sources) == (30, 5)
    assert report.verified_quotes >= report.history_entries  # every entry has 1 or 2 quotes


def test_counts_returned_are_what_was_written(tmp_path):
    counts = write_corpus(tmp_path / "c", **SMALL)
    tree = read_tree(tmp_path / "c")
    assert counts["promises"] == len(tree.promises) == 30
    assert counts["sources"] == len(tree.sources) == 5
    assert counts["history_entries"] == sum(len(p.history) for p in tree.promises.values())
    assert counts["quotes"] == sum(len(e.evidence) for p in tree.promises.values() for e in p.history)


def test_same_seed_gives_byte_identical_files(corpus, tmp_path):
    write_corpus(tmp_path / "again", **SMALL)
    assert files_of(tmp_path / "again") == files_of(corpus)


def test_writing_promises_in_worker_processes_gives_the_same_bytes(corpus, tmp_path):
    write_corpus(tmp_path / "parallel", **SMALL, workers=2)
    assert files_of(tmp_path / "parallel") == files_of(corpus)


def test_another_seed_gives_other_text(corpus, tmp_path):
    write_corpus(tmp_path / "other", **SMALL, seed=2)
    other = files_of(tmp_path / "other")
    assert other.keys() == files_of(corpus).keys()
    assert other["promises/promesse-00001.md"] != files_of(corpus)["promises/promesse-00001.md"]
    assert other["sources/source-00001.md"] != files_of(corpus)["sources/source-00001.md"]


def test_every_word_comes_from_the_demo_vocabulary(corpus):
    # Compare whitespace-separated pieces: two drawn numbers side by side ("12 345") read as one.
    known = {piece.casefold() for word in demo_vocabulary(DEMO_CONTENT).words for piece in word.split()}
    tree = read_tree(corpus)
    texts = [source.text for source in tree.sources.values()]
    texts += [promise.body for promise in tree.promises.values()]
    texts += [entry.note for promise in tree.promises.values() for entry in promise.history]
    pieces = {piece.strip(".,;:?!*").casefold() for text in texts for piece in text.split()}
    assert pieces - {""} <= known


def test_the_demo_french_shows_through(corpus):
    text = " ".join(source.text for source in read_tree(corpus).sources.values())
    assert re.search(r"[éèêàç]", text)
    assert re.search(r"\b[ldLD]['’]\w", text)  # elisions
    assert re.search(r"\b(?:19|20)\d\d\b", text)  # years


def test_sources_have_about_the_size_asked_and_cycle_through_kinds(corpus):
    sources = read_tree(corpus).sources
    assert [sources[key].document_type for key in sorted(sources)] == list(SOURCE_KINDS[:5])
    for source in sources.values():
        assert 3_000 <= len(source.text.encode("utf-8")) < 3_000 + 2_000


def test_promises_have_the_shape_asked(corpus):
    for promise in read_tree(corpus).promises.values():
        assert re.fullmatch(r"promesse-\d{5}", promise.id)
        assert 1 <= len(promise.history) <= 4
        assert promise.status == promise.history[-1].status
        assert 80 <= len(promise.body.split()) <= 250 + 25
        for entry in promise.history:
            assert entry.note and 1 <= len(entry.evidence) <= 2
            for proof in entry.evidence:
                # Bounds that hold whatever the punctuation (" ;" splits, "15 000" joins).
                assert len(proof.quote.split()) >= 5 and len(words_of(proof.quote)) <= 15


def test_refuses_to_write_into_a_folder_that_is_not_empty(corpus):
    with pytest.raises(FileExistsError):
        write_corpus(corpus, **SMALL)
