"""Contradicting figures: the figures sources state, and pairs that look like one quantity with two
values — leads for a fact-check, each figure quoted verbatim with its sentence."""

import json

import pytest

from kb.content.quotes import FoldedText
from kb.content.tree import read_tree
from kb.ops.cli import main
from kb.search.figures import contradictions, figures_of

from .conftest import DEMO_CONTENT

# The contradictions the demo's four fact-checks are about: (value a, value b) in either order.
FACT_CHECKED = [{"85", "90"}, {"1.9 million", "1,2 million"}, {"25", "18"}, {"95%", "53%"}]


@pytest.fixture(scope="module")
def demo_leads():
    return contradictions(list(read_tree(DEMO_CONTENT).sources.values()), 10)


def test_the_four_fact_checked_contradictions_come_out_among_the_first_candidates(demo_leads):
    pairs = [{lead.a.written, lead.b.written} for lead in demo_leads[:6]]
    for expected in FACT_CHECKED:
        assert expected in pairs, expected


def test_each_figure_is_quoted_verbatim_from_its_source(demo_leads):
    sources = read_tree(DEMO_CONTENT).sources
    for lead in demo_leads:
        for figure in (lead.a, lead.b):
            assert FoldedText.of(sources[figure.source].text).contains(figure.quote)
            assert FoldedText.of(figure.quote).contains(figure.written)


def test_what_is_counted_is_named():
    found = {(f.written, f.head) for f in figures_of("x", "La Métropole agit pour 1,2 million\nd'habitants. En 2019, 95 % des communes participent. Au service des 90 communes qui la composent.")}
    assert {("1,2 million", "habitants"), ("95 %", "communes"), ("90", "communes")} <= found


@pytest.mark.parametrize(
    "text",
    [
        "Le conseil du 13 décembre 2019 a délibéré.",  # a date
        "Vu l'article L.2121-25 du code.",  # a reference
        "Contact : 03 20 21 65 88.",  # a telephone number
        "Délibération n° 22 du conseil.",  # a number
        "Le mandat dure 6 ans.",  # a duration
    ],
)
def test_dates_references_telephones_and_durations_are_no_figures(text):
    assert figures_of("x", text) == []


def test_the_whole_and_a_part_of_it_are_no_contradiction():
    class Source:
        def __init__(self, id, text):
            self.id, self.text, self.date = id, text, None

    found = contradictions([Source("a", "La Métropole et ses 90 communes."), Source("b", "Le groupement (39 communes adhérentes) avance.")], 10)
    assert found == []


def test_kb_contradictions_prints_the_contract(runner, demo_copy):
    result = runner.invoke(main, ["contradictions", "--json", "--limit", "5", "--content", str(demo_copy)])
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert 0 < len(found) <= 5
    for lead in found:
        assert set(lead) == {"subject", "score", "a", "b"}
        assert set(lead["a"]) == set(lead["b"]) == {"source", "quote", "value"}
    assert [lead["score"] for lead in found] == sorted((lead["score"] for lead in found), reverse=True)


def test_the_newsroom_shows_the_leads_side_by_side(demo_newsroom):
    html = demo_newsroom.client("journalist").get("/redaction/pistes").get_data(as_text=True)
    assert "Pistes de vérification" in html and '<div class="lead-pair">' in html
    assert "<strong>85</strong> communes" in html and "<strong>90</strong> communes" in html
