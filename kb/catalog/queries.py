"""Lists, counts, scorecards and feeds as queries over the catalog, not loops over every promise.

The same answers as kb.content.listing gives over a tree in memory (tests compare the two): filters
combine, each filter's counts ignore its own filter, unknown values are reported as ignored.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date

from sqlalchemy import and_, case, func, literal, select

from kb.catalog import tables
from kb.catalog.listed import Listed, read_listed
from kb.catalog.reader import CatalogView
from kb.content import listing
from kb.content.listing import CLAIM_FILTERS, Change, ClaimListing, Listing, Scorecard

items_c = tables.items.c
history_c = tables.history.c


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


def _promise_column(name: str, today: date, final: set[str]):
    if name == "overdue":
        return _overdue(today, final)
    return items_c.list_name if name == "list" else items_c[name]


def _filtered(view: CatalogView, kind: str, names: tuple[str, ...], column_of, filters: dict[str, str]):
    """(conditions kept, counts per name and value, filters applied, filters ignored) — as listing._filtered."""
    view.used.add(f"list:{kind}")
    base = [items_c.kind == kind, items_c.state == "published"]
    wanted = {name: value for name, value in filters.items() if name in names and value}
    ignored = {}
    for name, value in wanted.items():
        if not view.scalar(select(func.count()).select_from(tables.items).where(*base, column_of(name) == value)):
            ignored[name] = value
    wanted = {name: value for name, value in wanted.items() if name not in ignored}
    counts: dict[str, dict[str, int]] = {}
    for name in names:
        others = [column_of(other) == value for other, value in wanted.items() if other != name]
        column = column_of(name)
        rows = view.query(
            select(column.label("value"), func.count().label("count"))
            .select_from(tables.items)
            .where(*base, *others, column.is_not(None), column != "")
            .group_by(column)
        )
        counts[name] = dict(sorted(((row.value, row.count) for row in rows), key=lambda item: (-item[1], item[0])))
    return base + [column_of(name) == value for name, value in wanted.items()], counts, wanted, ignored


def list_promises(view: CatalogView, filters: dict[str, str], sort: str, today: date) -> Listing:
    """Filter, count and sort published promises, as kb.content.listing does, over the catalog's columns."""
    rows = listed_promises(view)
    prepared = view.listed.arranged(rows, sort, today, view.final_statuses) if view.listed is not None else None
    listed = listing.list_promises(rows, filters, sort, today, view.final_statuses, prepared)
    keys = [row.key for row in listed.promises]
    where = [items_c.kind == "promise", items_c.state == "published"]
    where += [_promise_column(name, today, view.final_statuses) == value for name, value in listed.filters.items()]
    return Listing(promises=LazyItems(view, keys, where), counts=listed.counts, filters=listed.filters, sort=listed.sort, ignored=listed.ignored)


CLAIM_COLUMNS = {"verdict": "verdict", "claimed_by": "made_by", "territory": "territory", "theme": "theme"}


def list_claims(view: CatalogView, filters: dict[str, str]) -> ClaimListing:
    """Filter and count published claims; latest verdict first."""
    where, counts, wanted, ignored = _filtered(view, "claim", CLAIM_FILTERS, lambda name: items_c[CLAIM_COLUMNS[name]], filters)
    keys = [row.key for row in view.query(select(items_c.key).where(*where).order_by(items_c.sort_date.desc(), items_c.item_id.desc()))]
    return ClaimListing(claims=LazyItems(view, keys, where), counts=counts, filters=wanted, ignored=ignored)


def scorecard(view: CatalogView, today: date, *where) -> Scorecard:
    """The scorecard of the published promises matching `where`, statuses in the vocabulary's order."""
    return listing.scorecard(listed_promises(view, *where), list(view.statuses), today, view.final_statuses)


