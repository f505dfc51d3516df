"""Pages for citizens: no account needed."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, render_template

from .content_store import current_tree

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
