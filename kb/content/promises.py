"""Promises: their file (read and written back), the rules `kb check` applies, what search indexes."""

from __future__ import annotations

import difflib
import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.config.i18n import gettext as _
from kb.content import frontmatter
from kb.content.fields import EVIDENCE_KEYS, Fields, open_document, problem_at, quote_to_data
from kb.content.files import atomic_write, display_path
from kb.content.model import ID_PATTERN, ContentError, Evidence, HistoryEntry, Problem, Promise
from kb.content.people import author_problems, author_words, authors_value, joined
from kb.content.registry import Indexed
from kb.content.render import markdown_to_text

if TYPE_CHECKING:
    from kb.content.tree import ContentTree

# Promises are written by hand: anything this large is an accident (a pasted PDF, a binary).
MAX_BYTES = 512 * 1024
KEYS = (
    "id", "title", "tracker", "made_by", "party", "list", "territory", "theme",
    "made_on", "due", "status", "history", "reply", "carried_over_from", "aliases",
)  # fmt: skip
HISTORY_KEYS = ("date", "status", "note", "evidence")


def parse(path: Path, text: str) -> tuple[Promise | None, list[Problem]]:
    """Parse a promise file's text as if it were at `path`; the promise may be partial when there are problems."""
    document, fields, problems = open_document(path, text, KEYS)
    if document is None:
        return None, problems
    data = document.data
    history = []
    for index, item in enumerate(fields.items(data, "history")):
        entry = _read_history_entry(item, index, fields)
        if entry is not None:
            history.append(entry)
    if data.get("history") in (None, []):
        fields.problem("history", _("historique manquant : au moins une entrée datée avec un statut"))
    # Required, but said by check() and not here: a tree from before trackers stays published until its promises get one.
    tracker = fields.text(data, "tracker")
    if tracker is not None:
        tracker = fields.identifier(tracker, "tracker")
    carried_over_from = data.get("carried_over_from")
    if carried_over_from is not None:
        carried_over_from = fields.identifier(carried_over_from, "carried_over_from")
    aliases = []
    for index, alias in enumerate(fields.items(data, "aliases")):
        alias = fields.identifier(alias, f"aliases[{index}]")
        if alias:
            aliases.append(alias)
    promise = Promise(
        id=path.stem,
        title=fields.text(data, "title", required=True),
        made_by=fields.names(data, "made_by", required=True),
        territory=fields.text(data, "territory", required=True),
        theme=fields.text(data, "theme", required=True),
        made_on=fields.date(data, "made_on", required=True),
        status=fields.text(data, "status", required=True),
        history=history,
        tracker=tracker,
        party=fields.text(data, "party"),
        list_name=fields.text(data, "list"),
        due=fields.date(data, "due"),
        reply=fields.text(data, "reply"),
        carried_over_from=carried_over_from,
        aliases=aliases,
        body=document.body.strip("\n"),
        path=path,
        lines=document.lines,
    )
    return promise, problems


def _read_history_entry(item: Any, position: int, fields: Fields) -> HistoryEntry | None:
    path = f"history[{position}]"
    data = fields.mapping(item, path, _("une entrée d'historique doit être une table « clé: valeur »"))
    if data is None:
        return None
    prefix = path + "."
    fields.unknown_keys(data, prefix, HISTORY_KEYS)
    evidence = []
    for index, proof in enumerate(fields.items(data, "evidence", prefix)):
        proof_path = f"{prefix}evidence[{index}]"
        proof_data = fields.mapping(proof, proof_path, _("une preuve doit être une table « clé: valeur »"))
        if proof_data is None:
            continue
        proof = fields.quote(proof_data, proof_path, EVIDENCE_KEYS, position=index)
        if proof is not None:
            evidence.append(proof)
    return HistoryEntry(
        date=fields.date(data, "date", prefix, required=True),
        status=fields.text(data, "status", prefix, required=True),
        note=fields.text(data, "note", prefix),
        evidence=evidence,
        line=fields.line(path),
        position=position,
    )


def to_text(promise: Promise) -> str:
    """The file kb writes for a promise: fixed key order, stable YAML, Markdown body."""
    data: dict[str, Any] = {"title": promise.title, "tracker": promise.tracker, "made_by": authors_value(promise.made_by)}
    if promise.party:
        data["party"] = promise.party
    if promise.list_name:
        data["list"] = promise.list_name
    data.update(territory=promise.territory, theme=promise.theme, made_on=promise.made_on)
    if promise.due:
        data["due"] = promise.due
    data["status"] = promise.status
    data["history"] = [_history_to_data(entry) for entry in promise.history]
    if promise.reply:
        data["reply"] = promise.reply
    if promise.carried_over_from:
        data["carried_over_from"] = promise.carried_over_from
    data["aliases"] = list(promise.aliases)
    return frontmatter.dump(data, promise.body)


