"""Lists, counts, scorecards and feeds as queries over the catalog, not loops over every promise.

The same answers as kb.content.listing gives over a tree in memory (tests compare the two): filters
combine, each filter's counts ignore its own filter, unknown values are reported as ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

from dataclasses import dataclass, replace

from sqlalchemy import and_, case, func, literal, select

from kb.catalog import tables, tallies
from kb.catalog.listed import History, Listed, count_on_days, read_histories, read_listed, standing
from kb.catalog.reader import CatalogView
from kb.content import listing
from kb.content.listing import Change, ClaimListing, Listing, Scorecard

items_c = tables.items.c
history_c = tables.history.c
links_c = tables.links.c


class LazyItems(Sequence):
    """Items in a known order, decoded only when looked at: a list page reads 50 of 10,000."""

    def __init__(self, view: CatalogView, keys: list[str], where: list | None = None):
        self.view = view
        self.keys = keys
        self.where = where if where is not None else [items_c.key.in_(keys)]  # what selects them (a feed's query reuses it)

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self._load(self.keys[index])
        return self._load([self.keys[index]])[0]

    def __iter__(self):
        for start in range(0, len(self.keys), 500):
            yield from self._load(self.keys[start : start + 500])

    def _load(self, keys: list[str]) -> list:
        if not keys:
            return []
        found = {item_key: item for item_key, item in zip(*self._rows(keys))}
        return [found[key] for key in keys if key in found]

    def _rows(self, keys: list[str]):
        rows = self.view.query(self.view.select_items(items_c.key.in_(keys)))
        return [row.key for row in rows], self.view.load(rows)


def listed_promises(view: CatalogView, *where) -> list[Listed]:
    """Every published promise (matching `where`) as lists read them, by id: the process's rows, or one query."""
    view.used.add("list:promise")
    if not where and view.listed is not None:
        return view.listed.rows()
    cache_key = ("listed", tuple(str(condition.compile(compile_kwargs={"literal_binds": True})) for condition in where))
    cached = view.memo.get(cache_key)
    if cached is None:
        with view.engine.connect() as connection:
            cached = view.memo[cache_key] = read_listed(connection, *where)
    return cached


def _overdue(today: date, final: set[str]):
    late = and_(items_c.due.is_not(None), items_c.due < today, items_c.status.not_in(sorted(final) or [""]))
    return case((late, literal("oui")), else_=literal("non"))


def _condition(name: str, value: str, today: date, final: set[str]):
    """What a list filter keeps, as a condition on the catalog's rows (a feed of a filtered list reads it)."""
    if name == "overdue":
        return _overdue(today, final) == value
    if name in ("made_by", "claimed_by"):  # one author among several: the links hold them one by one
        # A name written in words is kept in the links cut to the column's size (kb.catalog.rows).
        return items_c.key.in_(select(links_c.key).where(links_c.relation == "made_by", links_c.target == value[:160]))
    return (items_c.list_name if name == "list" else items_c[name]) == value


def list_promises(view: CatalogView, filters: dict[str, str], sort: str, today: date) -> Listing:
    """Filter, count and sort published promises, as kb.content.listing does, over the catalog's columns."""
    rows = listed_promises(view)
    prepared = view.listed.arranged(rows, sort, today, view.final_statuses) if view.listed is not None else None
    listed = listing.list_promises(rows, filters, sort, today, view.final_statuses, prepared)
    keys = [row.key for row in listed.promises]
    where = [items_c.kind == "promise", items_c.state == "published"]
    where += [_condition(name, value, today, view.final_statuses) for name, value in listed.filters.items()]
    return Listing(promises=LazyItems(view, keys, where), counts=listed.counts, filters=listed.filters, sort=listed.sort, ignored=listed.ignored)


@dataclass(frozen=True)
class _ClaimRow:
    """What the claims' list filters, counts and sorts on."""

    key: str
    verdict: str | None
    claimed_by: tuple[str, ...]
    territory: str | None
    theme: str | None
    reviewed_on: date | None
    id: str


