import pytest

from kb.content.quotes import FoldedText, fold


def found(quote: str, text: str) -> bool:
    return FoldedText.of(text).contains(quote)


@pytest.mark.parametrize(
    ("quote", "text"),
    [
        ("Marcq-en-Baroeul", "Entre Marcq-en-Barœul et La Madeleine"),
        ("MARCQ-EN-BARŒUL", "entre marcq-en-baroeul et"),
        ("ex aequo", "classés ex æquo"),
        ("l'association entre Lille", "au sein de l’association entre Lille"),
        ("« qui parle aux habitants »", 'de manière concrète, "qui parle aux habitants".'),
        ('"qui parle aux habitants"', "de manière concrète, « qui parle aux habitants »."),
        ("2022-2026", "schéma 2022–2026 actualisé"),
        ("2022—2026", "schéma 2022-2026 actualisé"),
        ("Intérêt général", "services d'interet general"),
        ("services d'intérêt général", "services\nd’intérêt\n   général"),
        ("objectif :", "objectif\u00a0: réduire"),
        ("la mutualisation est en marche", "la mutualisation\nest en marche"),
    ],
)
def test_quote_matches_despite_typography(quote, text):
    assert found(quote, text)


@pytest.mark.parametrize(
    ("quote", "text"),
    [
        ("quatre priorités", "trois priorités"),
        ("balayeuse", "achat de deux aspirateurs"),
        ("25 actions", "18 dispositifs"),
        ("", "n'importe quel texte"),
    ],
)
def test_quote_with_other_words_does_not_match(quote, text):
    assert not found(quote, text)


def test_elided_quote_matches_parts_in_order():
    text = "La MEL a présenté le bilan : 25 actions de mutualisation ont été déployées depuis 2015."
    assert found("25 actions […] déployées depuis 2015", text)
    assert found("25 actions [...] déployées depuis 2015", text)
    assert not found("déployées depuis 2015 […] 25 actions", text)


def test_located_span_points_at_the_original_passage():
    text = "Préambule.\nL’unification de la paie entre Lille,\nLomme et Hellemmes est faite."
    [(start, end)] = FoldedText.of(text).locate("l'unification de la paie entre Lille, Lomme")
    assert text[start:end] == "L’unification de la paie entre Lille,\nLomme"


def test_fold_is_idempotent():
    sample = "Barœul « l’été » — 15 000 habitants\u00a0!"
    assert fold(fold(sample)) == fold(sample)


def test_longest_matching_prefix_says_where_a_quote_diverges():
    text = FoldedText.of("25 actions de mutualisation ont été déployées depuis 2015")
    assert text.longest_matching_prefix("25 actions de mutualisation sont prévues") == "25 actions de mutualisation"
    assert text.longest_matching_prefix("trente actions") == ""


@pytest.mark.parametrize(
    ("quote", "text"),
    [
        ("légal", "un acte illégal"),
        ("possible", "c'est impossible"),
        ("e", "mutualisation"),
        ("achevé", "un chantier inachevé"),
    ],
)
def test_a_quote_must_match_whole_words(quote, text):
    assert not found(quote, text)


def test_an_elision_cannot_span_half_a_document():
    near = "Nous ferons le tram cette année."
    far = "Nous ferons. " + "Plus tard, ailleurs. " * 40 + "Jamais nous ne ferons le tram."
    assert found("nous [...] le tram", near)
    assert not found("nous [...] le tram", far)


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kb.content.quotes import fold_with_offsets  # noqa: E402

typography = st.text(alphabet=st.sampled_from(list("aé œÆ’«»“”–—:;!?\"' \n\t\u00a0.-Ab1") + ["\u202f", "\u00ad"]), max_size=60)


@settings(max_examples=500)
@given(typography)
def test_fast_fold_equals_the_streaming_fold(text):
    assert fold(text) == fold_with_offsets(text)[0]


def test_fast_fold_equals_the_streaming_fold_for_every_character():
    # Planes 0–2 (everything a document may hold), each character alone, between spaces,
    # after a mark that drops spaces, and run together with its neighbours.
    characters = [chr(point) for point in range(0x30000) if not 0xD800 <= point < 0xE000]
    for character in characters:  # alone: no other character decides which passes run
        assert fold(character) == fold_with_offsets(character)[0], hex(ord(character))
    for start in range(0, len(characters), 2000):
        chunk = characters[start : start + 2000]
        for text in (" ".join(chunk), "".join(chunk), " : ".join(chunk), "É’ ".join(chunk)):
            assert fold(text) == fold_with_offsets(text)[0]


def test_a_quote_may_run_across_a_page_break_of_its_source():
    text = "le conseil approuve la mutualisation\n\f\ndes services communs."
    assert FoldedText.of(text).contains("approuve la mutualisation des services")
