"""Reading one content file's front matter: typed fields, each bad one recorded as a problem.

Reading is lenient on purpose: a file with a missing field still yields an object (with None
where the value is missing) and a list of problems, so `kb check` can report every problem of
every file in one run.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from datetime import date
from pathlib import Path
from typing import Any

from kb.config.i18n import gettext as _
from kb.content import frontmatter
from kb.content.files import display_path
from kb.content.model import ID_PATTERN, Evidence, Problem

DATE_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
URL = re.compile(r"^https?://\S+$")
EVIDENCE_KEYS = ("source", "quote")


class Fields:
    """Reads typed fields out of one YAML mapping, recording a problem for each bad one."""

    def __init__(self, shown: str, lines: dict[str, int], problems: list[Problem]):
        self.shown = shown
        self.lines = lines
        self.problems = problems

    def line(self, path: str) -> int | None:
        return frontmatter.nearest_line(self.lines, path)

    def problem(self, path: str | None, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(self.shown, self.line(path or ""), path, message, severity))

    def mapping(self, value: Any, path: str, message: str) -> dict | None:
        """`value` when it is a mapping; else `message` (the whole sentence, translated by the caller) is the problem."""
        if isinstance(value, dict):
            return value
        self.problem(path or None, message)
        return None

    def unknown_keys(self, data: dict, prefix: str, known: tuple[str, ...]) -> None:
        for key in data:
            if str(key) not in known:
                hint = difflib.get_close_matches(str(key), known, n=1)
                if hint:
                    message = _("champ inconnu ; vouliez-vous dire « %(hint)s » ?", hint=hint[0])
                else:
                    message = _("champ inconnu (champs connus : %(known)s)", known=", ".join(known))
                self.problem(prefix + str(key), message)

    def text(self, data: dict, key: str, prefix: str = "", required: bool = False) -> str | None:
        path = prefix + key
        value = data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problem(path, _("champ obligatoire manquant ou vide"))
            return None
        if not isinstance(value, str):
            self.problem(path, _("doit être du texte (lu : %(value)s ; mettez la valeur entre guillemets)", value=repr(value)))
            return None
        bad = next((ch for ch in value if ch not in "\n\t" and unicodedata.category(ch) in ("Cc", "Cs")), None)
        if bad is not None:
            self.problem(path, _("caractère interdit U+%(code)s (caractère de contrôle ou invalide)", code=f"{ord(bad):04X}"))
            return None
        return value.strip()

    def date(self, data: dict, key: str, prefix: str = "", required: bool = False) -> date | None:
        path = prefix + key
        value = data.get(key)
        if value is None:
            if required:
                self.problem(path, _("date obligatoire manquante"))
            return None
        text = str(value).strip()
        try:
            if not DATE_FORMAT.match(text):
                raise ValueError
            return date.fromisoformat(text)
        except ValueError:
            self.problem(path, _("date invalide « %(text)s » (attendu AAAA-MM-JJ, par exemple 2022-11-08)", text=text))
            return None

    def flag(self, data: dict, key: str, prefix: str = "") -> bool:
        """A yes/no field (YAML `true` / `false`); absent is no."""
        value = data.get(key)
        if value is None:
            return False
        if not isinstance(value, bool):
            self.problem(prefix + key, _("doit valoir true ou false (lu : %(value)s)", value=repr(value)))
            return False
        return value

    def names(self, data: dict, key: str, prefix: str = "", required: bool = False) -> list[str]:
        """One text or a list of texts (several authors): `made_by: martine-aubry` or `made_by: [a, b]`."""
        value = data.get(key)
        if isinstance(value, list):
            found = []
            for index, element in enumerate(value):
                text = self.text({key: element}, key, prefix)
                if text is None:
                    self.problem(f"{prefix}{key}[{index}]", _("doit être un identifiant ou un nom, en texte"))
                elif text not in found:
                    found.append(text)
            if required and not found:
                self.problem(prefix + key, _("champ obligatoire manquant ou vide"))
            return found
        text = self.text(data, key, prefix, required)
        return [text] if text else []

    def identifier(self, value: Any, path: str) -> str | None:
        if not isinstance(value, str) or not ID_PATTERN.match(value):
            self.problem(path, _("identifiant invalide « %(value)s » (minuscules, chiffres et tirets)", value=value))
            return None
        return value

    def items(self, data: dict, key: str, prefix: str = "") -> list:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(prefix + key, _("doit être une liste (lignes commençant par « - »)"))
            return []
        return value

    def quote(self, data: dict, path: str, keys: tuple[str, ...] = EVIDENCE_KEYS, position: int | None = None) -> Evidence | None:
        """A quoted passage (source + quote, and a note where `keys` allow one) at `path` in the file."""
        self.unknown_keys(data, path + ".", keys)
        source = self.text(data, "source", path + ".", required=True)
        quote = self.text(data, "quote", path + ".", required=True)
        note = self.text(data, "note", path + ".") if "note" in keys else None
        if not (source and quote):
            return None
        return Evidence(source, quote, note=note, line=self.line(path + ".quote"), position=position)


def open_document(path: Path, text: str, keys: tuple[str, ...]):
    """Split a file's text and check what every kind shares; (document, fields, problems) or (None, None, problems)."""
    shown = display_path(path)
    problems: list[Problem] = []
    try:
        document = frontmatter.load(text)
    except frontmatter.FrontMatterError as error:
        return None, None, [Problem(shown, error.line, None, error.message)]
    fields = Fields(shown, document.lines, problems)
    if fields.mapping(document.data, "", _("le front matter doit être une table « clé: valeur »")) is None:
        return None, None, problems
    for key, line in document.duplicate_keys:
        problems.append(Problem(shown, line, key, _("champ en double (la deuxième valeur écraserait la première)")))
    fields.unknown_keys(document.data, "", keys)
    _check_file_id(path, document.data, fields)
    return document, fields, problems


def _check_file_id(path: Path, data: dict, fields: Fields) -> None:
    if not ID_PATTERN.match(path.stem):
        fields.problem(
            None, _("nom de fichier invalide : l'identifiant « %(id)s » doit être en minuscules, chiffres et tirets", id=path.stem)
        )
    if "id" in data and data["id"] != path.stem:
        fields.problem("id", _("l'identifiant « %(id)s » ne correspond pas au nom du fichier « %(name)s »", id=data["id"], name=path.stem))


def quote_to_data(proof: Evidence) -> dict[str, Any]:
    """A quoted passage as the file writes it."""
    data = {"source": proof.source, "quote": proof.quote}
    if proof.note:
        data["note"] = proof.note
    return data


def problem_at(item: Any, field: str, message: str, severity: str = "error") -> Problem:
    """A problem of an item already read, at the line of `field` in its file."""
    return Problem(display_path(item.path), frontmatter.nearest_line(item.lines, field), field, message, severity)
