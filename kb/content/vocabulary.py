"""Vocabularies kept in the content tree: statuses of promises, verdicts of claims.

Each is a small YAML file mapping a key (what content files use) to a French label, a badge
colour and an attribute or two of its own; a newsroom renames a label or adds a value
without touching code. Without the file, kb uses its defaults.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from kb.config.i18n import gettext as _
from kb.content import frontmatter
from kb.content.files import display_path, read_content_file
from kb.content.model import Problem

COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
KEY = re.compile(r"^[a-z][a-z0-9_]*$")
FALLBACK_COLOR = "#4b5563"
MAX_BYTES = 64 * 1024

# Reads a value's own attributes from its mapping; reports with `bad(name, message)`.
Extras = Callable[[dict, Callable[[str, str], None]], dict[str, Any]]


def contrast_with_white(color: str) -> float:
    """WCAG contrast ratio of white text on `color` (#rrggbb); 4.5 is the minimum for text."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


def _labels(given, bad, default) -> tuple:
    """The label in the interface's other languages (`labels: {en: partly done}`); the default's when none is given."""
    if given is None:
        return default.labels if default is not None else ()
    if not isinstance(given, dict) or not all(isinstance(name, str) and isinstance(text, str) and text.strip() for name, text in given.items()):
        bad("labels", _("attendu : un libellé par langue, par exemple {en: partly done}"))
        return ()
    return tuple(sorted((name, text.strip()) for name, text in given.items()))


def load_vocabulary(path: Path, defaults: dict, extras: Extras, known: tuple[str, ...], build: Callable) -> tuple[dict, list[Problem]]:
    """Read one vocabulary file; report every problem of it (defaults when it is absent or unreadable).

    `known` names the attributes besides label and color; `build(key, label, color, **extras)`
    makes one entry.
    """
    path = Path(path)
    if not path.exists():
        return dict(defaults), []
    shown = display_path(path)
    text, problems = read_content_file(path, MAX_BYTES)
    if text is None:
        return dict(defaults), problems
    try:
        data, lines, duplicates = frontmatter.load_yaml(text)
    except frontmatter.FrontMatterError as error:
        return dict(defaults), [Problem(shown, error.line, None, error.message)]
    if not isinstance(data, dict) or not data:
        expected = ", ".join(("label", "color", *known))
        return dict(defaults), [Problem(shown, None, None, _("le vocabulaire doit associer chaque clé à %(keys)s", keys=expected))]
    vocabulary: dict = {}
    for key, spec in data.items():
        key = str(key)
        line = lines.get(key)
        if not KEY.match(key):
            problems.append(Problem(shown, line, key, _("clé invalide (minuscules, chiffres et _ seulement)")))
            continue
        if not isinstance(spec, dict):
            problems.append(Problem(shown, line, key, _("attendu : %(keys)s", keys=", ".join(("label", "color", *known)))))
            spec = {}

        def bad(name: str, message: str, severity: str = "error") -> None:
            problems.append(Problem(shown, lines.get(f"{key}.{name}", line), f"{key}.{name}", message, severity))

        # A bad attribute is reported but the value still exists, so the files using it are
        # not buried under "unknown value" errors that are not theirs.
        label, color = spec.get("label"), spec.get("color")
        if not isinstance(label, str) or not label.strip():
            bad("label", _("libellé manquant"))
            label = key
        if not isinstance(color, str) or not COLOR.match(color):
            bad("color", _("couleur attendue au format #rrggbb"))
            color = FALLBACK_COLOR
        elif contrast_with_white(color) < 4.5:
            ratio = contrast_with_white(color)
            bad("color", _("texte blanc peu lisible sur %(color)s (contraste %(ratio)s:1, minimum 4,5:1)", color=color, ratio=f"{ratio:.1f}"), "warning")
        values = extras(spec, bad)
        if "symbol" in known:
            # A glyph that tells the value apart without its colour; the default's when the file gives none.
            symbol = spec.get("symbol", defaults[key].symbol if key in defaults else "")
            if not isinstance(symbol, str) or len(symbol.strip()) > 3:
                bad("symbol", _("un signe de 1 à 3 caractères attendu (ex. « ● »)"))
                symbol = ""
            values["symbol"] = symbol.strip()
        values["labels"] = _labels(spec.get("labels"), bad, defaults.get(key))
        for name in sorted(set(spec) - {"label", "labels", "color", *known}):
            bad(name, _("champ inconnu"))
        vocabulary[key] = build(key, label.strip(), color, **values)
    for key, line in duplicates:
        problems.append(Problem(shown, line, key, _("clé en double")))
    return vocabulary, problems
