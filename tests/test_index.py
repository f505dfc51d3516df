"""The index is derived from the files: rebuilt, caught up and repaired without anyone asking."""

import shutil

import pytest

from kb.content.kinds import PROMISE as PROMISE_KIND
from kb.content.promises import write as write_promise
from kb.search.index import SearchIndex
from kb.search.query import Search


@pytest.fixture
def index(demo_copy, tmp_path):
    return SearchIndex(tmp_path / "index", demo_copy)


def all_results(index, text):
    results = Search(index, sync_seconds=0).search(text, per_page=500)
    return [(hit.id, str(hit.snippet)) for hit in results.hits], results.facets


def test_rebuilding_from_scratch_gives_identical_results(index):
    index.rebuild()
    before = [all_results(index, text) for text in ("mutualisation", "Lille Lomme", '"permis de louer"', "")]
    shutil.rmtree(index.index_dir)
    index.rebuild()
    assert [all_results(index, text) for text in ("mutualisation", "Lille Lomme", '"permis de louer"', "")] == before


def test_a_file_edited_on_disk_is_found_after_the_staleness_check(index, demo_copy):
    index.rebuild()
    path = demo_copy / "promises" / "marcq-la-madeleine-balayeuses.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Acheter", "Acheter (zorglub)", 1), encoding="utf-8")
    search = Search(index, sync_seconds=0)
    assert search.search("zorglub").total == 1


def test_added_and_deleted_files_are_caught_up(index, demo_copy):
    index.rebuild()
    source = demo_copy / "promises" / "marcq-la-madeleine-balayeuses.md"
    shutil.copy(source, demo_copy / "promises" / "copie-balayeuses.md")
    (demo_copy / "promises" / "mel-carrieres-catiches.md").unlink()
    report = index.sync()
    assert (report.added, report.updated, report.removed) == (1, 0, 1)
    assert index.sync().changed is False


def test_a_file_broken_on_disk_leaves_the_index(index, demo_copy):
    index.rebuild()
    (demo_copy / "promises" / "mel-carrieres-catiches.md").write_text("---\ntitle: [\n---\n", encoding="utf-8")
    assert index.sync().removed == 1
    assert Search(index, sync_seconds=3600).search("catiches", {"kind": "promise"}).total == 0


def test_one_promise_can_be_reindexed_and_removed(index, demo_copy):
    index.rebuild()
    search = Search(index, sync_seconds=None)
    promise, _ = PROMISE_KIND.read(demo_copy / "promises" / "mel-carrieres-catiches.md")
    promise.title = "Sécuriser les carrières souterraines (gloubiboulga)"
    write_promise(demo_copy, promise)
    assert index.reindex(["promise:mel-carrieres-catiches"]).updated == 1
    assert search.search("gloubiboulga").total == 1
    (demo_copy / "promises" / "mel-carrieres-catiches.md").unlink()
    assert index.reindex(["promise:mel-carrieres-catiches"]).removed == 1
    assert search.search("gloubiboulga").total == 0


def test_reindexing_reads_the_file_so_the_index_stays_derived(index, demo_copy):
    index.rebuild()
    index.reindex(["promise:mel-carrieres-catiches"])  # nothing changed on disk
    assert Search(index, sync_seconds=None).search("carrières", {"kind": "promise"}).total >= 1
    assert index.sync().changed is False


def test_a_missing_index_is_built_on_first_search(index):
    assert not index.exists()
    assert Search(index, sync_seconds=0).search("mutualisation").total > 0


def test_a_corrupt_index_is_rebuilt_instead_of_crashing(index):
    index.rebuild()
    for path in index.index_dir.iterdir():
        path.write_bytes(b"\x00garbage")
    assert Search(index, sync_seconds=0).search("mutualisation").total > 0


def test_a_searcher_sees_a_rebuild_done_by_someone_else(index, demo_copy):
    index.rebuild()
    search = Search(index, sync_seconds=3600)
    assert search.search("zorglub").total == 0
    path = demo_copy / "promises" / "mel-carrieres-catiches.md"
    path.write_text(path.read_text(encoding="utf-8").replace("title: ", "title: zorglub ", 1), encoding="utf-8")
    SearchIndex(index.index_dir, demo_copy).rebuild()  # another process, say
    assert search.search("zorglub").total == 1


