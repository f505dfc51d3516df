"""Published content as open data: JSON documents and a CSV table, the same fields everywhere."""

from __future__ import annotations

import csv
import io
from datetime import date

from kb.content.listing import Scorecard
from kb.content.model import Claim, Evidence, Person, Promise, Source, Status, Tracker, Verdict
from kb.content.verdicts import BEST_RATING, WORST_RATING

CSV_COLUMNS = (
    "id", "titre", "suivi", "statut", "statut_libelle", "en_retard", "auteur", "auteur_ids", "parti", "liste", "territoire",
    "theme", "promis_le", "echeance", "mis_a_jour_le", "entrees_historique", "citations", "url",
)  # fmt: skip


CLAIM_CSV_COLUMNS = (
    "id", "titre", "verdict", "verdict_libelle", "auteur", "affirme_le", "citation", "source", "territoire",
    "theme", "verifie_le", "preuves", "promesses", "url",
)  # fmt: skip


def status_label(statuses: dict[str, Status], key: str) -> str:
    """The label of a status key in the interface's language (the key itself when the vocabulary lacks it)."""
    return statuses[key].shown() if key in statuses else key


def verdict_label(verdicts: dict[str, Verdict], key: str) -> str:
    """The label of a verdict key in the interface's language (the key itself when the vocabulary lacks it)."""
    return verdicts[key].shown() if key in verdicts else key


def claim_review(claim: Claim, verdicts: dict[str, Verdict], page_url: str, appearance_url: str | None, site_name: str, author: str) -> dict:
    """schema.org ClaimReview of a fact-check (the format Google and fact-check aggregators read); `author`: who claimed it, in words."""
    verdict = verdicts.get(claim.verdict)
    rating: dict = {"@type": "Rating", "alternateName": verdict_label(verdicts, claim.verdict)}
    if verdict is not None and verdict.rating is not None:
        rating.update(ratingValue=verdict.rating, bestRating=BEST_RATING, worstRating=WORST_RATING)
    claimed: dict = {
        "@type": "Claim",
        "author": {"@type": "Organization", "name": author},
        "datePublished": claim.claimed_on.isoformat(),
    }
    if appearance_url:
        claimed["appearance"] = [{"@type": "CreativeWork", "url": appearance_url}]
    return {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": page_url,
        "claimReviewed": claim.quote.quote if claim.quote else claim.title,
        "datePublished": claim.reviewed_on.isoformat(),
        "author": {"@type": "Organization", "name": site_name},
        "itemReviewed": claimed,
        "reviewRating": rating,
    }


def promise_article(promise: Promise, statuses: dict[str, Status], page_url: str, site_name: str, authors: list[tuple[str, str]]) -> dict:
    """schema.org markup of a promise's page: an Article of the newsroom about the promise.

    Not a ClaimReview: Google defines that for fact-checks of claims, and a promise's fulfilment
    ("réalisée", "abandonnée") is no truth rating. `authors`: (name, "Person" or "Organization") of who promised.
    """
    status = statuses[promise.status].label if promise.status in statuses else promise.status  # the data's language, as the text around it
    return {
        "@context": "https://schema.org",
        "@type": "Article",
        "url": page_url,
        "headline": promise.title if len(promise.title) <= 110 else promise.title[:109] + "…",
        "description": f"Promesse suivie : {status}.",
        "datePublished": (promise.history[0].date if promise.history else promise.made_on).isoformat(),
        "dateModified": promise.updated_on.isoformat(),
        "author": {"@type": "Organization", "name": site_name},
        "publisher": {"@type": "Organization", "name": site_name},
        "about": {
            "@type": "Thing",
            "name": promise.title,
            "description": f"Engagement pris le {promise.made_on.isoformat()} ; statut : {status}.",
        },
        "mentions": [{"@type": kind, "name": name} for name, kind in authors],
    }


def promise_data(promise: Promise, statuses: dict[str, Status], today: date, final: set[str], url: str, authors: list[dict]) -> dict:
    """A promise as a JSON document (the read API); `authors`: {id, name, url} of each of its authors."""
    return {
        "id": promise.id,
        "url": url,
        "title": promise.title,
        "tracker": promise.tracker,
        "made_by": list(promise.made_by),
        "authors": authors,
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
        "carried_over_from": promise.carried_over_from,
        "aliases": list(promise.aliases),
    }


def scorecard_data(card: Scorecard, statuses: dict[str, Status]) -> dict:
    """A scorecard as JSON: the total, each status's count and label, how many are late."""
    return {
        "total": card.total,
        "counts": [{"status": key, "status_label": status_label(statuses, key), "count": count} for key, count in card.counts.items()],
        "overdue": card.overdue,
    }


