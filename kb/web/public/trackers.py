"""Trackers: every term a newsroom follows (`/suivis`), and one tracker's record, list and feed."""

from __future__ import annotations

from datetime import date

from flask import abort, render_template, request, url_for

from kb.catalog import queries, tables
from kb.content.listing import SORTS, Listing
from kb.content.render import markdown_to_html
from kb.content.trackers import ordered, term
from kb.web.content_store import current_tree
from kb.web.list_request import LIST_FILTER_LABELS, LIST_PAGE_SIZE, as_of, page_of, url_with_args
from kb.web.public.charts import record_chart, report_cards
from kb.web.page_cache import cached_page
from kb.web.pages import item_page, renders
from kb.web.public import bp
from kb.web.public.promises import status_feed
from kb.config.i18n import gettext as _

# A tracker's page filters its own promises: every list filter but the tracker.
TRACKER_FILTER_LABELS = {name: label for name, label in LIST_FILTER_LABELS.items() if name != "tracker"}


@bp.get("/suivis")
@cached_page
def trackers():
    tree = current_tree()
    today = date.today()
    found = ordered(tree.trackers.values())
    return render_template(
        "public/trackers.html", trackers=found, cards=queries.tracker_cards(tree, found, today), statuses=tree.statuses, term=term
    )


@bp.get("/suivis/<tracker_id>")
@cached_page
def tracker(tracker_id: str):
    return item_page("tracker", tracker_id)


@renders("tracker")
def render_tracker_page(tree, found, preview_of=None) -> str:
    """A tracker's record (final when closed), its promises with filters, its methodology; also the
    newsroom's preview of a proposed version (`preview_of` the request)."""
    today = date.today()
    filters = {name: request.args.get(name, "").strip() for name in TRACKER_FILTER_LABELS}
    listing = queries.list_promises(tree, {**filters, "tracker": found.id}, request.args.get("tri", ""), today)
    if listing.filters.get("tracker") != found.id:  # no promise names it yet: its list is empty, not everyone's
        listing = Listing(promises=[], counts={}, filters={}, sort=listing.sort, ignored={})
    shown, page, pages = page_of(listing.promises, LIST_PAGE_SIZE)
    ignored = {name: value for name, value in listing.ignored.items() if name != "tracker"}

    def url_with(**changes) -> str:
        changes.setdefault("page", None)  # a new filter or sort starts again at page 1
        return url_with_args(url_for("public.tracker", tracker_id=found.id), set(ignored), **changes)

    day, ignored_day = as_of(today)  # ?au=AAAA-MM-JJ: the record as the histories stood that day
    if day and found.record_day(today):  # a closed term's record stops at its end, as on the home page
        day = min(day, found.record_day(today))
    where = tables.items.c.tracker == found.id
    card = queries.scorecard_on(tree, day, where) if day else queries.scorecard(tree, today, where)
    final = queries.final_record(tree, found, today)
    until = day or found.record_day(today) or today
    series = queries.record_over_time(tree, queries.chart_days(min(found.term_start, until), until), where)
    # Each person's report card counts the promises as the record shown: on the day asked, at a closed term's end, or now.
    rows = queries.listed_promises(tree, where)
    people_day = day or found.record_day(today)
    people = queries.groups(tree, "made_by", people_day or today, queries.standing_on(tree, people_day, rows) if people_day else rows)
    return render_template(
        "public/tracker.html",
        chart=record_chart(series, tree.statuses),
        people=report_cards(people, tree.statuses),
        day=day,
        ignored_day=ignored_day,
        tracker=found,
        term=term(found),
        card=card,
        final=final,
        listing=listing,
        filters={name: value for name, value in listing.filters.items() if name != "tracker"},
        ignored=ignored,
        page_promises=shown,
        page=page,
        pages=pages,
        labels=TRACKER_FILTER_LABELS,
        sorts=SORTS,
        statuses=tree.statuses,
        today=today,
        final_statuses=tree.final_statuses,
        methodology=markdown_to_html(found.body),
        url_with=url_with,
        preview_of=preview_of,
    )


@bp.get("/suivis/<tracker_id>.atom")
@cached_page
def tracker_feed(tracker_id: str):
    """The status changes of a tracker's promises."""
    found = current_tree().trackers.get(tracker_id)
    if found is None:
        abort(404)
    page_url = url_for("public.tracker", tracker_id=found.id, _external=True)
    return status_feed(_("%(title)s : changements de statut", title=found.title), [tables.items.c.tracker == found.id], page_url)
