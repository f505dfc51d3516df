"""Published content as open data: JSON documents and a CSV table, the same fields everywhere."""

from __future__ import annotations

import csv
import io
from datetime import date

from .model import Promise, Source, Status

CSV_COLUMNS = (
    "id", "titre", "statut", "statut_libelle", "en_retard", "auteur", "parti", "liste", "territoire",
    "theme", "promis_le", "echeance", "mis_a_jour_le", "entrees_historique", "citations", "url",
)  # fmt: skip


def status_label(statuses: dict[str, Status], key: str) -> str:
    """The French label of a status key (the key itself when the vocabulary lacks it)."""
    return statuses[key].label if key in statuses else key


def claim_review(promise: Promise, statuses: dict[str, Status], page_url: str, appearance_urls: list[str]) -> dict:
    """schema.org ClaimReview of a promise, for search engines and fact-check aggregators."""
    return {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": page_url,
        "claimReviewed": promise.title,
        "datePublished": promise.updated_on.isoformat(),
        "author": {"@type": "Organization", "name": "kb"},
        "itemReviewed": {
            "@type": "Claim",
            "author": {"@type": "Person" if promise.party or promise.list_name else "Organization", "name": promise.made_by},
            "datePublished": promise.made_on.isoformat(),
            "appearance": [{"@type": "CreativeWork", "url": url} for url in appearance_urls],
        },
        # The verdict is a label, not a score: statuses are not points on one scale.
        "reviewRating": {"@type": "Rating", "alternateName": status_label(statuses, promise.status)},
    }


def promise_data(promise: Promise, statuses: dict[str, Status], today: date, final: set[str], url: str) -> dict:
    """A promise as a JSON document (the read API)."""
    return {
        "id": promise.id,
        "url": url,
        "title": promise.title,
        "made_by": promise.made_by,
        "party": promise.party,
        "list": promise.list_name,
        "territory": promise.territory,
        "theme": promise.theme,
        "made_on": promise.made_on.isoformat(),
        "due": promise.due.isoformat() if promise.due else None,
        "status": promise.status,
        "status_label": status_label(statuses, promise.status),
        "overdue": promise.is_overdue(today, final),
        "updated_on": promise.updated_on.isoformat(),
        "history": [
            {
                "date": entry.date.isoformat(),
                "status": entry.status,
                "status_label": status_label(statuses, entry.status),
                "note": entry.note,
                "evidence": [{"source": proof.source, "quote": proof.quote} for proof in entry.evidence],
            }
            for entry in promise.history
        ],
        "reply": promise.reply,
        "analysis": promise.body,
        "aliases": list(promise.aliases),
    }


def source_data(source: Source, url: str, cited_by: list[str]) -> dict:
    """A source document as a JSON document, with its full text and who cites it."""
    return {
        "id": source.id,
        "url": url,
        "title": source.title,
        "publisher": source.publisher,
        "kind": source.kind,
        "date": source.date.isoformat(),
        "date_note": source.date_note,
        "reference": source.reference,
        "original_url": source.url,
        "sha256": source.sha256,
        "cited_by": cited_by,
        "text": source.text,
    }


def _cell(value):
    """A spreadsheet cell that can never be read as a formula (=, +, -, @, tab, return)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def promises_csv(promises: list[Promise], statuses: dict[str, Status], today: date, final: set[str], url_of) -> str:
    """One row per promise, UTF-8 with a byte order mark so spreadsheets read the accents right."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for promise in promises:
        writer.writerow(
            _cell(value)
            for value in (
                promise.id,
                promise.title,
                promise.status,
                status_label(statuses, promise.status),
                "oui" if promise.is_overdue(today, final) else "non",
                promise.made_by,
                promise.party or "",
                promise.list_name or "",
                promise.territory,
                promise.theme,
                promise.made_on.isoformat(),
                promise.due.isoformat() if promise.due else "",
                promise.updated_on.isoformat(),
                len(promise.history),
                sum(len(entry.evidence) for entry in promise.history),
                url_of(promise),
            )
        )
    return "\ufeff" + buffer.getvalue()