def final_record(view: CatalogView, tracker_id: str, end: date) -> Scorecard:
    """A closed tracker's record as of `end`, as kb.content.listing.final_record counts it, from the
    catalog's history entries (the status of each promise's last entry dated `end` or before)."""
    rows = listed_promises(view, items_c.tracker == tracker_id)
    keys = [row.key for row in rows]
    standing: dict[str, tuple[int, str]] = {}
    for start in range(0, len(keys), 500):
        found = view.query(
            select(history_c.key, history_c.position, history_c.status)
            .where(history_c.key.in_(keys[start : start + 500]), history_c.date <= end)
        )  # fmt: skip
        for row in found:
            if row.key not in standing or row.position > standing[row.key][0]:
                standing[row.key] = (row.position, row.status)
    pairs = [(standing[row.key][1] if row.key in standing else None, row.due) for row in rows]
    return listing.record(pairs, list(view.statuses), end, view.final_statuses)


def tracker_cards(view: CatalogView, trackers: list, today: date) -> dict[str, Scorecard]:
    """Each tracker's scorecard by id: its final record when closed, else how its promises stand today."""
    rows = listed_promises(view)
    by_tracker: dict[str, list] = {}
    for row in rows:
        by_tracker.setdefault(row.tracker, []).append(row)
    statuses = list(view.statuses)
    cards = {}
    for tracker in trackers:
        if tracker.closed and tracker.term_end:
            cards[tracker.id] = final_record(view, tracker.id, tracker.term_end)
        else:
            cards[tracker.id] = listing.scorecard(by_tracker.get(tracker.id, []), statuses, today, view.final_statuses)
    return cards


def groups(view: CatalogView, attribute: str, today: date) -> list[dict]:
    """One scorecard per value of `attribute` (made_by, territory), grouped by slug, biggest first.

    Counted over columns, not promise by promise (the home page draws two of these after every
    publication): a group is named as its first promise by id writes it.
    """
    rows = listed_promises(view)  # by id
    final = view.final_statuses
    slugs = [getattr(row, f"{attribute}_slug") for row in rows]
    names: dict[str, str] = {}
    for slug, row in zip(slugs, rows):
        if slug not in names:
            names[slug] = getattr(row, attribute)
    totals = Counter(slugs)
    by_status = Counter(zip(slugs, (row.status for row in rows)))
    late = Counter(slug for slug, row in zip(slugs, rows) if row.is_overdue(today, final))
    statuses = list(view.statuses)
    found: dict[str, dict[str, int]] = {}
    for (slug, status), count in by_status.items():
        found.setdefault(slug, {})[status] = count
    result = []
    for slug, total in totals.items():
        counted = found[slug]
        order = [key for key in statuses if counted.get(key)] + sorted(key for key in counted if key not in statuses)
        card = Scorecard(total=total, counts={key: counted[key] for key in order}, overdue=late[slug])
        result.append({"name": names[slug], "slug": slug, "card": card})
    return sorted(result, key=lambda row: (-row["card"].total, row["name"]))


FEW_PROMISES = 500  # status_changes: up to this many promises, their history is asked by key
HISTORY_BATCH = 200  # status_changes: else, entries read from the latest end this many at a time


def status_changes(view: CatalogView, limit: int | None, keys_where=None) -> list[Change]:
    """The latest status changes of the published promises (those matching `keys_where`), newest first.

    Of two entries of the same day, the one whose promise was published (or edited) last comes first.
    """
    view.used.add("list:promise")
    if keys_where is None:
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


def group_members(view: CatalogView, attribute: str, wanted_slug: str) -> list:
    """The published promises whose `attribute` has this slug, latest first."""
    view.used.add("list:promise")
    keys = [
        row.key for row in view.query(
            select(items_c.key).where(items_c.kind == "promise", items_c.state == "published", items_c[f"{attribute}_slug"] == wanted_slug)
            .order_by(items_c.sort_date.desc(), items_c.item_id.desc())
        )
    ]  # fmt: skip
    return list(LazyItems(view, keys))


def ids(view: CatalogView, kind: str) -> list[str]:
    """The ids of a kind's published items, sorted (the sitemap, the static build)."""
    return list(view.items[kind])


def people_and_places(view: CatalogView) -> tuple[set[str], set[str]]:
    """The slugs of every author and territory of published promises (the static build's pages)."""
    view.used.add("list:promise")
    rows = view.query(select(items_c.made_by_slug, items_c.territory_slug).where(items_c.kind == "promise", items_c.state == "published"))
    return {row.made_by_slug for row in rows}, {row.territory_slug for row in rows}

