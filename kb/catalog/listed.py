"""What lists, counts and scorecards read of every published promise: a few columns, kept per process.

At 10,000 promises, reading these rows from the database takes longer than everything else a
list or the home page does (about 150 ms). A server process keeps them, and whoever follows the
catalog's change log (kb.web.follower) refreshes the rows of the items a change touched — before
the pages that showed them are dropped, so no page is drawn again from rows older than it.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, insort
from collections import Counter
from dataclasses import dataclass
from operator import attrgetter
from typing import Callable
from datetime import date

from sqlalchemy import Connection, Engine, select

from kb.catalog import tables, tallies
from kb.content import listing

items_c = tables.items.c
history_c = tables.history.c

# A promise's dated history entries in the file's order: (date, status) pairs.
History = tuple[tuple[date, str], ...]


@dataclass(frozen=True)
class Listed:
    """What lists, counts and scorecards read of a promise, from its catalog row: no item decoded."""

    id: str
    key: str
    title: str
    status: str | None
    made_by: tuple[str, ...]  # the authors' ids
    party: str | None
    list_name: str | None
    territory: str | None
    territory_slug: str | None
    theme: str | None
    tracker: str | None
    updated_on: date | None
    due: date | None

    def is_overdue(self, today: date, final_statuses: set[str]) -> bool:
        return self.due is not None and self.due < today and self.status not in final_statuses


LISTED_COLUMNS = (
    items_c.item_id, items_c.key, items_c.title, items_c.status, items_c.made_by, items_c.party,
    items_c.list_name, items_c.territory, items_c.territory_slug, items_c.theme, items_c.tracker, items_c.sort_date,
    items_c.due,
)  # fmt: skip
PUBLISHED_PROMISES = (items_c.kind == "promise", items_c.state == "published")


def read_histories(connection: Connection, keys: list[str] | None = None) -> dict[str, History]:
    """The dated history entries of the published promises (or of `keys`), in each file's order."""
    wanted = keys if keys is not None else select(items_c.key).where(*PUBLISHED_PROMISES)
    statement = (
        select(history_c.key, history_c.date, history_c.status)
        .where(history_c.key.in_(wanted), history_c.date.is_not(None))
        .order_by(history_c.key, history_c.position)
    )  # fmt: skip
    found: dict[str, list[tuple[date, str]]] = {}
    for key, day, status in connection.execute(statement):
        found.setdefault(key, []).append((day, status))
    return {key: tuple(entries) for key, entries in found.items()}


def read_listed(connection: Connection, *where) -> list[Listed]:
    """The published promises (matching `where`) as lists read them, by id (as Python orders them, whatever the database's collation)."""
    statement = select(*LISTED_COLUMNS).where(*PUBLISHED_PROMISES, *where)
    rows = (Listed(*row[:4], listing.authors_of(row[4]), *row[5:]) for row in connection.execute(statement))
    return sorted(rows, key=lambda row: row.id)


# Arrangements are moved row by row for up to this many changed promises; beyond (a git pull), made anew.
REARRANGED_UP_TO = 64
# A kind's summaries are kept while it has at most this many published items (people, the
# newsroom's pages, trackers): promises and sources are read when asked.
SUMMARIES_KEPT_UP_TO = 1000


