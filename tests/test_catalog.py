"""The catalog stays equal to what the files say: built, refreshed by publications, scanned after hand edits.

Every comparison is with a fresh rebuild from the same files (in another database) and with the
content tree read into memory (kb.content), whose lists and counts the site used to compute.
"""

from __future__ import annotations

import gc
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from kb.catalog import queries, tables
from kb.catalog.listed import ListedCache, read_histories, read_listed
from kb.catalog.reader import CatalogView, ItemCache, Vocabularies
from kb.catalog.update import Catalog
from kb.content import listing
from kb.content.kinds import KINDS
from kb.content.model import Promise
from kb.content.tree import read_tree
from kb.newsroom.publishing import Publisher
from kb.store.db import make_engine, open_database

from .conftest import DEMO_CONTENT, own_database

TODAY = date(2026, 6, 1)
CHART_DAYS = [date(2008, 1, 1) + (TODAY - date(2008, 1, 1)) * step // 30 for step in range(31)]
PROMISE_FILTERS = [
    {}, {"status": "partial"}, {"status": "done", "overdue": "non"}, {"overdue": "oui"}, {"made_by": "Martine Aubry"},
    {"territory": "Lille", "theme": "Gouvernance"}, {"party": "Parti socialiste (PS)"}, {"status": "inconnu"}, {"list": "x"},
]  # fmt: skip
CLAIM_FILTERS = [{}, {"verdict": "needs_context"}, {"territory": "Lille"}, {"claimed_by": "personne"}]


class Scratch:
    """A copy of the demo corpus, its catalog in a database, and a second database for fresh rebuilds."""

    def __init__(self, tmp_path: Path, database_url: str):
        self.root = Path(shutil.copytree(DEMO_CONTENT, tmp_path / "content"))
        self.sessions = open_database(database_url)
        self.engine = self.sessions.kw["bind"]
        self.catalog = Catalog(self.engine, self.root, tmp_path / "publish.lock")
        self.catalog.ensure()
        self.fresh_url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        self.publisher = Publisher(self.root, tmp_path / "publish.lock", git=False, engine=self.engine, catalog=self.catalog)
        # A server process's rows of every promise, kept by following the change log as kb.web.follower does.
        self.listed = ListedCache(self.engine)
        with self.engine.connect() as connection:
            self.cursor = self.catalog.last_change(connection)

    def view(self, engine=None) -> CatalogView:
        if engine is None:
            self.follow()
            return CatalogView(self.engine, self.root, KINDS, Vocabularies(self.root, 0), ItemCache(), self.listed)
        return CatalogView(engine, self.root, KINDS, Vocabularies(self.root, 0), ItemCache())

    def follow(self) -> None:
        """Refresh the kept rows from the changes logged since the last look (everything: read again)."""
        with self.engine.connect() as connection:
            changes = self.catalog.changes_after(connection, self.cursor)
            keys = [key for _, key in changes]
            if "*" in keys:
                self.listed.clear()
            else:
                self.listed.refresh(connection, keys)
        self.cursor = changes[-1][0] if changes else self.cursor

    def path(self, key: str) -> Path:
        return KINDS.path(self.root, key)

    def publish(self, key: str, text: str) -> None:
        from kb.content.files import current_file

        _, sha = current_file(self.path(key))
        with self.sessions() as session:
            self.publisher.publish(session, key, text, sha, by=None, summary="essai", change_type="edit")


def rows(engine) -> dict:
    """Every row of the catalog's tables, less what differs between two builds of the same files."""
    found = {}
    with engine.connect() as connection:
        kept = [column for column in tables.items.columns if column.name not in ("revision", "ino", "ctime_ns", "mtime_ns")]
        found["items"] = sorted(tuple(row) for row in connection.execute(select(*kept)))
        entries = [column for column in tables.history.columns if column.name != "revision"]
        found["history"] = sorted(tuple(row) for row in connection.execute(select(*entries)))
        links = [column for column in tables.links.columns if column.name != "id"]
        found["links"] = sorted(tuple(row) for row in connection.execute(select(*links)))
    return found


def fresh(scratch: Scratch):
    """A catalog built from scratch from the same files, in a database of its own."""
    engine = make_engine(scratch.fresh_url)
    with engine.begin() as connection:
        tables.metadata.drop_all(connection)
    Catalog(engine, scratch.root, None).rebuild()
    return engine


def assert_same_as_the_files(scratch: Scratch) -> None:
    engine = fresh(scratch)
    view = scratch.view()
    try:
        assert rows(scratch.engine) == rows(engine)
        with engine.connect() as connection:
            assert scratch.listed.rows() == read_listed(connection)  # the rows kept by following the log: as read anew
            assert scratch.listed.histories() == read_histories(connection)
        # The scorecards by group and the trackers' records the process keeps: as counted anew from the files.
        anew, trackers = scratch.view(engine), list(read_tree(scratch.root).trackers.values())
        assert queries.scorecard(view, TODAY) == queries.scorecard(anew, TODAY)
        for attribute in ("made_by", "territory"):
            assert queries.groups(view, attribute, TODAY) == queries.groups(anew, attribute, TODAY), attribute
        assert queries.tracker_cards(view, trackers, TODAY) == queries.tracker_cards(anew, trackers, TODAY)
    finally:
        engine.dispose()
    tree = read_tree(scratch.root)
    for filters in PROMISE_FILTERS:
        for sort in ("", "titre", "echeance"):
            memory = listing.list_promises(list(tree.promises.values()), filters, sort, TODAY, tree.final_statuses)
            catalog = queries.list_promises(view, filters, sort, TODAY)
            assert [p.id for p in catalog.promises] == [p.id for p in memory.promises], (filters, sort)
            assert (catalog.counts, catalog.filters, catalog.ignored) == (memory.counts, memory.filters, memory.ignored), filters
    for filters in CLAIM_FILTERS:
        memory = listing.list_claims(list(tree.claims.values()), filters)
        catalog = queries.list_claims(view, filters)
        assert [c.id for c in catalog.claims] == [c.id for c in memory.claims] and catalog.counts == memory.counts
    promises = list(tree.promises.values())
    assert queries.scorecard(view, TODAY) == listing.scorecard(promises, list(tree.statuses), TODAY, tree.final_statuses)
    # The record over time, from the histories the process keeps, as the files' histories say day by day.
    dates = [entry.date for promise in promises for entry in promise.history if entry.date]
    assert queries.first_entry_day(view) == (min(dates) if dates else None)
    for day, counts in queries.record_over_time(view, CHART_DAYS):
        assert counts == listing.final_record(promises, list(tree.statuses), day, tree.final_statuses).counts, day
    with scratch.engine.connect() as connection:  # the order of publication, which the files do not say
        revisions = dict(connection.execute(select(tables.items.c.item_id, tables.items.c.revision).where(tables.items.c.kind == "promise")).all())
    memory_changes = [(c.promise.id, c.position, c.before) for c in listing.status_changes(promises, revisions)[:50]]
    assert [(c.promise.id, c.position, c.before) for c in queries.status_changes(view, 50)] == memory_changes
    with pytest.MonkeyPatch.context() as patch:  # the way a newsroom's thousands of promises take: batches from the end
        patch.setattr(queries, "FEW_PROMISES", 0)
        patch.setattr(queries, "HISTORY_BATCH", 3)
        assert [(c.promise.id, c.position, c.before) for c in queries.status_changes(view, 50)] == memory_changes
        everything = [(c.promise.id, c.position, c.before) for c in listing.status_changes(promises, revisions)]
        assert [(c.promise.id, c.position, c.before) for c in queries.status_changes(view, None)] == everything
        lille = [change for change in everything if tree.promises[change[0]].territory == "Lille"][:4]
        assert [(c.promise.id, c.position, c.before) for c in queries.status_changes(view, 4, [tables.items.c.territory == "Lille"])] == lille
    for promise in promises:
        assert view.promises[promise.id] == promise
        assert [p.id for p in view.related(promise)] == [p.id for p in tree.related(promise)]
        assert [c.id for c in view.claims_about(promise.id)] == [c.id for c in tree.claims_about(promise.id)]
        for alias in promise.aliases:
            assert view.alias_target(alias) == tree.alias_target(alias)
    for source_id in tree.sources:
        assert [p.id for p in view.promises_citing(source_id)] == [p.id for p in tree.promises_citing(source_id)]
        assert [c.id for c in view.claims_citing(source_id)] == [c.id for c in tree.claims_citing(source_id)]
    for kind in KINDS:
        assert sorted(view.items[kind.name]) == sorted(tree.items[kind.name])
        assert view._unreadable(kind.name) == tree.unreadable[kind.name]
        # Kept by the process while the kind is small (the demo's all are), until a change names one of its items.
        assert sorted((s.id, s.title) for s in view.summaries(kind.name)) == sorted((i.id, i.title) for i in tree.summaries(kind.name))


@pytest.fixture
def scratch(tmp_path, database_url) -> Scratch:
    return Scratch(tmp_path, database_url)


def test_a_catalog_built_from_the_demo_answers_as_the_tree_in_memory(scratch):
    assert_same_as_the_files(scratch)


def test_home_groups_are_those_of_the_tree_in_memory(scratch):
    tree, view = read_tree(scratch.root), scratch.view()
    for attribute in ("made_by", "territory"):
        memory, names = {}, {}
        for promise in sorted(tree.promises.values(), key=lambda promise: promise.id):
            # Each author of a joint promise counts it; people are named by their files.
            for name in promise.made_by if attribute == "made_by" else [promise.territory]:
                key = name if attribute == "made_by" and name in tree.people else listing.slug(name)
                memory.setdefault(key, []).append(promise)
                names.setdefault(key, tree.people[name].name if attribute == "made_by" and name in tree.people else name)
        expected = sorted(
            ({"name": names[key], "slug": key,
              "card": listing.scorecard(items, list(tree.statuses), TODAY, tree.final_statuses)} for key, items in memory.items()),
            key=lambda row: (-row["card"].total, row["name"], row["slug"]),
        )  # fmt: skip
        assert queries.groups(view, attribute, TODAY) == expected


# -- the operations a newsroom's files go through ----------------------------------------------------


def edit_status(text: str, number: int) -> str:
    return text.replace("title: ", f"title: ({number}) ", 1)


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["publish", "hand-edit", "delete", "rename", "break", "unreadable", "source-edit", "touch"]),
        st.integers(min_value=0, max_value=10_000),
    ),
    min_size=1,
    max_size=6,
)


