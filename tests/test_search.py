"""Search on the demo corpus: French relevance, query syntax, facets, suggestions, hostile input."""

import pytest

from kb.search.analysis import term_for
from kb.search.query import open_search, snippet

from .conftest import DEMO_CONTENT


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    return open_search(tmp_path_factory.mktemp("index") / "index", DEMO_CONTENT, sync_seconds=3600)


def ids(results):
    return [hit.id for hit in results.hits]


def every_id(search, text, **filters):
    return [hit.id for hit in search.search(text, filters, per_page=500).hits]


def test_accents_do_not_matter(search):
    assert every_id(search, "interet general") == every_id(search, "intérêt général") != []


def test_ligatures_are_folded(search):
    assert "marcq-la-madeleine-balayeuses" in every_id(search, "Baroeul")
    assert every_id(search, "Barœul") == every_id(search, "baroeul")


def test_elisions_are_dropped(search):
    assert "mel-permis-de-louer-mutualise" in every_id(search, "l'habitat")
    assert every_id(search, "l’habitat") == every_id(search, "habitat")


def test_plurals_find_singulars(search):
    assert every_id(search, "balayeuse") == every_id(search, "balayeuses") != []


def test_hyphenated_names_are_found_by_their_parts(search):
    assert "marcq-la-madeleine-balayeuses" in every_id(search, "marcq baroeul")


def test_a_title_match_ranks_first(search):
    assert ids(search.search("balayeuses"))[0] == "marcq-la-madeleine-balayeuses"


def test_phrase_requires_the_words_together(search):
    phrase = set(every_id(search, '"plan de sauvegarde"'))
    words = set(every_id(search, "plan sauvegarde"))
    assert phrase and phrase <= words
    assert "mel-atlas-risques" in words - phrase  # only "plan communal de sauvegarde" there


def test_exclusion_removes_matching_documents(search):
    with_sweepers = set(every_id(search, "marcq"))
    without = set(every_id(search, "marcq -balayeuses"))
    assert "marcq-la-madeleine-balayeuses" in with_sweepers - without


@pytest.mark.parametrize("text", ["marcq (-balayeuses)", "(marcq -balayeuses)", "(-balayeuses) marcq", "marcq (NOT balayeuses)"])
def test_an_exclusion_inside_parentheses_excludes_as_outside(search, text):
    assert every_id(search, text) == every_id(search, "marcq -balayeuses") != []


def test_only_exclusions_means_everything_else(search):
    assert search.search("-mutualisation").total == search.search("").total - search.search("mutualisation").total


def test_or_finds_either_word(search):
    either = set(every_id(search, "balayeuses OR catiches"))
    assert either == set(every_id(search, "balayeuses")) | set(every_id(search, "catiches"))


def test_numbers_with_thousands_separators_are_one_number(search):
    assert set(every_id(search, "15 000")) == set(every_id(search, "15000")) != set()


def test_results_are_filtered_by_kind(search):
    assert {hit.kind for hit in search.search("mutualisation", {"kind": "source"}, per_page=50).hits} == {"source"}


def test_each_facet_count_equals_the_count_once_filtered(search):
    results = search.search("mutualisation")
    for name, counts in results.facets.items():
        for value, count in counts.items():
            assert search.search("mutualisation", {name: value}).total == count, (name, value)


def test_facets_combine_with_each_other(search):
    narrowed = search.search("mutualisation", {"kind": "promise", "status": "planned"})
    assert narrowed.total == narrowed.facets["territory"].get("Métropole européenne de Lille", 0) + sum(
        count for value, count in narrowed.facets["territory"].items() if value != "Métropole européenne de Lille"
    )
    # A facet's own counts ignore its own filter, so other statuses remain choosable.
    assert len(narrowed.facets["status"]) > 1


def test_snippets_highlight_the_matched_words(search):
    hit = search.search("balayeuses").hits[0]
    assert "<mark>balayeuses</mark>" in hit.snippet


def test_snippets_escape_the_text():
    assert str(snippet("<script>alert(1)</script> mutualisation", {"mutualis"})) == (
        "&lt;script&gt;alert(1)&lt;/script&gt; <mark>mutualisation</mark>"
    )


def test_a_misspelt_word_gets_a_suggestion(search):
    assert search.search("mutualistion").suggestion == "mutualisation"
    assert search.search("mutualisation").suggestion is None


def test_pages_do_not_overlap(search):
    first, second = search.search("mutualisation", page=1), search.search("mutualisation", page=2)
    assert first.total > 10 and not set(ids(first)) & set(ids(second))


@pytest.mark.parametrize(
    "hostile",
    ['"unbalanced', "*", "AND OR", "NOT", "title:mutualisation", "a" * 10_000, "\x00\x07\x1b[31m", "((((", ")", "-", '""', "~2^3", "mutualisation:[a TO z]", "  "],
)
def test_any_input_gives_results_not_an_exception(search, hostile):
    results = search.search(hostile)
    assert results.total >= 0


