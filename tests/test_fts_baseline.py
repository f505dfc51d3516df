"""The SQLite FTS5 baseline: it finds what it should, folds accents, counts facets, never breaks."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from kb.bench.fts import build_fts, match_query, search_fts
from kb.content.tree import read_tree

from .conftest import DEMO_CONTENT, write


@pytest.fixture(scope="module")
def conn(tmp_path_factory):
    db = tmp_path_factory.mktemp("fts") / "demo.db"
    build_fts(db, read_tree(DEMO_CONTENT))
    with closing(sqlite3.connect(db)) as connection:
        yield connection


def ids(result: dict) -> list[str]:
    return [hit["id"] for hit in result["results"]]


def test_a_rare_word_finds_the_promise_and_the_source_that_contain_it(conn):
    result = search_fts(conn, "balayeuses")
    assert set(ids(result)) == {"marcq-la-madeleine-balayeuses", "marcq-la-madeleine-mutualisation-2017"}
    assert result["total"] == 2


def test_each_hit_says_what_it_is(conn):
    hit = search_fts(conn, "balayeuses", {"kind": "promise"})["results"][0]
    assert hit["kind"] == "promise"
    assert hit["title"].startswith("Acheter")


def test_a_word_typed_without_accents_finds_the_accented_one(conn):
    assert "lille-metropole-mission-sig-2012" in ids(search_fts(conn, "interet general", per_page=100))


def test_a_word_typed_without_ligature_finds_the_one_with(conn):
    assert "marcq-la-madeleine-balayeuses" in ids(search_fts(conn, "Baroeul", per_page=100))
    assert search_fts(conn, "Baroeul")["total"] == search_fts(conn, "BARŒUL")["total"]


def test_words_are_all_required(conn):
    both = search_fts(conn, "mutualisation balayeuses")
    assert 0 < both["total"] < search_fts(conn, "mutualisation")["total"]


def test_a_quoted_phrase_needs_its_words_in_order(conn):
    assert search_fts(conn, '"balayeuses achat"')["total"] == 0
    assert search_fts(conn, '"achat de deux balayeuses"')["total"] >= 1


def test_a_leading_minus_excludes_a_word(conn):
    everything = search_fts(conn, "mutualisation", per_page=100)
    without = search_fts(conn, "mutualisation -balayeuses", per_page=100)
    assert without["total"] == everything["total"] - search_fts(conn, "mutualisation balayeuses")["total"]
    assert "marcq-la-madeleine-balayeuses" not in ids(without)


def test_a_trailing_star_searches_a_prefix(conn):
    assert search_fts(conn, "balay*")["total"] == search_fts(conn, "balayeuses")["total"]


def test_the_snippet_marks_the_words_found_in_the_analysis(conn):
    hit = search_fts(conn, "balayeuses", {"kind": "promise"})["results"][0]
    assert "<mark>balayeuses</mark>" in hit["snippet"].lower()


def test_the_snippet_is_escaped_html(tmp_path):
    root = tmp_path / "content"
    write(root / "sources" / "piege.md", "---\ntitle: Piège\npublisher: X\nkind: other\ndate: 2020-01-01\n---\n"
          "Un <script>alert(1)</script> dans la délibération.\n")  # fmt: skip
    build_fts(tmp_path / "t.db", read_tree(root))
    with closing(sqlite3.connect(tmp_path / "t.db")) as connection:
        snippet = search_fts(connection, "délibération")["results"][0]["snippet"]
    assert "<script>" not in snippet and "&lt;script&gt;" in snippet
    assert "<mark>délibération</mark>" in snippet


def test_facets_count_every_hit_once(conn):
    result = search_fts(conn, "mutualisation")
    assert sum(result["facets"]["kind"].values()) == result["total"] > 10
    promises = search_fts(conn, "mutualisation", {"kind": "promise"})
    for name in ("status", "territory", "theme", "made_by"):
        assert sum(promises["facets"][name].values()) == promises["total"], name


def test_a_filter_narrows_the_hits_to_its_value(conn):
    everything = search_fts(conn, "mutualisation", per_page=100)
    narrowed = search_fts(conn, "mutualisation", {"territory": "Marcq-en-Barœul et La Madeleine"}, per_page=100)
    assert 0 < narrowed["total"] < everything["total"]
    assert narrowed["facets"]["territory"] == {"Marcq-en-Barœul et La Madeleine": narrowed["total"]}
    assert set(ids(narrowed)) < set(ids(everything))


def test_an_empty_filter_value_filters_nothing(conn):
    assert search_fts(conn, "mutualisation", {"status": ""})["total"] == search_fts(conn, "mutualisation")["total"]


def test_an_unknown_filter_is_a_programming_error(conn):
    with pytest.raises(ValueError):
        search_fts(conn, "mutualisation", {"1=1; DROP TABLE meta": "x"})


def test_pages_follow_one_another_without_overlap(conn):
    first = search_fts(conn, "mutualisation", page=1, per_page=5)
    second = search_fts(conn, "mutualisation", page=2, per_page=5)
    assert len(ids(first)) == len(ids(second)) == 5
    assert not set(ids(first)) & set(ids(second))
    assert ids(search_fts(conn, "mutualisation", per_page=10)) == ids(first) + ids(second)


def test_a_query_with_nothing_to_search_finds_nothing(conn):
    for query in ("", "   ", "*", "-mutualisation", '""'):
        assert search_fts(conn, query)["total"] == 0, query


def test_every_typed_word_is_quoted_so_none_is_syntax():
    assert match_query("AND OR NOT") == '("AND" AND "OR" AND "NOT")'
    assert match_query('intérêt "schéma de" -lille mutu*') == '("intérêt" AND "schéma de" AND "mutu" *) NOT "lille"'


@pytest.mark.parametrize(
    "query",
    [
        '"unbalanced', 'a"b"c', '"', "*", "**a", "a*b", "AND OR", "NOT", "NEAR(a b)", "a:b", "title:mutualisation",
        "(", ")", "^mutualisation", "-", "--a", "- -", "\x00\x01\x1f\x7f mutualisation", "\u200b\ufeff",
        "mutualisation " * 2000, "x" * 10_000, "é" * 10_000, "'; DROP TABLE docs; --", "{a b}", "a + b",
    ],
)  # fmt: skip
def test_hostile_input_never_raises(conn, query):
    result = search_fts(conn, query)
    assert result["total"] >= 0 and isinstance(result["results"], list)