def apply(scratch: Scratch, operation: str, number: int) -> None:
    promises = sorted(path.stem for path in (scratch.root / "promises").glob("*.md"))
    promise = promises[number % len(promises)]
    key, path = f"promise:{promise}", scratch.path(f"promise:{promise}")
    text = path.read_bytes().decode("utf-8", "replace")  # an earlier step may have made it unreadable
    if operation == "publish" and "title: " in text and read_tree(scratch.root).promises.get(promise):
        scratch.publish(key, edit_status(text, number))
    elif operation == "hand-edit":
        path.write_text(edit_status(text, number), encoding="utf-8")
    elif operation == "delete":
        path.unlink()
    elif operation == "rename":
        new = scratch.root / "promises" / f"{promise}-{number}.md"
        if not new.exists():
            path.rename(new)
            if "aliases: []" in text:  # (an unreadable file is only moved)
                new.write_text(text.replace("aliases: []", f"aliases:\n- {promise}"), encoding="utf-8")
    elif operation == "break":
        path.write_text(text.replace("status:", "statut:", 1), encoding="utf-8")
    elif operation == "unreadable":
        path.write_bytes(b"---\ntitle: [\n---\n\xff")
    elif operation == "source-edit":
        sources = sorted((scratch.root / "sources").glob("*.md"))
        source = sources[number % len(sources)]
        # Cutting a source's text makes quotes of it fail: their pages must say so.
        source.write_text(source.read_text(encoding="utf-8")[: 600 + number % 400], encoding="utf-8")
    elif operation == "touch":
        path.touch()


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_after_publications_hand_edits_deletions_renames_and_broken_files_the_catalog_equals_a_fresh_build(
    tmp_path_factory, postgres_admin, operations
):
    here = tmp_path_factory.mktemp("catalog")
    with own_database(postgres_admin, here / "kb.sqlite3") as url:  # each example its own database
        scratch = Scratch(here, url)
        scratch.listed.rows()  # read once at the start, then refreshed change by change
        scratch.listed.histories()
        scratch.listed.counts_on_days(tuple(CHART_DAYS))  # the home chart's counts, then updated change by change
        view = scratch.view()
        for sort in ("", "titre", "echeance"):
            queries.list_promises(view, {}, sort, TODAY)  # each sort's arrangement, then moved row by row change by change
        for kind in KINDS:
            view.summaries(kind.name)  # kept, then dropped by the changes that name an item of the kind
        queries.scorecard(view, TODAY)  # the home page's tallies, then moved change by change
        for attribute in ("made_by", "territory"):
            queries.groups(view, attribute, TODAY)
        queries.tracker_cards(view, list(read_tree(scratch.root).trackers.values()), TODAY)  # closed trackers' records, kept
        for operation, number in operations:
            apply(scratch, operation, number)
            scratch.catalog.scan()
            scratch.follow()
        assert_same_as_the_files(scratch)


