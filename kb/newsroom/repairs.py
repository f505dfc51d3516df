"""A quote its source no longer holds, repaired: the same file with the passage replaced, as a request.

When a source is corrected (a deliberation re-uploaded, an edit by hand) the catalog finds the quotes
it no longer holds (kb.catalog.queries.broken_quotes); the newsroom offers each one's nearest passage
(kb.content.nearest) and, on one click, drafts the request that replaces it. Only a passage the
source really holds is accepted, and the request is reviewed like any other.
"""

from __future__ import annotations

from kb.config.i18n import gettext as _
from kb.content.nearest import nearest_passage
from kb.content.quotes import FoldedText
from kb.content.registry import Kinds
from kb.newsroom import forms, workflow
from kb.newsroom.workflow import WorkflowError


class RepairRefused(WorkflowError):
    """The repair asked for does not apply (the quote moved, the new passage is not in the source)."""


def repaired_file(kinds: Kinds, tree, key: str, field: str, old: str, new: str) -> tuple[str, tuple[str, str], str]:
    """(the file's new text, its base (text, sha256), a summary) with the quote at `field` replaced by `new`."""
    kind, _colon, item_id = key.partition(":")
    items = {"promise": tree.promises, "claim": tree.claims}.get(kind)
    published = items.get(item_id) if items is not None else None
    if published is None:
        raise RepairRefused(_("%(key)s n'est plus publiée", key=key))
    item, base = forms.fresh(kinds, kind, published)  # the file as it is now: a new object, the cache untouched
    proofs = [proof for name, proof in kinds[kind].quotes(item) if name == field]
    if not proofs or proofs[0].quote != old:
        raise RepairRefused(_("la citation de %(key)s (%(field)s) a changé depuis : rechargez la page", key=key, field=field))
    proof = proofs[0]
    source = tree.sources.get(proof.source)
    new = " ".join(new.split())
    if source is None or not new or not FoldedText.cached(source.text).contains(new):
        raise RepairRefused(_("le passage proposé n'est pas dans la source « %(source)s »", source=proof.source))
    proof.quote = new
    # The file must pass kb check to be proposed: its other quotes their sources no longer hold go in
    # the same request with their nearest passage, or the refusal says which one needs a hand.
    others = 0
    for name, other in kinds[kind].quotes(item):
        other_source = tree.sources.get(other.source)
        if other is proof or other_source is None or FoldedText.cached(other_source.text).contains(other.quote):
            continue
        nearest = nearest_passage(other_source.text, other.quote)
        if nearest is None:
            raise RepairRefused(_(
                "%(key)s a une autre citation qui ne se vérifie plus (%(field)s) et aucun passage n'en approche : réparez la fiche à la main",
                key=key, field=name,
            ))
        other.quote = nearest
        others += 1
    title = getattr(item, "title", item_id)
    summary = f"Citation réparée : {title}" + (f" (et {others} autre{'s' if others > 1 else ''} de la fiche)" if others else "")
    return kinds[kind].to_text(item), base, summary


def propose_repair(session, tree, author, kinds: Kinds, key: str, field: str, old: str, new: str):
    """The draft request that repairs one quote (the journalist reads it, then sends it for review)."""
    text, base, summary = repaired_file(kinds, tree, key, field, old, new)
    return workflow.propose(session, tree, author, "edit", key, text, summary, base=base)
