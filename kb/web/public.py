"""Pages for citizens: no account needed."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for

from kb.content.listing import SORTS, list_claims, scorecard, slug, status_changes
from kb.content.opendata import promise_review, promises_csv, status_label
from kb.content.quotes import FoldedText
from kb.content.render import highlighted_text, markdown_to_html

from kb.web.claims import claim_anchor
from kb.web.content_store import current_tree, find_promise
from kb.web.database import change_record
from kb.web.page_cache import cached_page
from kb.web.pages import renders
from kb.web.list_request import LIST_FILTER_LABELS, LIST_PAGE_SIZE, current_listing, page_of, url_with_args
from kb.web.search_request import hit_url, run_search

bp = Blueprint("public", __name__)


def _groups(promises, attribute: str, statuses, today, final) -> list[dict]:
    """One scorecard per value of `attribute` (made_by, territory), biggest first.

    Grouped by slug, as their pages are: "MARTINE AUBRY" and "Martine Aubry" are one person.
    """
    grouped: dict[str, list] = {}
    for promise in promises:
        grouped.setdefault(slug(getattr(promise, attribute)), []).append(promise)
    rows = [
        {"name": getattr(items[0], attribute), "slug": key, "card": scorecard(items, list(statuses), today, final)}
        for key, items in grouped.items()
    ]
    return sorted(rows, key=lambda row: (-row["card"].total, row["name"]))


@bp.get("/")
@cached_page
def home():
    tree = current_tree()
    today = date.today()
    promises = list(tree.promises.values())
    return render_template(
        "public/home.html",
        card=scorecard(promises, list(tree.statuses), today, tree.final_statuses),
        people=_groups(promises, "made_by", tree.statuses, today, tree.final_statuses),
        territories=_groups(promises, "territory", tree.statuses, today, tree.final_statuses),
        changes=status_changes(promises)[:10],
        statuses=tree.statuses,
        claims=list_claims(list(tree.claims.values()), {}).claims[:5],
        claim_count=len(tree.claims),
        verdicts=tree.verdicts,
    )


def _group_page(attribute: str, wanted_slug: str, kind: str):
    tree = current_tree()
    today = date.today()
    promises = [p for p in tree.promises.values() if slug(getattr(p, attribute)) == wanted_slug]
    if not promises:
        abort(404)
    name = getattr(promises[0], attribute)
    promises.sort(key=lambda promise: (promise.updated_on, promise.id), reverse=True)
    return render_template(
        "public/group.html",
        kind=kind,
        name=name,
        filter_name=attribute,
        parties=sorted({p.party for p in promises if p.party}),
        card=scorecard(promises, list(tree.statuses), today, tree.final_statuses),
        promises=promises,
        statuses=tree.statuses,
        today=today,
        final_statuses=tree.final_statuses,
    )


@bp.get("/elus/<name_slug>")
@cached_page
def person(name_slug: str):
    """A politician's (or an institution's) promises and scorecard."""
    return _group_page("made_by", name_slug, "person")


@bp.get("/territoires/<name_slug>")
@cached_page
def territory(name_slug: str):
    """A territory's promises and scorecard."""
    return _group_page("territory", name_slug, "territory")


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


def citation_anchor(promise_id: str, entry_position: int, proof_position: int) -> str:
    """The id of a quoted passage on its source page, linked from the promise page."""
    return f"citation-{promise_id}-{entry_position}-{proof_position}"


def _source_url(tree, source_id: str) -> str:
    """Where a source appeared: its original address when known, else our archived copy."""
    source = tree.sources.get(source_id)
    if source is not None and source.url:
        return source.url
    return url_for("public.source", source_id=source_id, _external=True)


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

    first_sources = dict.fromkeys(proof.source for proof in (found.history[0].evidence if found.history else []))
    appearances = [_source_url(tree, key) for key in first_sources]
    review = promise_review(found, tree.statuses, request.base_url, appearances, current_app.config["SITE_NAME"])
    return render_template(
        "public/promise.html",
        promise=found,
        statuses=tree.statuses,
        sources=tree.sources,
        today=date.today(),
        final_statuses=tree.final_statuses,
        related=tree.related(found),
        claims=tree.claims_about(found.id),
        verdicts=tree.verdicts,
        claim_review=review,
        analysis=markdown_to_html(found.body),
        anchor=citation_anchor,
        verified=verified,
        changes=change_record(f"promise:{found.id}"),
        preview_of=preview_of,
    )


