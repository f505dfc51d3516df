"""The read API: open data as JSON, for anyone (CORS open)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, jsonify, request, url_for

from kb.catalog import queries, tables
from kb.config.i18n import gettext as _
from kb.content.opendata import claim_data, person_data, promise_data, source_data, tracker_data
from kb.content.trackers import ordered
from kb.web.content_store import current_tree, find_promise
from kb.web.list_request import as_of, current_listing, page_of
from kb.web.page_cache import cached_page
from kb.web.public.claims import CLAIM_FILTER_LABELS
from kb.web.public.people import author_data
from kb.web.search_request import hit_url, page_number, run_search

bp = Blueprint("api", __name__, url_prefix="/api")

DEFAULT_PER_PAGE = 100
MAX_PER_PAGE = 1000


@bp.after_request
def open_to_every_origin(response):
    # Published content is public: any site may read it from a browser.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@bp.get("/search")
def search():
    return jsonify(run_search().as_json(hit_url))


@bp.get("/promises")
@cached_page
def promises():
    tree, listing = current_listing()
    today = date.today()
    return _page_json(
        "promises",
        listing.promises,
        listing,
        lambda promise: promise_data(promise, tree.statuses, today, tree.final_statuses, _promise_url(promise.id), author_data(promise.made_by)),
    )


@bp.get("/promises/<promise_id>")
@cached_page
def promise(promise_id: str):
    tree, found, moved = find_promise(promise_id, "api.promise")
    if found is None:
        return moved or _not_found(_("aucune promesse « %(id)s »", id=promise_id))
    return jsonify(promise_data(found, tree.statuses, date.today(), tree.final_statuses, _promise_url(found.id), author_data(found.made_by)))


@bp.get("/sources/<source_id>")
@cached_page
def source(source_id: str):
    tree = current_tree()
    found = tree.sources.get(source_id)
    if found is None:
        return _not_found(_("aucune source « %(id)s »", id=source_id))
    cited_by = sorted(promise.id for promise in tree.promises_citing(source_id))
    claims = sorted(claim.id for claim in tree.claims_citing(source_id))
    url = url_for("public.source", source_id=found.id, _external=True)
    return jsonify(source_data(found, url, cited_by, claims))


@bp.get("/claims")
@cached_page
def claims():
    """Published claims and their verdicts, latest first; filters verdict, claimed_by, territory, theme."""
    tree = current_tree()
    filters = {name: request.args.get(name, "").strip() for name in CLAIM_FILTER_LABELS}
    listing = queries.list_claims(tree, filters)
    return _page_json("claims", listing.claims, listing, lambda claim: claim_data(claim, tree.verdicts, _claim_url(claim.id), author_data(claim.claimed_by)))


@bp.get("/claims/<claim_id>")
@cached_page
def claim(claim_id: str):
    tree = current_tree()
    found = tree.claims.get(claim_id)
    if found is None:
        return _not_found(_("aucune affirmation « %(id)s »", id=claim_id))
    return jsonify(claim_data(found, tree.verdicts, _claim_url(found.id), author_data(found.claimed_by)))


@bp.get("/people")
@cached_page
def people():
    """Every person and institution, with the scorecard of their promises."""
    tree = current_tree()
    cards = {row["slug"]: row["card"] for row in queries.groups(tree, "made_by", date.today())}
    everyone = sorted(tree.people.values(), key=lambda person: person.id)
    return jsonify({"people": [person_data(person, _person_url(person.id), cards.get(person.id), tree.statuses) for person in everyone]})


@bp.get("/people/<person_id>")
@cached_page
def person(person_id: str):
    """A person or an institution, the scorecard and ids of their promises, their fact-checked claims' ids."""
    tree = current_tree()
    found = tree.people.get(person_id)
    if found is None:
        return _not_found(_("aucune fiche « %(id)s »", id=person_id))
    today = date.today()
    card = queries.scorecard(tree, today, queries.by_author(found.id))
    data = person_data(found, _person_url(found.id), card, tree.statuses, [row.id for row in queries.listed_promises(tree, queries.by_author(found.id))])
    data["claims"] = [claim.id for claim in queries.claims_by(tree, found.id)]
    return jsonify(data)


@bp.get("/scorecard")
@cached_page
def scorecard():
    """A scorecard as it stood on a day (`au`, default today), for a tracker and/or an author if asked:
    {"au", "total", "counts": {status: n}, "overdue"} — each promise counted with the status its history
    gave it that day, those not made yet left out."""
    tree = current_tree()
    today = date.today()
    day, problem = as_of(today)
    if problem:
        return jsonify({"error": "bad_request", "message": problem}), 400
    where = []
    tracker_id, author = request.args.get("tracker", "").strip(), request.args.get("made_by", "").strip()
    if tracker_id:
        if tracker_id not in tree.trackers:
            return _not_found(_("aucun suivi « %(id)s »", id=tracker_id))
        where.append(tables.items.c.tracker == tracker_id)
    if author:
        if not tree.has_file("person", author) and author not in queries.authors_written(tree):
            return _not_found(_("aucune fiche « %(id)s »", id=author))
        where.append(queries.by_author(author))
    card = queries.scorecard_on(tree, day or today, *where)
    return jsonify({"au": (day or today).isoformat(), "total": card.total, "counts": dict(card.counts), "overdue": card.overdue})


@bp.get("/trackers")
@cached_page
def trackers():
    """Every tracker with its scorecard (a closed one's is its final record)."""
    tree = current_tree()
    found = ordered(tree.trackers.values())
    cards = queries.tracker_cards(tree, found, date.today())
    return jsonify({"trackers": [tracker_data(tracker, cards[tracker.id], tree.statuses, _tracker_url(tracker.id)) for tracker in found]})


@bp.get("/trackers/<tracker_id>")
@cached_page
def tracker(tracker_id: str):
    """A tracker, its scorecard today and, when closed, its final record; its promises' ids."""
    tree = current_tree()
    found = tree.trackers.get(tracker_id)
    if found is None:
        return _not_found(_("aucun suivi « %(id)s »", id=tracker_id))
    today = date.today()
    card = queries.scorecard(tree, today, tables.items.c.tracker == found.id)
    final = queries.final_record(tree, found, today)
    data = tracker_data(found, card, tree.statuses, _tracker_url(found.id), final)
    data["promises"] = [row.id for row in queries.listed_promises(tree, tables.items.c.tracker == found.id)]
    return jsonify(data)


def _page_json(name: str, items: list, listing, as_data):
    """One page of a filtered list, with its filters and counts (promises and claims alike)."""
    per_page = min(MAX_PER_PAGE, max(1, page_number(request.args.get("per_page", str(DEFAULT_PER_PAGE)))))
    shown, page, pages = page_of(items, per_page)
    return jsonify(
        {
            "total": len(items),
            "page": page,
            "pages": pages,
            "per_page": per_page,
            "filters": listing.filters,
            "ignored_filters": listing.ignored,
            "counts": listing.counts,
            name: [as_data(item) for item in shown],
        }
    )


def _claim_url(claim_id: str) -> str:
    return url_for("public.claim", claim_id=claim_id, _external=True)


def _person_url(person_id: str) -> str:
    return url_for("public.person", person_id=person_id, _external=True)


def _tracker_url(tracker_id: str) -> str:
    return url_for("public.tracker", tracker_id=tracker_id, _external=True)


def _promise_url(promise_id: str) -> str:
    return url_for("public.promise", promise_id=promise_id, _external=True)


def _not_found(message: str):
    return jsonify({"error": "not_found", "message": message}), 404
