"""Suggested passages: for each open promise and each claim, the passages of a source most likely to
be evidence — verbatim, ranked, never published, set aside for everyone with one click."""

import json

from kb.bench.suggestions import measure
from kb.content.quotes import FoldedText
from kb.content.tree import read_tree
from kb.ops.cli import main
from kb.search.suggestions import promise_target, suggest

from .conftest import DEMO_CONTENT, Newsroom

COMMUNIQUE = "mel-communique-bilan-mutualisation-2019"
CAM = "mel-centrale-achats-metropolitaine"


def suggest_json(runner, content, *args):
    result = runner.invoke(main, ["suggest", *args, "--json", "--content", str(content)])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_kb_suggest_prints_verbatim_passages_best_first_as_the_contract_says(runner, demo_copy):
    found = suggest_json(runner, demo_copy, COMMUNIQUE, "--limit", "8")
    assert 0 < len(found) <= 8
    source = read_tree(demo_copy).sources[COMMUNIQUE]
    for suggestion in found:
        assert set(suggestion) == {"target", "quote", "score", "page"}
        assert suggestion["target"].split(":")[0] in ("promise", "claim")
        assert FoldedText.of(source.text).contains(suggestion["quote"])  # verbatim: kb check accepts it as it is
        assert suggestion["page"] is None  # a document of one page
    assert [s["score"] for s in found] == sorted((s["score"] for s in found), reverse=True)


def test_kb_suggest_for_one_promise_gives_only_its_passages(runner, demo_copy):
    found = suggest_json(runner, demo_copy, "villeneuve-dascq-deliberation-mutualisation-2022", "--promise", CAM, "--limit", "2")
    assert len(found) == 2 and {s["target"] for s in found} == {f"promise:{CAM}"}


def test_a_removed_quote_comes_back_among_the_first_three(demo_copy):
    tree = read_tree(demo_copy)
    promise = tree.promises[CAM]
    source = "villeneuve-dascq-deliberation-mutualisation-2022"
    removed = [proof.quote for entry in promise.history for proof in entry.evidence if proof.source == source]
    assert removed
    for entry in promise.history:
        entry.evidence[:] = [proof for proof in entry.evidence if proof.source != source]
    found = suggest(source, tree.sources[source].text, [promise_target(promise)], 3)
    assert any(FoldedText.of(suggestion.quote).contains(quote) or FoldedText.of(quote).contains(suggestion.quote)
               for suggestion in found for quote in removed)  # fmt: skip


def test_a_passage_already_quoted_by_the_promise_is_not_suggested_again(demo_copy):
    tree = read_tree(demo_copy)
    promise = tree.promises[CAM]
    for suggestion in suggest(COMMUNIQUE, tree.sources[COMMUNIQUE].text, [promise_target(promise)], 5):
        for entry in promise.history:
            assert all(not FoldedText.of(suggestion.quote).contains(proof.quote) for proof in entry.evidence if proof.source == COMMUNIQUE)


def test_passages_of_a_paged_source_give_their_page(demo_copy):
    tree = read_tree(demo_copy)
    text = "Préambule du conseil municipal de la ville.\n\f\nLa ville adhère à la centrale d'achat métropolitaine (CAM) pour ses achats.\n"
    found = suggest("deliberation", text, [promise_target(tree.promises[CAM])], 3)
    assert found and found[0].page == 2 and "centrale d'achat métropolitaine" in found[0].quote


def test_a_source_of_stop_words_only_suggests_nothing_and_fails_nothing(demo_copy):
    tree = read_tree(demo_copy)
    assert suggest("vide", "Le, la, les, des.\n\nEt de la.\n", [promise_target(tree.promises[CAM])], 3) == []


def test_a_run_on_sentence_of_a_whole_document_is_cut_at_its_commas_without_recursion():
    from kb.content.passages import passages

    text = "Liste des communes : " + ", ".join(f"commune numéro {n} du territoire" for n in range(30_000)) + "."
    found = passages(text)
    assert len(found) > 1000 and all(len(passage.text) <= 600 for passage in found)
    assert all(text[passage.start : passage.end] == passage.text for passage in found)