class ListedCache:
    """Every published promise's Listed row, read once, then refreshed key by key as the change log says."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._lock = threading.Lock()
        self._by_key: dict[str, Listed] | None = None
        self._rows: list[Listed] | None = None
        # Their dated history entries (the record over time, a closed tracker's final record, ?au=):
        # reading every entry of 10,000 promises was 0.3 s of each drawing of the home page.
        self._histories: dict[str, History] | None = None
        # The record over time of every published promise, by its days (the home page's chart), kept
        # and updated by the changed promises' part at each refresh: counted anew it was 30 ms a drawing.
        self._on_days: dict[tuple[date, ...], list[Counter]] = {}
        # The rows' arrangements by (sort, day, final statuses), for the rows object they were made of.
        self._arranged_for: list[Listed] | None = None
        self._arranged: dict[tuple, tuple] = {}
        # The earliest entry's day (the home page's chart begins there), for the histories it was found in.
        self._first_day_of: dict[str, History] | None = None
        self._first_day: date | None = None
        # The scorecards by group (kb.catalog.tallies) by (grouping, day, final statuses), for the rows
        # object they count, moved row by row at each refresh: the home page's scorecards.
        self._tallied_for: list[Listed] | None = None
        self._tallies: dict[tuple, tallies.Tally] = {}
        # Closed trackers' final records by (tracker, its record's day, vocabulary): counted from every
        # history entry of their promises (7 ms of each drawing of the home page at 10,000), they
        # change only when one of those promises does.
        self._records: dict[tuple, object] = {}
        self._records_changes = 0  # a count begun before a change keeps nothing
        # Small kinds' summaries (CatalogView.summaries), until a change names an item of the kind:
        # every page's footer lists the newsroom's pages, a list names its promises' authors and its
        # filters' trackers: three queries of each drawing of a list, a fifth of its time on PostgreSQL.
        # A lock of their own: a refresh holds the rows' one while it reads the database.
        self._summaries: dict[str, list] = {}
        self._summaries_lock = threading.Lock()
        self._summaries_changes = 0  # a read begun before a change keeps nothing

    def summaries(self, kind: str, read: Callable[[], list]) -> list:
        """The kind's summaries, as `read` gives them: kept while the kind is small, until a change names one of its items."""
        with self._summaries_lock:
            found, changes = self._summaries.get(kind), self._summaries_changes
        if found is None:
            found = read()
            if len(found) <= SUMMARIES_KEPT_UP_TO:
                with self._summaries_lock:
                    if self._summaries_changes == changes:
                        self._summaries[kind] = found
        return list(found)  # callers may sort or change their list

    def _forget_summaries(self, kinds=None) -> None:
        """Forget the summaries of `kinds` (None: of every kind); a read begun before keeps nothing."""
        with self._summaries_lock:
            self._summaries_changes += 1
            for kind in list(self._summaries) if kinds is None else kinds:
                self._summaries.pop(kind, None)

    def rows(self) -> list[Listed]:
        """Every published promise, by id (the same list until a change: callers must not modify it)."""
        rows = self._rows
        if rows is None:
            # Read under the lock a refresh takes too: a refresh never lands before a full read older than it.
            with self._lock:
                if self._rows is None:
                    with self.engine.connect() as connection:
                        self._by_key = {row.key: row for row in read_listed(connection)}
                    self._rows = list(self._by_key.values())
                rows = self._rows
        return rows

    def by_key(self) -> dict[str, Listed]:
        """Every published promise's row by key (the same dict until a change: do not modify)."""
        while True:  # a clear between the read and the look: read again
            self.rows()
            by_key = self._by_key
            if by_key is not None:
                return by_key

    def histories(self) -> dict[str, History]:
        """Every published promise's dated history entries by key (the same dict until a change: do not modify)."""
        histories = self._histories
        if histories is None:
            with self._lock:
                if self._histories is None:
                    with self.engine.connect() as connection:
                        self._histories = read_histories(connection)
                histories = self._histories
        return histories

    def first_day(self) -> date | None:
        """The date of the earliest dated history entry of the published promises (None: none), kept until a change."""
        histories = self.histories()
        with self._lock:
            if self._first_day_of is histories:
                return self._first_day
        first = min((when for history in histories.values() for when, _status in history), default=None)
        with self._lock:
            self._first_day_of, self._first_day = histories, first
        return first

    def counts_on_days(self, days: tuple[date, ...]) -> list[Counter]:
        """How many published promises stood in each status on each of `days` (sorted): see count_on_days."""
        with self._lock:
            kept = self._on_days.get(days) if self._histories is not None else None
            if kept is not None:
                self._on_days[days] = self._on_days.pop(days)  # the most recently asked last: ?au= days go first
        if kept is not None:
            return kept
        histories = self.histories()
        counted = count_on_days(histories, list(histories), days)
        with self._lock:
            if self._histories is histories:  # no refresh meanwhile: what was counted is current
                self._on_days[days] = counted
                while len(self._on_days) > 4:  # a new day, a new first entry: older days are not asked again
                    self._on_days.pop(next(iter(self._on_days)))
        return counted

    def arranged(self, rows: list[Listed], sort: str, today: date, final_statuses: set[str]) -> tuple[list[Listed], dict[str, list]]:
        """`rows` (as `rows()` gave them) as `listing.arranged` orders them, with their filters' columns;
        kept until the rows change: every list of one sort filters the same arrangement (sorting and
        reading 10,000 rows' columns was most of drawing a list at 10,000 promises)."""
        sort = sort if sort in listing.SORTS else "maj"  # any other ?tri= is that one: never a new entry
        key = (sort, today, frozenset(final_statuses))
        with self._lock:
            kept = self._arranged.get(key) if self._arranged_for is rows else None
        if kept is None:
            kept = listing.arranged(rows, sort, today, final_statuses)
            with self._lock:
                if self._arranged_for is not rows:
                    self._arranged_for, self._arranged = rows, {}
                self._arranged[key] = kept
        return kept

    def tally(self, grouping: str, today: date, final_statuses: set[str]) -> tallies.Tally:
        """Every published promise counted by `grouping` (kb.catalog.tallies) on `today`, kept until the rows change, moved by a refresh."""
        rows = self.rows()
        key = (grouping, today, frozenset(final_statuses))
        with self._lock:
            kept = self._tallies.get(key) if self._tallied_for is rows else None
        if kept is None:
            kept = tallies.tally(rows, grouping, today, final_statuses)
            with self._lock:
                if rows is self._rows:  # no refresh meanwhile: what was counted is current
                    if self._tallied_for is not rows:
                        self._tallied_for, self._tallies = rows, {}
                    self._tallies[key] = kept
                    while len(self._tallies) > 2 * len(tallies.GROUPINGS):  # a new day: the older ones are not asked again
                        self._tallies.pop(next(iter(self._tallies)))
        return kept

    def final_records(self, ends: dict[str, date], vocabulary: tuple, count: Callable[[dict[str, date]], dict]) -> dict:
        """Closed trackers' final records (tracker id → its record's day), as `count` gives those not kept;
        kept until a change touches one of the tracker's promises or the vocabulary changes."""
        with self._lock:
            found = {tracker: self._records[tracker, day, vocabulary] for tracker, day in ends.items() if (tracker, day, vocabulary) in self._records}
            changes = self._records_changes
        missing = {tracker: day for tracker, day in ends.items() if tracker not in found}
        if missing:
            counted = count(missing)
            with self._lock:
                if self._records_changes == changes:
                    if len(self._records) > 256:  # records of a vocabulary no longer used
                        self._records = {}
                    self._records.update(((tracker, missing[tracker], vocabulary), card) for tracker, card in counted.items())
            found.update(counted)
        return found

    def refresh(self, connection: Connection, keys: list[str]) -> None:
        """Read again the rows of `keys` (published or not any more); nothing to do before the first read."""
        self._forget_summaries({key.partition(":")[0] for key in keys})
        promise_keys = list(dict.fromkeys(key for key in keys if key.startswith("promise:")))  # each once: counts are updated by difference
        if not promise_keys:
            return
        with self._lock:
            if self._by_key is None and self._histories is None:
                return
            fresh = {}
            for start in range(0, len(promise_keys), 500):
                fresh.update((row.key, row) for row in read_listed(connection, items_c.key.in_(promise_keys[start : start + 500])))
            self._records_changes += 1
            if self._records:  # the records of the trackers the changed promises were or are in
                touched = {row.tracker for row in fresh.values()} | {self._by_key[key].tracker for key in promise_keys if key in (self._by_key or {})}
                self._records = {key: card for key, card in self._records.items() if key[0] not in touched} if self._by_key is not None else {}
            if self._by_key is not None:
                before, rows_before = self._by_key, self._rows
                self._by_key = _replaced(self._by_key, promise_keys, fresh)
                few = self._rows is not None and len(promise_keys) <= REARRANGED_UP_TO
                removed = [before[key] for key in promise_keys if key in before] if few else []
                added = [fresh[key] for key in promise_keys if key in fresh] if few else []
                if few:
                    self._rows = _moved(self._rows, removed, added)
                else:
                    self._rows = sorted(self._by_key.values(), key=lambda row: row.id)
                if few and self._arranged_for is rows_before:
                    # The arrangements kept moved row by row (listing.rearranged), not made anew at the next list.
                    self._arranged = {
                        (sort, today, final): listing.rearranged(kept, removed, added, sort, today, set(final))
                        for (sort, today, final), kept in self._arranged.items()
                    }  # fmt: skip
                    self._arranged_for = self._rows
                if few and self._tallied_for is rows_before:  # the tallies too (kb.catalog.tallies.moved)
                    self._tallies = {
                        (grouping, today, final): tallies.moved(kept, removed, added, grouping, today, set(final), self._rows)
                        for (grouping, today, final), kept in self._tallies.items()
                    }  # fmt: skip
                    self._tallied_for = self._rows
            if self._histories is not None:
                published = [key for key in promise_keys if key in fresh]  # a withdrawn promise's entries are gone
                entries = {}
                for start in range(0, len(published), 500):
                    entries.update(read_histories(connection, published[start : start + 500]))
                before, self._histories = self._histories, _replaced(self._histories, promise_keys, entries)
                for days, counts in list(self._on_days.items()):
                    gone, came = count_on_days(before, promise_keys, days), count_on_days(self._histories, promise_keys, days)
                    self._on_days[days] = [_plus(_plus(kept, old, -1), new, 1) for kept, old, new in zip(counts, gone, came)]

    def clear(self) -> None:
        """Forget every row (a change of everything, a log started anew): read again at the next use."""
        self._forget_summaries()
        with self._lock:
            self._by_key = None
            self._rows = None
            self._histories = None
            self._on_days = {}
            self._tallies, self._tallied_for = {}, None
            self._records, self._records_changes = {}, self._records_changes + 1