def person_data(person: Person, url: str, card: Scorecard | None, statuses: dict[str, Status], promises: list[str] | None = None) -> dict:
    """A person or an institution as a JSON document: roles, party, links, the scorecard of their promises."""
    data = {
        "id": person.id,
        "url": url,
        "name": person.name,
        "kind": person.kind,
        "party": person.party,
        "roles": [
            {"title": role.title, "from": role.start.isoformat() if role.start else None, "to": role.end.isoformat() if role.end else None}
            for role in person.roles
        ],
        "photo": {"credit": person.photo_credit, "licence": person.photo_licence} if person.photo else None,
        "links": list(person.links),
        "scorecard": scorecard_data(card, statuses) if card is not None else None,
    }
    if promises is not None:
        data["promises"] = promises
    return data


def tracker_data(tracker: Tracker, card: Scorecard, statuses: dict[str, Status], url: str, final: Scorecard | None = None) -> dict:
    """A tracker as a JSON document: its term, and its record (`final_record`, as of the term's end, when closed)."""
    return {
        "id": tracker.id,
        "url": url,
        "title": tracker.title,
        "territory": tracker.territory,
        "office": tracker.office,
        "term_start": tracker.term_start.isoformat(),
        "term_end": tracker.term_end.isoformat() if tracker.term_end else None,
        "closed": tracker.closed,
        "methodology": tracker.body,
        "scorecard": scorecard_data(card, statuses),
        "final_record": scorecard_data(final, statuses) if final is not None else None,
    }


def _quote_data(proof: Evidence) -> dict:
    return {"source": proof.source, "quote": proof.quote, "note": proof.note}


def claim_data(claim: Claim, verdicts: dict[str, Verdict], url: str, authors: list[dict]) -> dict:
    """A claim and its fact-check as a JSON document (the read API); `authors` as a promise's."""
    verdict = verdicts.get(claim.verdict)
    return {
        "id": claim.id,
        "url": url,
        "title": claim.title,
        "claimed_by": list(claim.claimed_by),
        "authors": authors,
        "claimed_on": claim.claimed_on.isoformat(),
        "claim": {"source": claim.quote.source, "quote": claim.quote.quote} if claim.quote else None,
        "territory": claim.territory,
        "theme": claim.theme,
        "verdict": claim.verdict,
        "verdict_label": verdict_label(verdicts, claim.verdict),
        "rating": verdict.rating if verdict else None,
        "reviewed_on": claim.reviewed_on.isoformat(),
        "evidence": [_quote_data(proof) for proof in claim.evidence],
        "promises": list(claim.promises),
        "explanation": claim.body,
    }


def source_data(source: Source, url: str, cited_by: list[str], claims: list[str] | None = None) -> dict:
    """A source document as a JSON document, with its full text and who cites it."""
    return {
        "id": source.id,
        "url": url,
        "title": source.title,
        "publisher": source.publisher,
        "kind": source.document_type,
        "date": source.date.isoformat(),
        "date_note": source.date_note,
        "reference": source.reference,
        "original_url": source.url,
        "sha256": source.sha256,
        "cited_by": cited_by,
        "cited_by_claims": claims or [],
        "text": source.text,
    }


def _cell(value):
    """A spreadsheet cell that can never be read as a formula (=, +, -, @, tab, return)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def promises_csv(promises: list[Promise], statuses: dict[str, Status], today: date, final: set[str], url_of, names_of) -> str:
    """One row per promise, UTF-8 with a byte order mark so spreadsheets read the accents right.

    `names_of(ids)`: the authors as words ("auteur"); their ids are a column of their own ("auteur_ids").
    """
    return _csv(
        CSV_COLUMNS,
        (
            (
                promise.id,
                promise.title,
                promise.tracker or "",
                promise.status,
                status_label(statuses, promise.status),
                "oui" if promise.is_overdue(today, final) else "non",
                names_of(promise.made_by),
                " ; ".join(promise.made_by),
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
            for promise in promises
        ),
    )


def claims_csv(claims: list[Claim], verdicts: dict[str, Verdict], url_of, names_of) -> str:
    """One row per claim, UTF-8 with a byte order mark, like the promises' table."""
    return _csv(
        CLAIM_CSV_COLUMNS,
        (
            (
                claim.id,
                claim.title,
                claim.verdict,
                verdict_label(verdicts, claim.verdict),
                names_of(claim.claimed_by),
                claim.claimed_on.isoformat(),
                claim.quote.quote if claim.quote else "",
                claim.quote.source if claim.quote else "",
                claim.territory or "",
                claim.theme or "",
                claim.reviewed_on.isoformat(),
                len(claim.evidence),
                " ".join(claim.promises),
                url_of(claim),
            )
            for claim in claims
        ),
    )


def _csv(columns: tuple[str, ...], rows) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(_cell(value) for value in row)
    return "\ufeff" + buffer.getvalue()
