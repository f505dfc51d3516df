"""Reading a list request (filters, sort, page), shared by the list page, the API, feeds and CSV."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from flask import g, request

from kb.catalog import queries
from kb.web.content_store import current_tree
from kb.web.search_request import page_number
from kb.config.i18n import lazy_gettext
from kb.config.i18n import gettext as _

LIST_FILTER_LABELS = {
    "tracker": lazy_gettext("Suivi"),
    "status": lazy_gettext("Statut"),
    "overdue": lazy_gettext("En retard"),
    "territory": lazy_gettext("Territoire"),
    "made_by": lazy_gettext("Auteur"),
    "party": lazy_gettext("Parti"),
    "list": lazy_gettext("Liste"),
    "theme": lazy_gettext("Thème"),
}


def current_listing():
    """The published promises filtered and sorted as the request asks: a query of the catalog.

    Only the page's promises are read; the list's pages, feed and CSV are kept by the page cache.
    """
    tree = current_tree()
    filters = {name: request.args.get(name, "").strip() for name in LIST_FILTER_LABELS}
    return tree, queries.list_promises(tree, filters, request.args.get("tri", ""), date.today())


LIST_PAGE_SIZE = 50


def page_of(items: list, page_size: int) -> tuple[list, int, int]:
    """The request's page of `items` (a page past the end is the last one), its number, the count."""
    pages = max(1, -(-len(items) // page_size))
    page = min(page_number(request.args.get("page")), pages)
    return items[(page - 1) * page_size : page * page_size], page, pages


def url_with_args(path: str, dropped: set[str], **changes) -> str:
    """`path` with this request's arguments, less `dropped`, with `changes` (None removes one)."""
    pairs = dict(_encoded_args(frozenset(dropped)))
    for key, value in changes.items():
        if value is None:
            pairs.pop(key, None)
        else:
            pairs[key] = urlencode({key: value})
    return path + ("?" + "&".join(pairs.values()) if pairs else "")


def _encoded_args(dropped: frozenset[str]) -> dict[str, str]:
    """This request's arguments less `dropped`, each as its "name=value", encoded once per request:
    a list page links every value of every filter (170 links at 10,000 promises), each the request's
    arguments with one changed."""
    kept = g.setdefault("kb_encoded_args", {})
    # By the query too: a request made in another's app context (a test, a command) finds its g.
    found = kept.get((dropped, request.query_string))
    if found is None:
        found = kept[(dropped, request.query_string)] = {key: urlencode({key: value}) for key, value in request.args.items() if value and key not in dropped}
    return found


def as_of(today: date) -> tuple[date | None, str | None]:
    """The day `?au=AAAA-MM-JJ` asks the record of (None: today), and why the request's date was set aside, if it was."""
    raw = request.args.get("au", "").strip()
    if not raw:
        return None, None
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    try:
        if len(raw) != 10:
            raise ValueError
        day = date.fromisoformat(raw)
    except ValueError:
        return None, _("date « %(date)s » ignorée : attendu AAAA-MM-JJ, par exemple 2021-03-15", date=shown)
    if day > today:
        return None, _("date « %(date)s » ignorée : le bilan ne se calcule pas dans le futur", date=shown)
    return (None if day == today else day), None
