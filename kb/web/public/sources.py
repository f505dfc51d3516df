"""A source document's page: its full text, every quoted passage marked, and who quotes it."""

from __future__ import annotations

import io
from pathlib import Path

from flask import abort, current_app, render_template, request, send_file, url_for
from markupsafe import Markup

from kb.content import originals
from kb.content.quotes import FoldedText
from kb.content.render import highlighted_text, reading_text
from kb.content.sources import page_of, pages
from kb.web.content_store import current_tree
from kb.web.page_cache import cached_page
from kb.web.pages import item_page, renders
from kb.web.public import bp, citation_anchor, claim_anchor
from kb.web.request_log import STATIC_BUILD
from kb.config.i18n import gettext as _, number


@bp.get("/sources/<source_id>")
@cached_page
def source(source_id: str):
    return item_page("source", source_id)


@bp.get("/sources/<source_id>/original.<extension>")
def original(source_id: str, extension: str):
    """The document as it was uploaded, downloaded (never shown inline: a saved web page could hold scripts)."""
    found = current_tree().sources.get(source_id)
    path = originals.find(Path(current_app.config["CONTENT_DIR"]), found.sha256) if found is not None else None
    if path is None or path.suffix != f".{extension}":
        abort(404)
    # Read whole (20 MB at most): an open file handed to the server lives as long as the response object.
    return send_file(
        io.BytesIO(path.read_bytes()), mimetype=originals.MEDIA_TYPES.get(extension, "application/octet-stream"), as_attachment=True,
        download_name=f"{source_id}.{extension}", max_age=86400, last_modified=path.stat().st_mtime,
    )  # fmt: skip


def original_file(source) -> tuple[str, str] | None:
    """(extension, what the link says of it: "PDF, 1,2 Mo") of a source's archived original, if kb has it."""
    path = originals.find(Path(current_app.config["CONTENT_DIR"]), source.sha256)
    if path is None or (path.suffix == ".html" and request.environ.get(STATIC_BUILD)):
        return None  # a static host would show a saved web page inline, its scripts running: live site only
    size = path.stat().st_size
    shown = _("%(size)s Mo", size=number(round(size / 1e6, 1))) if size >= 100_000 else _("%(size)s Ko", size=max(1, size // 1000))
    return path.suffix[1:], f"{path.suffix[1:].upper()}, {shown}"


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
        original=original_file(found) if preview_of is None else None,  # a draft's original is not served
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
    for index, (_page, anchor, _quote, who, where) in enumerate(cited):
        links = [Markup('<a href="{}">{}</a>').format(where, who)]
        if index > 0:
            links.append(Markup('<a href="#{}" rel="prev">{}</a>').format(cited[index - 1][1], _("passage précédent")))
        if index + 1 < len(cited):
            links.append(Markup('<a href="#{}" rel="next">{}</a>').format(cited[index + 1][1], _("passage suivant")))
        said = Markup(_("passage %(number)s sur %(count)s · cité par %(links)s")) % {"number": index + 1, "count": len(cited), "links": Markup(" · ").join(links)}
        notes[anchor] = Markup('<span class="passage-note">{}</span>').format(said)
    return notes