@bp.get("/sources/<source_id>")
@cached_page
def source(source_id: str):
    tree = current_tree()
    found = tree.sources.get(source_id)
    if found is None:
        abort(404)
    return render_source_page(tree, found)


@renders("source")
def render_source_page(tree, found, preview_of=None) -> str:
    """A source's page, every quoted passage marked; also the newsroom's preview of a new source."""
    folded = FoldedText.cached(found.text)
    citing = tree.promises_citing(found.id)
    claims = tree.claims_citing(found.id)
    passages = []
    for promise in citing:
        for entry in promise.history:
            for proof in entry.evidence:
                spans = folded.locate(proof.quote) if proof.source == found.id else None
                if spans:
                    passages.append((citation_anchor(promise.id, entry.position, proof.position), spans))
    for claim in claims:
        for field, proof in claim.proofs:
            spans = folded.locate(proof.quote) if proof.source == found.id else None
            if spans:
                passages.append((claim_anchor(claim.id, field), spans))
    return render_template(
        "public/source.html",
        source=found,
        text=highlighted_text(found.text, passages),
        citing=citing,
        claims=claims,
        verdicts=tree.verdicts,
        statuses=tree.statuses,
        quotes=len(passages),
        preview_of=preview_of,
    )


@bp.get("/statuts.css")
@cached_page
def status_styles():
    """Badge colours from the status and verdict vocabularies, as a stylesheet (no inline styles: strict CSP)."""
    tree = current_tree()
    rules = [f".status-{key} {{ background: {status.color}; }}" for key, status in tree.statuses.items()]
    rules += [f".verdict-{key} {{ background: {verdict.color}; }}" for key, verdict in tree.verdicts.items()]
    # Widths of scorecard bar segments, as classes: the policy forbids style attributes.
    rules += [f".w-{percent} {{ width: {percent}%; }}" for percent in range(101)]
    return Response("\n".join(rules) + "\n", mimetype="text/css")


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
        sorts=SORTS,
        today=date.today(),
        final_statuses=tree.final_statuses,
        url_with=url_with,
    )


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
    )
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="promesses.csv"', "Access-Control-Allow-Origin": "*"},
    )


FEED_SIZE = 50


def _feed(title: str, promises, page_url: str):
    tree = current_tree()
    changes = status_changes(promises)[:FEED_SIZE]
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
    _tree, listing = current_listing()
    who = " · ".join(listing.filters.values())
    title = f"Promesses — {who} : changements de statut" if who else "Promesses : changements de statut"
    return _feed(title, listing.promises, url_for("public.promises", _external=True, **listing.filters))


@bp.get("/promesses/<promise_id>.atom")
@cached_page
def promise_feed(promise_id: str):
    _tree, found, moved = find_promise(promise_id, "public.promise_feed")
    if found is None:
        return moved or abort(404)
    page_url = url_for("public.promise", promise_id=found.id, _external=True)
    return _feed(f"{found.title} : changements de statut", [found], page_url)


@bp.get("/sitemap.xml")
@cached_page
def sitemap():
    tree = current_tree()
    urls = [url_for("public.home", _external=True), url_for("public.promises", _external=True), url_for("claims.claims", _external=True)]
    root = request.host_url.rstrip("/") + request.script_root
    urls += [root + kind.path_of(key) for kind in tree.kinds for key in sorted(tree.items[kind.name])]
    body = render_template("feeds/sitemap.xml", urls=urls)
    return Response(body, mimetype="application/xml")
