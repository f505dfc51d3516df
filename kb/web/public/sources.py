"""A source document's page: its full text, every quoted passage marked, and who quotes it."""

from __future__ import annotations

from flask import render_template, url_for
from markupsafe import Markup

from kb.content.quotes import FoldedText
from kb.content.render import highlighted_text, reading_text
from kb.content.sources import page_of, pages
from kb.web.page_cache import cached_page
from kb.web.pages import item_page, renders
from kb.web.public import bp, citation_anchor, claim_anchor


@bp.get("/sources/<source_id>")
@cached_page
def source(source_id: str):
    return item_page("source", source_id)


@renders("source")
def render_source_page(tree, found, preview_of=None) -> str:
    """A source's page, every quoted passage marked; also the newsroom's preview of a new source."""
    folded = FoldedText.cached(found.text)
    citing = tree.promises_citing(found.id)
    claims = tree.claims_citing(found.id)
    passages = []
    cited = []  # (start, anchor, quote, who cites it, its page): the passages in the order of the text
    for promise in citing:
        for entry in promise.history:
            for proof in entry.evidence:
                spans = folded.locate(proof.quote) if proof.source == found.id else None
                if spans:
                    anchor = citation_anchor(promise.id, entry.position, proof.position)
                    passages.append((anchor, spans))
                    cited.append((spans[0][0], anchor, proof.quote, promise.title, url_for("public.promise", promise_id=promise.id)))
    for claim in claims:
        for field, proof in claim.proofs:
            spans = folded.locate(proof.quote) if proof.source == found.id else None
            if spans:
                anchor = claim_anchor(claim.id, field)
                passages.append((anchor, spans))
                cited.append((spans[0][0], anchor, proof.quote, claim.title, url_for("public.claim", claim_id=claim.id)))
    cited.sort()
    return render_template(
        "public/source.html",
        source=found,
        # Read as paragraphs: the layout's line breaks inside sentences joined (same length: the spans hold).
        text=highlighted_text(reading_text(found.text), passages, _passage_notes(cited)),
        cited=[(page_of(found.text, start), *rest) for start, *rest in cited],
        pages=pages(found.text),
        citing=citing,
        claims=claims,
        verdicts=tree.verdicts,
        statuses=tree.statuses,
        quotes=len(passages),
        preview_of=preview_of,
    )


def _passage_notes(cited) -> dict[str, Markup]:
    """Beside each passage in the text: its number, who cites it, the previous and the next one."""
    notes = {}
    for number, (_, anchor, _, who, where) in enumerate(cited):
        links = [Markup('<a href="{}">{}</a>').format(where, who)]
        if number > 0:
            links.append(Markup('<a href="#{}" rel="prev">passage précédent</a>').format(cited[number - 1][1]))
        if number + 1 < len(cited):
            links.append(Markup('<a href="#{}" rel="next">passage suivant</a>').format(cited[number + 1][1]))
        notes[anchor] = Markup('<span class="passage-note">passage {} sur {} · cité par {}</span>').format(
            number + 1, len(cited), Markup(" · ").join(links)
        )
    return notes
