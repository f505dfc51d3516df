"""The machine's scanner (kb serve --production): hand edits into the catalog and the index, merges between rounds."""

from __future__ import annotations

from kb.catalog.update import Catalog
from kb.ops.scanner import Scanner
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
