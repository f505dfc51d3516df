"""The search page: results, facets and suggestions for anyone's query."""

from __future__ import annotations

from flask import render_template

from kb.web.content_store import current_tree
from kb.web.list_request import url_with_args
from kb.web.public import bp
from kb.web.search_request import hit_url, run_search

FACET_LABELS = {
    "kind": "Type",
    "status": "Statut",
    "verdict": "Verdict",
    "territory": "Territoire",
    "made_by": "Auteur ou éditeur",
    "theme": "Thème",
}


@bp.get("/recherche")
def search():
    results = run_search()
    tree = current_tree()

    def url_with(**changes) -> str:
        return url_with_args("/recherche", {"page"}, **changes)  # a new filter: back to page 1

    return render_template(
        "public/search.html",
        results=results,
        statuses=tree.statuses,
        verdicts=tree.verdicts,
        facet_labels=FACET_LABELS,
        kind_labels={kind.name: kind.label for kind in tree.kinds},
        url_with=url_with,
        hit_url=hit_url,
    )