def list_claims(view: CatalogView, filters: dict[str, str]) -> ClaimListing:
    """Filter and count published claims as kb.content.listing does (fact-checks are hundreds, not
    thousands: their few columns are read and counted here); latest verdict first."""
    view.used.add("list:claim")
    found = view.query(
        select(items_c.key, items_c.verdict, items_c.made_by, items_c.territory, items_c.theme, items_c.sort_date, items_c.item_id)
        .where(items_c.kind == "claim", items_c.state == "published")
    )  # fmt: skip
    rows = [_ClaimRow(row.key, row.verdict, listing.authors_of(row.made_by), row.territory, row.theme, row.sort_date, row.item_id) for row in found]
    listed = listing.list_claims(rows, filters)
    keys = [row.key for row in listed.claims]
    return ClaimListing(claims=LazyItems(view, keys), counts=listed.counts, filters=listed.filters, ignored=listed.ignored)


def scorecard(view: CatalogView, today: date, *where) -> Scorecard:
    """The scorecard of the published promises matching `where`, statuses in the vocabulary's order."""
    if not where:
        return tallies.scorecard(_tally(view, "all", today), None, list(view.statuses))
    return listing.scorecard(listed_promises(view, *where), list(view.statuses), today, view.final_statuses)


def final_record(view: CatalogView, tracker, today: date) -> Scorecard | None:
    """A closed tracker's record as of its `record_day`, as kb.content.listing.final_record counts it, from
    the catalog's history entries (the status of each promise's last entry dated that day or before);
    None for an open tracker."""
    end = tracker.record_day(today)
    return _final_records(view, {tracker.id: end})[tracker.id] if end is not None else None


def _histories(view: CatalogView, keys: list[str]) -> dict[str, History]:
    """The dated history entries of the published promises `keys`, in each file's order: the process's
    (kb.catalog.listed), or one query (the few by their keys; many through the published promises)."""
    if view.listed is not None:
        return view.listed.histories()
    memo_key = ("histories", len(keys) > FEW_PROMISES or tuple(keys))
    found = view.memo.get(memo_key)
    if found is None:
        with view.engine.connect() as connection:
            found = view.memo[memo_key] = read_histories(connection, keys if len(keys) <= FEW_PROMISES else None)
    return found


def _statuses_on(view: CatalogView, days: dict[str, date]) -> dict[str, str]:
    """Each promise's status on its day (key → day): its last history entry dated that day or before.

    From the entries every web process keeps (or one query); a promise with no entry by its day
    (not made yet) is left out.
    """
    if not days:
        return {}
    histories = _histories(view, list(days))
    found = {}
    for key, day in days.items():
        status = standing(histories.get(key, ()), day)
        if status is not None:
            found[key] = status
    return found


def _final_records(view: CatalogView, ends: dict[str, date]) -> dict[str, Scorecard]:
    """The records of several trackers (id → day), from one reading of their promises' history: a
    server process keeps them (each tracker's record's day; other days, ?au=, are counted each time)."""
    if view.listed is None:
        return _count_final_records(view, ends)
    view.used.add("list:promise")
    vocabulary = (tuple(view.statuses), frozenset(view.final_statuses))
    return view.listed.final_records(ends, vocabulary, lambda missing: _count_final_records(view, missing))


def _count_final_records(view: CatalogView, ends: dict[str, date]) -> dict[str, Scorecard]:
    rows = [row for row in listed_promises(view) if row.tracker in ends]
    statuses = _statuses_on(view, {row.key: ends[row.tracker] for row in rows})
    by_tracker: dict[str, list] = {tracker_id: [] for tracker_id in ends}
    for row in rows:
        by_tracker[row.tracker].append((statuses.get(row.key), row.due))
    return {tracker_id: listing.record(pairs, list(view.statuses), ends[tracker_id], view.final_statuses) for tracker_id, pairs in by_tracker.items()}


def standing_on(view: CatalogView, day: date, rows: list[Listed] | None = None) -> list[Listed]:
    """The published promises (or `rows`) as their histories stood on `day`: each with the status of
    its last entry dated that day or before; those with no entry by then (not made yet) left out."""
    rows = listed_promises(view) if rows is None else rows
    statuses = _statuses_on(view, {row.key: day for row in rows})
    return [replace(row, status=statuses[row.key]) for row in rows if row.key in statuses]


