"""Pages for citizens, no account needed: one blueprint, one module per family of pages.

home (scorecards, people and territories, the sitemap, site assets) · promises (a promise, the
list, its CSV and feeds) · trackers (the terms followed, each one's record) · people (authors' pages, names in every page) · sources · claims (fact-checks) · search · embeds (cards other sites frame, oEmbed) · follows (following by e-mail). A page of any kind is drawn by
kb.web.pages, which the newsroom's preview shares.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("public", __name__)


def citation_anchor(promise_id: str, entry_position: int, proof_position: int) -> str:
    """The id of a passage a promise quotes, on its source page, linked from the promise page."""
    return f"citation-{promise_id}-{entry_position}-{proof_position}"


def claim_anchor(claim_id: str, field: str) -> str:
    """The id of a passage a claim quotes, on its source page ("claim" or "evidence[2]")."""
    return f"affirmation-{claim_id}-" + field.replace("[", "-").replace("]", "")


# The routes, registered on `bp` as their modules are imported.
from kb.web.public import claims, embeds, follows, home, people, promises, search, sources, trackers  # noqa: E402, F401
