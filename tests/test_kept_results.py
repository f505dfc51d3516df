"""Search results kept across index generations: carried over only while no changed document holds their words."""

import random
import re

import pytest

from kb.search.query import Search, open_search

AUBRY = "aubry-mutualisation-lille-lomme-hellemmes"
SWEEPERS = "marcq-la-madeleine-balayeuses"


@pytest.fixture
def search(demo_copy, tmp_path):
    return open_search(tmp_path / "index", demo_copy, sync_seconds=None)


def _edit(search, promise_id, addition):
    path = search.index.content_root / "promises" / f"{promise_id}.md"
    path.write_text(path.read_text(encoding="utf-8") + f"\n{addition}\n", encoding="utf-8")
    search.index.reindex([f"promise:{promise_id}"])


def _fresh(search, text):
    return Search(search.index, sync_seconds=None, results_kept=0).search(text)


def test_a_result_whose_words_the_change_does_not_hold_is_carried_over(search):
    before = search.search("balayeuses")
    _edit(search, AUBRY, "Note ajoutée sans rapport.")
    after = search.search("balayeuses")
    assert after is before
    fresh = _fresh(search, "balayeuses")
    assert (after.total, after.facets, {hit.id for hit in after.hits}) == (fresh.total, fresh.facets, {hit.id for hit in fresh.hits})


def test_a_result_whose_word_a_published_document_now_holds_is_searched_again(search):
    before = search.search("balayeuses")
    _edit(search, AUBRY, "Avec des balayeuses partagées.")
    after = search.search("balayeuses")
    assert after.total == before.total + 1 and AUBRY in [hit.id for hit in after.hits]


def test_a_result_whose_word_a_deleted_document_held_is_searched_again(search):
    before = search.search("balayeuses")
    (search.index.content_root / "promises" / f"{SWEEPERS}.md").unlink()
    search.index.reindex([f"promise:{SWEEPERS}"])
    after = search.search("balayeuses")
    assert SWEEPERS in [hit.id for hit in before.hits] and SWEEPERS not in [hit.id for hit in after.hits]


def test_several_words_are_carried_over_only_when_none_of_them_changed(search):
    both = search.search("mutualisation lille")
    _edit(search, SWEEPERS, "Une note sur Lille.")
    assert search.search("mutualisation lille") is not both


@pytest.mark.parametrize("text", ['"plan de sauvegarde"', "", "marcq -balayeuses", "balay*"])
def test_phrases_browsing_exclusions_and_prefixes_are_searched_again_after_any_change(search, text):
    before = search.search(text)
    _edit(search, AUBRY, "Note ajoutée sans rapport.")
    assert search.search(text) is not before


def test_a_search_another_worker_did_in_this_generation_is_taken_from_it(demo_copy, tmp_path):
    first = open_search(tmp_path / "index", demo_copy, sync_seconds=None)
    second = open_search(tmp_path / "index", demo_copy, sync_seconds=None)
    found = first.search("balayeuses")
    [copy] = (tmp_path / "index.results").glob("*.json")
    copy.write_text(copy.read_text(encoding="utf-8").replace(found.hits[0].title, "Titre venu de l'autre processus"), encoding="utf-8")
    taken = second.search("balayeuses")
    assert taken.hits[0].title == "Titre venu de l'autre processus"
    assert (taken.total, taken.facets, taken.hits[1:]) == (found.total, found.facets, found.hits[1:])


def test_a_search_of_another_generation_is_not_taken(demo_copy, tmp_path):
    first = open_search(tmp_path / "index", demo_copy, sync_seconds=None)
    found = first.search("balayeuses")
    [copy] = (tmp_path / "index.results").glob("*.json")
    copy.write_text(copy.read_text(encoding="utf-8").replace(found.hits[0].title, "Titre d'une autre génération"), encoding="utf-8")
    path = demo_copy / "promises" / f"{AUBRY}.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nAvec des balayeuses partagées.\n", encoding="utf-8")
    first.index.reindex([f"promise:{AUBRY}"])
    second = open_search(tmp_path / "index", demo_copy, sync_seconds=None)
    assert AUBRY in [hit.id for hit in second.search("balayeuses").hits]


def test_a_search_done_in_an_index_since_built_anew_is_not_taken(demo_copy, tmp_path):
    import shutil

    first = open_search(tmp_path / "index", demo_copy, sync_seconds=None)
    found = first.search("balayeuses")
    [copy] = (tmp_path / "index.results").glob("*.json")
    copy.write_text(copy.read_text(encoding="utf-8").replace(found.hits[0].title, "Titre d'un index disparu"), encoding="utf-8")
    first.close()
    # Deleted and built again: its generations start again from the beginning.
    shutil.rmtree(tmp_path / "index")
    second = open_search(tmp_path / "index", demo_copy, sync_seconds=None)
    assert second.search("balayeuses").hits[0].title == found.hits[0].title


