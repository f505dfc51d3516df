"""Promises imported from a spreadsheet: each row read, checked, and turned into the file a batch proposes.

The columns are the CSV export's own (kb.content.opendata.CSV_COLUMNS), so that an export edited in
a spreadsheet and imported again changes exactly the cells that were edited: a row whose id is a
published promise updates the columns present in the sheet, a row with a new id (or none: the id is
made from the title) creates a promise. The columns kb computes (label, overdue, counts, url…) are
ignored. A status is a dated, sourced history entry, which the export does not hold: a row that
changes the status says when and on what evidence in the columns `date_statut`, `source`,
`citation` (and `note`), or is refused saying so.

Every row ends in one of four outcomes — new, changed (which columns), unchanged, error (which
column, why) — and the valid ones become one batch change request (kb.newsroom.workflow.propose_batch).
The rules are kb check's: the built file is checked like any proposal before it is offered.
"""

from __future__ import annotations

import copy
import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

from kb.config.i18n import gettext as _
from kb.config.i18n import lazy_gettext
from kb.content.check import check_text, nearest_hint, prefix_hint
from kb.content.files import current_file
from kb.content.model import ID_PATTERN, Evidence, HistoryEntry, Problem, Promise
from kb.content.promises import to_text as promise_to_text
from kb.content.quotes import FoldedText
from kb.content.spreadsheets import Table
from kb.content.tree import ContentTree
from kb.newsroom.proposals import slugify
from kb.newsroom.workflow import ProposedFile

# Column → the promise's field it edits, in the export's order.
FIELDS = {
    "titre": "title", "suivi": "tracker", "statut": "status", "auteur_ids": "made_by", "parti": "party",
    "liste": "list_name", "territoire": "territory", "theme": "theme", "promis_le": "made_on", "echeance": "due",
}  # fmt: skip
# The history entry a changed status needs (absent from the export: added by whoever changes a status).
ENTRY_COLUMNS = ("date_statut", "source", "citation", "note")
# Columns kb computes: read back from an export, never imported. ("auteur", the authors' names, is
# used only when a row has no "auteur_ids": a sheet typed by hand names people.)
COMPUTED = frozenset({"statut_libelle", "en_retard", "mis_a_jour_le", "entrees_historique", "citations", "url"})
KNOWN = frozenset({"id", "auteur", *FIELDS, *ENTRY_COLUMNS, *COMPUTED})
REQUIRED = ("titre", "suivi", "auteur_ids", "territoire", "theme", "promis_le")
# Where kb check's problems land in the sheet: the field of the file → its column.
COLUMN_OF_FIELD = {
    "title": "titre", "tracker": "suivi", "status": "statut", "made_by": "auteur_ids", "party": "parti",
    "list": "liste", "territory": "territoire", "theme": "theme", "made_on": "promis_le", "due": "echeance",
    "carried_over_from": "id", "aliases": "id", "id": "id",
}  # fmt: skip

OUTCOMES = {
    "new": lazy_gettext("nouvelle"), "changed": lazy_gettext("modifiée"), "unchanged": lazy_gettext("inchangée"), "error": lazy_gettext("erreur"),
}  # fmt: skip


# Rows one import may hold: its approval checks and writes every file in one request (about 11 s for
# 1,000 at 10,000 promises, kb bench-import), which must end well within a worker's timeout.
MAX_IMPORT_ROWS = 2000


class ImportRefused(ValueError):
    """The sheet as a whole cannot be imported (no id nor title column…); the message is for people."""


@dataclass
class RowResult:
    """What one row of the sheet does: its outcome, the columns it changes, or why it is refused."""

    row: int
    promise_id: str
    title: str
    outcome: str = "unchanged"  # new, changed, unchanged, error
    changed: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)  # (column, reason)
    proposed: ProposedFile | None = None

    @property
    def outcome_label(self) -> str:
        return str(OUTCOMES[self.outcome])


