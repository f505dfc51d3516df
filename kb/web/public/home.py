"""The home page (the first trackers', people's and territories' scorecards), the territories, the sitemap and the site's assets."""

from __future__ import annotations

import functools
from datetime import date
from pathlib import Path

from flask import Response, abort, current_app, render_template, request, url_for

from kb.catalog import queries, tables
from kb.content.trackers import ordered, term
from kb.web.content_store import current_tree
from kb.web.list_request import as_of
from kb.web.public.charts import record_chart, report_cards
from kb.web.page_cache import cached_page
from kb.web.public import bp


# Rows of each table of the home page: the first trackers (open ones first, latest terms first), the
# people and territories with the most promises; then a link to them all. At a newsroom's size (sixty
# trackers, dozens of people and places) every row made the home page 200 KB, drawn again after each
# publication and sent to every visitor. The record as of a day asked (?au=) keeps every row: it is
# that day's whole record, which the lists of trackers and people do not give.
HOME_ROWS = 12


@bp.get("/")
@cached_page
def home():
    tree = current_tree()
    today = date.today()
    claims = queries.list_claims(tree, {}).claims
    trackers = ordered(tree.trackers.values())
    day, ignored_day = as_of(today)  # ?au=AAAA-MM-JJ: every scorecard as the histories stood that day
    standing = queries.standing_on(tree, day) if day else None
    first = queries.first_entry_day(tree)
    chart = record_chart(queries.record_over_time(tree, queries.chart_days(first, day or today)), tree.statuses) if first else None
    people = queries.groups(tree, "made_by", day or today, standing)
    territories = queries.groups(tree, "territory", day or today, standing)
    rows = None if day else HOME_ROWS
    return render_template(
        "public/home.html",
        chart=chart,
        card=queries.scorecard_on(tree, day) if day else queries.scorecard(tree, today),
        day=day,
        ignored_day=ignored_day,
        trackers=trackers[:rows],
        tracker_count=len(trackers),
        tracker_cards=queries.tracker_cards(tree, trackers[:rows], today, day),
        term=term,
        people=report_cards(people[:rows], tree.statuses),
        people_count=len(people),
        territories=territories[:rows],
        territory_count=len(territories),
        changes=queries.status_changes(tree, 10),
        statuses=tree.statuses,
        claims=claims[:5],
        claim_count=len(claims),
        verdicts=tree.verdicts,
    )




@bp.get("/territoires")
@cached_page
def territories():
    """Every territory with its scorecard, biggest first (the home page shows the first few)."""
    tree = current_tree()
    today = date.today()
    day, ignored_day = as_of(today)
    standing = queries.standing_on(tree, day) if day else None
    return render_template(
        "public/territories.html",
        territories=queries.groups(tree, "territory", day or today, standing),
        statuses=tree.statuses,
        day=day,
        ignored_day=ignored_day,
    )


def group_page(kind: str, name: str, promises: list, *where):
    """The page of a territory (or of an author written in words): its promises (`where` selects them) and scorecard."""
    tree = current_tree()
    today = date.today()
    filter_name = "territory" if kind == "territory" else "made_by"
    return render_template(
        "public/group.html",
        kind=kind,
        name=name,
        filter_name=filter_name,
        parties=sorted({p.party for p in promises if p.party}),
        card=queries.scorecard(tree, today, *where),
        promises=promises,
        statuses=tree.statuses,
        today=today,
        final_statuses=tree.final_statuses,
    )


@bp.get("/territoires/<name_slug>")
@cached_page
def territory(name_slug: str):
    """A territory's promises and scorecard."""
    where = tables.items.c.territory_slug == name_slug
    promises = queries.group_members(current_tree(), where)
    if not promises:
        abort(404)
    name = min(promises, key=lambda promise: promise.id).territory  # as the home page names the group
    return group_page("territory", name, promises, where)


ICONS = {"favicon.ico": "image/vnd.microsoft.icon", "favicon.svg": "image/svg+xml"}


@bp.get("/<any(favicon.ico, favicon.svg):name>")
def favicon(name: str):
    """The site's icon; browsers ask for /favicon.ico whatever the page says.

    Served from memory: a browser drops this request as soon as it leaves the page, and a file
    left open by the aborted response would be reported as leaked.
    """
    return Response(_icon(current_app.static_folder, name), mimetype=ICONS[name], headers={"Cache-Control": "public, max-age=86400"})


@functools.cache
def _icon(folder: str, name: str) -> bytes:
    return (Path(folder) / name).read_bytes()


@bp.get("/statuts.css")
@cached_page
def status_styles():
    """Badge colours from the status and verdict vocabularies, as a stylesheet (no inline styles: strict CSP)."""
    tree = current_tree()
    # The newsroom's accent colour (SITE_COLOR) too: the policy forbids inline styles.
    rules = [f":root {{ --accent: {current_app.extensions['kb.identity'].color}; }}"]
    rules += [f".status-{key} {{ background: {status.color}; }}" for key, status in tree.statuses.items()]
    rules += [f".verdict-{key} {{ background: {verdict.color}; }}" for key, verdict in tree.verdicts.items()]
    # Each value's sign before its label in a badge: told apart without its colour (colour blindness,
    # grey print). Not read aloud (the "/ ''" alternative text): the label says it already.
    signs = [(f"status-{key}", value.symbol) for key, value in tree.statuses.items()] + [(f"verdict-{key}", value.symbol) for key, value in tree.verdicts.items()]
    rules += [f".badge.{name}::before {{ content: {_css_string(symbol + ' ')} / \"\"; }}" for name, symbol in signs if symbol]
    # Widths of scorecard bar segments, as classes: the policy forbids style attributes.
    rules += [f".w-{percent} {{ width: {percent}%; }}" for percent in range(101)]
    return Response("\n".join(rules) + "\n", mimetype="text/css")


@bp.get("/sitemap.xml")
@cached_page
def sitemap():
    tree = current_tree()
    lists = ("public.home", "public.trackers", "public.people", "public.territories", "public.promises", "public.claims")
    urls = [url_for(endpoint, _external=True) for endpoint in lists]
    root = request.host_url.rstrip("/") + request.script_root
    urls += [root + kind.path_of(key) for kind in tree.kinds for key in sorted(tree.items[kind.name])]
    body = render_template("feeds/sitemap.xml", urls=urls)
    return Response(body, mimetype="application/xml")


def _css_string(text: str) -> str:
    """`text` as a CSS string: every character escaped by its code point (a sign from a content file)."""
    return '"' + "".join(f"\\{ord(ch):x} " for ch in text) + '"'
