"""A thread's searchers of the index's successive states: each segment's files opened once, deletions always current."""

import pytest

from kb.search.index import SearchIndex
from kb.search.query import Search
from kb.search.segment_files import SegmentFiles

BALAYEUSES = "marcq-la-madeleine-balayeuses"


@pytest.fixture
def index(demo_copy, tmp_path):
    made = SearchIndex(tmp_path / "index", demo_copy)
    made.rebuild()
    return made


def _terms_readers(searcher) -> dict[str, object]:
    return {reader.segment().segment_id(): reader._terms for reader, _ in searcher.reader().leaf_readers()}


def _edit(content, promise_id: str, old: str, new: str) -> None:
    path = content / "promises" / f"{promise_id}.md"
    path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")


def test_a_new_state_reuses_the_terms_of_the_segments_it_still_has(index, demo_copy):
    files = SegmentFiles()
    before = files.searcher(index.open())
    kept = _terms_readers(before)
    before.close()
    _edit(demo_copy, BALAYEUSES, "Acheter", "Acheter (zqsegment)")
    index.catch_up([f"promise:{BALAYEUSES}"])  # a segment of one document more; the old one has one deleted
    after = files.searcher(index.open())
    terms = _terms_readers(after)
    assert set(kept) < set(terms)
    assert all(terms[segment] is reader for segment, reader in kept.items())  # not opened again
    after.close()
    files.close()


def test_a_document_deleted_since_is_not_found_through_the_kept_segment(index, demo_copy):
    files = SegmentFiles()
    first = files.searcher(index.open())
    assert first.document_number(key=f"promise:{BALAYEUSES}") is not None
    count = first.doc_count()
    first.close()
    (demo_copy / "promises" / f"{BALAYEUSES}.md").unlink()
    index.catch_up([f"promise:{BALAYEUSES}"])
    second = files.searcher(index.open())
    assert second.document_number(key=f"promise:{BALAYEUSES}") is None
    assert second.doc_count() == count - 1
    second.close()
    files.close()


def test_the_files_of_segments_merged_away_are_closed(index, demo_copy):
    files = SegmentFiles()
    searcher = files.searcher(index.open())
    old = [reader._storage for reader, _ in searcher.reader().leaf_readers()]
    searcher.close()
    for number in range(3):
        _edit(demo_copy, BALAYEUSES, "Acheter", f"Acheter (zqfusion{number})")
        index.catch_up([f"promise:{BALAYEUSES}"])
    ix = index.open()
    ix.optimize()  # every segment merged into a new one
    searcher = files.searcher(index.open())
    assert all(storage.a.is_closed for storage in old)  # the compound files of the segments gone
    assert searcher.document_number(key=f"promise:{BALAYEUSES}") is not None
    searcher.close()
    files.close()


def test_every_thread_s_search_finds_a_change_and_no_longer_finds_what_it_replaced(index, demo_copy):
    from concurrent.futures import ThreadPoolExecutor

    search = Search(index, sync_seconds=None, results_kept=0)
    _edit(demo_copy, BALAYEUSES, "Acheter", "Acheter zqavant")
    index.catch_up([f"promise:{BALAYEUSES}"])
    with ThreadPoolExecutor(4) as pool:
        assert list(pool.map(lambda _: search.search("zqavant").total, range(8))) == [1] * 8  # each thread's searcher open
        _edit(demo_copy, BALAYEUSES, "zqavant", "zqapres")
        index.catch_up([f"promise:{BALAYEUSES}"])
        assert list(pool.map(lambda _: search.search("zqapres").total, range(8))) == [1] * 8
        assert list(pool.map(lambda _: search.search("zqavant").total, range(8))) == [0] * 8
    search.close()