def test_an_unknown_source_or_promise_is_a_clear_error(runner, demo_copy):
    result = runner.invoke(main, ["suggest", "inconnue", "--json", "--content", str(demo_copy)])
    assert result.exit_code == 1 and "source inconnue « inconnue »" in result.output
    result = runner.invoke(main, ["suggest", COMMUNIQUE, "--promise", "nulle", "--json", "--content", str(demo_copy)])
    assert result.exit_code == 1 and "promesse inconnue « nulle »" in result.output


def test_on_the_demo_most_removed_passages_come_back_in_the_top_three():
    """The quality bar of the ranking (kb bench-suggest prints the same figures): a change that makes it
    worse fails here. 0.69 when written; the bar leaves room for ties broken differently."""
    figures = measure(DEMO_CONTENT)
    assert figures["quotes"] > 100
    assert figures["recall_at_3"] >= 0.6 and figures["pairs_hit_at_3"] >= 0.9


# -- the newsroom ---------------------------------------------------------------------------------


def test_the_newsroom_groups_a_sources_passages_by_promise_each_with_a_prefilled_form(demo_newsroom):
    client = demo_newsroom.client("journalist")
    html = client.get(f"/redaction/sources/{COMMUNIQUE}/passages").get_data(as_text=True)
    assert "Passages à examiner" in html and 'class="suggestions" id="promise-' in html
    start = html.index("/statut?source=")
    link = html[html.rindex('"', 0, start) + 1 :].split('"')[0].replace("&amp;", "&")
    form = client.get(link).get_data(as_text=True)
    assert f'<option value="{COMMUNIQUE}" selected' in form
    assert "2019-12-13" in form  # the document's date, the entry's by default


def test_a_form_opened_with_a_quote_not_in_its_source_opens_empty(demo_newsroom):
    client = demo_newsroom.client("journalist")
    form = client.get(f"/redaction/promesses/{CAM}/statut", query_string={"source": COMMUNIQUE, "quote": "une phrase inventée"}).get_data(as_text=True)
    assert "une phrase inventée" not in form


def test_a_dismissed_passage_is_hidden_for_everyone_and_from_the_command_line(demo_newsroom, runner, demo_copy):
    journalist, editor = demo_newsroom.client("journalist"), demo_newsroom.client("editor")
    before = suggest_json(runner, demo_copy, COMMUNIQUE, "--limit", "1")[0]
    response = Newsroom.post(journalist, f"/redaction/sources/{COMMUNIQUE}/passages/ecarter", target=before["target"], quote=before["quote"])
    assert response.status_code == 302
    from html import unescape

    page = unescape(editor.get(f"/redaction/sources/{COMMUNIQUE}/passages").get_data(as_text=True))
    anchor = f'id="{before["target"].replace(":", "-")}"'
    if anchor in page:  # the target may keep other passages: the one set aside is not among them
        assert before["quote"] not in page[page.index(anchor) :].split("</section>")[0]
    assert all((s["target"], s["quote"]) != (before["target"], before["quote"]) for s in suggest_json(runner, demo_copy, COMMUNIQUE, "--limit", "50"))
    log = demo_newsroom.client("admin").get("/redaction/journal", query_string={"action": "suggestion."}).get_data(as_text=True)
    assert "suggestion.dismiss" in log


def test_dismissing_a_passage_that_is_not_in_the_source_is_refused(demo_newsroom):
    client = demo_newsroom.client("journalist")
    response = Newsroom.post(client, f"/redaction/sources/{COMMUNIQUE}/passages/ecarter", target=f"promise:{CAM}", quote="inventé de toutes pièces")
    assert response.status_code == 400


def test_a_citizen_cannot_see_the_passages_to_examine(demo_newsroom):
    response = demo_newsroom.app.test_client().get(f"/redaction/sources/{COMMUNIQUE}/passages")
    assert response.status_code in (302, 401)