def test_results_are_kept_again_in_an_index_built_anew_under_a_running_process(demo_copy, tmp_path):
    import shutil

    search = open_search(tmp_path / "index", demo_copy, sync_seconds=None)
    for number in range(3):  # a few generations
        _edit(search, AUBRY, f"Note {number}.")
    search.search("balayeuses")
    shutil.rmtree(tmp_path / "index")
    search.index.rebuild()  # numbered from the start again
    first = search.search("balayeuses")
    assert search.search("balayeuses") is first


# A word many promises hold: its first page is full, and most changes are off it.
COMMON = "communes"


def _searches(search, monkeypatch) -> list[str]:
    """The searches actually run from now on (not kept, mended or taken)."""
    run: list[str] = []
    original = Search._search

    def counting(self, state, text, *args):
        run.append(text)
        return original(self, state, text, *args)

    monkeypatch.setattr(Search, "_search", counting)
    return run


def _same(kept, fresh) -> None:
    assert (kept.total, kept.facets) == (fresh.total, fresh.facets)
    assert [hit.id for hit in kept.hits] == [hit.id for hit in fresh.hits]


def _alike(kept, search, text, filters) -> None:
    """`kept` is what a fresh search gives: the same total and counts, and the same page but for
    neighbours that the collection's statistics, moved by the changes since, passed each other by
    (scores a hundred-thousandth apart in this corpus: kept results keep their order)."""
    fresh = Search(search.index, sync_seconds=None, results_kept=0).search(text, filters, per_page=100)
    assert (kept.total, kept.facets) == (fresh.total, fresh.facets)
    ranking = [hit.id for hit in fresh.hits]
    for position, hit in enumerate(kept.hits):
        assert abs(ranking.index(hit.id) - position) <= NEIGHBOURS, (text, filters, hit.id)


NEIGHBOURS = 2


def _off_the_page(search, text) -> str:
    """A promise holding `text` that its first page does not show: the shortest file, which a title
    holding the word more often lifts onto the page."""
    shown = {hit.id for hit in search.search(text).hits}
    holding = [hit.id for hit in _fresh_all(search, text) if hit.kind == "promise" and hit.id not in shown]
    assert holding, f"every promise holding {text!r} is on its first page"
    return min(holding, key=lambda promise_id: (len((search.index.content_root / "promises" / f"{promise_id}.md").read_bytes()), promise_id))


def _fresh_all(search, text):
    return Search(search.index, sync_seconds=None, results_kept=0).search(text, per_page=100).hits


def test_a_change_off_the_first_page_is_mended_into_it_without_searching_again(search, monkeypatch):
    before = search.search(COMMON)
    assert len(before.hits) == before.per_page < before.total
    promise_id = _off_the_page(search, COMMON)
    _edit(search, promise_id, "Une note de plus.")
    run = _searches(search, monkeypatch)
    after = search.search(COMMON)
    assert run == [] and after is not before
    _same(after, _fresh(search, COMMON))


def test_a_deleted_promise_off_the_page_leaves_the_total_and_counts_mended(search, monkeypatch):
    before = search.search(COMMON)
    promise_id = _off_the_page(search, COMMON)
    (search.index.content_root / "promises" / f"{promise_id}.md").unlink()
    search.index.reindex([f"promise:{promise_id}"])
    run = _searches(search, monkeypatch)
    after = search.search(COMMON)
    assert run == [] and after.total == before.total - 1
    _same(after, _fresh(search, COMMON))


def test_a_change_to_a_promise_on_the_page_is_searched_again(search, monkeypatch):
    shown = search.search(COMMON).hits[3]
    _edit(search, shown.id, "Une note de plus.")
    run = _searches(search, monkeypatch)
    search.search(COMMON)
    assert run == [COMMON]


def test_a_promise_that_now_ranks_into_the_page_is_searched_again(search, monkeypatch):
    search.search(COMMON)
    promise_id = _off_the_page(search, COMMON)
    path = search.index.content_root / "promises" / f"{promise_id}.md"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("title: ", "title: Communes et communes, communes — ", 1), encoding="utf-8")
    search.index.reindex([f"promise:{promise_id}"])
    run = _searches(search, monkeypatch)
    after = search.search(COMMON)
    assert run == [COMMON] and promise_id in [hit.id for hit in after.hits]


def test_filtered_results_are_mended_with_the_counts_a_search_gives(search, monkeypatch):
    filters = {"kind": "promise"}
    search.search(COMMON, filters)
    promise_id = _off_the_page(search, COMMON)
    (search.index.content_root / "promises" / f"{promise_id}.md").unlink()
    search.index.reindex([f"promise:{promise_id}"])
    after = search.search(COMMON, filters)
    fresh = Search(search.index, sync_seconds=None, results_kept=0).search(COMMON, filters)
    _same(after, fresh)


