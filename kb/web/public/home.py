"""The home page, the pages of a person and of a territory, the sitemap and the site's assets."""

from __future__ import annotations

from datetime import date

from flask import Response, abort, current_app, render_template, request, send_from_directory, url_for

from kb.content.listing import list_claims, scorecard, slug, status_changes
from kb.web.content_store import current_tree
from kb.web.page_cache import cached_page
from kb.web.public import bp


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


@bp.get("/favicon.ico")
def favicon():
    """Browsers ask for /favicon.ico whatever the page says: the same picture as favicon.svg."""
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon", max_age=86400)


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


@bp.get("/sitemap.xml")
@cached_page
def sitemap():
    tree = current_tree()
    urls = [url_for("public.home", _external=True), url_for("public.promises", _external=True), url_for("public.claims", _external=True)]
    root = request.host_url.rstrip("/") + request.script_root
    urls += [root + kind.path_of(key) for kind in tree.kinds for key in sorted(tree.items[kind.name])]
    body = render_template("feeds/sitemap.xml", urls=urls)
    return Response(body, mimetype="application/xml")
