"""A full build of the index is cut into segments of bounded size, built one by one or several at once."""

import pytest

from kb.content.tree import read_tree
from kb.search import building
from kb.search.index import SearchIndex
from kb.search.query import Search

QUERIES = ("mutualisation", "Lille Lomme", '"permis de louer"', "métropole", "")


def results(index):
    found = []
    for text in QUERIES:
        page = Search(index, sync_seconds=0).search(text, per_page=500)
        found.append((sorted((hit.id, str(hit.snippet)) for hit in page.hits), page.facets))
    return found


@pytest.fixture
def whole(demo_copy, tmp_path):
    index = SearchIndex(tmp_path / "whole", demo_copy)
    index.rebuild()
    return index


def test_a_small_corpus_is_one_portion_in_its_own_order():
    documents = [{"key": f"promise:p{n}", "content": "mot " * 50} for n in range(30)]
    assert building.portions(documents, processes=2) == [documents]


def test_a_big_corpus_is_cut_into_portions_of_like_weight_a_multiple_of_the_processes(monkeypatch):
    monkeypatch.setattr(building, "SEGMENT_TEXT", 100_000)
    documents = [{"key": f"source:s{n}", "content": "x" * (1_000 + 37 * n)} for n in range(200)]
    cut = building.portions(documents, processes=2)
    total = sum(building.weight(document) for document in documents)
    assert len(cut) % 2 == 0 and len(cut) >= total / 100_000
    assert sorted(document["key"] for portion in cut for document in portion) == sorted(document["key"] for document in documents)
    loads = [sum(building.weight(document) for document in portion) for portion in cut]
    assert max(loads) - min(loads) <= max(building.weight(document) for document in documents)
    for portion in cut:  # in the corpus's order
        assert [document["key"] for document in portion] == sorted((document["key"] for document in portion), key=lambda key: int(key[8:]))


@pytest.mark.parametrize("processes", [1, 2])
def test_an_index_built_in_several_segments_finds_what_one_segment_finds(whole, demo_copy, tmp_path, monkeypatch, processes):
    monkeypatch.setattr(building, "SEGMENT_TEXT", 60_000)
    cut = SearchIndex(tmp_path / "cut", demo_copy)
    cut.rebuild(processes=processes)
    assert len(cut.open()._segments()) >= 4
    assert len(whole.open()._segments()) == 1
    assert results(cut) == results(whole)
    assert cut.open().doc_count() == whole.open().doc_count()


@pytest.mark.parametrize("processes", [1, 2])
def test_a_rebuild_that_fails_midway_leaves_the_former_index_whole_and_no_files_behind(whole, demo_copy, monkeypatch, processes):
    monkeypatch.setattr(building, "SEGMENT_TEXT", 60_000)
    before = results(whole)
    files = sorted(path.name for path in whole.index_dir.iterdir())
    original = building._write_portion
    # The last portion fails, once the others are written.
    cut = building.portions(whole._tree_documents(read_tree(demo_copy)), processes)
    assert len(cut) >= 4
    last = cut[-1][0]["key"]

    def failing(ix, documents):
        documents = list(documents)
        if any(document["key"] == last for document in documents):
            raise OSError("disque plein")
        return original(ix, documents)

    monkeypatch.setattr(building, "_write_portion", failing)  # forked processes inherit it
    with pytest.raises(OSError, match="disque plein"):
        whole.rebuild(processes=processes)
    monkeypatch.undo()
    assert results(whole) == before
    assert sorted(path.name for path in whole.index_dir.iterdir()) == files
    # The index's writer was let go: the next publication is indexed.
    path = sorted((demo_copy / "promises").glob("*.md"))[0]
    path.write_text(path.read_text(encoding="utf-8").replace("title: ", "title: Zorglub ", 1), encoding="utf-8")
    report = whole.reindex([f"promise:{path.stem}"])
    assert report.updated == 1 and not report.skipped
    assert Search(whole, sync_seconds=0).search("zorglub").total == 1


def test_the_segments_of_a_build_are_never_merged_after_it(demo_copy, tmp_path, monkeypatch):
    monkeypatch.setattr(building, "SEGMENT_TEXT", 60_000)
    index = SearchIndex(tmp_path / "index", demo_copy)
    index.rebuild()
    built = {segment.segment_id() for segment in index.open()._segments()}
    assert len(built) >= 4 and all(segment.kb_built for segment in index.open()._segments())
    assert index.merge_when_due() == 0
    for number, path in enumerate(sorted((demo_copy / "promises").glob("*.md"))[:8]):
        path.write_text(path.read_text(encoding="utf-8").replace("title: ", f"title: ({number}) ", 1), encoding="utf-8")
        index.reindex([f"promise:{path.stem}"])
    index.merge_when_due()
    segments = index.open()._segments()
    assert built <= {segment.segment_id() for segment in segments}  # the build's are all there
    assert len(segments) < len(built) + 8  # the publications' small ones were merged


def test_many_processes_do_not_cut_a_corpus_smaller(monkeypatch):
    monkeypatch.setattr(building, "SEGMENT_TEXT", 100_000)
    documents = [{"key": f"source:s{n}", "content": "x" * 6_000} for n in range(20)]  # 20 × 10,000: 2 portions
    assert len(building.portions(documents, processes=64)) == 2
    assert len(building.portions(documents, processes=2)) == 2
    assert len(building.portions(documents * 3, processes=2)) == 6


def test_kb_index_builds_a_big_corpus_with_several_processes(whole, demo_copy, tmp_path, monkeypatch, runner):
    from kb.ops.cli import main

    monkeypatch.setattr(building, "SEGMENT_TEXT", 60_000)
    target = tmp_path / "by-the-command"
    outcome = runner.invoke(main, ["index", "--content", str(demo_copy), "--index-dir", str(target), "--processes", "2"])
    assert outcome.exit_code == 0, outcome.output
    assert "documents indexés" in outcome.output
    built = SearchIndex(target, demo_copy)
    assert len(built.open()._segments()) >= 4
    assert results(built) == results(whole)