@dataclass
class ImportPreview:
    """A sheet read row by row, before anything is proposed."""

    name: str
    rows: list[RowResult]
    warnings: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for row in self.rows if row.outcome == outcome)

    @property
    def files(self) -> list[ProposedFile]:
        """The files the valid rows propose (new and changed rows), in the sheet's order."""
        return [row.proposed for row in self.rows if row.proposed is not None]

    @property
    def errors(self) -> list[tuple[int, str, str]]:
        """(row, column, reason) of every refused cell, in the sheet's order."""
        return [(row.row, column, reason) for row in self.rows for column, reason in row.errors]

    def summary(self) -> str:
        new, changed = self.count("new"), self.count("changed")
        parts = [f"{new} nouvelle{'s' if new > 1 else ''}" if new else "", f"{changed} modifiée{'s' if changed > 1 else ''}" if changed else ""]
        return f"Import de « {self.name} » : " + (" et ".join(part for part in parts if part) or "rien à changer")


def column_name(header: str) -> str:
    """A header cell as a column name: lower case, no accents, words joined by "_" ("Échéance" → "echeance")."""
    text = unicodedata.normalize("NFKD", header.strip().lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return "_".join(re.findall(r"[a-z0-9]+", text))


def read_sheet(tree: ContentTree, table: Table, today: date | None = None) -> ImportPreview:
    """Every row of `table` checked against the tree as it is now; nothing is written."""
    today = today or date.today()
    columns = [column_name(cell) for cell in table.header]
    warnings = []
    seen_columns: dict[str, int] = {}
    for position, name in enumerate(columns):
        if not name:
            continue
        if name in seen_columns:
            raise ImportRefused(
                _("la colonne « %(column)s » figure deux fois dans l'en-tête de « %(sheet)s »", column=table.header[position], sheet=table.name)
            )
        seen_columns[name] = position
        if name not in KNOWN:
            warnings.append(_("colonne « %(column)s » inconnue : ignorée", column=table.header[position]))
    if len(table.rows) > MAX_IMPORT_ROWS:
        raise ImportRefused(_(
            "« %(sheet)s » a %(rows)s lignes : %(most)s au plus par import (sa publication se fait d'un bloc) ; "
            "découpez le tableur en plusieurs imports",
            sheet=table.name, rows=len(table.rows), most=MAX_IMPORT_ROWS,
        ))
    if "id" not in seen_columns and "titre" not in seen_columns:
        raise ImportRefused(_(
            "« %(sheet)s » n'a ni colonne « id » ni colonne « titre » : partez de l'export CSV des promesses "
            "ou du modèle de tableur, dont la première ligne nomme les colonnes",
            sheet=table.name,
        ))
    reader = _RowReader(tree, today, table.name)
    rows: list[RowResult] = []
    first_row_of: dict[str, int] = {}
    for number, cells in table.rows:
        values = {name: cells[position] for name, position in seen_columns.items() if name in KNOWN}
        result = reader.read(number, values)
        if result.promise_id:
            if result.promise_id in first_row_of:
                result.errors.insert(0, ("id", _("identifiant en double : déjà à la ligne %(row)s", row=first_row_of[result.promise_id])))
            else:
                first_row_of[result.promise_id] = number
        if result.errors:
            result.outcome, result.proposed = "error", None
        rows.append(result)
    return ImportPreview(name=table.name, rows=rows, warnings=warnings)


class _RowReader:
    """Reads rows against one tree: vocabularies, trackers and people looked up once."""

    def __init__(self, tree: ContentTree, today: date, sheet: str):
        self.tree = tree
        self.sheet = sheet
        self.today = today
        self.statuses = tree.statuses
        self.by_label = {status.label.casefold(): key for key, status in self.statuses.items()}
        self.trackers = sorted(tree.file_ids("tracker"))
        self.people = sorted(tree.file_ids("person"))
        self.sources = tree.quotable_sources

    def read(self, number: int, values: dict[str, str]) -> RowResult:
        errors: list[tuple[str, str]] = []
        title = " ".join(values.get("titre", "").split())
        promise_id = values.get("id", "").strip()
        from_title = not promise_id and bool(title)
        if from_title:
            promise_id = slugify(title)
        result = RowResult(row=number, promise_id=promise_id, title=title)
        if not promise_id:
            result.errors.append(("id", _("ni identifiant ni titre : la ligne ne dit pas de quelle promesse il s'agit")))
            return result
        if not ID_PATTERN.match(promise_id):
            result.errors.append(("id", _("identifiant invalide « %(id)s » : minuscules sans accents, chiffres et tirets", id=promise_id)))
            return result
        path = self.tree.kinds.path(self.tree.root, self.tree.kinds.key("promise", promise_id))
        base_text, base_sha = current_file(path)
        current = None
        if from_title and base_text is not None:
            # A row without id is a new promise: one whose title makes the id of a published one must
            # not silently edit it (two cities can promise the same thing).
            result.errors.append(("id", _(
                "l'identifiant tiré du titre, « %(id)s », est celui d'une promesse publiée : "
                "donnez-le dans la colonne id pour la modifier, ou un autre pour en créer une",
                id=promise_id,
            )))
            return result
        if base_text is not None:
            current, problems = self.tree.kinds["promise"].parse(path, base_text.removeprefix("\ufeff").replace("\r\n", "\n"))
            if current is None or any(problem.severity == "error" for problem in problems):
                result.errors.append(("id", _("la fiche publiée de « %(id)s » ne passe pas kb check : réparez-la d'abord", id=promise_id)))
                return result
        else:
            moved = self.tree.alias_target(promise_id)
            if moved:
                result.errors.append(("id", _("« %(id)s » est l'ancien identifiant de « %(new_id)s » : utilisez celui-ci", id=promise_id, new_id=moved)))
                return result
        result.title = result.title or (current.title if current else "")
        updated = copy.deepcopy(current) if current is not None else None
        values_read = self._fields(values, creating=current is None, errors=errors)
        entry = self._entry(values, values_read, current, errors)
        if errors:
            result.errors = errors
            return result
        if current is None:
            status = values_read.get("status") or next(iter(self.statuses), "planned")
            history = [entry or HistoryEntry(date=values_read["made_on"], status=status)]
            updated = Promise(
                id=promise_id, title=values_read["title"], made_by=values_read["made_by"], territory=values_read["territory"],
                theme=values_read["theme"], made_on=values_read["made_on"], status=status, history=history,
                tracker=values_read["tracker"], party=values_read.get("party"), list_name=values_read.get("list_name"),
                due=values_read.get("due"),
            )  # fmt: skip
            result.outcome = "new"
        else:
            for column, name in FIELDS.items():
                if name == "status" or name not in values_read:
                    continue
                if getattr(updated, name) != values_read[name]:
                    setattr(updated, name, values_read[name])
                    result.changed.append(column)
            if entry is not None:
                updated.history.append(entry)
                updated.status = entry.status
                if current.status != entry.status:
                    result.changed.append("statut")
                result.changed.append("historique")
            result.outcome = "changed" if result.changed else "unchanged"
        if result.outcome == "unchanged":
            return result
        text = promise_to_text(updated)
        key = self.tree.kinds.key("promise", promise_id)
        for problem in check_text(self.tree, key, text, self.today):
            error = (self._column(problem, dated_by_row=entry is not None), problem.message)
            if problem.severity == "error" and error not in result.errors:
                result.errors.append(error)
        if result.errors:
            return result
        what = "nouvelle promesse" if current is None else ", ".join(result.changed) + " modifié" + ("s" if len(result.changed) > 1 else "")
        change_type = "create" if current is None else ("status" if result.changed == ["statut", "historique"] else "edit")
        result.proposed = ProposedFile(
            change_type=change_type, target=str(key), text=text, summary=f"{self.sheet}, ligne {number} : {what}",
            base_text=base_text, base_sha256=base_sha,
        )  # fmt: skip
        return result

    # -- the cells -----------------------------------------------------------------------------

    def _fields(self, values: dict[str, str], creating: bool, errors: list) -> dict:
        """The editable columns present in the row, read; a new promise must fill the required ones."""
        read: dict = {}
        for column, name in FIELDS.items():
            if column == "auteur_ids" and not values.get("auteur_ids", "").strip() and values.get("auteur", "").strip():
                read[name] = self._people_named(values["auteur"], errors)
                continue
            if column not in values:
                if creating and column in REQUIRED and not (column == "auteur_ids" and "auteur" in values):
                    errors.append((column, _("colonne manquante : une nouvelle promesse doit la remplir")))
                continue
            raw = values[column].strip()
            if not raw:
                if column in REQUIRED:
                    errors.append((column, _("champ obligatoire vide")))
                elif column != "statut":
                    read[name] = None
                continue
            if column in ("promis_le", "echeance"):
                read[name] = self._date(raw, column, errors)
            elif column == "statut":
                read[name] = self._status(raw, errors)
            elif column == "suivi":
                read[name] = self._tracker(raw, errors)
            elif column == "auteur_ids":
                read[name] = self._people(raw, errors)
            else:
                read[name] = " ".join(raw.split())
        return read

    def _date(self, raw: str, column: str, errors: list) -> date | None:
        """A date as spreadsheets write it: 2026-03-15, or 15/03/2026 (French order)."""
        try:
            if re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
                return date.fromisoformat(raw)
            found = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", raw)
            if found:
                return date(int(found[3]), int(found[2]), int(found[1]))
        except ValueError:
            pass
        errors.append((column, _("date invalide « %(value)s » (attendu AAAA-MM-JJ ou JJ/MM/AAAA, par exemple 2026-03-15)", value=raw)))
        return None

    def _status(self, raw: str, errors: list) -> str | None:
        if raw in self.statuses:
            return raw
        if raw.casefold() in self.by_label:  # the label, as the export's "statut_libelle" writes it
            return self.by_label[raw.casefold()]
        known = ", ".join(f"{key} ({status.shown()})" for key, status in self.statuses.items())
        errors.append(("statut", _("statut inconnu « %(value)s » (statuts connus : %(known)s)", value=raw, known=known)))
        return None

    def _tracker(self, raw: str, errors: list) -> str | None:
        if raw in self.trackers:
            return raw
        hint = difflib.get_close_matches(raw, self.trackers, n=1)
        if hint:
            errors.append(("suivi", _("suivi inconnu « %(value)s » ; vouliez-vous dire « %(hint)s » ?", value=raw, hint=hint[0])))
        else:
            known = ", ".join(self.trackers) or _("aucun")
            errors.append(("suivi", _("suivi inconnu « %(value)s » (suivis connus : %(known)s)", value=raw, known=known)))
        return None

    def _people(self, raw: str, errors: list) -> list[str]:
        ids = [part.strip() for part in re.split(r"[;,]", raw) if part.strip()]
        for person_id in ids:
            if person_id not in self.people:
                named = self.tree.person_named(person_id)
                close = difflib.get_close_matches(person_id, self.people, n=1) if not named else []
                if named:
                    reason = _("personne inconnue « %(value)s » ; c'est le nom de « %(id)s »", value=person_id, id=named)
                elif close:
                    reason = _("personne inconnue « %(value)s » ; vouliez-vous dire « %(hint)s » ?", value=person_id, hint=close[0])
                else:
                    reason = _("personne inconnue « %(value)s » (ajoutez sa fiche dans people/)", value=person_id)
                errors.append(("auteur_ids", reason))
        return list(dict.fromkeys(ids))

    def _people_named(self, raw: str, errors: list) -> list[str]:
        """Authors given by name ("auteur"), as the export writes them: "A, B et C"."""
        names = [part.strip() for part in re.split(r",| et |;", raw) if part.strip()]
        ids = []
        for name in names:
            found = self.tree.person_named(name)
            if found is None:
                errors.append(("auteur", _("personne inconnue « %(value)s » : donnez son identifiant dans la colonne auteur_ids", value=name)))
            else:
                ids.append(found)
        return list(dict.fromkeys(ids))

    def _entry(self, values: dict[str, str], read: dict, current: Promise | None, errors: list) -> HistoryEntry | None:
        """The history entry the row adds: for a changed status (required), or when its columns are filled.

        None when nothing is added — including an entry the promise already has (the same sheet
        imported twice adds nothing).
        """
        filled = {column: " ".join(values.get(column, "").split()) for column in ENTRY_COLUMNS}
        status = read.get("status")
        changes_status = current is not None and status is not None and status != current.status
        if not changes_status and not any(filled[column] for column in ("date_statut", "source", "citation")):
            return None
        status = status or (current.status if current is not None else next(iter(self.statuses), "planned"))
        if any(column == "statut" for column, _ in errors):
            return None
        missing = [column for column in ("date_statut", "source", "citation") if not filled[column]]
        if missing and (changes_status or current is None or filled["date_statut"] or filled["source"] or filled["citation"]):
            if changes_status:
                old, new = self.statuses[current.status].shown() if current.status in self.statuses else current.status, self.statuses[status].shown()
            for column in missing:
                if changes_status:
                    reason = _(
                        "statut changé (%(old)s → %(new)s) : un changement de statut doit être daté et prouvé ; remplissez la colonne %(column)s",
                        old=old, new=new, column=column,
                    )
                else:
                    reason = _("entrée d'historique incomplète ; remplissez la colonne %(column)s", column=column)
                errors.append((column, reason))
            return None
        when = self._date(filled["date_statut"], "date_statut", errors)
        source_id, quote = filled["source"], filled["citation"]
        if source_id not in self.sources:
            close = difflib.get_close_matches(source_id, sorted(self.sources), n=1)
            if close:
                errors.append(("source", _("source inconnue « %(value)s » ; vouliez-vous dire « %(hint)s » ?", value=source_id, hint=close[0])))
            else:
                errors.append(("source", _("source inconnue « %(value)s »", value=source_id)))
            return None
        # A passage the tree already verified is not looked for again; a new one folds its source once.
        if not self.tree.quote_verified(source_id, quote):
            source = self.sources[source_id]
            folded = FoldedText.cached(source.text)
            if not folded.contains(quote):
                hints = (prefix_hint(folded, quote) or "") + nearest_hint(source.text, quote)
                errors.append(("citation", _("citation introuvable dans « %(title)s »%(hints)s", title=source.title, hints=hints)))
                return None
        if when is None:
            return None
        if current is not None and current.history and current.history[-1].date and when < current.history[-1].date:
            last = current.history[-1].date
            errors.append(("date_statut", _(
                "date antérieure à la dernière entrée de l'historique (%(date)s) : l'import ajoute une entrée à la fin", date=last.isoformat()
            )))
            return None
        entry = HistoryEntry(date=when, status=status, note=filled["note"] or None, evidence=[Evidence(source_id, quote)])
        if current is not None and any(
            old.date == entry.date and old.status == entry.status and [(p.source, p.quote) for p in old.evidence] == [(source_id, quote)]
            for old in current.history
        ):
            return None  # imported before
        return entry

    def _column(self, problem: Problem, dated_by_row: bool) -> str:
        """The sheet's column a problem of the built file is about (a new promise's first entry
        is dated by `promis_le` unless the row gave `date_statut`)."""
        name = (problem.field or "").split(".")[0].split("[")[0]
        if name == "history":
            field_path = problem.field or ""
            if field_path.endswith(".date"):
                return "date_statut" if dated_by_row else "promis_le"
            return "citation" if "evidence" in field_path else "statut"
        return COLUMN_OF_FIELD.get(name, "")
