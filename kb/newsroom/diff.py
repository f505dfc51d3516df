"""What a change request changes, for the reviewer: field by field, and word by word in prose.

Returns plain data (segments of text marked equal / inserted / deleted); the template escapes
it like any other text, so markup in a proposal is shown, never run.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from kb.config.i18n import gettext as _
from kb.config.i18n import lazy_gettext, ngettext
from kb.content import frontmatter
from kb.content.kinds import KINDS

WORD = re.compile(r"\s+|[^\s]+")
# Word diffs are quadratic at worst: beyond this many words a long text is shown line by line.
MAX_WORDS = 20_000
# Past this, even lines are too many to compare while an editor waits: the preview shows the text.
MAX_CHARACTERS = 400_000

# How the reviewer reads each field's name (translated when a diff is made).
FIELD_LABELS = {
    "title": lazy_gettext("titre"), "made_by": lazy_gettext("auteur de la promesse"), "party": lazy_gettext("parti"),
    "list": lazy_gettext("liste"), "territory": lazy_gettext("territoire"), "theme": lazy_gettext("thème"),
    "made_on": lazy_gettext("date de l'engagement"), "due": lazy_gettext("échéance"), "status": lazy_gettext("statut"),
    "history": lazy_gettext("historique"), "reply": lazy_gettext("droit de réponse"), "aliases": lazy_gettext("anciens identifiants"),
    "publisher": lazy_gettext("éditeur du document"), "kind": lazy_gettext("type"), "date": lazy_gettext("date"),
    "date_note": lazy_gettext("précision sur la date"), "reference": lazy_gettext("référence"), "url": lazy_gettext("adresse"),
    "sha256": lazy_gettext("empreinte du fichier original"), "id": lazy_gettext("identifiant"), "body": lazy_gettext("texte"),
    "claimed_by": lazy_gettext("auteur de l'affirmation"), "claimed_on": lazy_gettext("date de l'affirmation"),
    "claim": lazy_gettext("affirmation citée"), "verdict": lazy_gettext("verdict"), "reviewed_on": lazy_gettext("date du verdict"),
    "evidence": lazy_gettext("preuves"), "promises": lazy_gettext("promesses liées"),
    "(fichier)": lazy_gettext("(fichier)"),  # a file whose front matter does not read, shown whole
}  # fmt: skip
LISTS_OF_ENTRIES = ("history", "evidence")  # diffed entry by entry, unchanged ones folded


@dataclass
class FieldChange:
    """One field that differs: its name, what happened, and the words that changed."""

    name: str
    label: str
    change: str  # "added", "removed", "changed"
    segments: list[tuple[str, str]] = field(default_factory=list)  # ("equal" | "insert" | "delete", text)


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """Segments turning `old` into `new`, word by word (whitespace kept), adjacent ones merged."""
    if len(old or "") + len(new or "") > MAX_CHARACTERS:
        old_size, new_size = (f"{len(text or ''):,}".replace(",", " ") for text in (old, new))
        return [("delete", _("[texte de %(size)s caractères]", size=old_size))] * bool(old) + [
            ("insert", _("[texte de %(size)s caractères : trop long pour être comparé ici ; voir l'aperçu]", size=new_size))
        ]
    a, b = WORD.findall(old or ""), WORD.findall(new or "")
    junk = False
    if len(a) + len(b) > MAX_WORDS:
        # Lines, and difflib's heuristic for frequent ones (blank lines): otherwise quadratic.
        a, b, junk = (old or "").splitlines(keepends=True), (new or "").splitlines(keepends=True), True
    segments: list[tuple[str, str]] = []

    def add(kind: str, text: str) -> None:
        if not text:
            return
        if segments and segments[-1][0] == kind:
            segments[-1] = (kind, segments[-1][1] + text)
        else:
            segments.append((kind, text))

    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=junk).get_opcodes():
        if op == "equal":
            add("equal", "".join(a[i1:i2]))
        else:
            add("delete", "".join(a[i1:i2]))
            add("insert", "".join(b[j1:j2]))
    return segments


def _as_text(value: Any, label: Callable[[str], str] = str) -> str:
    """A front matter value as a reviewer reads it (statuses by their label)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(_as_text(item, label) for item in value)
    if isinstance(value, dict):
        if "status" in value and "date" in value:  # a history entry
            status = label(value["status"]) if isinstance(value.get("status"), str) else value.get("status")
            lines = [f"{value.get('date')} · {status}" + (f" — {value['note']}" if value.get("note") else "")]
            for proof in value.get("evidence") or []:
                if isinstance(proof, dict):
                    lines.append(f"    « {proof.get('quote')} » ({proof.get('source')})")
            return "\n".join(lines)
        if "quote" in value and "source" in value:  # a quoted passage (a claim's, or its evidence)
            return f"« {value.get('quote')} » ({value.get('source')})" + (f" — {value['note']}" if value.get("note") else "")
        return ", ".join(f"{key}: {_as_text(item, label)}" for key, item in value.items())
    return str(value)


def _entries_diff(old: list, new: list, label: Callable[[str], str]) -> list[tuple[str, str]]:
    """History entries: those unchanged folded into one line, the others diffed word by word."""
    a = [_as_text(entry, label) + "\n" for entry in old]
    b = [_as_text(entry, label) + "\n" for entry in new]
    segments: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            count = i2 - i1
            segments.append(("equal", ngettext("[%(num)s entrée inchangée]", "[%(num)s entrées inchangées]", count) + "\n"))
        else:
            segments += word_diff("".join(a[i1:i2]), "".join(b[j1:j2]))
    return segments


def _parts(text: str | None) -> tuple[dict, str]:
    if text is None:
        return {}, ""
    try:
        document = frontmatter.load(text)
    except frontmatter.FrontMatterError:
        return {"(fichier)": text}, ""
    return (document.data if isinstance(document.data, dict) else {}), document.body.strip("\n")


def file_diff(
    old_text: str | None, new_text: str, status_label: Callable[[str], str] = str, verdict_label: Callable[[str], str] = str
) -> list[FieldChange]:
    """The fields that differ between two versions of a content file (old None: a new file).

    Statuses and verdicts are shown by their labels (`status_label`, `verdict_label`).
    """
    old, old_body = _parts(old_text)
    new, new_body = _parts(new_text)
    order = [key for kind in KINDS for key in kind.keys if key in old or key in new]
    order += [key for key in {**old, **new} if key not in order]
    changes = []
    for key in dict.fromkeys(order):
        if old.get(key) == new.get(key):
            continue
        kind = "added" if key not in old else "removed" if key not in new else "changed"
        label = status_label if key in ("status", "history") else verdict_label if key == "verdict" else str
        if key in LISTS_OF_ENTRIES and isinstance(old.get(key), list) and isinstance(new.get(key), list):
            changes.append(FieldChange(key, str(FIELD_LABELS[key]), "changed", _entries_diff(old[key], new[key], label)))
            continue
        before, after = _as_text(old.get(key), label), _as_text(new.get(key), label)
        if key in ("status", "verdict"):
            before, after = (label(value) if isinstance(value, str) else text for value, text in ((old.get(key), before), (new.get(key), after)))
        changes.append(FieldChange(key, str(FIELD_LABELS.get(key, key)), kind, word_diff(before, after)))
    if old_body != new_body:
        kind = "added" if not old_body else "removed" if not new_body else "changed"
        changes.append(FieldChange("body", str(FIELD_LABELS["body"]), kind, word_diff(old_body, new_body)))
    return changes