def _search_repeatedly(index_dir, content_dir, rounds, queue):
    from kb.search.index import SearchIndex
    from kb.search.query import Search

    search = Search(SearchIndex(index_dir, content_dir), sync_seconds=None)
    try:
        totals = [search.search("mutualisation").total for _ in range(rounds)]
        queue.put(("ok", min(totals)))
    except Exception as error:  # noqa: BLE001 — reported to the test
        queue.put(("error", repr(error)))


def test_processes_keep_searching_while_another_one_writes(index, demo_copy):
    import multiprocessing

    index.rebuild()
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    readers = [
        context.Process(target=_search_repeatedly, args=(index.index_dir, demo_copy, 150, queue)) for _ in range(2)
    ]
    for reader in readers:
        reader.start()
    promise, _ = PROMISE_KIND.read(demo_copy / "promises" / "mel-carrieres-catiches.md")
    for round_ in range(15):
        promise.title = f"Carrières {round_}"
        write_promise(demo_copy, promise)
        index.reindex(["promise:mel-carrieres-catiches"])
    index.rebuild()
    outcomes = [queue.get(timeout=120) for _ in readers]
    for reader in readers:
        reader.join()
    assert all(status == "ok" and total > 0 for status, total in outcomes), outcomes


def test_a_directory_or_broken_link_named_like_a_document_does_not_stop_search(index, demo_copy):
    index.rebuild()
    (demo_copy / "sources" / "dossier.md").mkdir()
    (demo_copy / "promises" / "lien-casse.md").symlink_to(demo_copy / "nulle-part.md")
    assert Search(index, sync_seconds=0).search("mutualisation").total > 0


def test_a_known_broken_file_is_not_reindexed_at_every_catching_up(index, demo_copy):
    index.rebuild()
    (demo_copy / "promises" / "cassee.md").write_text("---\ntitle: [\n---\n", encoding="utf-8")
    index.sync()
    generation = index.open().latest_generation()
    assert index.sync().changed is False
    assert index.open().latest_generation() == generation


