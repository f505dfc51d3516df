"""The verdict vocabulary: what a fact-check can conclude about a claim, French labels, colours.

It lives in the content tree (`content/verdicts.yml`); without that file kb uses the defaults
below. A verdict may carry a rating from 1 (false) to 5 (accurate): fact-check aggregators
read it from the ClaimReview of a claim's page. A verdict off that scale ("invérifiable")
has none.
"""

from __future__ import annotations

from pathlib import Path

from kb.config.i18n import gettext as _
from kb.content.model import Problem, Verdict
from kb.content.vocabulary import load_vocabulary

FILE_NAME = "verdicts.yml"
WORST_RATING, BEST_RATING = 1, 5

DEFAULT_VERDICTS = {
    verdict.key: verdict
    for verdict in (
        Verdict("accurate", "exact", "#1e3a8a", 5, "✓", (("en", "accurate"),)),
        Verdict("mostly_accurate", "plutôt exact", "#2563eb", 4, "≈", (("en", "mostly accurate"),)),
        Verdict("needs_context", "à nuancer", "#92400e", 3, "±", (("en", "needs context"),)),
        Verdict("misleading", "trompeur", "#c2410c", 2, "!", (("en", "misleading"),)),
        Verdict("inaccurate", "faux", "#9f1239", 1, "✗", (("en", "false"),)),
        Verdict("unverifiable", "invérifiable", "#6b7280", None, "?", (("en", "unverifiable"),)),
    )
}


def _rating(spec: dict, bad) -> dict:
    rating = spec.get("rating")
    if rating is not None and (isinstance(rating, bool) or not isinstance(rating, int) or not WORST_RATING <= rating <= BEST_RATING):
        bad("rating", _("note attendue : un entier de %(worst)s (faux) à %(best)s (exact), ou rien", worst=WORST_RATING, best=BEST_RATING))
        rating = None
    return {"rating": rating}


def load_verdicts(content_root: Path) -> tuple[dict[str, Verdict], list[Problem]]:
    """Read the verdict vocabulary of a content tree; report every problem of the file."""
    return load_vocabulary(Path(content_root) / FILE_NAME, DEFAULT_VERDICTS, _rating, ("rating", "symbol"), Verdict)
