"""Reading a list request (filters, sort, page), shared by the list page, the API, feeds and CSV."""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import date
from urllib.parse import urlencode

from flask import current_app, request

from kb.content.listing import list_promises
from kb.web.content_store import content_version, current_tree
from kb.web.search_request import page_number

LIST_FILTER_LABELS = {
    "status": "Statut",
    "overdue": "En retard",
    "territory": "Territoire",
    "made_by": "Auteur",
    "party": "Parti",
    "list": "Liste",
    "theme": "Thème",
}


_LISTINGS_LOCK = threading.Lock()


def current_listing():
    """The published promises filtered and sorted as the request asks.

    Kept per state of the content, day, filters and sort: the pages of one list (and its
    feed and CSV) filter 10,000 promises once, not once per page.
    """
    tree = current_tree()
    filters = {name: request.args.get(name, "").strip() for name in LIST_FILTER_LABELS}
    sort = request.args.get("tri", "")
    today = date.today()
    key = (content_version(), today, tuple(sorted(filters.items())), sort)
    listings: OrderedDict = current_app.extensions.setdefault("kb.listings", OrderedDict())
    with _LISTINGS_LOCK:
        listing = listings.get(key)
    if listing is None:
        listing = list_promises(list(tree.promises.values()), filters, sort, today, tree.final_statuses)
        with _LISTINGS_LOCK:
            listings[key] = listing
            while len(listings) > 256:
                listings.popitem(last=False)
    return tree, listing


LIST_PAGE_SIZE = 50


def page_of(items: list, page_size: int) -> tuple[list, int, int]:
    """The request's page of `items` (a page past the end is the last one), its number, the count."""
    pages = max(1, -(-len(items) // page_size))
    page = min(page_number(request.args.get("page")), pages)
    return items[(page - 1) * page_size : page * page_size], page, pages


def url_with_args(path: str, dropped: set[str], **changes) -> str:
    """`path` with this request's arguments, less `dropped`, with `changes` (None removes one)."""
    args = {key: value for key, value in request.args.items() if value and key not in dropped}
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return path + ("?" + urlencode(args) if args else "")
