"""Turn what a journalist typed into the whole new file a change request proposes.

Each builder starts from the published file (never from an older copy) and returns the
file text kb would write; field errors are collected and raised together (FormError), so a
form can show every one of them next to its field.
"""

from __future__ import annotations

import copy
import re
from dataclasses import replace
from datetime import date

from kb.config.i18n import gettext as _
from kb.content.claims import to_text as claim_to_text
from kb.content.model import ID_PATTERN, Claim, Evidence, HistoryEntry, Promise, Source
from kb.content.promises import to_text as promise_to_text
from kb.content.sources import DOCUMENT_TYPES
from kb.content.sources import to_text as source_to_text

PROMISE_FIELDS = ("title", "tracker", "made_by", "party", "list_name", "territory", "theme", "made_on", "due", "reply", "carried_over_from")
REQUIRED = {"title", "tracker", "made_by", "territory", "theme", "made_on"}


class FormError(ValueError):
    """Fields the builder could not use: field name → message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{name} : {message}" for name, message in errors.items()))
        self.errors = errors


def _clean(value: str | None) -> str | None:
    value = " ".join((value or "").split())
    return value or None


AUTHOR_FIELDS = {"made_by", "claimed_by"}


def _authors(form, name: str) -> list[str]:
    """The authors chosen in a form (a multiple choice; one text is one author), cleaned, each once."""
    values = form.getlist(name) if hasattr(form, "getlist") else form.get(name)
    values = [values] if isinstance(values, str) else list(values or [])
    return list(dict.fromkeys(cleaned for cleaned in (_clean(value) for value in values) if cleaned))


def parse_date(value: str | None, name: str, errors: dict, required: bool = False) -> date | None:
    """A date typed in a form (AAAA-MM-JJ); its error, said for people, recorded under `name`."""
    return _date(value, name, errors, required)


def _date(value: str | None, name: str, errors: dict, required: bool = False) -> date | None:
    value = (value or "").strip()
    if not value:
        if required:
            errors[name] = _("date obligatoire (AAAA-MM-JJ)")
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        errors[name] = _("date invalide « %(value)s » (attendu AAAA-MM-JJ, par exemple 2026-01-28)", value=value)
        return None


def slugify(title: str) -> str:
    """An id suggested from a title: lowercase ASCII words joined by hyphens."""
    import unicodedata

    text = unicodedata.normalize("NFKD", title.replace("œ", "oe").replace("æ", "ae").lower())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return "-".join(re.findall(r"[a-z0-9]+", text))[:80].strip("-")


def _quotes(rows: list[tuple[str, ...]], errors: dict, prefix: str = "") -> list[Evidence]:
    """Quoted passages from form rows (source, quote[, note]); empty rows skipped, half-filled ones named."""
    proofs = []
    for position, row in enumerate(rows):
        source, quote = (row[0] or "").strip(), " ".join((row[1] or "").split())
        note = " ".join((row[2] or "").split()) if len(row) > 2 else ""
        if not source and not quote and not note:
            continue
        if not source:
            errors[f"{prefix}source-{position}"] = _("choisissez le document source de cette citation")
        if not quote:
            errors[f"{prefix}quote-{position}"] = _("collez le passage cité")
        proofs.append(Evidence(source, quote, note=note or None))
    return proofs


def status_update(
    promise: Promise, entry_date: str, status: str, note: str, evidence: list[tuple[str, str]], body: str | None = None
) -> str:
    """The promise's file with a new history entry, its status now that entry's (and its analysis revised)."""
    errors: dict[str, str] = {}
    when = _date(entry_date, "date", errors, required=True)
    if not (status or "").strip():
        errors["status"] = _("choisissez un statut")
    proofs = _quotes(evidence, errors)
    if errors:
        raise FormError(errors)
    updated = copy.deepcopy(promise)
    entry = HistoryEntry(date=when, status=status.strip(), note=(note or "").strip() or None, evidence=proofs)
    # Entries are kept oldest first; a date between two existing ones goes between them.
    position = len(updated.history)
    while position > 0 and updated.history[position - 1].date and updated.history[position - 1].date > when:
        position -= 1
    updated.history.insert(position, entry)
    updated.status = updated.history[-1].status
    if body is not None:
        updated.body = body.replace("\r\n", "\n").strip("\n")
    return promise_to_text(updated)


def edited(promise: Promise | None, promise_id: str, form: dict[str, str], body: str, first_entry: dict | None = None) -> str:
    """The promise's file with its fields and analysis as typed (a new promise when `promise` is None)."""
    errors: dict[str, str] = {}
    values: dict = {}
    for name in PROMISE_FIELDS:
        raw = form.get(name)
        if name in ("made_on", "due"):
            values[name] = _date(raw, name, errors, required=name in REQUIRED)
        elif name in AUTHOR_FIELDS:
            values[name] = _authors(form, name)
            if not values[name]:
                errors[name] = _("choisissez au moins un auteur")
        elif name == "reply":
            values[name] = (raw or "").strip().replace("\r\n", "\n") or None
        else:
            values[name] = _clean(raw)
            if name in REQUIRED and not values[name]:
                errors[name] = _("champ obligatoire")
    if promise is None:
        if not ID_PATTERN.match(promise_id or ""):
            errors["id"] = _("identifiant : minuscules sans accents, chiffres et tirets (ex. « piscine-lomme-2026 »)")
        history = []
        if first_entry is not None:
            status = (first_entry.get("status") or "").strip()
            if not status:
                errors["status"] = _("choisissez le statut de départ")
            note = (first_entry.get("note") or "").strip() or None
            history = [HistoryEntry(date=values["made_on"], status=status, note=note)]
    if errors:
        raise FormError(errors)
    body = (body or "").replace("\r\n", "\n").strip("\n")
    if promise is None:
        promise = Promise(
            id=promise_id, title="", made_by=[], territory="", theme="", made_on=values["made_on"],
            status=history[0].status if history else "", history=history,
        )  # fmt: skip
    return promise_to_text(replace(promise, **values, body=body))


