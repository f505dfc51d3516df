"""Filtering and sorting published promises and claims, with a count for every filter value.

Shared by the list pages, the JSON API, the feeds and the CSV exports, so that they always
agree. Filters combine (AND across fields); each field's counts ignore that field's own
filter, so its other values stay choosable.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import Counter, OrderedDict
from itertools import chain, compress
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from kb.content.model import Claim, HistoryEntry, Promise
from kb.content.quotes import fold
from kb.config.i18n import lazy_gettext

FILTERS = ("tracker", "status", "made_by", "party", "list", "territory", "theme", "overdue")
CLAIM_FILTERS = ("verdict", "claimed_by", "territory", "theme")
Item = TypeVar("Item")
SORTS = {
    "maj": lazy_gettext("dernière mise à jour"),
    "echeance": lazy_gettext("échéance"),
    "titre": lazy_gettext("titre"),
}


@dataclass
class Listing:
    """Promises that pass the filters, in order, and the counts that go with them."""

    promises: list[Promise]
    counts: dict[str, dict[str, int]]
    filters: dict[str, str]
    sort: str
    ignored: dict[str, str]  # filters whose value matches nothing known


@dataclass
class ClaimListing:
    """Claims that pass the filters, latest verdict first, and the counts that go with them."""

    claims: list[Claim]
    counts: dict[str, dict[str, int]]
    filters: dict[str, str]
    ignored: dict[str, str]


def _filtered(items: list[Item], filters: dict[str, str], columns: dict[str, list], kept_columns: bool = False):
    """(kept items, counts per name and value, filters applied, filters ignored as matching nothing).

    `columns` holds, for each filter name, every item's value in the items' order: the counting
    is done column by column (Counter, itertools.compress), not item by item, since a list of
    10,000 promises is filtered and counted at each drawing of a list page. `kept_columns`: the
    columns are kept from one list to the next (kb.catalog.listed), and so are their whole counts.
    """
    whole = _whole_counts if kept_columns else (lambda name, column: _counted(_values(name, column)))
    wanted = {name: value for name, value in filters.items() if name in columns and value}
    ignored = {name: value for name, value in wanted.items() if value not in whole(name, columns[name])}
    wanted = {name: value for name, value in wanted.items() if name not in ignored}
    matching = {
        name: [wanted[name] in value for value in columns[name]] if name in MULTIPLE else [value == wanted[name] for value in columns[name]]
        for name in wanted
    }  # fmt: skip

    def passing(left_out: str | None = None) -> list[bool] | None:
        """Which items every wanted filter but `left_out` keeps (None: all of them)."""
        masks = [mask for name, mask in matching.items() if name != left_out]
        if not masks:
            return None
        return masks[0] if len(masks) == 1 else [all(flags) for flags in zip(*masks)]

    kept_mask = passing()
    kept = list(items) if kept_mask is None else list(compress(items, kept_mask))
    ordered = {}
    for name, column in columns.items():
        # A field's counts ignore its own filter, so that its other values stay choosable.
        mask = passing(name) if name in wanted else kept_mask
        ordered[name] = dict(whole(name, column)) if mask is None else _counted(_values(name, compress(column, mask)))
    return kept, ordered, wanted, ignored


def _counted(values) -> dict[str, int]:
    """How many times each value is there (empty ones left out), most first."""
    return dict(sorted(Counter(filter(None, values)).items(), key=lambda item: (-item[1], item[0])))


# The counts of whole columns (a list without filters, a filter's own field), by column. The
# columns are kept by kb.catalog.listed until the next change, and every list page drawn after a
# publication counted them again: 10,000 values each, eight columns. A column is kept here with
# its counts, so that its id names no other list while it is; read only, as _filtered reads them.
_WHOLE_COUNTS: OrderedDict[int, tuple[list, dict[str, int]]] = OrderedDict()
WHOLE_COUNTS_KEPT = 32  # eight columns for each of the three sorts, and some of the arrangement before
_WHOLE_COUNTS_LOCK = threading.Lock()


def _whole_counts(name: str, column: list) -> dict[str, int]:
    with _WHOLE_COUNTS_LOCK:
        found = _WHOLE_COUNTS.get(id(column))
        if found is not None and found[0] is column:
            _WHOLE_COUNTS.move_to_end(id(column))
            return found[1]
    counts = _counted(_values(name, column))
    with _WHOLE_COUNTS_LOCK:
        _WHOLE_COUNTS[id(column)] = (column, counts)
        while len(_WHOLE_COUNTS) > WHOLE_COUNTS_KEPT:
            _WHOLE_COUNTS.popitem(last=False)
    return counts


# Filters whose column holds several values per item (a joint promise's authors): a filter keeps
# the items that have its value among theirs, and each value is counted once per item.
MULTIPLE = {"made_by", "claimed_by"}


def _values(name: str, column):
    """A column's values one by one (a multiple column's tuples flattened)."""
    return chain.from_iterable(column) if name in MULTIPLE else column


def authors_of(value) -> tuple[str, ...]:
    """Authors as a tuple, from a list (an item) or the facet value that joins them ("a\nb")."""
    if isinstance(value, str):
        return tuple(value.split("\n")) if value else ()
    return tuple(value or ())


def list_claims(claims: list[Claim], filters: dict[str, str]) -> ClaimListing:
    """Filter and count claims; latest verdict first."""
    columns = {name: [authors_of(claim.claimed_by) if name in MULTIPLE else getattr(claim, name) for claim in claims] for name in CLAIM_FILTERS}
    kept, counts, wanted, ignored = _filtered(claims, filters, columns)
    kept.sort(key=lambda claim: (claim.reviewed_on, claim.id), reverse=True)
    return ClaimListing(claims=kept, counts=counts, filters=wanted, ignored=ignored)


def _columns(promises: list[Promise], today: date, final: set[str]) -> dict[str, list]:
    """Each filter's value for every promise, in FILTERS' order ("list" is list_name; "overdue" is oui/non)."""
    attributes = {"tracker": "tracker", "status": "status", "made_by": "made_by", "party": "party", "list": "list_name", "territory": "territory", "theme": "theme"}
    columns = {name: [getattr(promise, attributes[name]) for promise in promises] for name in FILTERS if name in attributes}
    columns["made_by"] = [authors_of(value) for value in columns["made_by"]]
    columns["overdue"] = ["oui" if promise.is_overdue(today, final) else "non" for promise in promises]
    return {name: columns[name] for name in FILTERS}


def _sort_key(sort: str):
    """(key, reversed) of the order a list sorted by `sort` shows (unknown: by latest change)."""
    if sort == "titre":
        return (lambda promise: promise.title.casefold()), False
    if sort == "echeance":
        return (lambda promise: (promise.due is None, promise.due or date.max, promise.title.casefold())), False
    return (lambda promise: (promise.updated_on, promise.id)), True


def sorted_promises(promises: list[Promise], sort: str) -> list[Promise]:
    """`promises` in the order a list sorted by `sort` shows them (unknown: by latest change)."""
    key, backwards = _sort_key(sort)
    return sorted(promises, key=key, reverse=backwards)


def arranged(promises: list[Promise], sort: str, today: date, final_statuses: set[str]) -> tuple[list[Promise], dict[str, list]]:
    """The promises in `sort`'s order and each filter's column in that order: what every list of
    that sort filters and counts (kb.catalog.listed keeps it until the next change)."""
    ordered = sorted_promises(promises, sort if sort in SORTS else "maj")
    return ordered, _columns(ordered, today, final_statuses)


def rearranged(
    prepared: tuple[list[Promise], dict[str, list]], removed: list[Promise], added: list[Promise],
    sort: str, today: date, final_statuses: set[str],
) -> tuple[list[Promise], dict[str, list]]:
    """`arranged` for the promises of `prepared` less `removed`, plus `added`, moved row by row.

    `prepared` must arrange promises given in id order (as kb.catalog.listed keeps them): sorts are
    stable, so promises of equal sort keys stand in id order, and (key, id) places each one. A
    publication changes one promise of 10,000: arranging all of them again, in every worker, was a
    fifth of what a publication cost the machine. New lists: readers of `prepared` keep theirs whole.
    """
    key, backwards = _sort_key(sort if sort in SORTS else "maj")
    ordered, columns = list(prepared[0]), {name: list(column) for name, column in prepared[1].items()}

    def place(promise) -> int:
        # The first position whose promise comes after `promise` (or is it): a binary search on (key, id).
        wanted, low, high = (key(promise), promise.id), 0, len(ordered)
        while low < high:
            middle = (low + high) // 2
            found = (key(ordered[middle]), ordered[middle].id)
            if (found > wanted) if backwards else (found < wanted):
                low = middle + 1
            else:
                high = middle
        return low

    for promise in removed:
        at = place(promise)
        if at < len(ordered) and ordered[at].id == promise.id:
            del ordered[at]
            for column in columns.values():
                del column[at]
    for promise in added:
        at = place(promise)
        ordered.insert(at, promise)
        for name, values in _columns([promise], today, final_statuses).items():
            columns[name].insert(at, values[0])
    return ordered, columns


def list_promises(
    promises: list[Promise], filters: dict[str, str], sort: str, today: date, final_statuses: set[str],
    prepared: tuple[list[Promise], dict[str, list]] | None = None,
) -> Listing:
    """Filter, count and sort promises; unknown filter names are dropped, unknown values reported.

    `prepared`: `arranged(promises, sort, today, final_statuses)`, when the caller keeps it. Sorting
    everything before filtering gives the order sorting what is kept would (the sorts are stable).
    """
    sort = sort if sort in SORTS else "maj"
    ordered, columns = prepared if prepared is not None else arranged(promises, sort, today, final_statuses)
    kept, counts, wanted, ignored = _filtered(ordered, filters, columns, kept_columns=prepared is not None)
    return Listing(
        promises=kept,
        counts=counts,
        filters=wanted,
        sort=sort,
        ignored=ignored,
    )


@dataclass
class Scorecard:
    """How a set of promises fares: counts and shares per status, and how many are late."""

    total: int
    counts: dict[str, int]  # in the vocabulary's order, statuses with no promise left out
    overdue: int

    def share(self, status: str) -> int:
        """Percentage of promises in `status`, whole numbers that add up to 100 (a bar's segments fill it)."""
        return self.shares().get(status, 0)

    def shares(self) -> dict[str, int]:
        """Each status's whole percentage, by largest remainder: rounding each alone left 99 % (a grey stub
        at the end of the bar) or 101 %."""
        if not self.total:
            return {}
        exact = {key: 100 * count / self.total for key, count in self.counts.items()}
        floors = {key: int(value) for key, value in exact.items()}
        left = 100 - sum(floors.values())
        for key in sorted(exact, key=lambda key: (floors[key] - exact[key], list(exact).index(key)))[:left]:
            floors[key] += 1
        return floors


def scorecard(promises: list[Promise], statuses: list[str], today: date, final_statuses: set[str]) -> Scorecard:
    """The scorecard of `promises`, statuses ordered as the vocabulary lists them."""
    return record([(promise.status, promise.due) for promise in promises], statuses, today, final_statuses)


def record(standing: list[tuple[str | None, date | None]], statuses: list[str], day: date, final_statuses: set[str]) -> Scorecard:
    """The scorecard of promises standing as (status, deadline) on `day`; those with no status yet are not counted."""
    standing = [(status, due) for status, due in standing if status is not None]
    counted = Counter(status for status, _due in standing)
    order = [key for key in statuses if counted[key]] + sorted(key for key in counted if key not in statuses)
    return Scorecard(
        total=len(standing),
        counts={key: counted[key] for key in order},
        overdue=sum(due is not None and due < day and status not in final_statuses for status, due in standing),
    )


def final_record(promises: list[Promise], statuses: list[str], end: date, final_statuses: set[str]) -> Scorecard:
    """A closed term's record: each promise as its history stood on `end` (later entries do not count;
    promises with no entry by then are not counted), late if its deadline had passed by then."""
    return record([(promise.status_on(end), promise.due) for promise in promises], statuses, end, final_statuses)


def slug(text: str) -> str:
    """A URL-safe name: "Marcq-en-Barœul et La Madeleine" → "marcq-en-baroeul-et-la-madeleine".

    A name with no Latin letter or digit ("Δήμαρχος", "---") gets a short hash, never "".
    """
    words = re.findall(r"[a-z0-9]+", fold(text))
    return "-".join(words) if words else "n-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:10]


@dataclass
class Change:
    """One history entry seen as a change of status (or a confirmation of the same one)."""

    promise: Promise
    entry: HistoryEntry
    before: str | None
    position: int


def status_changes(promises, published_order: dict[str, int] | None = None) -> list[Change]:
    """Every status change of these promises, newest first.

    Entries of the same day: the promise published last first, when `published_order` (promise id →
    a number that grows with each publication, the catalog's revision) says it, else by id.
    """
    order = published_order or {}
    changes = [
        Change(promise, entry, promise.history[position - 1].status if position else None, position)
        for promise in promises
        for position, entry in enumerate(promise.history)
    ]
    changes.sort(key=lambda change: (change.entry.date, order.get(change.promise.id, 0), change.promise.id, change.position), reverse=True)
    return changes
