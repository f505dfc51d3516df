"""The status vocabulary: which statuses a promise can have, their French labels and colours.

It lives in the content tree (`content/statuses.yml`) so a newsroom can rename a label or
add a status without touching code; without that file kb uses the defaults below.
"""

from __future__ import annotations

import re
from pathlib import Path

from . import frontmatter
from .files import display_path, read_content_file
from .model import Problem, Status

FILE_NAME = "statuses.yml"
COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
KEY = re.compile(r"^[a-z][a-z0-9_]*$")
FALLBACK_COLOR = "#4b5563"
MAX_BYTES = 64 * 1024

DEFAULT_STATUSES = {
    status.key: status
    for status in (
        Status("planned", "prévue", "#64748b", False),
        Status("in_progress", "en cours", "#1d4ed8", False),
        Status("done", "réalisée", "#15803d", True),
        Status("partial", "en partie réalisée", "#a16207", False),
        Status("paused", "en pause", "#6d28d9", False),
        Status("abandoned", "abandonnée", "#b91c1c", True),
        Status("unverifiable", "invérifiable", "#3f3f46", False),
    )
}


def contrast_with_white(color: str) -> float:
    """WCAG contrast ratio of white text on `color` (#rrggbb); 4.5 is the minimum for text."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


def load_statuses(content_root: Path) -> tuple[dict[str, Status], list[Problem]]:
    """Read the vocabulary of a content tree; report every problem of the file."""
    path = Path(content_root) / FILE_NAME
    if not path.exists():
        return dict(DEFAULT_STATUSES), []
    shown = display_path(path)
    text, problems = read_content_file(path, MAX_BYTES)
    if text is None:
        return dict(DEFAULT_STATUSES), problems
    try:
        data, lines, duplicates = frontmatter.load_yaml(text)
    except frontmatter.FrontMatterError as error:
        return dict(DEFAULT_STATUSES), [Problem(shown, error.line, None, error.message)]
    if not isinstance(data, dict) or not data:
        return dict(DEFAULT_STATUSES), [
            Problem(shown, None, None, "le vocabulaire doit associer chaque clé de statut à label, color, final")
        ]
    statuses: dict[str, Status] = {}
    for key, spec in data.items():
        key = str(key)
        line = lines.get(key)
        if not KEY.match(key):
            problems.append(Problem(shown, line, key, "clé invalide (minuscules, chiffres et _ seulement)"))
            continue
        if not isinstance(spec, dict):
            problems.append(Problem(shown, line, key, "attendu : label, color et final"))
            spec = {}

        def bad(name: str, message: str) -> None:
            problems.append(Problem(shown, lines.get(f"{key}.{name}", line), f"{key}.{name}", message))

        # A bad attribute is reported but the status still exists, so the promises using
        # it are not buried under "unknown status" errors that are not theirs.
        label, color, final = spec.get("label"), spec.get("color"), spec.get("final", False)
        if not isinstance(label, str) or not label.strip():
            bad("label", "libellé manquant")
            label = key
        if not isinstance(color, str) or not COLOR.match(color):
            bad("color", "couleur attendue au format #rrggbb")
            color = FALLBACK_COLOR
        elif contrast_with_white(color) < 4.5:
            problems.append(
                Problem(
                    shown,
                    lines.get(f"{key}.color", line),
                    f"{key}.color",
                    f"texte blanc peu lisible sur {color} (contraste {contrast_with_white(color):.1f}:1, minimum 4,5:1)",
                    "warning",
                )
            )
        if not isinstance(final, bool):
            bad("final", "attendu : true ou false")
            final = False
        for name in sorted(set(spec) - {"label", "color", "final"}):
            bad(name, "champ inconnu")
        statuses[key] = Status(key, label.strip(), color, final)
    for key, line in duplicates:
        problems.append(Problem(shown, line, key, "clé en double"))
    return statuses, problems