def _history_to_data(entry: HistoryEntry) -> dict[str, Any]:
    data: dict[str, Any] = {"date": entry.date, "status": entry.status}
    if entry.note:
        data["note"] = entry.note
    if entry.evidence:
        data["evidence"] = [quote_to_data(proof) for proof in entry.evidence]
    return data


def write(content_root: Path, promise: Promise) -> Path:
    """Write a promise file atomically; return its path. Refuses to write an unreadable file."""
    if not isinstance(promise.id, str) or not ID_PATTERN.match(promise.id):
        raise ContentError(_("identifiant de promesse invalide : %(id)s", id=repr(promise.id)))
    path = Path(content_root) / "promises" / f"{promise.id}.md"
    text = to_text(promise)
    # What is written must read back as the same promise, without error: check it in memory first.
    again, problems = parse(path, text)
    errors = [str(problem) for problem in problems if problem.severity == "error"]
    if errors or again != promise:
        if errors:
            raise ContentError(_("promesse non écrite, elle serait invalide : %(errors)s", errors="; ".join(errors)))
        raise ContentError(_("promesse non écrite, elle serait invalide : relecture différente"))
    atomic_write(path, text)
    return path


def quotes(promise: Promise) -> list[tuple[str, Evidence]]:
    """Every quote of the file with its field, history entry by history entry."""
    return [
        (f"history[{entry.position}].evidence[{proof.position}]", proof) for entry in promise.history for proof in entry.evidence
    ]


def check(promise: Promise, tree: ContentTree, today: date) -> list[Problem]:
    """Statuses from the vocabulary, dates in order and not in the future, evidence, the status of the last entry."""
    problems = []
    known = ", ".join(tree.statuses)

    def unknown_status(field: str, status: str | None) -> None:
        if status and status not in tree.statuses:
            problems.append(problem_at(promise, field, _("statut inconnu « %(status)s » (statuts connus : %(known)s)", status=status, known=known)))

    unknown_status("status", promise.status)
    problems += _tracker_problems(promise, tree)
    problems += author_problems(promise, "made_by", promise.made_by, tree)
    if promise.made_on and promise.made_on > today:
        problems.append(problem_at(promise, "made_on", _("date dans le futur (%(date)s)", date=promise.made_on.isoformat())))
    if promise.made_on and promise.due and promise.due < promise.made_on:
        problems.append(problem_at(promise, "due", _("l'échéance précède la date de l'engagement (made_on)")))
    previous = None
    for entry in promise.history:
        field = f"history[{entry.position}]"
        unknown_status(f"{field}.status", entry.status)
        if entry.date is None:
            continue
        if entry.date > today:
            problems.append(problem_at(promise, f"{field}.date", _("date dans le futur (%(date)s)", date=entry.date.isoformat())))
        if promise.made_on and entry.date < promise.made_on:
            problems.append(
                problem_at(
                    promise, f"{field}.date", _("entrée datée avant l'engagement (made_on %(date)s)", date=promise.made_on.isoformat())
                )
            )
        if previous and entry.date < previous:
            problems.append(
                problem_at(
                    promise,
                    f"{field}.date",
                    _(
                        "historique dans le désordre : %(date)s après %(previous)s "
                        "(les entrées vont de la plus ancienne à la plus récente)",
                        date=entry.date.isoformat(),
                        previous=previous.isoformat(),
                    ),
                )
            )
        previous = max(previous, entry.date) if previous else entry.date
        if not entry.evidence:
            problems.append(problem_at(promise, field, _("entrée sans preuve : ajoutez une citation d'un document source"), "warning"))
    last = promise.history[-1] if promise.history else None
    # Only when the file's last entry was readable: otherwise "the last entry" is not this one.
    if last and last.position == _history_length(promise) - 1 and last.status and promise.status and promise.status != last.status:
        problems.append(
            problem_at(
                promise,
                "status",
                _(
                    "« %(status)s » diffère du statut de la dernière entrée d'historique "
                    "(history[%(position)s] : « %(last)s »)",
                    status=promise.status,
                    position=last.position,
                    last=last.status,
                ),
            )
        )
    return problems