def source(source_id: str, form: dict[str, str], text: str, sha256: str | None) -> str:
    """A new source file: its metadata as typed and the document's full text."""
    errors: dict[str, str] = {}
    if not ID_PATTERN.match(source_id or ""):
        errors["id"] = _("identifiant : minuscules sans accents, chiffres et tirets (ex. « deliberation-lille-2026-01 »)")
    values = {name: _clean(form.get(name)) for name in ("title", "publisher", "kind", "reference", "url", "date_note")}
    for name in ("title", "publisher"):
        if not values[name]:
            errors[name] = _("champ obligatoire")
    if values["kind"] not in DOCUMENT_TYPES:
        errors["kind"] = _("choisissez le type de document")
    when = _date(form.get("date"), "date", errors, required=True)
    if not (text or "").strip():
        errors["text"] = _("le texte du document est vide")
    if errors:
        raise FormError(errors)
    document = Source(
        id=source_id, title=values["title"], publisher=values["publisher"], document_type=values["kind"], date=when,
        text=text.replace("\r\n", "\n"), reference=values["reference"], url=values["url"], sha256=sha256,
        date_note=values["date_note"],
    )  # fmt: skip
    return source_to_text(document)


CLAIM_FIELDS = ("title", "claimed_by", "territory", "theme", "verdict")
CLAIM_REQUIRED = {"title", "claimed_by", "verdict"}


def claim(
    claim_id: str, form: dict[str, str], evidence: list[tuple[str, str, str]], promises: list[str], body: str
) -> str:
    """A claim's whole file as typed: the claim quoted from its source, the verdict, its evidence."""
    errors: dict[str, str] = {}
    if not ID_PATTERN.match(claim_id or ""):
        errors["id"] = _("identifiant : minuscules sans accents, chiffres et tirets (ex. « mel-25-actions-2019 »)")
    values = {name: _authors(form, name) if name in AUTHOR_FIELDS else _clean(form.get(name)) for name in CLAIM_FIELDS}
    for name in sorted(CLAIM_REQUIRED):
        if not values[name]:
            errors[name] = _("choisissez un verdict") if name == "verdict" else _("champ obligatoire")
    claimed_on = _date(form.get("claimed_on"), "claimed_on", errors, required=True)
    reviewed_on = _date(form.get("reviewed_on"), "reviewed_on", errors, required=True)
    stated = _quotes([(form.get("claim_source", ""), form.get("claim_quote", ""))], errors, "claim-")
    if not stated:
        errors["claim-quote-0"] = _("collez l'affirmation telle qu'elle figure dans le document")
    proofs = _quotes(evidence, errors)
    if not (body or "").strip():
        errors["body"] = _("expliquez le verdict : ce que disent les documents et pourquoi")
    if errors:
        raise FormError(errors)
    for position, proof in enumerate(proofs):
        proof.position = position
    document = Claim(
        id=claim_id, title=values["title"], claimed_by=values["claimed_by"], claimed_on=claimed_on,
        quote=stated[0], verdict=values["verdict"], reviewed_on=reviewed_on, evidence=proofs,
        territory=values["territory"], theme=values["theme"], promises=list(dict.fromkeys(p for p in promises if p)),
        body=body.replace("\r\n", "\n").strip("\n"),
    )  # fmt: skip
    return claim_to_text(document)