def test_a_server_process_keeps_a_small_kind_s_summaries_until_a_change_names_one_of_its_items(scratch):
    person = scratch.view().summaries("person")[0]
    with scratch.engine.begin() as connection:  # the row changed without a change logged: the kept summaries do not see it
        connection.execute(update(tables.items).where(tables.items.c.key == f"person:{person.id}").values(title="Zq renommée"))
    assert scratch.view().summaries("person")[0].title == person.title
    with scratch.engine.connect() as connection:
        scratch.listed.refresh(connection, [f"person:{person.id}"])  # what the change follower does when the log names it
    assert "Zq renommée" in {summary.title for summary in scratch.view().summaries("person")}


def test_a_closed_tracker_s_record_is_kept_until_a_change_names_one_of_its_promises(scratch):
    trackers = read_tree(scratch.root).trackers
    closed, other = trackers["lille-2020-2026"], trackers["mel-mutualisation-2015-2020"]
    before = {tracker.id: queries.final_record(scratch.view(), tracker, TODAY) for tracker in (closed, other)}
    with scratch.engine.begin() as connection:  # the entries gone without a change logged: the kept records do not see it
        connection.execute(delete(tables.history).where(tables.history.c.key == "promise:aubry-mutualisation-lille-lomme-hellemmes"))
    assert queries.final_record(scratch.view(), closed, TODAY) == before[closed.id]
    with scratch.engine.connect() as connection:
        scratch.listed.refresh(connection, ["promise:aubry-mutualisation-lille-lomme-hellemmes"])  # as the change follower does
    assert queries.final_record(scratch.view(), closed, TODAY).total == before[closed.id].total - 1
    assert queries.final_record(scratch.view(), other, TODAY) == before[other.id]  # another tracker's stays