def test_field_syntax_is_read_as_words_with_a_notice(search):
    results = search.search("title:balayeuses")
    assert "marcq-la-madeleine-balayeuses" in ids(results) and results.notices


def test_an_overlong_query_is_cut_with_a_notice(search):
    results = search.search("mutualisation " * 1000)
    assert results.notices and results.total == search.search("mutualisation").total


def test_without_query_terms_the_snippet_is_the_beginning_of_the_text():
    text = " ".join(f"mot{n}" for n in range(100))
    shown = str(snippet(text, set(), words=10))
    assert shown.startswith("mot0 mot1") and "mot9" in shown and "mot10" not in shown


def test_the_snippet_is_the_window_with_the_most_query_terms():
    text = "balayeuses " + "remplissage " * 200 + "achat de deux balayeuses pour la commune"
    shown = str(snippet(text, {term_for("achat"), term_for("balayeuses")}, words=10))
    assert "<mark>achat</mark> de deux <mark>balayeuses</mark>" in shown


def test_indexing_and_query_analysis_give_the_same_terms_and_positions():
    from kb.search.analysis import FrenchPositions, french_analyzer

    text = "L’habitat de Marcq-en-Barœul : 15 000 habitants, les mutualisations d'achat en 2022."
    by_query = {}
    for token in french_analyzer()(text, positions=True):
        by_query.setdefault(token.text, []).append(token.pos)
    fmt = FrenchPositions()
    by_index = {term: fmt.decode_positions(value) for term, _, _, value in fmt.word_values(text, None)}
    assert by_index == by_query


def test_snippets_show_words_not_markdown(search):
    snippets = " ".join(str(hit.snippet) for hit in search.search("Villeneuve", per_page=50).hits)
    assert "**" not in snippets and "](" not in snippets


def test_a_hyphenated_name_typed_as_written_is_a_name_not_an_exclusion(search):
    assert set(every_id(search, "Marcq-en-Barœul")) == set(every_id(search, "marcq baroeul")) != set()
    assert "marcq-la-madeleine-balayeuses" not in every_id(search, "Marcq-en-Barœul -balayeuses")


def test_several_exclusions_exclude_any_of_them(search):
    everything = set(every_id(search, ""))
    either = set(every_id(search, "balayeuses OR catiches"))
    assert set(every_id(search, "-balayeuses -catiches")) == everything - either


@pytest.mark.parametrize("dangling", ["balayeuses OR", "OR balayeuses", "balayeuses AND", "ET balayeuses SAUF"])
def test_an_operator_with_nothing_on_one_side_is_dropped(search, dangling):
    assert every_id(search, dangling) == every_id(search, "balayeuses")


def test_repeated_operators_do_not_break_the_query(search):
    assert search.search("lille SAUF SAUF lomme").total == search.search("lille SAUF lomme").total


def test_ordinals_and_numbers_are_folded_like_words(search):
    assert search.search("1ER").total == search.search("1er").total > 0


def test_a_colon_in_ordinary_text_is_kept(search):
    assert not search.search("14:30").notices


def test_a_phrase_does_not_match_across_two_parts_of_a_document(search):
    # The Aubry promise has territory "Lille" and theme "Gouvernance": two parts, not a phrase.
    assert "aubry-mutualisation-lille-lomme-hellemmes" in every_id(search, "lille gouvernance")
    assert "aubry-mutualisation-lille-lomme-hellemmes" not in every_id(search, '"lille gouvernance"')


@pytest.mark.parametrize("word", ["ceci", "zorg", "abcd"])
def test_no_suggestion_is_better_than_a_nonsense_one(search, word):
    assert search.search(word).suggestion is None


def test_a_page_past_the_end_shows_the_last_page(search):
    last = search.search("mutualisation", page=999)
    assert last.hits and last.page == last.pages


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

query_pieces = st.sampled_from(
    ["lille", "lomme", "mutualisation", "OR", "OU", "AND", "ET", "SAUF", "NOT", "-", '"', "(", ")", "*", ":", "-lille", "15 000", "é", "\x00"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(query_pieces, max_size=12).map(" ".join))
def test_any_combination_of_operators_and_words_is_answered(search, text):
    assert search.search(text).total >= 0


def test_a_title_s_words_as_typed_are_folded_but_neither_stemmed_nor_dropped():
    from kb.search.analysis import TypedWordsTokenizer

    typed = [token.text for token in TypedWordsTokenizer()("Étendre la Vidéoprotection : 15 000 caméras, la vidéoprotection")]
    assert typed == ["15000", "cameras", "etendre", "la", "videoprotection"]


def test_a_word_given_whole_to_the_typed_title_field_is_folded_as_its_titles_are():
    from kb.search.analysis import TypedWordsTokenizer

    assert [token.text for token in TypedWordsTokenizer()("Vidéoprotection", tokenize=False)] == ["videoprotection"]


def test_a_number_typed_without_its_separator_finds_the_title_written_with_it(search):
    hits = search.search("15000", per_page=100).hits
    titled = [hit for hit in hits if "15 000" in hit.title]
    assert titled and hits[: len(titled)] == titled
