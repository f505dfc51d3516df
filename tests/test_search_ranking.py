"""Search ranks what a newcomer expects first: items whose title holds the words, then the exact phrase, then mentions.

Queries a reader of the demo would type; each test fails as soon as a mere mention outranks a title match.
"""

import pytest

from kb.search.analysis import french_analyzer
from kb.search.query import open_search

from .conftest import DEMO_CONTENT

QUERIES = [
    "mutualisation", "permis de louer", "balayeuses", "vidéoprotection", "centrale d'achats", "Lomme",
    "économie sociale et solidaire", "services communs", "police municipale", "risques majeurs", "déchets",
    "piscine", "Hellemmes", "tarification solidaire",
]  # fmt: skip


@pytest.fixture(scope="module")
def search(tmp_path_factory):
    return open_search(tmp_path_factory.mktemp("index") / "index", DEMO_CONTENT, sync_seconds=3600)


def words(text: str) -> set[str]:
    """A text's words as the index reads them (French analysis: stems, no stop words, no accents)."""
    return {token.text for token in french_analyzer()(text)}


def every_hit(search, text):
    return search.search(text, per_page=500).hits


@pytest.mark.parametrize("text", QUERIES)
def test_titles_holding_every_word_come_before_mere_mentions(search, text):
    hits = every_hit(search, text)
    titled = [words(text) <= words(hit.title) for hit in hits]
    assert titled == sorted(titled, reverse=True), [(hit.title, flag) for hit, flag in zip(hits, titled)]


def test_titles_with_the_word_as_typed_come_before_its_other_forms(search):
    """"mutualisation" puts "…la mutualisation…" titles before "Mutualiser…" ones, then mere mentions."""
    hits = every_hit(search, "mutualisation")
    typed = ["mutualisation" in hit.title.lower() for hit in hits]
    first_other = typed.index(False)
    assert first_other > 0 and not any(typed[first_other:])
    ranked = [hit.id for hit in hits]
    assert ranked.index("aubry-mutualisation-lille-lomme-hellemmes") < first_other


@pytest.mark.parametrize(
    "text",
    ["mutualisation SAUF piscine", "mutualisation ANDNOT piscine", "mutualisation NOT piscine", "mutualisation -piscine",
     "mutualisation (-piscine)", "mutualisation SAUF (piscine OU balayeuses)", 'mutualisation -"piscine olympique"'],
)  # fmt: skip
def test_an_excluded_word_is_not_asked_of_titles_as_typed(search, text):
    """What a query excludes is no word of its titles: "mutualisation SAUF piscine" ranks as "mutualisation" does."""
    hits = every_hit(search, text)
    typed = ["mutualisation" in hit.title.lower() for hit in hits]
    first_other = typed.index(False)
    assert first_other > 0 and not any(typed[first_other:]), [hit.title for hit in hits]


def test_a_phrase_typed_without_quotes_ranks_its_exact_occurrences_before_scattered_words(search):
    hits = every_hit(search, "plan de sauvegarde")
    exact = {hit.id for hit in every_hit(search, '"plan de sauvegarde"')}
    untitled = [hit for hit in hits if not words("plan sauvegarde") <= words(hit.title)]
    flags = [hit.id in exact for hit in untitled]
    assert any(flags) and not all(flags)
    assert flags == sorted(flags, reverse=True)


def test_a_one_word_search_and_its_pages_keep_the_same_order(search):
    first, second = search.search("mutualisation", per_page=5), search.search("mutualisation", page=2, per_page=5)
    everything = [hit.id for hit in every_hit(search, "mutualisation")]
    assert [hit.id for hit in first.hits + second.hits] == everything[:10]


@pytest.mark.parametrize("typed", ["MUTUALISATION", "Mutualisation", "mutualisation"])
def test_a_word_typed_in_capitals_or_without_accents_ranks_as_typed_plainly(search, typed):
    assert [hit.id for hit in every_hit(search, typed)] == [hit.id for hit in every_hit(search, "mutualisation")]