def scorecard_on(view: CatalogView, day: date, *where) -> Scorecard:
    """The scorecard of the published promises matching `where` as it stood on `day` (late: past their deadline that day)."""
    rows = standing_on(view, day, listed_promises(view, *where))
    return listing.record([(row.status, row.due) for row in rows], list(view.statuses), day, view.final_statuses)


def record_over_time(view: CatalogView, days: list[date], *where) -> list[tuple[date, dict[str, int]]]:
    """How many of the promises matching `where` stood in each status on each of `days` (from their
    histories), statuses in the vocabulary's order; a promise not made yet on a day is not counted."""
    rows = listed_promises(view, *where)
    if not rows or not days:
        return [(day, {}) for day in days]
    ordered_days = tuple(sorted(days))
    if not where and view.listed is not None:  # the home page: kept by the process, updated change by change
        counts = dict(zip(ordered_days, view.listed.counts_on_days(ordered_days)))
    else:
        keys = [row.key for row in rows]
        counts = dict(zip(ordered_days, count_on_days(_histories(view, keys), keys, ordered_days)))
    statuses = list(view.statuses)
    return [
        (day, {key: counts[day][key] for key in statuses if counts[day][key]} | {key: n for key, n in sorted(counts[day].items()) if key not in statuses and n})
        for day in days
    ]


def first_entry_day(view: CatalogView, *where) -> date | None:
    """The date of the earliest history entry of the published promises matching `where` (None: none)."""
    if not where and view.listed is not None:  # the home page: from the entries the process keeps
        return view.listed.first_day()
    keys = select(items_c.key).where(items_c.kind == "promise", items_c.state == "published", *where)
    return view.scalar(select(func.min(history_c.date)).where(history_c.key.in_(keys)))


def chart_days(first: date, last: date, points: int = 12) -> list[date]:
    """About `points` days from `first` to `last`, evenly spaced, both ends included: the steps of a chart."""
    if last <= first:
        return [last]
    span = (last - first).days
    steps = min(points - 1, span)
    return sorted({first + timedelta(days=round(span * step / steps)) for step in range(steps + 1)})


def tracker_cards(view: CatalogView, trackers: list, today: date, day: date | None = None) -> dict[str, Scorecard]:
    """Each tracker's scorecard by id: its final record when closed, else how its promises stand today
    (or, with `day`, how they stood that day — a closed tracker's no later than its record's day)."""
    if day is not None:
        return _count_final_records(view, {tracker.id: min(day, tracker.record_day(today) or day) for tracker in trackers})
    statuses = list(view.statuses)
    ends = {tracker.id: tracker.record_day(today) for tracker in trackers if tracker.record_day(today) is not None}
    cards = _final_records(view, ends) if ends else {}
    by_tracker = _tally(view, "tracker", today) if len(cards) < len(trackers) else None
    for tracker in trackers:
        if tracker.id not in cards:
            cards[tracker.id] = tallies.scorecard(by_tracker, tracker.id, statuses)
    return cards


def groups(view: CatalogView, attribute: str, today: date, rows: list[Listed] | None = None) -> list[dict]:
    """One scorecard per territory (grouped by slug) or per author (each author of a joint promise
    counts it), biggest first: {"name", "slug", "card"}; an author's slug is their id. `rows`: the
    promises as they stood another day (standing_on; `today` is then that day).

    A territory is named as its first promise by id writes it, an author by their file. Every
    published promise's groups are the tallies a server process keeps (the home page draws two of
    these after every publication); other rows are counted here.
    """
    counted = _tally(view, attribute, today, rows)
    if attribute == "made_by":
        # People by id; a name written in words (a tree from before people had files) by its slug.
        people = {person_id: person.title for person_id, person in view.titles("person", counted.totals).items()}
        counted = tallies.merged(counted, {author: author if author in people else listing.slug(author) for author in counted.totals})
        names = {slug: people.get(slug, first[2]) for slug, first in counted.first.items()}
    else:
        names = {slug: first[2] for slug, first in counted.first.items()}
    statuses = list(view.statuses)
    result = [{"name": names[slug], "slug": slug, "card": tallies.scorecard(counted, slug, statuses)} for slug in counted.totals]
    # Ties (two people of one name) by slug: kept tallies add a group back at their end, so their order says nothing.
    return sorted(result, key=lambda row: (-row["card"].total, row["name"] or "", row["slug"] or ""))


