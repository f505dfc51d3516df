"""The newsroom's evidence assistant: passages suggested as evidence, quotes that no longer hold.

Routes of the newsroom blueprint. `/redaction/sources` lists the sources, newest first;
`/redaction/sources/<id>/passages` ranks the source's passages for every open promise and every
claim (kb.search.suggestions), grouped by target; one click opens the status form (or the fact-check
form) with the passage as its quote, another sets it aside for everyone. `/redaction/citations`
lists the quotes their source no longer holds, each with its nearest passage, and drafts the
request that repairs one. `/redaction/pistes` pairs the figures the sources state that seem to count
one thing with two values: leads for a fact-check. Nothing is published here: every change is a
request, reviewed.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from kb.catalog import queries
from kb.config.i18n import gettext as _
from kb.content.nearest import nearest_passage
from kb.content.quotes import FoldedText
from kb.newsroom import repairs
from kb.search.figures import contradictions
from kb.search.suggestions import Suggestion, open_targets, suggest
from kb.store import dismissals
from kb.web.content_store import current_tree
from kb.web.database import db
from kb.web.newsroom import bp, requires

PER_TARGET = 3
SHOWN_TARGETS = 40  # targets on the page, best suggestion first; the rest are said, not drawn
SOURCES_PAGE = 100


def _newest_first(tree) -> list:
    """The published sources' summaries, the most recent document first."""
    return sorted(tree.summaries("source"), key=lambda source: (source.date is None, source.date), reverse=True)


@bp.get("/sources")
@requires("change.propose")
def sources():
    query = " ".join(request.args.get("q", "").split())
    found = _newest_first(current_tree())
    if query:
        needle = FoldedText.of(query).folded
        found = [source for source in found if needle in FoldedText.of(f"{source.title} {' '.join(source.made_by)} {source.id}").folded]
    return render_template("newsroom/sources.html", sources=found[:SOURCES_PAGE], total=len(found), query=query)


def source_suggestions(tree, source, hidden: set[tuple[str, str]]) -> list[Suggestion]:
    """Every open promise's and every claim's best passages of `source`, those set aside left out."""
    found = suggest(source.id, source.text, open_targets(tree), PER_TARGET + 2)  # a few spare for the ones set aside
    return [suggestion for suggestion in found if (suggestion.target, dismissals.fingerprint(suggestion.quote)) not in hidden]


@bp.get("/sources/<source_id>/passages")
@requires("change.propose")
def passages(source_id: str):
    tree = current_tree()
    source = tree.sources.get(source_id)
    if source is None:
        abort(404)
    found = source_suggestions(tree, source, dismissals.dismissed(db(), source.id))
    groups: dict[str, list[Suggestion]] = {}
    for suggestion in found:  # best first: a target's place is its best passage's
        shown = groups.setdefault(suggestion.target, [])
        if len(shown) < PER_TARGET:
            shown.append(suggestion)
    shown = list(groups.items())[:SHOWN_TARGETS]
    # The few shown, read whole (their status, their title): decoded items the process keeps anyway.
    promises = {key.partition(":")[2]: tree.promises.get(key.partition(":")[2]) for key, _ in shown if key.startswith("promise:")}
    claims = {key.partition(":")[2]: tree.claims.get(key.partition(":")[2]) for key, _ in shown if key.startswith("claim:")}
    return render_template(
        "newsroom/passages.html", source=source, groups=shown, total=len(groups),
        promises=promises, claims=claims, statuses=tree.statuses,
    )  # fmt: skip


@bp.post("/sources/<source_id>/passages/ecarter")
@requires("change.propose")
def dismiss_passage(source_id: str):
    tree = current_tree()
    source = tree.sources.get(source_id)
    target, quote = request.form.get("target", ""), " ".join(request.form.get("quote", "").split())
    kind, _colon, item_id = target.partition(":")
    known = (tree.promises if kind == "promise" else tree.claims if kind == "claim" else {}).get(item_id)
    if source is None or known is None or not quote or not FoldedText.cached(source.text).contains(quote):
        abort(400, description=_("passage ou cible inconnus : la page a peut-être changé, rechargez-la"))
    dismissals.dismiss(db(), source.id, target, quote, current_user)
    flash(_("Passage écarté : il ne sera plus proposé, à personne."), "success")
    return redirect(url_for("newsroom.passages", source_id=source.id) + f"#{target.replace(':', '-')}")


BROKEN_PAGE = 20


@bp.get("/citations")
@requires("change.propose")
def broken_quotes():
    """The quotes no longer found in their source, each with the source's nearest passage as a repair."""
    tree = current_tree()
    page = min(max(1, request.args.get("page", 1, type=int) or 1), 100_000)
    found, total = queries.broken_quotes(tree, (page - 1) * BROKEN_PAGE, BROKEN_PAGE)
    sources = {source_id: tree.sources.get(source_id) for source_id in {quote.source for quote in found}}
    rows = []
    for broken in found:
        source = sources.get(broken.source)
        rows.append((broken, source, nearest_passage(source.text, broken.quote) if source is not None else None))
    titles = {**tree.titles("promise", [b.key.partition(":")[2] for b in found if b.key.startswith("promise:")]),
              **{f"claim:{k}": v for k, v in tree.titles("claim", [b.key.partition(":")[2] for b in found if b.key.startswith("claim:")]).items()}}  # fmt: skip
    return render_template("newsroom/broken_quotes.html", rows=rows, total=total, page=page, more=page * BROKEN_PAGE < total, titles=titles)


@bp.post("/citations/reparer")
@requires("change.propose")
def repair_quote():
    """Draft the request that replaces one broken quote by a passage its source holds, then show it."""
    form = request.form
    try:
        change = repairs.propose_repair(
            db(), current_tree(), current_user, current_tree().kinds, form.get("key", ""), form.get("field", ""), form.get("old", ""), form.get("new", "")
        )  # fmt: skip
    except repairs.WorkflowError as error:
        flash(_("Réparation impossible : %(error)s", error=error), "error")
        return redirect(url_for("newsroom.broken_quotes"))
    flash(_("Brouillon de réparation enregistré : relisez-le, puis envoyez-le en relecture."), "success")
    return redirect(url_for("newsroom.change", number=change.id))


LEAD_SOURCES = 100  # the most recent sources a page reads for leads (kb contradictions reads them all)
LEADS_SHOWN = 30


@bp.get("/pistes")
@requires("change.propose")
def leads():
    """Figures that seem to count one thing with two values, across the most recent sources."""
    tree = current_tree()
    every = _newest_first(tree)
    sources = [tree.sources[summary.id] for summary in every[:LEAD_SOURCES] if summary.id in tree.sources]
    found = contradictions(sources, LEADS_SHOWN)
    titles = {source.id: source for source in sources}
    return render_template("newsroom/leads.html", leads=found, sources=titles, read=len(sources), total=len(every))
