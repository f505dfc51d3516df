"""`kb check`: every problem of a content tree, in one run.

Per-file problems (YAML, missing fields, bad dates…) come from reading the tree; this
module adds the rules that need the vocabularies, today's date or other files: statuses and
verdicts, chronology, evidence sources, quotes, links between files, identifiers that clash.
A claim's quotes (the claim as stated and its evidence) are verified by the same rule as a
promise's evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .frontmatter import nearest_line
from .content import (
    MAX_CLAIM_BYTES, MAX_PROMISE_BYTES, MAX_SOURCE_BYTES, ContentTree, parse_claim, parse_promise, parse_source, read_tree,
)  # fmt: skip
from .files import display_path
from .model import Claim, Evidence, Problem, Promise, Source
from .quotes import FoldedText


@dataclass
class Report:
    """The outcome of a check, with the counts people want to see."""

    problems: list[Problem]
    promises: int
    sources: int
    history_entries: int
    verified_quotes: int
    claims: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "warning"]


def check_content(root: Path, today: date | None = None, progress=None) -> Report:
    """Read and check the content tree at `root`."""
    return check_tree(read_tree(root, progress), today)


def check_tree(tree: ContentTree, today: date | None = None) -> Report:
    """Check a tree already read; report every problem found."""
    today = today or date.today()
    problems = list(tree.problems)
    promises = list(tree.promises.values()) + tree.broken_promises
    sources = _all_sources(tree)
    folded: dict[str, FoldedText] = {}
    verified = 0
    for promise in promises:
        problems.extend(_check_promise(promise, tree, today))
        evidence_problems, promise_verified = _check_quotes(promise, _promise_proofs(promise), sources, tree.unreadable_sources, folded)
        problems.extend(evidence_problems)
        verified += promise_verified
    claims = list(tree.claims.values()) + tree.broken_claims
    for claim in claims:
        problems.extend(_check_claim(claim, tree, sources, today))
        quote_problems, claim_verified = _check_quotes(claim, claim.proofs, sources, tree.unreadable_sources, folded)
        problems.extend(quote_problems)
        verified += claim_verified
    for source in sources.values():
        if source.date and source.date > today:
            problems.append(_at(source, "date", f"date dans le futur ({source.date.isoformat()})"))
    problems.extend(_check_identifiers(promises))
    return Report(
        problems=sorted(set(problems), key=Problem.sort_key),
        promises=len(promises),
        sources=len(sources),
        history_entries=sum(len(promise.history) for promise in promises),
        verified_quotes=verified,
        claims=len(claims),
    )


def check_promise_text(tree: ContentTree, promise_id: str, text: str, today: date | None = None) -> list[Problem]:
    """Every problem the promise file `text` would have once published as promises/<id>.md in `tree`.

    The same rules as `kb check`, for one file: the newsroom validates proposals with it.
    """
    today = today or date.today()
    path = tree.root / "promises" / f"{promise_id}.md"
    too_big = _size_problem(path, text, MAX_PROMISE_BYTES)
    if too_big:
        return [too_big]
    promise, problems = parse_promise(path, text)
    if promise is None:
        return sorted(problems, key=Problem.sort_key)
    problems += _check_promise(promise, tree, today)
    problems += _check_quotes(promise, _promise_proofs(promise), _all_sources(tree), tree.unreadable_sources, {})[0]
    others = [other for other in tree.promises.values() if other.id != promise_id]
    shown = display_path(path)
    problems += [problem for problem in _check_identifiers(others + [promise]) if problem.path == shown]
    owner = tree.alias_target(promise_id)
    if owner and owner != promise_id:
        problems.append(Problem(shown, None, "id", f"« {promise_id} » est un ancien identifiant de la promesse « {owner} »"))
    return sorted(set(problems), key=Problem.sort_key)


def check_source_text(tree: ContentTree, source_id: str, text: str, today: date | None = None) -> list[Problem]:
    """Every problem the source file `text` would have once published as sources/<id>.md."""
    today = today or date.today()
    too_big = _size_problem(tree.root / "sources" / f"{source_id}.md", text, MAX_SOURCE_BYTES)
    if too_big:
        return [too_big]
    source, problems = parse_source(tree.root / "sources" / f"{source_id}.md", text)
    if source is not None and source.date and source.date > today:
        problems.append(_at(source, "date", f"date dans le futur ({source.date.isoformat()})"))
    return sorted(set(problems), key=Problem.sort_key)


def check_claim_text(tree: ContentTree, claim_id: str, text: str, today: date | None = None) -> list[Problem]:
    """Every problem the claim file `text` would have once published as claims/<id>.md in `tree`."""
    today = today or date.today()
    path = tree.root / "claims" / f"{claim_id}.md"
    too_big = _size_problem(path, text, MAX_CLAIM_BYTES)
    if too_big:
        return [too_big]
    claim, problems = parse_claim(path, text)
    if claim is not None:
        sources = _all_sources(tree)
        problems += _check_claim(claim, tree, sources, today)
        problems += _check_quotes(claim, claim.proofs, sources, tree.unreadable_sources, {})[0]
    return sorted(set(problems), key=Problem.sort_key)


def _all_sources(tree: ContentTree) -> dict[str, Source]:
    """Sources quotes are checked against, as kb check does: one with errors of its own still exists."""
    return {source.id: source for source in tree.broken_sources} | tree.sources


def _size_problem(path: Path, text: str, limit: int) -> Problem | None:
    """Files past kb's size limit are not read at all: one a proposal would write must not be either."""
    size = len(text.encode("utf-8"))
    if size <= limit:
        return None
    message = f"fichier trop gros ({size:,} octets ; limite {limit:,})".replace(",", " ")
    return Problem(display_path(path), None, None, message)