def _tally(view: CatalogView, grouping: str, today: date, rows: list[Listed] | None = None) -> tallies.Tally:
    """Every published promise (or `rows`) counted by `grouping`: the process's kept tally, or counted now."""
    if rows is None and view.listed is not None:
        view.used.add("list:promise")
        return view.listed.tally(grouping, today, view.final_statuses)
    return tallies.tally(listed_promises(view) if rows is None else rows, grouping, today, view.final_statuses)


FEW_PROMISES = 500  # status_changes: up to this many promises, their history is asked by key
HISTORY_BATCH = 200  # status_changes: else, entries read from the latest end this many at a time


def status_changes(view: CatalogView, limit: int | None, keys_where=None) -> list[Change]:
    """The latest status changes of the published promises (those matching `keys_where`), newest first.

    Of two entries of the same day, the one whose promise was published (or edited) last comes first.
    """
    view.used.add("list:promise")
    if keys_where is None and view.listed is not None:
        wanted = view.listed.by_key()  # the process's: no set of 10,000 keys made at each drawing
    elif keys_where is None:
        wanted = {row.key for row in listed_promises(view)}
    else:
        wanted = {row.key for row in view.query(select(items_c.key).where(items_c.kind == "promise", items_c.state == "published", *keys_where))}
    # The history read from its latest end (its index is in that order), in batches, keeping the wanted
    # promises' entries: a join would make the database sort every entry to give the first ten.
    latest = select(history_c.key, history_c.position, history_c.before, history_c.date, history_c.revision).order_by(
        history_c.date.desc(), history_c.revision.desc(), history_c.key.desc(), history_c.position.desc()
    )
    rows: list = []
    if len(wanted) <= FEW_PROMISES:  # a few promises (a narrow filter): their entries, found by key, are few to sort
        keys = sorted(wanted)
        for start in range(0, len(keys), 250):
            rows += view.query(latest.where(history_c.key.in_(keys[start : start + 250])))
        rows.sort(key=lambda row: (row.date or date.min, row.revision or 0, row.key, row.position), reverse=True)
        return _changes(view, rows[:limit] if limit is not None else rows)
    batch = max(HISTORY_BATCH, 4 * (limit or 0))
    offset = 0
    while limit is None or len(rows) < limit:
        found = view.query(latest if limit is None else latest.offset(offset).limit(batch))
        rows += [row for row in found if row.key in wanted]
        if limit is None or len(found) < batch:
            break
        offset += batch
    return _changes(view, rows[:limit] if limit is not None else rows)


def _changes(view: CatalogView, rows: list) -> list[Change]:
    promises = {f"promise:{item.id}": item for item in LazyItems(view, list(dict.fromkeys(row.key for row in rows)))}
    changes = []
    for row in rows:
        promise = promises.get(row.key)
        if promise is not None and row.position < len(promise.history):
            changes.append(Change(promise, promise.history[row.position], row.before, row.position))
    return changes


def group_members(view: CatalogView, *where) -> list:
    """The published promises matching `where` (a territory, an author), latest first."""
    view.used.add("list:promise")
    keys = [
        row.key for row in view.query(
            select(items_c.key).where(items_c.kind == "promise", items_c.state == "published", *where)
            .order_by(items_c.sort_date.desc(), items_c.item_id.desc())
        )
    ]  # fmt: skip
    return list(LazyItems(view, keys))


def by_author(author: str):
    """The condition that keeps the items one of whose authors is `author` (an id, or a name as written)."""
    return _condition("made_by", author, date.min, set())