def test_threads_searching_a_missing_index_build_it_once_without_errors(index):
    import threading

    errors = []

    def search_once():
        try:
            assert Search(index, sync_seconds=0).search("mutualisation").total > 0
        except Exception as error:  # noqa: BLE001 — collected for the assertion
            errors.append(repr(error))

    threads = [threading.Thread(target=search_once) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


@pytest.mark.parametrize("key", ["promise:../../etc/passwd", "autre:x", "promise:"])
def test_reindexing_refuses_a_key_that_is_not_a_document(index, key):
    with pytest.raises(ValueError, match="clé de document invalide"):
        index.reindex([key])


def _edit_and_reindex(index_dir, content_root, promise_id: str, rounds: int, start, queue) -> None:
    """In a child process: edit one promise and re-index it, `rounds` times, as a publishing worker does."""
    try:
        index = SearchIndex(index_dir, content_root)
        promise, _ = PROMISE_KIND.read(content_root / "promises" / f"{promise_id}.md")
        start.wait(30)
        for round_ in range(rounds):
            promise.title = f"Écrit par {promise_id} au tour {round_}"
            write_promise(content_root, promise)
            while index.reindex([f"promise:{promise_id}"]).skipped:  # another writer holds the lock
                pass
        queue.put(("ok", promise_id))
    except Exception as error:  # noqa: BLE001 — reported to the test
        queue.put(("error", repr(error)))


def test_workers_publishing_at_once_never_corrupt_the_index(index, demo_copy):
    import multiprocessing

    index.rebuild()
    ids = ["mel-carrieres-catiches", "aubry-mutualisation-lille-lomme-hellemmes", "lille-metropole-cadre-juridique-ess"]
    context = multiprocessing.get_context("spawn")
    start, queue = context.Event(), context.Queue()
    writers = [context.Process(target=_edit_and_reindex, args=(index.index_dir, demo_copy, id_, 12, start, queue)) for id_ in ids]
    for writer in writers:
        writer.start()
    start.set()
    outcomes = [queue.get(timeout=180) for _ in writers]
    for writer in writers:
        writer.join()
    assert all(status == "ok" for status, _ in outcomes), outcomes
    # Every writer's last version is what the index holds, and it agrees with the files in every way.
    assert index.sync().changed is False
    with index.open().searcher() as searcher:
        for id_ in ids:
            assert searcher.document(key=f"promise:{id_}")["title"] == f"Écrit par {id_} au tour 11"
    assert all_results(index, "écrit tour")[0] and len(all_results(index, "écrit tour")[0]) == 3


def test_a_commit_merges_the_segments_of_a_full_tier_and_never_the_big_one_for_a_few_files():
    from kb.search.merging import to_merge

    assert to_merge([11_000, 1, 1, 1]) == set()  # three small ones wait for a fourth
    assert to_merge([11_000, 1, 2, 1, 3]) == {1, 2, 3, 4}
    assert to_merge([11_000, 5, 9, 12, 7, 1]) == {1, 2, 3, 4}  # 4 to 15 documents: one tier
    # Seventeen small segments of every size: Whoosh's MERGE_SMALL merged all of them with the big one.
    sizes = [11_000, *[1, 1, 1, 4, 4, 4, 16, 16, 16, 64, 64, 64, 256, 256, 256, 1024, 1024]]
    assert to_merge(sizes) == set()
    assert to_merge([11_000, 4_100, 5_000, 6_000]) == {0, 1, 2, 3}  # four as big: then it is merged too
    # The segments a full build wrote (None) are never merged again: minutes of merging.
    assert to_merge([None, None, None, None, 4_100, 5_000, 6_000]) == set()
    assert to_merge([None, None, None, None, 1, 1, 1, 1]) == {4, 5, 6, 7}


def test_after_many_commits_of_one_or_a_few_files_the_index_has_few_segments_and_finds_what_a_rebuild_finds(index, demo_copy, tmp_path):
    from kb.search.merging import TIER_FACTOR

    index.rebuild()
    promises = sorted(path.stem for path in (demo_copy / "promises").glob("*.md"))
    most = 0
    for number in range(40):
        # One file (a publication) or a few (a hand edit, a git pull) at a time.
        edited = [promises[(number * 7 + offset) % len(promises)] for offset in range(1 + number % 4 * 3)]
        for promise in edited:
            path = demo_copy / "promises" / f"{promise}.md"
            path.write_text(path.read_text(encoding="utf-8").replace("title: ", f"title: ({number}) ", 1), encoding="utf-8")
        index.reindex([f"promise:{promise}" for promise in edited])
        most = max(most, len(index.open()._segments()))
    assert most <= (TIER_FACTOR - 1) * 5  # fewer than TIER_FACTOR in each tier up to the index's size
    fresh = SearchIndex(tmp_path / "fresh", demo_copy)
    fresh.rebuild()
    for text in ("mutualisation", "(39)", "Lille Lomme", ""):
        # The same documents and counts (their order may differ a little: deleted documents still
        # count in a segment's statistics until it is merged).
        (hits, facets), (fresh_hits, fresh_facets) = all_results(index, text), all_results(fresh, text)
        assert (sorted(hits), facets) == (sorted(fresh_hits), fresh_facets)


def test_larger_tiers_are_left_to_the_scanner_s_rounds_and_then_merged(index, demo_copy):
    from kb.search.merging import SMALL_TIERS, TIER_FACTOR

    model = (demo_copy / "promises" / "marcq-la-madeleine-balayeuses.md").read_text(encoding="utf-8")
    for number in range(40):  # enough files for commits of more than TIER_FACTOR ** (SMALL_TIERS + 1) documents
        (demo_copy / "promises" / f"copie-{number}.md").write_text(model.replace("title: ", f"title: Copie {number} ", 1), encoding="utf-8")
    index.rebuild()
    keys = sorted(f"promise:{path.stem}" for path in (demo_copy / "promises").glob("*.md"))[: TIER_FACTOR ** (SMALL_TIERS + 1)]
    for _ in range(TIER_FACTOR):  # a few git pulls touching these files
        index.reindex(keys)
    assert len(index.open()._segments()) == 1 + TIER_FACTOR  # not merged by the commits themselves
    assert index.merge_when_due() >= TIER_FACTOR
    assert len(index.open()._segments()) <= 2
    assert index.merge_when_due() == 0  # nothing due any more
    assert Search(index, sync_seconds=0).search("Copie").total == 40
