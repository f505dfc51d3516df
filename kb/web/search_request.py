"""Reading a search request's arguments, shared by the results page and the JSON API."""

from __future__ import annotations

from flask import current_app, request, url_for

from ..index import FACETS
from ..search import Hit, Results


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
    """Where a search result leads on this site."""
    if hit.kind == "promise":
        return url_for("public.promise", promise_id=hit.id)
    if hit.kind == "claim":
        return url_for("claims.claim", claim_id=hit.id)
    return url_for("public.source", source_id=hit.id)