def _tracker_problems(promise: Promise, tree: ContentTree) -> list[Problem]:
    """The tracker it belongs to exists; the promise it carries over from exists and is another one."""
    problems = []
    if not promise.tracker and "tracker" not in promise.lines:
        trackers = ", ".join(sorted(tree.file_ids("tracker")))
        if trackers:
            message = _("champ obligatoire manquant : le suivi de la promesse (suivis : %(trackers)s)", trackers=trackers)
        else:
            message = _("champ obligatoire manquant : le suivi de la promesse (suivis : aucun : créez-en un dans trackers/)")
        problems.append(problem_at(promise, "tracker", message))
    if promise.tracker and not tree.has_file("tracker", promise.tracker):
        trackers = tree.file_ids("tracker")
        hint = difflib.get_close_matches(promise.tracker, sorted(trackers), n=1)
        if hint:
            message = _(
                "suivi inconnu « %(tracker)s » (aucun fichier trackers/%(tracker)s.md) ; vouliez-vous dire « %(hint)s » ?",
                tracker=promise.tracker,
                hint=hint[0],
            )
        elif trackers:
            message = _(
                "suivi inconnu « %(tracker)s » (aucun fichier trackers/%(tracker)s.md) (suivis connus : %(known)s)",
                tracker=promise.tracker,
                known=", ".join(sorted(trackers)),
            )
        else:
            message = _("suivi inconnu « %(tracker)s » (aucun fichier trackers/%(tracker)s.md) (suivis connus : aucun)", tracker=promise.tracker)
        problems.append(problem_at(promise, "tracker", message))
    earlier = promise.carried_over_from
    if earlier:
        if earlier == promise.id:
            problems.append(problem_at(promise, "carried_over_from", _("une promesse ne peut pas reprendre elle-même")))
        elif not tree.has_file("promise", earlier):
            moved = tree.alias_target(earlier)
            if moved:
                message = _("promesse inconnue « %(id)s » ; elle s'appelle maintenant « %(moved)s »", id=earlier, moved=moved)
            else:
                message = _("promesse inconnue « %(id)s »", id=earlier)
            problems.append(problem_at(promise, "carried_over_from", message))
    return problems


def _history_length(promise: Promise) -> int:
    """How many entries the file's history list has, readable or not."""
    return sum(1 for key in promise.lines if re.fullmatch(r"history\[\d+\]", key))


def check_together(promises: list[Promise], tree: ContentTree) -> list[Problem]:
    """Aliases (old ids that still lead to a promise) must each name one promise, and no current id."""
    problems = []
    ids = {promise.id for promise in promises}
    claimed: dict[str, Promise] = {}
    for promise in promises:
        for index, alias in enumerate(promise.aliases):
            field = f"aliases[{index}]"
            if alias in promise.aliases[:index]:
                problems.append(problem_at(promise, field, _("l'alias « %(alias)s » est déjà listé", alias=alias)))
            elif alias == promise.id:
                problems.append(problem_at(promise, field, _("un alias ne peut pas être l'identifiant de la promesse elle-même")))
            elif alias in ids:
                problems.append(problem_at(promise, field, _("l'alias « %(alias)s » est l'identifiant d'une autre promesse", alias=alias)))
                owned = next(other for other in promises if other.id == alias)
                problems.append(
                    Problem(
                        display_path(owned.path),
                        None,
                        "id",
                        _("« %(alias)s » est un ancien identifiant de la promesse « %(id)s »", alias=alias, id=promise.id),
                    )
                )
            elif alias in claimed and claimed[alias] is not promise:
                other = display_path(claimed[alias].path)
                problems.append(problem_at(promise, field, _("l'alias « %(alias)s » est déjà déclaré par %(other)s", alias=alias, other=other)))
            else:
                claimed[alias] = promise
    return problems


def indexed(promise: Promise) -> Indexed:
    """What search knows of a promise: its title and quotes first, then who, where, the notes, the analysis."""
    quoted = [proof.quote for entry in promise.history for proof in entry.evidence]
    notes = [entry.note for entry in promise.history if entry.note]
    people = " ".join(filter(None, (author_words(promise.made_by), promise.party, promise.list_name)))
    # Snippets show words, not Markdown syntax (** or [](…)).
    snippet_parts = [markdown_to_text(promise.body), *notes, *quoted, promise.reply or ""]
    return Indexed(
        title=promise.title,
        quotes=quoted,
        texts=[people, promise.territory, promise.theme, *notes, promise.reply, promise.body],
        snippet="\n\n".join(part for part in snippet_parts if part),
        facets={
            "status": promise.status, "territory": promise.territory, "made_by": joined(promise.made_by), "theme": promise.theme,
            "party": promise.party, "list": promise.list_name, "tracker": promise.tracker,
        },  # fmt: skip
        date=promise.updated_on,
        due=promise.due,
    )
