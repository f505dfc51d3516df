"""The newsroom's form rules, without Flask: what a form shows, what a request is based on, when it is stale.

The views (kb.web.newsroom) parse the request and render; they ask this module what to prefill
(the published file, or the request being amended), which file version a new request is based on,
whether the file changed since the form was opened, and which change type a claim form makes.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from kb.config.i18n import gettext as _
from kb.content.files import current_file, sha256_text
from kb.content.model import Claim, Promise, Verdict
from kb.content.registry import Kinds
from kb.newsroom.proposals import CLAIM_FIELDS, PROMISE_FIELDS
from kb.newsroom.workflow import ChangeNotFound, WorkflowError
from kb.store.changes import ChangeRequest

# Which form amends a request, by its change type (what it changes decides the form, not its kind).
AMEND_FORMS = {"status": "status", "edit": "promise", "create": "new_promise", "source": "source"}


def parsed(kinds: Kinds, change: ChangeRequest, text: str | None):
    """A version of a request's file read as its kind reads it (None when there is none or it does not read)."""
    if text is None:
        return None
    key = kinds.parse_key(change.target)
    item, _ = kinds[key.kind].parse(Path(key.id + ".md"), text)
    return item


def base_item(kinds: Kinds, change: ChangeRequest):
    """The item as the request's base version (amendments never rebase silently)."""
    return parsed(kinds, change, change.base_text)


def fresh(kinds: Kinds, kind: str, item) -> tuple[Any, tuple[str, str]]:
    """(the item as its file says now, (text, sha256) of that file): what a new request is based on."""
    text, sha = current_file(item.path)
    if text is None:
        target = kind + ":" + item.id
        raise ChangeNotFound(_("aucune fiche publiée pour %(target)s", target=target))
    now, problems = kinds[kind].parse(item.path, text.removeprefix("\ufeff").replace("\r\n", "\n"))
    if now is None or any(problem.severity == "error" for problem in problems):
        raise WorkflowError(_("la fiche publiée est en cours de réparation (kb check signale des erreurs) : réessayez plus tard"))
    return now, (text, sha)


def ensure_unchanged(opened_sha256: str | None, base: tuple[str, str] | None, what: str) -> None:
    """Refuse a form opened on a version of the file that is no longer the published one.

    `opened_sha256` is the version the form showed (sent back by the form), `base` the file now;
    `what` names what the form edits: "la fiche", "la vérification" or "l'analyse".
    """
    if base is not None and opened_sha256 and opened_sha256 != base[1]:
        raise WorkflowError(_changed_since(what))


def _changed_since(what: str) -> str:
    """The refusal of a stale form, one whole sentence for each thing a form edits (the file itself unless named)."""
    if what == "la vérification":
        return _("la vérification a été modifiée depuis que vous avez ouvert ce formulaire : rouvrez-le pour partir de la version publiée")
    if what == "l'analyse":
        return _("l'analyse a été modifiée depuis que vous avez ouvert ce formulaire : rouvrez-le pour partir de la version publiée")
    return _("la fiche a été modifiée depuis que vous avez ouvert ce formulaire : rouvrez-le pour partir de la version publiée")


def edited_body(posted: str | None, shown_sha256: str | None, opened_sha256: str | None, base) -> str | None:
    """The analysis as typed if the journalist changed it in a status form, else None (left as published).

    A changed analysis is accepted only over the version the form showed: otherwise it would
    silently undo an analysis published since the form was opened.
    """
    if posted is None or sha256_text(posted.replace("\r\n", "\n")) == shown_sha256:
        return None
    ensure_unchanged(opened_sha256, base, "l'analyse")
    return posted


def status_prefill(kinds: Kinds, change: ChangeRequest | None, today: date) -> dict:
    """A status form's values: empty for a new request; the entry the request adds, when amending."""
    if change is None:
        return {"date": today.isoformat()}
    proposed = parsed(kinds, change, change.proposed_text)
    body = proposed.body if proposed else ""
    base = base_item(kinds, change)
    added = [entry for entry in proposed.history if base is None or entry not in base.history] if proposed else []
    if not added:
        return {"body": body}
    entry = added[-1]
    form = {"date": entry.date.isoformat(), "status": entry.status, "note": entry.note or "", "body": body}
    form["evidence"] = [(proof.source, proof.quote) for proof in entry.evidence]
    return form


def promise_prefill(promise: Promise | None, today: date) -> dict:
    """A promise form's values: the promise's fields, or today's date for a new one."""
    if promise is None:
        return {"made_on": today.isoformat()}
    form = {name: getattr(promise, name) or "" for name in PROMISE_FIELDS}
    for name in ("made_on", "due"):
        form[name] = form[name].isoformat() if form[name] else ""
    form["body"] = promise.body
    return form


def claim_prefill(claim: Claim | None, today: date) -> dict:
    """A fact-check form's values: the claim's fields, or today's date as the verdict's for a new one."""
    if claim is None:
        return {"reviewed_on": today.isoformat(), "evidence": [], "promises": []}
    form = {name: getattr(claim, name) or "" for name in CLAIM_FIELDS}
    form.update(
        claimed_on=claim.claimed_on.isoformat() if claim.claimed_on else "",
        reviewed_on=claim.reviewed_on.isoformat() if claim.reviewed_on else "",
        claim_source=claim.quote.source if claim.quote else "",
        claim_quote=claim.quote.quote if claim.quote else "",
        evidence=[(proof.source, proof.quote, proof.note or "") for proof in claim.evidence],
        promises=list(claim.promises),
        body=claim.body,
    )
    return form


def source_prefill(kinds: Kinds, change: ChangeRequest | None, today: date) -> dict:
    """A source form's values: today's date for a new source; the proposed file's fields when amending."""
    found = parsed(kinds, change, change.proposed_text) if change is not None else None
    if found is None:
        return {"date": today.isoformat()}
    form = {key: getattr(found, key) or "" for key in ("title", "publisher", "reference", "url", "date_note")}
    form.update(
        kind=found.document_type or "", date=found.date.isoformat() if found.date else "", text=found.text,
        id=change.target_id, sha256=found.sha256 or "",
    )  # fmt: skip
    return form


def prefill(kinds: Kinds, published, change: ChangeRequest | None, item_prefill, today: date) -> dict:
    """A form's values: the request's proposed file when amending one, else the published file (or None)."""
    if change is None:
        return item_prefill(published, today)
    return item_prefill(parsed(kinds, change, change.proposed_text), today) | {"id": change.target_id}


def claim_change(claim: Claim, verdict: str, verdicts: dict[str, Verdict]) -> tuple[str, str]:
    """(change type, summary) of an edit of a published fact-check: a new verdict, or another change."""
    verdict = (verdict or "").strip()
    if verdict != claim.verdict:
        label = verdicts[verdict].label if verdict in verdicts else verdict
        return "verdict", f"{claim.title} : {label}"
    return "edit", f"{claim.title} : modification"


def amend_form(kinds: Kinds, change: ChangeRequest) -> str:
    """Which form amends a request: status, promise, new_promise, source, claim, new_claim, or file (the raw file)."""
    if change.target_kind == "claim" and change.change_type in ("claim", "verdict", "edit"):
        if change.change_type == "claim":
            return "new_claim"
        # A base that no longer parses: edit the file itself.
        return "claim" if base_item(kinds, change) is not None else "file"
    return AMEND_FORMS.get(change.change_type, "file")