def _at(item: Promise | Source | Claim, field: str, message: str, severity: str = "error") -> Problem:
    return Problem(display_path(item.path), _line(item, field), field, message, severity)


def _line(item: Promise | Source | Claim, field: str) -> int | None:
    return nearest_line(item.lines, field)


def _check_promise(promise: Promise, tree: ContentTree, today: date) -> list[Problem]:
    problems = []
    known = ", ".join(tree.statuses)

    def unknown_status(field: str, status: str | None) -> None:
        if status and status not in tree.statuses:
            problems.append(_at(promise, field, f"statut inconnu « {status} » (statuts connus : {known})"))

    unknown_status("status", promise.status)
    if promise.made_on and promise.made_on > today:
        problems.append(_at(promise, "made_on", f"date dans le futur ({promise.made_on.isoformat()})"))
    if promise.made_on and promise.due and promise.due < promise.made_on:
        problems.append(_at(promise, "due", "l'échéance précède la date de l'engagement (made_on)"))
    previous = None
    for entry in promise.history:
        field = f"history[{entry.position}]"
        unknown_status(f"{field}.status", entry.status)
        if entry.date is None:
            continue
        if entry.date > today:
            problems.append(_at(promise, f"{field}.date", f"date dans le futur ({entry.date.isoformat()})"))
        if promise.made_on and entry.date < promise.made_on:
            problems.append(
                _at(promise, f"{field}.date", f"entrée datée avant l'engagement (made_on {promise.made_on.isoformat()})")
            )
        if previous and entry.date < previous:
            problems.append(
                _at(
                    promise,
                    f"{field}.date",
                    f"historique dans le désordre : {entry.date.isoformat()} après {previous.isoformat()} "
                    "(les entrées vont de la plus ancienne à la plus récente)",
                )
            )
        previous = max(previous, entry.date) if previous else entry.date
        if not entry.evidence:
            problems.append(_at(promise, field, "entrée sans preuve : ajoutez une citation d'un document source", "warning"))
    last = promise.history[-1] if promise.history else None
    # Only when the file's last entry was readable: otherwise "the last entry" is not this one.
    if last and last.position == _history_length(promise) - 1 and last.status and promise.status and promise.status != last.status:
        problems.append(
            _at(
                promise,
                "status",
                f"« {promise.status} » diffère du statut de la dernière entrée d'historique "
                f"(history[{last.position}] : « {last.status} »)",
            )
        )
    return problems