def test_a_closed_tracker_s_record_counts_a_promise_moved_into_it(scratch):
    tracker = read_tree(scratch.root).trackers["lille-2020-2026"]
    before = queries.final_record(scratch.view(), tracker, TODAY)
    moved = next(path for path in sorted((scratch.root / "promises").glob("*.md")) if "tracker: mel-mutualisation-2022-2026" in path.read_text(encoding="utf-8"))
    moved.write_text(re.sub(r"(?m)^tracker: .*$", "tracker: lille-2020-2026", moved.read_text(encoding="utf-8")), encoding="utf-8")
    scratch.catalog.scan()
    after = queries.final_record(scratch.view(), tracker, TODAY)
    assert after == queries.final_record(scratch.view(fresh(scratch)), tracker, TODAY) and after != before


def test_a_scan_reads_again_only_the_files_that_moved(scratch):
    assert scratch.catalog.scan().hashed == 0
    path = scratch.path("promise:aubry-mutualisation-lille-lomme-hellemmes")
    path.write_text(edit_status(path.read_text(encoding="utf-8"), 1), encoding="utf-8")
    (scratch.root / "promises" / "nouvelle-piscine.md").write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    report = scratch.catalog.scan()
    assert report.hashed == 2 and sorted(report.changed) == [
        "promise:aubry-mutualisation-lille-lomme-hellemmes", "promise:nouvelle-piscine",
    ]  # fmt: skip
    assert scratch.catalog.scan().changed == []


def test_a_file_touched_without_change_is_hashed_once_and_changes_nothing(scratch):
    scratch.path("source:mel-communique-bilan-mutualisation-2019").touch()
    first = scratch.catalog.scan()
    assert (first.hashed, first.changed) == (1, [])
    assert scratch.catalog.scan().hashed == 0


def test_a_source_cut_short_makes_the_quotes_it_no_longer_holds_unverified(scratch):
    source = scratch.path("source:mediacites-aubry-mutualisation-2026")
    view = scratch.view()
    assert view.quote_verified("mediacites-aubry-mutualisation-2026", "Promesse en partie appliquée")
    source.write_text(source.read_text(encoding="utf-8").replace("Promesse en partie appliquée", "Promesse tenue"), encoding="utf-8")
    changed = scratch.catalog.scan().changed
    assert "promise:aubry-mutualisation-lille-lomme-hellemmes" in changed  # its page shows the quote as not found
    assert not scratch.view().quote_verified("mediacites-aubry-mutualisation-2026", "Promesse en partie appliquée")


