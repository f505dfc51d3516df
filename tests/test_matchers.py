"""Phrases are matched by their positions as sets (the same documents and scores as Whoosh's spans); exclusions exclude."""

import random
import shutil

import pytest
from whoosh import query as q

from kb.search import building
from kb.search.analysis import terms
from kb.search.index import SearchIndex
from kb.search.matchers import AndNot, Phrase, own_matchers
from kb.search.query import Search
from kb.search.ranking import score_each, top

PHRASES = [
    "permis de louer",
    "schéma de mutualisation",
    "Lille Lomme Hellemmes",
    "métropole européenne de Lille",
    "centrale d'achat",
    "ville de Lille",
    "louer permis",  # the words in the other order
    "mutualisation zorglub",  # a word nowhere
    "lille lille",  # a word twice
]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    from .conftest import DEMO_CONTENT

    built = SearchIndex(tmp_path_factory.mktemp("phrases") / "index", DEMO_CONTENT)
    # Several segments: a document's number is read in its own segment.
    original = building.SEGMENT_TEXT
    building.SEGMENT_TEXT = 60_000
    try:
        built.rebuild()
    finally:
        building.SEGMENT_TEXT = original
    # And deleted documents: three promises published again (a new segment, the old copies deleted).
    content = tmp_path_factory.mktemp("content")
    shutil.copytree(DEMO_CONTENT, content, dirs_exist_ok=True)
    built.content_root = content
    for path in sorted((content / "promises").glob("*.md"))[:3]:
        path.write_text(path.read_text(encoding="utf-8") + "\nLa ville de Lille, encore.\n", encoding="utf-8")
        built.reindex([f"promise:{path.stem}"])
    with built.open().reader() as reader:
        assert len(built.open()._segments()) > 1 and reader.has_deletions()
    return built


def scored(searcher, query):
    return sorted((docnum, round(score, 9)) for docnum, score in searcher.search(query, limit=None).items())


@pytest.mark.parametrize("text", PHRASES)
@pytest.mark.parametrize("field", ["content", "title_words"])
def test_a_phrase_finds_the_documents_whoosh_finds_with_the_same_scores(index, text, field):
    words = terms(text)
    with index.open().searcher() as searcher:
        assert scored(searcher, Phrase(field, words)) == scored(searcher, q.Phrase(field, words))
        assert sorted(searcher.docs_for_query(Phrase(field, words))) == sorted(searcher.docs_for_query(q.Phrase(field, words)))


def test_any_run_of_words_of_a_document_finds_it_as_whoosh_does(index):
    picker = random.Random(14)
    found_their_document = 0
    with index.open().searcher() as searcher:
        for _ in range(200):
            docnum = picker.randrange(searcher.doc_count_all())
            words = terms(searcher.stored_fields(docnum).get("snippet_text") or "")
            if len(words) < 3:
                continue
            length = picker.randint(2, 4)
            start = picker.randrange(len(words) - length + 1)
            run = words[start : start + length]
            found = set(searcher.docs_for_query(Phrase("content", run)))
            assert found == set(searcher.docs_for_query(q.Phrase("content", run))), run
            found_their_document += docnum in found
    # The stored text joins parts the index keeps apart: most runs, not all, are phrases of the index.
    assert found_their_document >= 100


def test_typed_phrases_inside_other_queries_are_matched_the_fast_way(index):
    search = Search(index, sync_seconds=None)
    search.search("lille")  # the parser is made with the index's schema
    parsed = search.parse('"permis de louer" OR -"ville de lille" mutualisation')
    phrases = [node for node in _all_nodes(parsed) if isinstance(node, q.Phrase)]
    assert len(phrases) == 2 and all(type(node) is Phrase for node in phrases)
    assert any(type(node) is AndNot for node in _all_nodes(parsed))
    assert own_matchers(None) is None


def test_a_phrase_search_finds_what_whoosh_finds(index):
    search = Search(index, sync_seconds=None, results_kept=0)
    for text in ('"permis de louer"', '"schéma de mutualisation" lille', "permis louer", '"ville de lille" métropole'):
        fast = search.search(text, per_page=500)
        with index.open().searcher() as searcher:
            slow = list(searcher.docs_for_query(_slow(search.parse(text))))
            assert fast.total == len(slow) > 0, text
            assert {hit.id for hit in fast.hits} == {searcher.stored_fields(docnum)["id"] for docnum in slow}, text


@pytest.mark.parametrize("text", ['"ville de lille"', '"schéma de mutualisation" lille', "mutualisation lille", '"permis de louer" OR habitat'])
def test_documents_scored_one_by_one_rank_as_whoosh_collector_ranks_them(index, text):
    search = Search(index, sync_seconds=None, results_kept=0)
    search.search("lille")
    query = search.parse(text)
    with index.open().searcher() as searcher:
        matches = list(searcher.docs_for_query(query))
        some = set(matches[::2])  # a filter, as a tier or the facets make one
        ranked = top(score_each(searcher, query, some), len(some))
        collected = searcher.search(_slow(query), limit=None, filter=some)
        assert ranked == [docnum for docnum, _ in collected.items()] and len(ranked) == len(some), text


@pytest.mark.parametrize("text", ["lille -mutualisation", '"ville de lille" -mutualisation', "mutualisation -lomme -roubaix", "-mutualisation"])
def test_an_excluded_word_is_in_no_result(index, text):
    search = Search(index, sync_seconds=None, results_kept=0)
    results = search.search(text, per_page=500)
    with index.open().searcher() as searcher:
        excluded = {term for word in text.split() if word.startswith("-") for term in terms(word[1:])}
        holding = {
            (searcher.stored_fields(docnum)["kind"], searcher.stored_fields(docnum)["id"])
            for term in excluded
            for docnum in searcher.docs_for_query(q.Term("content", term))
        }
    assert results.total > 0
    assert not {(hit.kind, hit.id) for hit in results.hits} & holding, text


def test_whoosh_own_exclusion_lets_through_the_first_match_of_a_segment(index):
    # Why AndNot is ours: the demo's "lille -mutualisation" with Whoosh's own matcher.
    with index.open().searcher() as searcher:
        whoosh = set(searcher.docs_for_query(q.AndNot(q.Term("content", "lill"), q.Term("content", "mutualis"))))
        ours = set(searcher.docs_for_query(AndNot(q.Term("content", "lill"), q.Term("content", "mutualis"))))
        holding = set(searcher.docs_for_query(q.Term("content", "mutualis")))
    assert whoosh & holding and not ours & holding
    assert ours == whoosh - holding


def _slow(query):
    def swap(node):
        if type(node) is Phrase:
            return q.Phrase(node.fieldname, node.words, slop=node.slop, boost=node.boost)
        return node

    return query.accept(swap)


def _all_nodes(node):
    yield node
    for child in node.children():
        yield from _all_nodes(child)
