"""Fact-checks for citizens: claim pages, the list of claims, their feed and CSV export."""

from __future__ import annotations

from datetime import date

from flask import Response, current_app, render_template, request, url_for

from kb.catalog import queries
from kb.content.opendata import claim_review, claims_csv, verdict_label
from kb.content.registry import Key
from kb.content.render import markdown_to_html, markdown_to_text
from kb.web.content_store import current_tree
from kb.web.database import change_record
from kb.web.list_request import page_of, url_with_args
from kb.web.page_cache import cached_page
from kb.web.pages import item_page, renders
from kb.web.public import bp, claim_anchor
from kb.web.public.people import author_names
from kb.config.i18n import lazy_gettext
from kb.config.i18n import gettext as _

CLAIM_FILTER_LABELS = {
    "verdict": lazy_gettext("Verdict"),
    "claimed_by": lazy_gettext("Auteur de l'affirmation"),
    "territory": lazy_gettext("Territoire"),
    "theme": lazy_gettext("Thème"),
}
CLAIMS_PAGE_SIZE = 50
FEED_SIZE = 50
FEED_SUMMARY_CHARS = 600


def _excerpt(text: str, limit: int) -> str:
    """The start of `text`, cut at a word boundary, with an ellipsis when cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def _listing():
    tree = current_tree()
    filters = {name: request.args.get(name, "").strip() for name in CLAIM_FILTER_LABELS}
    return tree, queries.list_claims(tree, filters)


@bp.get("/affirmations")
@cached_page
def claims():
    tree, listing = _listing()
    shown, page, pages = page_of(listing.claims, CLAIMS_PAGE_SIZE)

    def url_with(**changes) -> str:
        changes.setdefault("page", None)  # a new filter starts again at page 1
        return url_with_args("/affirmations", set(listing.ignored), **changes)

    return render_template(
        "public/claims.html",
        listing=listing,
        page_claims=shown,
        page=page,
        pages=pages,
        verdicts=tree.verdicts,
        labels=CLAIM_FILTER_LABELS,
        url_with=url_with,
    )


@bp.get("/affirmations/<claim_id>")
@cached_page
def claim(claim_id: str):
    return item_page("claim", claim_id)


@renders("claim")
def render_claim_page(tree, found, preview_of=None) -> str:
    """A claim's page; also the newsroom's preview of a proposed version (`preview_of` the request)."""
    stated_in = tree.sources.get(found.quote.source) if found.quote else None
    appearance = None
    if stated_in is not None:
        appearance = stated_in.url or url_for("public.source", source_id=stated_in.id, _external=True)
    review = claim_review(found, tree.verdicts, request.base_url, appearance, current_app.config["SITE_NAME"], author_names(found.claimed_by))
    return render_template(
        "public/claim.html",
        claim=found,
        verdicts=tree.verdicts,
        sources=tree.sources,
        promises=[
            tree.promises[key] for key in (tree.alias_target(key) or key for key in found.promises) if key in tree.promises
        ],
        statuses=tree.statuses,
        claim_review=review,
        explanation=markdown_to_html(found.body),
        anchor=claim_anchor,
        verified=lambda proof: tree.quote_verified(proof.source, proof.quote),
        changes=change_record(str(Key("claim", found.id))),
        preview_of=preview_of,
    )


@bp.get("/affirmations.atom")
@cached_page
def claims_feed():
    """The latest verdicts (each claim once, at the date of its verdict), or those matching the filters."""
    tree, listing = _listing()
    entries = listing.claims[:FEED_SIZE]
    updated = entries[0].reviewed_on.isoformat() if entries else date.today().isoformat()
    shown = {name: verdict_label(tree.verdicts, value) if name == "verdict" else value for name, value in listing.filters.items()}
    who = " · ".join(shown.values())
    xml = render_template(
        "feeds/claims.xml",
        title=_("Vérifications — %(who)s", who=who) if who else _("Vérifications : derniers verdicts"),
        feed_url=request.url,
        page_url=url_for("public.claims", _external=True, **listing.filters),
        updated=f"{updated}T00:00:00Z",
        claims=entries,
        label=lambda key: verdict_label(tree.verdicts, key),
        summary=lambda claim: _excerpt(markdown_to_text(claim.body), FEED_SUMMARY_CHARS),
    )
    return Response(xml, mimetype="application/atom+xml")


@bp.get("/export/claims.csv")
@cached_page
def claims_csv_export():
    """Every published claim (or those matching the list's filters), one row each."""
    tree, listing = _listing()
    body = claims_csv(listing.claims, tree.verdicts, lambda claim: url_for("public.claim", claim_id=claim.id, _external=True), author_names)
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="affirmations.csv"', "Access-Control-Allow-Origin": "*"},
    )
