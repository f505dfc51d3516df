"""A quote not found: kb offers the source's nearest passage — its own words, never the typed ones."""

import pytest

from kb.content.nearest import nearest_passage
from kb.content.quotes import FoldedText

TEXT = (
    "Après en avoir délibéré, le conseil municipal adopte à l'unanimité des présents et des représentés "
    "cette proposition.\n\nLa mutualisation consiste en une mise en commun de moyens entre communes et EPCI : "
    "principalement des moyens humains, mais aussi des équipements.\n\nLa ville adhère à la centrale d'achats."
)


@pytest.mark.parametrize(
    "typed, offered",
    [
        # OCR slips: l for i, rn for m
        ("la mutualisatlon consiste en une mlse en commun de moyens", "La mutualisation consiste en une mise en commun de moyens"),
        # a word dropped, a typographic apostrophe, accents missing
        ("le conseil municipal adopte a l’unanimite des presents et representes", "le conseil municipal adopte à l'unanimité des présents et des représentés"),
        # punctuation changed
        ("des moyens humains; mais aussi des équipements", "des moyens humains, mais aussi des équipements"),
    ],
)
def test_a_mistyped_quote_gets_the_passage_it_meant(typed, offered):
    assert not FoldedText.of(TEXT).contains(typed)
    assert nearest_passage(TEXT, typed) == offered
    assert FoldedText.of(TEXT).contains(offered)  # verbatim: it verifies as it is


@pytest.mark.parametrize(
    "typed",
    [
        "la ville adhère à la centrale nucléaire",
        "les poules ont des dents en or massif",
        "",
        # a long quote of the source's words in another order says something else
        " ".join(reversed(TEXT.split()[:40])),
    ],
)
def test_a_quote_saying_something_else_gets_no_passage(typed):
    assert nearest_passage(TEXT, typed) is None


def test_kb_check_offers_the_nearest_passage_as_a_repair(content_dir):
    from kb.content.check import check_tree
    from kb.content.tree import read_tree

    path = content_dir / "promises" / "balayeuses-communes.md"
    path.write_text(path.read_text(encoding="utf-8").replace('"achat de deux balayeuses"', '"achat de deux balayeuces"'), encoding="utf-8")
    messages = [problem.message for problem in check_tree(read_tree(content_dir)).problems]
    assert any("citation introuvable" in message and "passage le plus proche : « achat de deux balayeuses »" in message for message in messages)


def test_the_form_offers_the_nearest_passage_as_one_types(newsroom):
    client = newsroom.client("journalist")
    answer = client.get("/redaction/citation", query_string={"source": "deliberation-test", "quote": "achat de deux balayeuces"}).get_json()
    assert answer["verified"] is False and answer["nearest"] == "achat de deux balayeuses"
    assert "vouliez-vous citer : « achat de deux balayeuses » ?" in answer["message"]
