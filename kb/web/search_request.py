"""Reading a search request's arguments, shared by the results page and the JSON API."""

from __future__ import annotations

from flask import current_app, request

from kb.search.index import FACETS
from kb.search.query import Hit, Results


def page_number(value: str | None) -> int:
    """A page number from the URL; anything that is not a positive number means page 1."""
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


def run_search() -> Results:
    """Search with the request's q, facet filters and page."""
    filters = {name: request.args.get(name, "").strip() for name in FACETS}
    return current_app.extensions["kb.search"].search(
        request.args.get("q", ""), filters, page_number(request.args.get("page"))
    )


def hit_url(hit: Hit) -> str:
    """Where a search result leads on this site: its kind's public address."""
    return request.script_root + current_app.extensions["kb.kinds"][hit.kind].path_of(hit.id)