def test_kept_results_stay_those_a_fresh_search_gives_over_random_changes(search):
    """Publications, deletions and restorations in a row: every few commits merge small segments,
    which move documents without changing them; whatever is kept, mended or searched again, each
    word's first page, total and counts are a fresh search's."""
    rng = random.Random(7)
    root = search.index.content_root / "promises"
    originals = {path.stem: path.read_text(encoding="utf-8") for path in root.glob("*.md")}
    words = [COMMON, "lille", "énergie", "métropole", "mutualisation", "contrat"]
    filters = [{}, {"kind": "promise"}, {"status": "done"}]
    for step in range(40):
        for word in words:
            for chosen in filters:
                search.search(word, chosen)
        promise_id = rng.choice(sorted(originals))
        path = root / f"{promise_id}.md"
        action = rng.random()
        if action < 0.15 and path.exists():
            path.unlink()
        elif not path.exists() or action < 0.3:
            path.write_text(originals[promise_id], encoding="utf-8")
        else:
            status = rng.choice(["done", "in_progress", "planned"])
            text = re.sub(r"(?m)^status: .*$", f"status: {status}", path.read_text(encoding="utf-8"), count=1)
            path.write_text(text + f"\nÉtape {step} : {rng.choice(words)}.\n", encoding="utf-8")
        search.index.reindex([f"promise:{promise_id}"])
        for word in words:
            for chosen in filters:
                _alike(search.search(word, chosen), search, word, chosen)


def test_a_generation_of_many_changed_files_has_what_they_touch_searched_again(search, monkeypatch):
    from kb.search.kept_results import MENDED_UP_TO

    search.search(COMMON)
    shown = {hit.id for hit in search.search(COMMON).hits}
    root = search.index.content_root / "promises"
    edited = sorted(path.stem for path in root.glob("*.md") if path.stem not in shown)[: MENDED_UP_TO + 1]
    for promise_id in edited:
        path = root / f"{promise_id}.md"
        path.write_text(path.read_text(encoding="utf-8") + "\nLes communes, encore.\n", encoding="utf-8")
    search.index.reindex([f"promise:{promise_id}" for promise_id in edited])
    run = _searches(search, monkeypatch)
    after = search.search(COMMON)
    assert run == [COMMON]
    _same(after, _fresh(search, COMMON))


def _another_worker(search):
    return open_search(search.index.index_dir, search.index.content_root, sync_seconds=None)


def test_results_mended_by_one_worker_are_taken_by_another_without_searching(search, monkeypatch):
    search.search(COMMON)
    _edit(search, _off_the_page(search, COMMON), "Une note de plus.")
    mended = search.search(COMMON)
    run = _searches(search, monkeypatch)
    taken = _another_worker(search).search(COMMON)
    assert run == []
    _same(taken, mended)


def test_results_one_worker_mended_are_taken_by_another_that_kept_them_too_without_mending_them_again(search, monkeypatch):
    other = _another_worker(search)
    search.search(COMMON)
    other.search(COMMON)
    _edit(search, _off_the_page(search, COMMON), "Une note de plus.")
    mended = search.search(COMMON)
    mendings, run = [], _searches(search, monkeypatch)
    original = Search._mended
    monkeypatch.setattr(Search, "_mended", lambda self, *args: mendings.append(args) or original(self, *args))
    taken = other.search(COMMON)
    assert mendings == [] and run == []
    _same(taken, mended)


def test_a_result_the_change_touched_is_mended_when_read_not_when_the_change_is_first_seen(search, monkeypatch):
    search.search(COMMON)
    search.search("balayeuses")
    _edit(search, _off_the_page(search, COMMON), "Une note de plus.")
    mendings = []
    original = Search._mended
    monkeypatch.setattr(Search, "_mended", lambda self, *args: mendings.append(args) or original(self, *args))
    search.search("balayeuses")  # the first search of the new generation: the other result waits
    assert mendings == []
    _same(search.search(COMMON), _fresh(search, COMMON))
    assert len(mendings) == 1


def test_results_carried_over_by_one_worker_are_taken_by_another_without_searching(search, monkeypatch):
    search.search("balayeuses")
    _edit(search, AUBRY, "Note ajoutée sans rapport.")
    carried = search.search("balayeuses")
    run = _searches(search, monkeypatch)
    taken = _another_worker(search).search("balayeuses")
    assert run == []
    _same(taken, carried)


def test_results_another_worker_left_already_are_not_written_again(search):
    other = _another_worker(search)
    search.search("balayeuses")
    other.search("balayeuses")
    _edit(search, AUBRY, "Note ajoutée sans rapport.")
    search.search("balayeuses")  # carried over, and left for the other workers
    folder = search.index.index_dir.parent / f"{search.index.index_dir.name}.results"
    left = {path.name: path.stat().st_ino for path in folder.glob("*.json")}
    other.search("balayeuses")  # carried over there too: the copy is left already (a new file would be a new inode)
    assert {path.name: path.stat().st_ino for path in folder.glob("*.json")} == left


@pytest.mark.parametrize("text", ["balayeuses", "mutualisaton", "titre:lille"])
def test_results_left_for_other_workers_read_back_as_they_were(search, text):
    import json

    from kb.search.query import _results_from

    results = search.search(text)
    assert _results_from(json.loads(json.dumps(results.record()))) == results
