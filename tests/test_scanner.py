"""The machine's scanner (kb serve --production): hand edits into the catalog and the index, merges between rounds."""

from __future__ import annotations

from kb.catalog.update import Catalog
from kb.ops.scanner import Scanner, next_look
from kb.search.index import SearchIndex
from kb.search.query import Search
from kb.store.db import open_database


def scanner_of(demo_copy, tmp_path, database_url) -> Scanner:
    engine = open_database(database_url).kw["bind"]
    catalog = Catalog(engine, demo_copy, tmp_path / "publish.lock")
    catalog.ensure()
    index = SearchIndex(tmp_path / "index", demo_copy)
    index.rebuild()
    return Scanner(catalog, index)


def test_a_round_puts_a_hand_edit_in_the_catalog_s_log_and_in_the_index(demo_copy, tmp_path, database_url):
    scanner = scanner_of(demo_copy, tmp_path, database_url)
    path = demo_copy / "promises" / "marcq-la-madeleine-balayeuses.md"
    path.write_text(path.read_text(encoding="utf-8").replace("title: ", "title: (zqround) ", 1), encoding="utf-8")
    assert scanner.round() == ["promise:marcq-la-madeleine-balayeuses"]
    assert [hit.id for hit in Search(scanner.index, sync_seconds=0).search("zqround").hits] == ["marcq-la-madeleine-balayeuses"]
    assert scanner.round() == [] and not scanner.pending


def test_files_still_moving_after_a_round_that_found_some_are_looked_at_again_at_once(demo_copy, tmp_path, database_url):
    scanner = scanner_of(demo_copy, tmp_path, database_url)
    period = 3600.0  # a round of this machine has just stamped the scan: a period's round would not look
    first, second = (demo_copy / "promises" / f"{name}.md" for name in ("marcq-la-madeleine-balayeuses", "mel-carrieres-catiches"))
    first.write_text(first.read_text(encoding="utf-8").replace("title: ", "title: (zqun) ", 1), encoding="utf-8")
    changed = scanner.round()
    assert changed == ["promise:marcq-la-madeleine-balayeuses"]
    second.write_text(second.read_text(encoding="utf-8").replace("title: ", "title: (zqdeux) ", 1), encoding="utf-8")  # a pull still writing
    assert scanner.round(period) == []
    every, wait = next_look(bool(changed), period)
    assert wait < 1 and scanner.round(every) == ["promise:mel-carrieres-catiches"]
    assert next_look(False, period) == (period, period)  # a quiet round: the next one a period later


def test_a_file_the_index_s_writer_kept_waiting_is_indexed_at_a_later_round(demo_copy, tmp_path, database_url, monkeypatch):
    import kb.ops.scanner as module

    monkeypatch.setattr(module, "INDEX_WAIT_SECONDS", 0)
    scanner = scanner_of(demo_copy, tmp_path, database_url)
    path = demo_copy / "promises" / "marcq-la-madeleine-balayeuses.md"
    path.write_text(path.read_text(encoding="utf-8").replace("title: ", "title: (zqlater) ", 1), encoding="utf-8")
    writer = scanner.index.open().writer()  # a publication indexing meanwhile
    try:
        scanner.round()
    finally:
        writer.cancel()
    assert scanner.pending == {"promise:marcq-la-madeleine-balayeuses"}
    scanner.round()
    assert not scanner.pending and Search(scanner.index, sync_seconds=0).search("zqlater").total == 1


def test_a_quiet_round_merges_what_the_index_has_due(demo_copy, tmp_path, database_url, monkeypatch):
    scanner = scanner_of(demo_copy, tmp_path, database_url)
    merged = []
    monkeypatch.setattr(scanner.index, "merge_when_due", lambda: merged.append(True) or 0)
    path = demo_copy / "promises" / "marcq-la-madeleine-balayeuses.md"
    path.write_text(path.read_text(encoding="utf-8") + "\nUne ligne.\n", encoding="utf-8")
    scanner.round()
    assert merged == []  # a round with work to do does not merge too
    scanner.round()
    assert merged == [True]


def test_while_a_round_scans_the_index_s_writer_is_its_own_so_the_workers_leave_the_indexing_to_it(demo_copy, tmp_path, database_url):
    scanner = scanner_of(demo_copy, tmp_path, database_url)
    path = demo_copy / "promises" / "marcq-la-madeleine-balayeuses.md"
    path.write_text(path.read_text(encoding="utf-8").replace("title: ", "title: (zqheld) ", 1), encoding="utf-8")
    seen_by_a_worker = []
    scan = scanner.catalog.scan

    def scan_then_a_worker_follows(every=0.0, before_changes=None):
        report = scan(every, before_changes)
        # A worker hears of the change as soon as the scan has committed it: it must not index it.
        seen_by_a_worker.append(scanner.index.catch_up(report.changed, timeout=0).skipped)
        return report

    scanner.catalog.scan = scan_then_a_worker_follows
    scanner.round()
    assert seen_by_a_worker == [True]
    assert Search(scanner.index, sync_seconds=0).search("zqheld").total == 1  # indexed by the round
    writer = scanner.index.writer_if_free()
    assert writer is not None  # and given back
    writer.cancel()


def test_a_round_with_nothing_changed_leaves_the_index_s_writer_free(demo_copy, tmp_path, database_url):
    """Held at every round, it kept publications waiting for the length of a scan."""
    scanner = scanner_of(demo_copy, tmp_path, database_url)
    free_during_the_scan = []
    scan = scanner.catalog.scan

    def scan_and_look(every=0.0, before_changes=None):
        writer = scanner.index.writer_if_free()
        free_during_the_scan.append(writer is not None)
        if writer is not None:
            writer.cancel()
        return scan(every, before_changes)

    scanner.catalog.scan = scan_and_look
    scanner.round()
    assert free_during_the_scan == [True]
