"""Filtering and sorting published promises and claims, with a count for every filter value.

Shared by the list pages, the JSON API, the feeds and the CSV exports, so that they always
agree. Filters combine (AND across fields); each field's counts ignore that field's own
filter, so its other values stay choosable.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Callable, TypeVar

from kb.content.model import Claim, HistoryEntry, Promise
from kb.content.quotes import fold

FILTERS = ("status", "made_by", "party", "list", "territory", "theme", "overdue")
CLAIM_FILTERS = ("verdict", "claimed_by", "territory", "theme")
Item = TypeVar("Item")
SORTS = {
    "maj": "dernière mise à jour",
    "echeance": "échéance",
    "titre": "titre",
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


def _filtered(items: list[Item], filters: dict[str, str], names: tuple[str, ...], value_of: Callable[[Item, str], str | None]):
    """(kept items, counts per name and value, filters applied, filters ignored as matching nothing)."""
    wanted = {name: value for name, value in filters.items() if name in names and value}
    known = {name: {value_of(item, name) for item in items} for name in wanted}
    ignored = {name: value for name, value in wanted.items() if value not in known[name]}
    wanted = {name: value for name, value in wanted.items() if name not in ignored}
    kept: list[Item] = []
    counts: dict[str, Counter] = {name: Counter() for name in names}
    for item in items:
        values = {name: value_of(item, name) for name in names}
        failed = [name for name, value in wanted.items() if values[name] != value]
        if not failed:
            kept.append(item)
        for name in names:
            if not failed or failed == [name]:
                if values[name]:
                    counts[name][values[name]] += 1
    ordered = {name: dict(sorted(counter.items(), key=lambda item: (-item[1], item[0]))) for name, counter in counts.items()}
    return kept, ordered, wanted, ignored


def list_claims(claims: list[Claim], filters: dict[str, str]) -> ClaimListing:
    """Filter and count claims; latest verdict first."""
    kept, counts, wanted, ignored = _filtered(claims, filters, CLAIM_FILTERS, getattr)
    kept.sort(key=lambda claim: (claim.reviewed_on, claim.id), reverse=True)
    return ClaimListing(claims=kept, counts=counts, filters=wanted, ignored=ignored)


def _value(promise: Promise, name: str, today: date, final: set[str]) -> str | None:
    if name == "overdue":
        return "oui" if promise.is_overdue(today, final) else "non"
    if name == "list":
        return promise.list_name
    return getattr(promise, name)


def list_promises(
    promises: list[Promise], filters: dict[str, str], sort: str, today: date, final_statuses: set[str]
) -> Listing:
    """Filter, count and sort promises; unknown filter names are dropped, unknown values reported."""
    kept, counts, wanted, ignored = _filtered(
        promises, filters, FILTERS, lambda promise, name: _value(promise, name, today, final_statuses)
    )
    sort = sort if sort in SORTS else "maj"
    if sort == "titre":
        kept.sort(key=lambda promise: promise.title.casefold())
    elif sort == "echeance":
        kept.sort(key=lambda promise: (promise.due is None, promise.due or date.max, promise.title.casefold()))
    else:
        kept.sort(key=lambda promise: (promise.updated_on, promise.id), reverse=True)
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
        """Percentage of promises in `status`, rounded."""
        return round(100 * self.counts.get(status, 0) / self.total) if self.total else 0


def scorecard(promises: list[Promise], statuses: list[str], today: date, final_statuses: set[str]) -> Scorecard:
    """The scorecard of `promises`, statuses ordered as the vocabulary lists them."""
    counted = Counter(promise.status for promise in promises)
    order = [key for key in statuses if counted[key]] + sorted(key for key in counted if key not in statuses)
    return Scorecard(
        total=len(promises),
        counts={key: counted[key] for key in order},
        overdue=sum(promise.is_overdue(today, final_statuses) for promise in promises),
    )


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


def status_changes(promises) -> list[Change]:
    """Every status change of these promises, newest first."""
    changes = [
        Change(promise, entry, promise.history[position - 1].status if position else None, position)
        for promise in promises
        for position, entry in enumerate(promise.history)
    ]
    changes.sort(key=lambda change: (change.entry.date, change.promise.id, change.position), reverse=True)
    return changes
