"""A promise's page, the list of promises with its filters, its CSV export and the status feeds."""

from __future__ import annotations

from datetime import date

from flask import Response, abort, current_app, render_template, request, url_for

from kb.catalog import queries, tables
from kb.content.listing import SORTS
from kb.content.opendata import promise_article, promises_csv, status_label
from kb.content.registry import Key
from kb.content.render import markdown_to_html
from kb.web.content_store import current_tree, find_promise
from kb.web.database import change_record
from kb.web.list_request import LIST_FILTER_LABELS, LIST_PAGE_SIZE, current_listing, page_of, url_with_args
from kb.web.page_cache import cached_page
from kb.web.pages import renders
from kb.web.public import bp, citation_anchor
from kb.web.public.charts import timeline
from kb.web.public.people import author_names
from kb.config.i18n import gettext as _


@bp.get("/promesses/<promise_id>")
@cached_page
def promise(promise_id: str):
    tree, found, moved = find_promise(promise_id, "public.promise")
    if found is None:
        return moved or abort(404)
    return render_promise_page(tree, found)


@renders("promise")
def render_promise_page(tree, found, preview_of=None) -> str:
    """A promise's page; also the newsroom's preview of a proposed version (`preview_of` the request)."""

    def verified(proof) -> bool:
        """Whether a quote really occurs in its source (else no link to a passage that is not there)."""
        return tree.quote_verified(proof.source, proof.quote)

    people = [(author, tree.people.get(author)) for author in found.made_by]
    authors = [(person.name, "Person" if person.kind == "person" else "Organization") if person else (author, "Person") for author, person in people]
    article = promise_article(found, tree.statuses, request.base_url, current_app.config["SITE_NAME"], authors)
    return render_template(
        "public/promise.html",
        promise=found,
        line=timeline(found, tree.statuses, date.today()),
        statuses=tree.statuses,
        # Only their titles are shown: a source's whole text is not decoded for it.
        sources=tree.titles("source", (proof.source for entry in found.history for proof in entry.evidence)),
        today=date.today(),
        final_statuses=tree.final_statuses,
        related=tree.related(found),
        tracker=tree.titles("tracker", [found.tracker] if found.tracker else []).get(found.tracker),
        carried_from=_carried_from(tree, found),
        carried_to=tree.carried_over_to(found.id),
        claims=tree.claims_about(found.id),
        verdicts=tree.verdicts,
        structured_data=article,
        analysis=markdown_to_html(found.body),
        anchor=citation_anchor,
        verified=verified,
        changes=change_record(str(Key("promise", found.id))),
        preview_of=preview_of,
    )


def _carried_from(tree, found):
    """The promise of an earlier term this one carries over (by its current id if it was renamed), if published."""
    earlier = found.carried_over_from
    if not earlier:
        return None
    earlier = tree.alias_target(earlier) or earlier
    return tree.titles("promise", [earlier]).get(earlier)


@bp.get("/promesses")
@cached_page
def promises():
    tree, listing = current_listing()
    shown, page, pages = page_of(listing.promises, LIST_PAGE_SIZE)

    def url_with(**changes) -> str:
        changes.setdefault("page", None)  # a new filter or sort starts again at page 1
        return url_with_args("/promesses", set(listing.ignored), **changes)

    return render_template(
        "public/promises.html",
        listing=listing,
        page_promises=shown,
        page=page,
        pages=pages,
        statuses=tree.statuses,
        labels=LIST_FILTER_LABELS,
        tracker_titles=tracker_titles(tree, listing),
        sorts=SORTS,
        today=date.today(),
        final_statuses=tree.final_statuses,
        url_with=url_with,
    )


def tracker_titles(tree, listing) -> dict[str, str]:
    """The titles of the trackers a list's filters name or count, by id (filters show titles, not ids)."""
    ids = {*listing.counts.get("tracker", {}), *([listing.filters["tracker"]] if "tracker" in listing.filters else []), *listing.ignored.values()}
    # Every tracker's summary, kept by a server process (trackers are few), rather than a query per list.
    return {found.id: found.title for found in tree.summaries("tracker") if found.id in ids}


@bp.get("/export/promises.csv")
@cached_page
def promises_csv_export():
    """Every published promise (or those matching the list's filters), one row each."""
    tree, listing = current_listing()
    body = promises_csv(
        listing.promises,
        tree.statuses,
        date.today(),
        tree.final_statuses,
        lambda promise: url_for("public.promise", promise_id=promise.id, _external=True),
        author_names,
    )
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="promesses.csv"', "Access-Control-Allow-Origin": "*"},
    )


FEED_SIZE = 50


def status_feed(title: str, where: list | None, page_url: str):
    """The feed of the status changes of the promises `where` selects (None: every published one)."""
    tree = current_tree()
    changes = queries.status_changes(tree, FEED_SIZE, where)
    updated = changes[0].entry.date.isoformat() if changes else date.today().isoformat()
    xml = render_template(
        "feeds/atom.xml",
        title=title,
        feed_url=request.url,
        page_url=page_url,
        updated=f"{updated}T00:00:00Z",
        changes=changes,
        label=lambda key: status_label(tree.statuses, key),
    )
    return Response(xml, mimetype="application/atom+xml")


@bp.get("/flux.atom")
@cached_page
def feed():
    """Status changes of every promise, or of those matching the list's filters (?made_by=…)."""
    if not any(request.args.get(name, "").strip() for name in LIST_FILTER_LABELS):
        # Every promise: the process's rows say which are published, no list to filter and count.
        return status_feed(_("Promesses : changements de statut"), None, url_for("public.promises", _external=True))
    _tree, listing = current_listing()
    who = " · ".join(listing.filters.values())
    title = _("Promesses — %(who)s : changements de statut", who=who) if who else _("Promesses : changements de statut")
    return status_feed(title, listing.promises.where, url_for("public.promises", _external=True, **listing.filters))


@bp.get("/promesses/<promise_id>.atom")
@cached_page
def promise_feed(promise_id: str):
    _tree, found, moved = find_promise(promise_id, "public.promise_feed")
    if found is None:
        return moved or abort(404)
    page_url = url_for("public.promise", promise_id=found.id, _external=True)
    return status_feed(_("%(title)s : changements de statut", title=found.title), [tables.items.c.key == f"promise:{found.id}"], page_url)
