"""The status vocabulary: which statuses a promise can have, their French labels and colours.

It lives in the content tree (`content/statuses.yml`); without that file kb uses the defaults
below. Besides its label and colour, a status says whether it is final: a promise in a final
status is never "en retard", even past its deadline.
"""

from __future__ import annotations

from pathlib import Path

from kb.config.i18n import gettext as _
from kb.content.model import Problem, Status
from kb.content.vocabulary import contrast_with_white, load_vocabulary

__all__ = ["DEFAULT_STATUSES", "FILE_NAME", "contrast_with_white", "load_statuses"]

FILE_NAME = "statuses.yml"
DEFAULT_STATUSES = {
    status.key: status
    for status in (
        Status("planned", "prévue", "#64748b", False, "○", (("en", "planned"),)),
        Status("in_progress", "en cours", "#1d4ed8", False, "◔", (("en", "in progress"),)),
        Status("done", "réalisée", "#15803d", True, "●", (("en", "done"),)),
        Status("partial", "en partie réalisée", "#0f766e", False, "◑", (("en", "partly done"),)),
        Status("paused", "en pause", "#6d28d9", False, "‖", (("en", "paused"),)),
        Status("abandoned", "abandonnée", "#b91c1c", True, "✕", (("en", "abandoned"),)),
        Status("unverifiable", "invérifiable", "#6b7280", False, "?", (("en", "unverifiable"),)),
    )
}


def _final(spec: dict, bad) -> dict:
    final = spec.get("final", False)
    if not isinstance(final, bool):
        bad("final", _("attendu : true ou false"))
        final = False
    return {"final": final}


def load_statuses(content_root: Path) -> tuple[dict[str, Status], list[Problem]]:
    """Read the vocabulary of a content tree; report every problem of the file."""
    return load_vocabulary(Path(content_root) / FILE_NAME, DEFAULT_STATUSES, _final, ("final", "symbol"), Status)
