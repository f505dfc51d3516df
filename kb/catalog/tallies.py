"""Scorecards by group over the published promises' rows, counted once and then moved by the rows a change touched.

After every publication the home page draws the whole record's scorecard, one per author, one per
territory and one per open tracker: counted over 10,000 rows, that was more than half of its drawing.
A server process keeps these tallies (kb.catalog.listed.ListedCache) and moves them by the changed
rows' part, as it does the chart's counts by day; a page asking for another day or a subset counts
its rows here the same way.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from operator import attrgetter
from typing import TYPE_CHECKING, Iterable

from kb.content.listing import Scorecard

if TYPE_CHECKING:  # kb.catalog.listed keeps the tallies: its rows' type only
    from kb.catalog.listed import Listed

# What a row is counted under, by grouping: the whole record (one group, None), each of its authors
# (as written: a person's id, or a name in words), its territory (by slug), its tracker.
GROUPINGS = ("all", "made_by", "territory", "tracker")
_GROUP_OF = {"all": lambda row: None, "territory": attrgetter("territory_slug"), "tracker": attrgetter("tracker")}
_NAME_OF = {"all": lambda row: None, "territory": attrgetter("territory"), "tracker": attrgetter("tracker")}


@dataclass(frozen=True)
class Tally:
    """One grouping's counts: never changed once made (a refresh makes a new one; readers keep theirs whole)."""

    totals: Counter  # group → promises
    by_status: dict[object, Counter]  # group → status → promises
    late: Counter  # group → promises past their deadline and not in a final status
    # group → (id, position among its authors, name): a group is named as its first promise by id writes it.
    first: dict[object, tuple[str, int, str | None]]


def _groups_of(row: Listed, grouping: str) -> list[tuple[object, str | None]]:
    """The (group, name) pairs `row` is counted under, in its own order."""
    if grouping == "made_by":
        return [(author, author) for author in row.made_by]
    return [(_GROUP_OF[grouping](row), _NAME_OF[grouping](row))]


def tally(rows: list[Listed], grouping: str, today: date, final_statuses: set[str]) -> Tally:
    """`rows` (by id) counted by `grouping` on `today`: by C code over the columns where it can (no Python call per row)."""
    late_rows = [row for row in rows if row.is_overdue(today, final_statuses)]  # the few, found once for every count
    if grouping == "made_by":
        totals = Counter(author for row in rows for author in row.made_by)
        pairs = Counter((author, row.status) for row in rows for author in row.made_by)
        late = Counter(author for row in late_rows for author in row.made_by)
    else:
        group_of = _GROUP_OF[grouping]
        totals = Counter(map(group_of, rows))
        pairs = Counter(zip(map(group_of, rows), map(attrgetter("status"), rows)))
        late = Counter(map(group_of, late_rows))
    by_status: dict[object, Counter] = {}
    for (group, status), count in pairs.items():
        by_status.setdefault(group, Counter())[status] = count
    return Tally(totals, by_status, late, _firsts(rows, grouping, set(totals)))


def _firsts(rows: list[Listed], grouping: str, wanted: set) -> dict:
    """Each of the `wanted` groups' first (id, position, name) in `rows` (by id): looked for until every one has it."""
    found: dict = {}
    if not wanted:
        return found
    for row in rows:
        for position, (group, name) in enumerate(_groups_of(row, grouping)):
            if group in wanted and group not in found:
                found[group] = (row.id, position, name)
        if len(found) == len(wanted):
            break
    return found


def moved(kept: Tally, removed: Iterable[Listed], added: Iterable[Listed], grouping: str, today: date, final_statuses: set[str], rows: list[Listed]) -> Tally:
    """`kept` less the `removed` rows' part plus the `added` rows' part, as `tally` would count `rows` (the rows now, by id)."""
    totals, late, first = Counter(kept.totals), Counter(kept.late), dict(kept.first)
    by_status = dict(kept.by_status)
    copied: set = set()  # the groups whose status counts are this tally's own copies
    unnamed: set = set()  # the groups whose first promise went: looked for again among the rows
    for sign, changed in ((-1, removed), (1, added)):
        for row in changed:
            overdue = row.is_overdue(today, final_statuses)
            for position, (group, name) in enumerate(_groups_of(row, grouping)):
                totals[group] += sign
                if group not in copied:
                    by_status[group] = Counter(by_status.get(group, ()))
                    copied.add(group)
                by_status[group][row.status] += sign
                if overdue:
                    late[group] += sign
                here = (row.id, position)
                if sign < 0 and group in first and first[group][:2] == here:
                    unnamed.add(group)
                elif sign > 0 and group not in unnamed and (group not in first or here < first[group][:2]):
                    first[group] = (row.id, position, name)
    totals, late = +totals, +late  # groups and counts down to nothing are dropped
    for group in copied:
        if group in totals:
            by_status[group] = +by_status[group]
        else:
            by_status.pop(group, None)
    first = {group: named for group, named in first.items() if group in totals and group not in unnamed}
    first.update(_firsts(rows, grouping, unnamed & set(totals)))
    return Tally(totals, by_status, late, first)


def scorecard(counted: Tally, group, statuses: list[str]) -> Scorecard:
    """The scorecard of one group of a tally (a group with no promise: all zeros), statuses in the vocabulary's order."""
    by_status = counted.by_status.get(group, {})
    order = [key for key in statuses if by_status.get(key)] + sorted(key for key in by_status if key not in statuses)
    return Scorecard(total=counted.totals.get(group, 0), counts={key: by_status[key] for key in order}, overdue=counted.late.get(group, 0))


def merged(counted: Tally, key_of: dict) -> Tally:
    """`counted` with its groups put together under `key_of[group]` (authors written two ways, one person's slug);
    a merged group's first is the first of its groups'."""
    totals, late, by_status, first = Counter(), Counter(), {}, {}
    for group, total in counted.totals.items():
        key = key_of[group]
        totals[key] += total
        late[key] += counted.late.get(group, 0)
        by_status.setdefault(key, Counter()).update(counted.by_status[group])
        if key not in first or counted.first[group] < first[key]:
            first[key] = counted.first[group]
    return Tally(totals, by_status, +late, first)