def _check_claim(claim: Claim, tree: ContentTree, sources: dict[str, Source], today: date) -> list[Problem]:
    problems = []
    if claim.verdict and claim.verdict not in tree.verdicts:
        known = ", ".join(tree.verdicts)
        problems.append(_at(claim, "verdict", f"verdict inconnu « {claim.verdict} » (verdicts connus : {known})"))
    for field in ("claimed_on", "reviewed_on"):
        day = getattr(claim, field)
        if day and day > today:
            problems.append(_at(claim, field, f"date dans le futur ({day.isoformat()})"))
    if claim.claimed_on and claim.reviewed_on and claim.reviewed_on < claim.claimed_on:
        problems.append(_at(claim, "reviewed_on", f"vérification datée avant l'affirmation (claimed_on {claim.claimed_on.isoformat()})"))
    stated_in = sources.get(claim.quote.source) if claim.quote else None
    if stated_in is not None and stated_in.date and claim.claimed_on and claim.claimed_on > stated_in.date:
        problems.append(
            _at(
                claim,
                "claimed_on",
                f"affirmation datée après le document où elle figure (« {stated_in.id} », {stated_in.date.isoformat()})",
                "warning",
            )
        )
    if not claim.evidence:
        problems.append(_at(claim, "evidence", "vérification sans preuve : citez le passage d'un document qui fonde le verdict", "warning"))
    if not claim.body.strip():
        problems.append(_at(claim, "verdict", "explication manquante : le texte après le front matter explique le verdict"))
    for index, promise_id in enumerate(claim.promises):
        field = f"promises[{index}]"
        if promise_id in claim.promises[:index]:
            problems.append(_at(claim, field, f"la promesse « {promise_id} » est déjà listée"))
        elif any(promise.id == promise_id for promise in tree.broken_promises):
            problems.append(_at(claim, field, f"la promesse « {promise_id} » a des erreurs : corrigez d'abord son fichier"))
        elif promise_id not in tree.promises and promise_id not in tree.unreadable_promises:
            moved = tree.alias_target(promise_id)
            hint = f" : c'est l'ancien identifiant de « {moved} »" if moved else f" (aucun fichier promises/{promise_id}.md)"
            problems.append(_at(claim, field, f"promesse inconnue « {promise_id} »{hint}"))
    return problems


def _promise_proofs(promise: Promise) -> list[tuple[str, Evidence]]:
    return [
        (f"history[{entry.position}].evidence[{proof.position}]", proof) for entry in promise.history for proof in entry.evidence
    ]


def _history_length(promise: Promise) -> int:
    """How many entries the file's history list has, readable or not."""
    return sum(1 for key in promise.lines if re.fullmatch(r"history\[\d+\]", key))


def _check_quotes(
    item: Promise | Claim,
    proofs: list[tuple[str, Evidence]],
    sources: dict[str, Source],
    unreadable: set[str],
    folded: dict[str, FoldedText],
) -> tuple[list[Problem], int]:
    """Problems with the quotes of a file (`proofs`: field, quote), and how many of them are verified."""
    problems: list[Problem] = []
    verified = 0
    reported_unreadable: set[str] = set()
    for field, proof in proofs:
        source = sources.get(proof.source)
        if source is None and proof.source in unreadable:
            # Said once per file: the source's own errors are listed under its file.
            if proof.source not in reported_unreadable:
                reported_unreadable.add(proof.source)
                problems.append(
                    _at(item, f"{field}.source", f"la source « {proof.source} » est illisible : corrigez d'abord ses erreurs")
                )
            continue
        if source is None:
            problems.append(_at(item, f"{field}.source", f"source inconnue « {proof.source} » (aucun fichier sources/{proof.source}.md)"))
            continue
        if not (source.text or "").strip():
            continue  # an empty source is reported once, under its own file
        if proof.source not in folded:
            folded[proof.source] = FoldedText.of(source.text)
        text = folded[proof.source]
        if text.contains(proof.quote):
            verified += 1
            continue
        hint = prefix_hint(text, proof.quote) or " ; même son premier mot en est absent"
        problems.append(
            Problem(
                display_path(item.path),
                proof.line or _line(item, f"{field}.quote"),
                f"{field}.quote",
                f"citation introuvable dans la source « {proof.source} »{hint}",
            )
        )
    return problems, verified


def prefix_hint(text: FoldedText, quote: str) -> str | None:
    """For a quote not found: how far its start does match, said for people (None: not even its first word)."""
    found = text.longest_matching_prefix(quote)
    return f" ; le début « {found} » s'y trouve, la suite diffère" if found else None


def _check_identifiers(promises: list[Promise]) -> list[Problem]:
    problems = []
    ids = {promise.id for promise in promises}
    claimed: dict[str, Promise] = {}
    for promise in promises:
        for index, alias in enumerate(promise.aliases):
            field = f"aliases[{index}]"
            if alias in promise.aliases[:index]:
                problems.append(_at(promise, field, f"l'alias « {alias} » est déjà listé"))
            elif alias == promise.id:
                problems.append(_at(promise, field, "un alias ne peut pas être l'identifiant de la promesse elle-même"))
            elif alias in ids:
                problems.append(_at(promise, field, f"l'alias « {alias} » est l'identifiant d'une autre promesse"))
            elif alias in claimed and claimed[alias] is not promise:
                other = display_path(claimed[alias].path)
                problems.append(_at(promise, field, f"l'alias « {alias} » est déjà déclaré par {other}"))
            else:
                claimed[alias] = promise
    return problems
