"""Pages for citizens: no account needed."""

from __future__ import annotations

from datetime import date
from urllib.parse import urlencode

from flask import Blueprint, render_template, request

from .content_store import current_tree
from .search_request import run_search

bp = Blueprint("public", __name__)


@bp.get("/")
def home():
    tree = current_tree()
    promises = sorted(tree.promises.values(), key=lambda promise: (promise.updated_on, promise.id), reverse=True)
    counts = {key: 0 for key in tree.statuses}
    for promise in promises:
        counts[promise.status] = counts.get(promise.status, 0) + 1
    return render_template(
        "public/home.html",
        promises=promises,
        statuses=tree.statuses,
        counts=counts,
        today=date.today(),
        final_statuses=tree.final_statuses,
    )


FACET_LABELS = {
    "kind": "Type",
    "status": "Statut",
    "territory": "Territoire",
    "made_by": "Auteur de la promesse",
    "theme": "Thème",
}
KIND_LABELS = {"promise": "Promesse", "source": "Document source"}


@bp.get("/recherche")
def search():
    results = run_search()

    def url_with(**changes) -> str:
        """This search's URL with some arguments changed (None removes one); back to page 1."""
        args = {key: value for key, value in request.args.items() if value and key != "page"}
        for key, value in changes.items():
            if value is None:
                args.pop(key, None)
            else:
                args[key] = value
        return "/recherche" + ("?" + urlencode(args) if args else "")

    return render_template(
        "public/search.html",
        results=results,
        statuses=current_tree().statuses,
        facet_labels=FACET_LABELS,
        kind_labels=KIND_LABELS,
        url_with=url_with,
    )