def claims_by(view: CatalogView, author: str) -> list:
    """The published claims one of whose authors is `author`, latest verdict first (none: an empty list, never every claim)."""
    view.used.add("list:claim")
    keys = [
        row.key for row in view.query(
            select(items_c.key).where(items_c.kind == "claim", items_c.state == "published", by_author(author))
            .order_by(items_c.sort_date.desc(), items_c.item_id.desc())
        )
    ]  # fmt: skip
    return list(LazyItems(view, keys))


def authors_written(view: CatalogView) -> list[str]:
    """Every author of a published promise or claim, as its file writes it (ids, or names in words)."""
    view.used.add("list:promise")
    return [row.target for row in view.query(select(links_c.target).where(links_c.relation == "made_by").distinct())]


def ids(view: CatalogView, kind: str) -> list[str]:
    """The ids of a kind's published items, sorted (the sitemap, the static build)."""
    return list(view.items[kind])


def places(view: CatalogView) -> set[str]:
    """The slugs of every territory of published promises (the static build's pages)."""
    view.used.add("list:promise")
    return {row.territory_slug for row in view.query(select(items_c.territory_slug).where(items_c.kind == "promise", items_c.state == "published"))}


WORKLIST_SHOWN = 20  # per list of the newsroom's worklist; the rest are counted, and the list page has them


@dataclass
class Worklist:
    """What needs work in the newsroom: each list's first promises and how many there are in all."""

    overdue: list[Listed]  # deadline passed, not in a final status
    due_soon: list[Listed]  # deadline within DUE_SOON_DAYS
    stale: list[Listed]  # not in a final status, no history entry for `stale_days`
    unverified: list[Listed]  # a quote no longer found in its source
    counts: dict[str, int]


DUE_SOON_DAYS = 30


def worklist(view: CatalogView, today: date, stale_days: int) -> Worklist:
    """The promises the newsroom should look at, most urgent first in each list."""
    rows = listed_promises(view)
    final = view.final_statuses
    open_rows = [row for row in rows if row.status not in final]
    lists = {
        "overdue": sorted((row for row in open_rows if row.due is not None and row.due < today), key=lambda row: (row.due, row.id)),
        "due_soon": sorted(
            (row for row in open_rows if row.due is not None and today <= row.due <= today + timedelta(days=DUE_SOON_DAYS)),
            key=lambda row: (row.due, row.id),
        ),
        "stale": sorted(
            (row for row in open_rows if row.updated_on is not None and row.updated_on < today - timedelta(days=stale_days)),
            key=lambda row: (row.updated_on, row.id),
        ),
    }
    view.used.add("list:source")
    failing = {
        row.key
        for row in view.query(select(links_c.key).where(links_c.relation == "quotes", links_c.verified.is_(False), links_c.key.like("promise:%")).distinct())
    }
    lists["unverified"] = [row for row in rows if row.key in failing]
    return Worklist(**{name: found[:WORKLIST_SHOWN] for name, found in lists.items()}, counts={name: len(found) for name, found in lists.items()})


@dataclass(frozen=True)
class BrokenQuote:
    """A quote of a published promise or claim that its source no longer holds."""

    key: str  # "promise:<id>" or "claim:<id>"
    field: str  # where in the file ("history[1].evidence[0]", "claim", "evidence[2]")
    source: str
    quote: str


def broken_quotes(view: CatalogView, offset: int = 0, limit: int = 50) -> tuple[list[BrokenQuote], int]:
    """A page of the quotes no longer found in their source (a corrected document, an edit by hand),
    by item, and how many there are: the catalog verifies every quote again when a source's text changes."""
    view.used.add("list:source")
    failing = (links_c.relation == "quotes", links_c.verified.is_(False))
    total = view.scalar(select(func.count()).select_from(tables.links).where(*failing)) or 0
    rows = view.query(
        select(links_c.key, links_c.field, links_c.target, links_c.quote).where(*failing).order_by(links_c.key, links_c.field).offset(offset).limit(limit)
    )  # fmt: skip
    return [BrokenQuote(row.key, row.field, row.target, row.quote) for row in rows], total
