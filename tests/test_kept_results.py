"""Search results kept across index generations: carried over only while no changed document holds their words."""

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