def test_a_promise_edited_with_its_source_in_one_scan_is_verified_against_the_new_text(scratch):
    # The promise is read first ("promise:" sorts before "source:"), while the catalog still
    # records its quote as found in the old text: the source's refresh must verify it again.
    promise = scratch.path("promise:aubry-mutualisation-lille-lomme-hellemmes")
    promise.write_text(promise.read_text(encoding="utf-8") + "\nModifié à la main.\n", encoding="utf-8")
    source = scratch.path("source:mediacites-aubry-mutualisation-2026")
    source.write_text(source.read_text(encoding="utf-8").replace("Promesse en partie appliquée", "Promesse tenue"), encoding="utf-8")
    scratch.catalog.scan()
    assert not scratch.view().quote_verified("mediacites-aubry-mutualisation-2026", "Promesse en partie appliquée")
    assert_same_as_the_files(scratch)


def test_an_unmounted_content_directory_is_not_taken_for_every_file_deleted(scratch):
    shutil.move(scratch.root / "promises", scratch.root.parent / "elsewhere")
    report = scratch.catalog.scan()
    assert report.skipped and report.changed == []
    assert len(scratch.view().promises) == 45


@pytest.mark.parametrize("damage", ["no-tables", "half-built", "other-version"])
def test_a_missing_half_built_or_outdated_catalog_is_built_again_before_it_is_read(scratch, damage):
    with scratch.engine.begin() as connection:
        if damage == "no-tables":
            tables.metadata.drop_all(connection)
        elif damage == "half-built":
            connection.execute(delete(tables.meta).where(tables.meta.c.name == "complete"))
            connection.execute(delete(tables.items).where(tables.items.c.kind == "promise"))
        else:
            connection.execute(update(tables.meta).where(tables.meta.c.name == "version").values(value="0"))
    assert not scratch.catalog.ready()
    assert scratch.catalog.ensure() is True
    assert_same_as_the_files(scratch)
    assert scratch.catalog.ensure() is False


def test_a_publication_refreshes_the_catalog_in_the_transaction_that_records_it(scratch):
    key = "promise:aubry-mutualisation-lille-lomme-hellemmes"
    with scratch.engine.connect() as connection:
        before = scratch.catalog.last_change(connection)
    scratch.publish(key, edit_status(scratch.path(key).read_text(encoding="utf-8"), 7))
    assert scratch.view().promises["aubry-mutualisation-lille-lomme-hellemmes"].title.startswith("(7) ")
    with scratch.engine.connect() as connection:
        assert [changed for _, changed in scratch.catalog.changes_after(connection, before)] == [key]
    assert scratch.catalog.scan().changed == []  # the scan finds nothing left to do


def logged_tags(scratch: Scratch, since: int) -> list[str | None]:
    with scratch.engine.connect() as connection:
        return [row.tags for row in connection.execute(select(tables.changes.c.tags).where(tables.changes.c.id > since).order_by(tables.changes.c.id))]


def test_the_change_log_names_the_groups_of_related_promises_a_change_moves_and_only_those(scratch):
    key = "promise:aubry-mutualisation-lille-lomme-hellemmes"
    with scratch.engine.connect() as connection:
        start = scratch.catalog.last_change(connection)
    text = scratch.path(key).read_text(encoding="utf-8")
    scratch.publish(key, edit_status(text, 1))  # a title: the promise stays where it was
    scratch.publish(key, edit_status(text, 1).replace("territory: Lille", "territory: Lomme"))
    scratch.path(key).unlink()
    scratch.catalog.scan()
    assert logged_tags(scratch, start) == [
        None,
        "group:promise:territory:Lille\ngroup:promise:territory:Lomme",
        "group:promise:territory:Lomme\ngroup:promise:theme:Gouvernance\nids:promise",  # gone: which ids there are changed too
    ]


def test_the_change_log_says_when_the_ids_of_a_kind_change_and_only_then(scratch):
    key = "promise:aubry-mutualisation-lille-lomme-hellemmes"
    added = "promise:aubry-mutualisation-bis"
    with scratch.engine.connect() as connection:
        start = scratch.catalog.last_change(connection)
    text = scratch.path(key).read_text(encoding="utf-8")
    scratch.publish(key, edit_status(text, 1))  # a new status: the same promises
    scratch.path(added).write_text(text, encoding="utf-8")
    scratch.catalog.scan()  # a new promise
    scratch.path(added).write_text(text.replace("title: ", "title:\n  - ", 1), encoding="utf-8")
    scratch.catalog.scan()  # broken: no longer published
    scratch.path(added).unlink()
    scratch.catalog.scan()  # gone
    ids = [tags is not None and "ids:promise" in tags.splitlines() for tags in logged_tags(scratch, start)]
    assert ids == [False, True, True, True]


