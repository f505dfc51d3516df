"""One-word searches are ranked block by block (kb.search.ranking): exactly as Whoosh ranks them."""

from whoosh import query as q

from kb.search.index import SearchIndex
from kb.search.ranking import rank_term, rank_terms, top


def _index_with_segments_and_deletions(demo_copy, tmp_path):
    index = SearchIndex(tmp_path / "index", demo_copy)
    index.rebuild()
    # Edits indexed one by one: new small segments, and deleted documents in the first one.
    for number, path in enumerate(sorted((demo_copy / "promises").glob("*.md"))[:6]):
        path.write_text(path.read_text(encoding="utf-8") + f"\nMutualisation revue, note {number}.\n", encoding="utf-8")
        index.reindex([f"promise:{path.stem}"])
    return index.open()


def test_every_word_of_the_index_ranks_as_whoosh_ranks_it(demo_copy, tmp_path):
    ix = _index_with_segments_and_deletions(demo_copy, tmp_path)
    with ix.searcher() as searcher:
        assert len(searcher.reader().leaf_readers()) > 1 and searcher.reader().has_deletions()
        words = list(searcher.reader().field_terms("content"))
        assert len(words) > 1000
        for word in words:
            term = q.Term("content", word)
            scored = rank_term(searcher, term)
            whoosh = [(score, docnum) for docnum, score in searcher.search(term, limit=None).items()]
            assert sorted((-score, docnum) for score, docnum in whoosh) == [(-score, docnum) for score, docnum in whoosh]
            assert top(scored, len(scored) + 1) == [docnum for _, docnum in whoosh], word
            assert sorted((-score, -negated) for score, negated in scored) == [(-score, docnum) for score, docnum in whoosh], word


def test_several_words_all_required_or_any_rank_as_whoosh_ranks_them(demo_copy, tmp_path):
    ix = _index_with_segments_and_deletions(demo_copy, tmp_path)
    pairs = [("mutualis", "lill"), ("energ", "assur"), ("commun", "metropol"), ("perm", "lou"), ("habit", "zzzzqq")]
    with ix.searcher() as searcher:
        for words in [*pairs, ("mutualis", "lill", "servic")]:
            for compound in (q.And, q.Or):
                query = compound([q.Term("content", word) for word in words])
                scored = rank_terms(searcher, query)
                whoosh = [(docnum, score) for docnum, score in searcher.search(query, limit=None).items()]
                assert sorted(-negated for _, negated in scored) == sorted(docnum for docnum, _ in whoosh), (compound, words)
                mine = {-negated: score for score, negated in scored}
                assert all(abs(mine[docnum] - score) < 1e-9 for docnum, score in whoosh), (compound, words)
                if compound is q.Or:
                    assert [-negated for _, negated in scored] == sorted(mine)  # in document order
        # Any is not all: an Or finds more.
        either = rank_terms(searcher, q.Or([q.Term("content", "energ"), q.Term("content", "assur")]))
        both = rank_terms(searcher, q.And([q.Term("content", "energ"), q.Term("content", "assur")]))
        assert len(either) > len(both) > 0


def test_other_queries_are_left_to_whoosh(demo_copy, tmp_path):
    ix = _index_with_segments_and_deletions(demo_copy, tmp_path)
    with ix.searcher() as searcher:
        assert rank_term(searcher, q.And([q.Term("content", "mutualis"), q.Term("content", "lill")])) is None
        assert rank_term(searcher, q.Term("content", "mutualis", boost=2.0)) is None
        assert rank_term(searcher, q.Term("content", "zzzzqq")) == []
        assert rank_terms(searcher, q.Or([q.Term("content", "mutualis"), q.Term("content", "lill")], minmatch=2)) is None
        assert rank_terms(searcher, q.Or([q.Term("content", "mutualis"), q.Phrase("content", ["perm", "lou"])])) is None


def test_a_search_is_answered_from_memory_until_the_index_changes(demo_copy, tmp_path):
    from kb.search.query import open_search

    search = open_search(tmp_path / "index", demo_copy, sync_seconds=None)
    first = search.search("balayeuses")
    assert search.search("balayeuses") is first
    assert search.search("balayeuses", page=2) is not first  # another page, another answer
    path = demo_copy / "promises" / "aubry-mutualisation-lille-lomme-hellemmes.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nAvec des balayeuses partagées.\n", encoding="utf-8")
    search.index.reindex([f"promise:{path.stem}"])
    again = search.search("balayeuses")
    assert again is not first
    assert "aubry-mutualisation-lille-lomme-hellemmes" in [hit.id for hit in again.hits]
    assert again.total == first.total + 1


def test_a_document_holds_a_word_exactly_when_the_word_s_postings_list_it(tmp_path):
    # Postings of hundreds of documents span several blocks: holds_all skips to the one asked
    # (kb.search.ranking._holds), and must say what reading the whole list says, kept or not.
    from whoosh import fields, index

    from kb.search.ranking import _POSTINGS, holds_all, postings_ids

    schema = fields.Schema(content=fields.TEXT)
    ix = index.create_in(str(tmp_path), schema)
    with ix.writer() as writer:
        for number in range(1000):
            words = ["tout", "pair" if number % 2 == 0 else "impair"] + (["septieme"] if number % 7 == 0 else [])
            writer.add_document(content=" ".join(words))
    with ix.reader() as reader:
        segment = reader.leaf_readers()[0][0]
        words = [("content", "pair"), ("content", "septieme"), ("content", "tout"), ("content", "absent")]
        for field, text in words:
            _POSTINGS.clear()
            listed = set(postings_ids(segment, field, text)) if (field, text) in segment else set()
            for kept in (False, True):
                if not kept:
                    _POSTINGS.clear()
                assert [holds_all(segment, local, [(field, text)]) for local in range(1000)] == [local in listed for local in range(1000)], (text, kept)
                postings_ids(segment, field, text) if (field, text) in segment else None
        assert holds_all(segment, 14, [("content", "pair"), ("content", "septieme")])
        assert not holds_all(segment, 7, [("content", "pair"), ("content", "septieme")])


def test_the_one_document_of_a_publication_s_segment_holds_exactly_its_words(tmp_path):
    from whoosh import fields, index

    from kb.search.ranking import holds_all

    ix = index.create_in(str(tmp_path), fields.Schema(content=fields.TEXT))
    with ix.writer() as writer:
        writer.add_document(content="balayeuses neuves")
    with ix.writer() as writer:
        writer.add_document(content="piscine")
    with ix.reader() as reader:
        published = next(segment for segment, _ in reader.leaf_readers() if ("content", "piscine") in segment)
        assert published.doc_count_all() == 1
        assert holds_all(published, 0, [("content", "piscine")])
        assert not holds_all(published, 0, [("content", "balayeuses")])
        assert not holds_all(published, 0, [("content", "piscine"), ("content", "neuves")])
