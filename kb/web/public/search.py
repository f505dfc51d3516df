"""The search page: results, facets and suggestions for anyone's query."""

from __future__ import annotations

import threading
from collections import OrderedDict

from flask import current_app, render_template, request

from kb.web.content_store import current_tree
from kb.web.list_request import url_with_args
from kb.web.public import bp
from kb.web.search_request import hit_url, run_search
from kb.config.i18n import gettext as _, language, lazy_gettext

FACET_LABELS = {
    "kind": lazy_gettext("Type"),
    "tracker": lazy_gettext("Suivi"),
    "status": lazy_gettext("Statut"),
    "verdict": lazy_gettext("Verdict"),
    "territory": lazy_gettext("Territoire"),
    "made_by": lazy_gettext("Auteur ou éditeur"),
    "theme": lazy_gettext("Thème"),
}

# Search pages an app keeps drawn (each about 25 KB), with the results and vocabularies they show.
DRAWN_PAGES = 256


class _DrawnPages:
    """A search page is drawn again only when its results are other results.

    Results are kept for as long as the index holds them (kb.search.kept_results hands back the
    same object); drawing the page — a hundred facet links — cost five times the search itself,
    at every request for it.
    """

    def __init__(self, limit: int):
        self.limit = limit
        self._pages: OrderedDict[tuple, tuple] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, made_of: tuple) -> str | None:
        with self._lock:
            found = self._pages.get(key)
            if found is None or any(kept is not now for kept, now in zip(found[0], made_of, strict=True)):
                return None
            self._pages.move_to_end(key)
            return found[1]

    def put(self, key: tuple, made_of: tuple, page: str) -> None:
        with self._lock:
            self._pages[key] = (made_of, page)
            self._pages.move_to_end(key)
            while len(self._pages) > self.limit:
                self._pages.popitem(last=False)


@bp.get("/recherche")
def search():
    results = run_search()
    tree = current_tree()
    key, made_of = (request.host_url, request.full_path, language()), (results, tree.statuses, tree.verdicts)
    drawn = current_app.extensions.setdefault("kb.search_pages", _DrawnPages(DRAWN_PAGES))
    page = drawn.get(key, made_of)
    if page is not None:
        return page

    def url_with(**changes) -> str:
        return url_with_args("/recherche", {"page"}, **changes)  # a new filter: back to page 1

    page = render_template(
        "public/search.html",
        results=results,
        statuses=tree.statuses,
        verdicts=tree.verdicts,
        facet_labels=FACET_LABELS,
        tracker_titles={item_id: found.title for item_id, found in tree.titles("tracker", results.facets.get("tracker", {})).items()},
        kind_labels={kind.name: _(kind.label) for kind in tree.kinds},
        url_with=url_with,
        hit_url=hit_url,
    )
    drawn.put(key, made_of, page)
    return page