def test_two_hundred_publications_do_not_grow_the_content_objects_a_worker_keeps(tmp_path, database_url):
    from kb.web import create_app

    content = Path(shutil.copytree(DEMO_CONTENT, tmp_path / "content"))
    app = create_app({"TESTING": True, "CONTENT_DIR": str(content), "INSTANCE_DIR": str(tmp_path / "instance")})
    client = app.test_client()
    publisher = app.extensions["kb.publisher"]
    key = "promise:aubry-mutualisation-lille-lomme-hellemmes"
    pages = ["/", "/promesses", f"/promesses/{key.partition(':')[2]}", "/flux.atom", "/sources/mediacites-aubry-mutualisation-2026"]

    def live_promises() -> int:
        gc.collect()
        return sum(1 for thing in gc.get_objects() if isinstance(thing, Promise))

    def publish(number: int) -> None:
        from kb.content.files import current_file

        text, sha = current_file(KINDS.path(content, key))
        with app.extensions["kb.db"]() as session:
            publisher.publish(session, key, edit_status(text, number), sha, by=None, summary="essai", change_type="edit")
        for page in pages:
            assert client.get(page).status_code == 200

    for number in range(20):  # warm: every page rendered, every cache filled once
        publish(number)
    before = live_promises()
    for number in range(20, 220):
        publish(number)
    assert live_promises() <= before


def test_a_file_whose_name_no_key_can_hold_is_left_out_and_never_stops_the_scan(scratch):
    long = scratch.root / "promises" / f"{'a' * 151}.md"
    long.write_text(scratch.path("promise:aubry-mutualisation-lille-lomme-hellemmes").read_text(encoding="utf-8"), encoding="utf-8")
    assert scratch.catalog.scan().changed == []
    assert queries.list_promises(scratch.view(), {}, "", TODAY).promises[:1]  # lists still read
    edited = scratch.path("promise:aubry-mutualisation-lille-lomme-hellemmes")
    edited.write_text(edit_status(edited.read_text(encoding="utf-8"), 3), encoding="utf-8")
    assert scratch.catalog.scan().changed == ["promise:aubry-mutualisation-lille-lomme-hellemmes"]


def test_rows_of_a_kind_no_longer_declared_are_removed_by_the_next_scan(scratch):
    with scratch.engine.begin() as connection:
        connection.execute(
            tables.items.insert().values(key="dossier:ancien", kind="dossier", item_id="ancien", state="published", revision=0)
        )
    scratch.catalog.scan()
    assert scratch.view().scalar(select(tables.items.c.key).where(tables.items.c.kind == "dossier")) is None


def test_a_rebuild_for_a_new_catalog_version_keeps_the_change_log_growing(scratch):
    with scratch.engine.connect() as connection:
        before = scratch.catalog.last_change(connection)
    with scratch.engine.begin() as connection:
        connection.execute(update(tables.meta).where(tables.meta.c.name == "version").values(value="0"))
    scratch.catalog.ensure()
    with scratch.engine.connect() as connection:
        assert scratch.catalog.last_change(connection) > before


def test_of_two_changes_of_the_same_day_the_one_published_last_is_first_whatever_the_names(scratch):
    from kb.newsroom.proposals import status_update

    def new_status(promise_id: str, status: str) -> None:
        promise = scratch.view().promises[promise_id]
        proof = next((p.source, p.quote) for entry in promise.history for p in entry.evidence)
        scratch.publish(f"promise:{promise_id}", status_update(promise, "2030-01-02", status, "Le même jour.", [proof]))

    def latest() -> list[str]:
        return [change.promise.id for change in queries.status_changes(scratch.view(), 3)][:3]

    new_status("mel-reseau-impression", "in_progress")
    new_status("aubry-mutualisation-lille-lomme-hellemmes", "done")
    assert latest()[:2] == ["aubry-mutualisation-lille-lomme-hellemmes", "mel-reseau-impression"]
    new_status("mel-reseau-impression", "done")  # its two entries of that day, then the other promise's
    assert latest() == ["mel-reseau-impression", "mel-reseau-impression", "aubry-mutualisation-lille-lomme-hellemmes"]
