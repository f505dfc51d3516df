"""Claims (fact-checks): their file, the rules `kb check` applies beyond their quotes, what search indexes."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.config.i18n import gettext as _
from kb.content import frontmatter
from kb.content.fields import EVIDENCE_KEYS, open_document, problem_at, quote_to_data
from kb.content.model import Claim, Evidence, Problem
from kb.content.people import author_problems, author_words, authors_value, joined
from kb.content.registry import Indexed
from kb.content.render import markdown_to_text

if TYPE_CHECKING:
    from kb.content.tree import ContentTree

# A claim is a fact-check: a few quotes and an explanation.
MAX_BYTES = 512 * 1024
KEYS = (
    "id", "title", "claimed_by", "claimed_on", "claim", "territory", "theme",
    "verdict", "reviewed_on", "evidence", "promises",
)  # fmt: skip
EVIDENCE_WITH_NOTE_KEYS = ("source", "quote", "note")


def parse(path: Path, text: str) -> tuple[Claim | None, list[Problem]]:
    """Parse a claim file's text as if it were at `path`; the claim may be partial when there are problems."""
    document, fields, problems = open_document(path, text, KEYS)
    if document is None:
        return None, problems
    data = document.data
    quote = None
    if data.get("claim") is None:
        fields.problem("claim", _("affirmation manquante : la citation exacte (quote) et la source où elle figure (source)"))
    else:
        stated = fields.mapping(data.get("claim"), "claim", _("l'affirmation doit être une table « clé: valeur »"))
        if stated is not None:
            quote = fields.quote(stated, "claim", EVIDENCE_KEYS)
    evidence = []
    for index, item in enumerate(fields.items(data, "evidence")):
        proof_path = f"evidence[{index}]"
        proof_data = fields.mapping(item, proof_path, _("une preuve doit être une table « clé: valeur »"))
        if proof_data is not None:
            proof = fields.quote(proof_data, proof_path, EVIDENCE_WITH_NOTE_KEYS, position=index)
            if proof is not None:
                evidence.append(proof)
    promises = []
    for index, promise_id in enumerate(fields.items(data, "promises")):
        promise_id = fields.identifier(promise_id, f"promises[{index}]")
        if promise_id:
            promises.append(promise_id)
    claim = Claim(
        id=path.stem,
        title=fields.text(data, "title", required=True),
        claimed_by=fields.names(data, "claimed_by", required=True),
        claimed_on=fields.date(data, "claimed_on", required=True),
        quote=quote,
        verdict=fields.text(data, "verdict", required=True),
        reviewed_on=fields.date(data, "reviewed_on", required=True),
        evidence=evidence,
        territory=fields.text(data, "territory"),
        theme=fields.text(data, "theme"),
        promises=promises,
        body=document.body.strip("\n"),
        path=path,
        lines=document.lines,
    )
    return claim, problems


def to_text(claim: Claim) -> str:
    """The file kb writes for a claim: fixed key order, stable YAML, the explanation as body."""
    data: dict[str, Any] = {"title": claim.title, "claimed_by": authors_value(claim.claimed_by), "claimed_on": claim.claimed_on}
    if claim.quote:
        data["claim"] = {"source": claim.quote.source, "quote": claim.quote.quote}
    for key in ("territory", "theme"):
        if getattr(claim, key):
            data[key] = getattr(claim, key)
    data.update(verdict=claim.verdict, reviewed_on=claim.reviewed_on)
    data["evidence"] = [quote_to_data(proof) for proof in claim.evidence]
    data["promises"] = list(claim.promises)
    return frontmatter.dump(data, claim.body)


def quotes(claim: Claim) -> list[tuple[str, Evidence]]:
    """The claim as stated, then its evidence, each with its field."""
    return claim.proofs


def check(claim: Claim, tree: ContentTree, today: date) -> list[Problem]:
    """The verdict from the vocabulary, dates, evidence and explanation present, related promises that exist."""
    problems = author_problems(claim, "claimed_by", claim.claimed_by, tree)
    if claim.verdict and claim.verdict not in tree.verdicts:
        known = ", ".join(tree.verdicts)
        problems.append(
            problem_at(claim, "verdict", _("verdict inconnu « %(verdict)s » (verdicts connus : %(known)s)", verdict=claim.verdict, known=known))
        )
    for field in ("claimed_on", "reviewed_on"):
        day = getattr(claim, field)
        if day and day > today:
            problems.append(problem_at(claim, field, _("date dans le futur (%(date)s)", date=day.isoformat())))
    if claim.claimed_on and claim.reviewed_on and claim.reviewed_on < claim.claimed_on:
        problems.append(
            problem_at(
                claim, "reviewed_on", _("vérification datée avant l'affirmation (claimed_on %(date)s)", date=claim.claimed_on.isoformat())
            )
        )
    stated_in = tree.quotable_sources.get(claim.quote.source) if claim.quote else None
    if stated_in is not None and stated_in.date and claim.claimed_on and claim.claimed_on > stated_in.date:
        problems.append(
            problem_at(
                claim,
                "claimed_on",
                _(
                    "affirmation datée après le document où elle figure (« %(source)s », %(date)s)",
                    source=stated_in.id,
                    date=stated_in.date.isoformat(),
                ),
                "warning",
            )
        )
    if not claim.evidence:
        problems.append(
            problem_at(claim, "evidence", _("vérification sans preuve : citez le passage d'un document qui fonde le verdict"), "warning")
        )
    if not claim.body.strip():
        problems.append(problem_at(claim, "verdict", _("explication manquante : le texte après le front matter explique le verdict")))
    for index, promise_id in enumerate(claim.promises):
        field = f"promises[{index}]"
        if promise_id in claim.promises[:index]:
            problems.append(problem_at(claim, field, _("la promesse « %(id)s » est déjà listée", id=promise_id)))
        elif any(promise.id == promise_id for promise in tree.broken_promises):
            problems.append(problem_at(claim, field, _("la promesse « %(id)s » a des erreurs : corrigez d'abord son fichier", id=promise_id)))
        elif promise_id not in tree.promises and promise_id not in tree.unreadable_promises:
            moved = tree.alias_target(promise_id)
            if moved:
                message = _("promesse inconnue « %(id)s » : c'est l'ancien identifiant de « %(moved)s »", id=promise_id, moved=moved)
            else:
                message = _("promesse inconnue « %(id)s » (aucun fichier promises/%(id)s.md)", id=promise_id)
            problems.append(problem_at(claim, field, message))
    return problems


def indexed(claim: Claim) -> Indexed:
    """What search knows of a fact-check: what was claimed, the verdict's explanation and evidence."""
    quoted = [proof.quote for _field, proof in claim.proofs]
    notes = [proof.note for proof in claim.evidence if proof.note]
    explanation = markdown_to_text(claim.body)
    return Indexed(
        title=claim.title,
        quotes=quoted,
        texts=[author_words(claim.claimed_by), claim.territory, claim.theme, *notes, claim.body],
        snippet="\n\n".join(part for part in [explanation, *quoted, *notes] if part),
        facets={"verdict": claim.verdict, "made_by": joined(claim.claimed_by), "territory": claim.territory, "theme": claim.theme},
        date=claim.reviewed_on,
    )