def _moved(rows: list[Listed], removed: list[Listed], added: list[Listed]) -> list[Listed]:
    """`rows` (by id) less `removed`, plus `added`, still by id: a new list, found by binary search
    (sorting 10,000 rows again was 4 ms of every worker's share of each publication)."""
    rows = list(rows)
    by_id = attrgetter("id")
    for row in removed:
        at = bisect_left(rows, row.id, key=by_id)
        if at < len(rows) and rows[at] is row:
            del rows[at]
    for row in added:
        insort(rows, row, key=by_id)
    return rows


def _replaced(kept: dict, keys: list[str], fresh: dict) -> dict:
    """A copy of `kept` with `keys` dropped then `fresh` added: readers holding the old dict keep a whole one."""
    copy = dict(kept)
    for key in keys:
        copy.pop(key, None)
    copy.update(fresh)
    return copy


def standing(history: History, day: date) -> str | None:
    """The status of the last entry (in the file's order) dated `day` or before; None: not made yet."""
    found = None
    for when, status in history:
        if when <= day:
            found = status
    return found


def count_on_days(histories: dict[str, History], keys, days: tuple[date, ...]) -> list[Counter]:
    """Per day of `days` (sorted), how many of `keys` stood in each status.

    An entry stands from the first day on or after its date until the first day on or after the next
    entry's: each promise adds its few entries to a running count (a difference per day), rather than
    walking its history once per day (0.3 s at 10,000 promises and a dozen days; now ~20 ms).
    """
    deltas: list[Counter] = [Counter() for _ in range(len(days) + 1)]
    for key in keys:
        history = histories.get(key)
        if not history:
            continue
        dates = [when for when, _status in history]
        if all(earlier <= later for earlier, later in zip(dates, dates[1:])):
            starts = [bisect_left(days, when) for when in dates]
            for index, (start, (_when, status)) in enumerate(zip(starts, history)):
                end = starts[index + 1] if index + 1 < len(starts) else len(days)
                if start < end:
                    deltas[start][status] += 1
                    deltas[end][status] -= 1
        else:  # entries out of date order (written so by hand): the last one dated by each day stands
            for index, day in enumerate(days):
                status = standing(history, day)
                if status is not None:
                    deltas[index][status] += 1
                    deltas[index + 1][status] -= 1
    counts, running = [], Counter()
    for delta in deltas[: len(days)]:
        running.update(delta)
        counts.append(Counter({status: count for status, count in running.items() if count}))
    return counts


def _plus(kept: Counter, part: Counter, sign: int) -> Counter:
    """A new Counter: `kept` with `part` added (sign 1) or taken away (-1), zeros dropped."""
    total = Counter(kept)
    for status, count in part.items():
        total[status] += sign * count
    return Counter({status: count for status, count in total.items() if count})
