"""The content tree: every file of every kind read into plain objects, and how they relate.

Only files read without error are *published* (served by the site and indexed); the others are
kept aside for the checker, so `kb check` can report every problem of every file in one run.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Iterable

from kb.config.i18n import gettext as _
from kb.content.files import display_path
from kb.content.kinds import KINDS
from kb.content.model import Claim, ContentError, Problem, Promise, Source, Status, Verdict
from kb.content.quotes import FoldedText
from kb.content.registry import Kinds
from kb.content.statuses import load_statuses
from kb.content.verdicts import load_verdicts


@dataclass
class ContentTree:
    """Everything under a content directory, as read from disk."""

    root: Path
    statuses: dict[str, Status]
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    kinds: Kinds = KINDS
    problems: list[Problem] = field(default_factory=list)
    # Published items of each kind, by id: files read without error.
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Files that parsed only partly: not published, but still checked as far as possible.
    broken: dict[str, list] = field(default_factory=dict)
    # Ids of files that could not be read at all (bad YAML, not UTF-8…).
    unreadable: dict[str, set[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for kind in self.kinds:
            self.items.setdefault(kind.name, {})
            self.broken.setdefault(kind.name, [])
            self.unreadable.setdefault(kind.name, set())

    def every(self, kind: str) -> list:
        """Every item of a kind that could be read, published or not: what kb check checks."""
        return list(self.items[kind].values()) + self.broken[kind]

    def neighbours(self, kind: str, item) -> list:
        """The other items of `kind` that a rule across files (kind.check_together) compares `item` with."""
        return [other for other in self.every(kind) if other.id != item.id]

    def summaries(self, kind: str) -> list:
        """Published items of a kind by title, for a form's choices (the whole items: this tree holds them anyway)."""
        return sorted(self.items[kind].values(), key=lambda item: (item.title or "").lower())

    def titles(self, kind: str, ids) -> dict:
        """Published items of a kind among `ids`, by id, for the names a page shows (the whole items here)."""
        return {item_id: self.items[kind][item_id] for item_id in dict.fromkeys(ids) if item_id in self.items[kind]}

    def file_ids(self, kind: str) -> set[str]:
        """The ids of every file of a kind, published, broken or unreadable (what a reference may name)."""
        return set(self.items[kind]) | {item.id for item in self.broken[kind]} | self.unreadable[kind]

    def has_file(self, kind: str, item_id: str) -> bool:
        return item_id in self.file_ids(kind)

    # The shipped kinds by name, as templates and the code that relates them read them.
    promises = property(lambda self: self.items["promise"])
    trackers = property(lambda self: self.items["tracker"])
    people = property(lambda self: self.items["person"])

    @cached_property
    def _people_by_name(self) -> dict[str, str]:
        named = {}
        for person in sorted(self.every("person"), key=lambda person: person.id):
            for name in (person.name, *person.aliases):
                if name:
                    named.setdefault(name.casefold(), person.id)
        return named

    def person_named(self, name: str) -> str | None:
        """The id of the person (or institution) of that name or alias, if any."""
        return self._people_by_name.get((name or "").casefold())
    sources = property(lambda self: self.items["source"])
    claims = property(lambda self: self.items["claim"])
    broken_promises = property(lambda self: self.broken["promise"])
    broken_sources = property(lambda self: self.broken["source"])
    broken_claims = property(lambda self: self.broken["claim"])
    unreadable_promises = property(lambda self: self.unreadable["promise"])
    unreadable_sources = property(lambda self: self.unreadable["source"])
    unreadable_claims = property(lambda self: self.unreadable["claim"])

    @cached_property
    def quotable_sources(self) -> dict[str, Source]:
        """Sources quotes are checked against, as kb check does: one with errors of its own still exists."""
        return {source.id: source for source in self.broken.get("source", ())} | self.items.get("source", {})

    @property
    def final_statuses(self) -> set[str]:
        return {key for key, status in self.statuses.items() if status.final}

    @cached_property
    def _by_group(self) -> dict[tuple[str, str], tuple[list[str], list[Promise]]]:
        groups: dict[tuple[str, str], list[Promise]] = {}
        for promise in self.promises.values():
            for key in (("territory", promise.territory), ("theme", promise.theme)):
                groups.setdefault(key, []).append(promise)
            groups.setdefault(("pair", f"{promise.territory}\n{promise.theme}"), []).append(promise)
        by_id = {}
        for key, members in groups.items():
            members.sort(key=lambda promise: promise.id)
            by_id[key] = ([promise.id for promise in members], members)
        return by_id

    def related(self, promise: Promise, count: int = 5) -> list[Promise]:
        """Promises of the same territory and theme first, then of either; each group from the ids after
        the promise's own, then from its start (kb.catalog.reader.related says why)."""
        groups = self._by_group
        found: list[Promise] = []
        for key in (("pair", f"{promise.territory}\n{promise.theme}"), ("territory", promise.territory), ("theme", promise.theme)):
            ids, members = groups.get(key, ([], []))
            start = bisect.bisect_right(ids, promise.id)
            for other in members[start:] + members[:start]:
                if len(found) == count:
                    return found
                if other.id != promise.id and other not in found:
                    found.append(other)
        return found

    @cached_property
    def _verified(self) -> dict[str, dict[str, bool]]:
        return {}

    def quote_verified(self, source_id: str, quote: str) -> bool:
        """Whether `quote` occurs in source `source_id` (the rule of kb check).

        The first quote asked of a source settles every quote citing it, with one folding
        of its text: pages need the answers, and folding a long text is the costly part.
        """
        answers = self._verified.get(source_id)
        if answers is None:
            source = self.sources.get(source_id)
            folded = FoldedText.of(source.text) if source is not None else None
            quotes = {
                proof.quote
                for promise in self._citations.get(source_id, ())
                for entry in promise.history
                for proof in entry.evidence
                if proof.source == source_id
            } | {
                proof.quote
                for claim in self._claim_citations.get(source_id, ())
                for _field, proof in claim.proofs
                if proof.source == source_id
            }
            answers = {quote: bool(folded and folded.contains(quote)) for quote in quotes}
            self._verified[source_id] = answers
        if quote not in answers:  # a quote from outside the tree (a newsroom draft…)
            source = self.sources.get(source_id)
            return source is not None and FoldedText.cached(source.text).contains(quote)
        return answers[quote]

    @cached_property
    def _aliases(self) -> dict[str, str]:
        return {alias: promise.id for promise in self.promises.values() for alias in promise.aliases}

    def alias_target(self, old_id: str) -> str | None:
        """The current id of a promise that used to be called `old_id`, if any."""
        return self._aliases.get(old_id)

    @cached_property
    def _citations(self) -> dict[str, list[Promise]]:
        citing: dict[str, list[Promise]] = {}
        for promise in sorted(self.promises.values(), key=lambda promise: promise.title):
            for source_id in dict.fromkeys(proof.source for entry in promise.history for proof in entry.evidence):
                citing.setdefault(source_id, []).append(promise)
        return citing

    @cached_property
    def _carried_over(self) -> dict[str, list[Promise]]:
        later: dict[str, list[Promise]] = {}
        for promise in sorted(self.promises.values(), key=lambda promise: promise.id):
            if promise.carried_over_from:
                later.setdefault(self.alias_target(promise.carried_over_from) or promise.carried_over_from, []).append(promise)
        return later

    def carried_over_to(self, promise_id: str) -> list[Promise]:
        """Published promises of later terms that carry over promise `promise_id`, by id."""
        return list(self._carried_over.get(promise_id, ()))

    def promises_citing(self, source_id: str) -> list[Promise]:
        """Published promises with at least one quote from `source_id`, by title."""
        return list(self._citations.get(source_id, ()))

    @cached_property
    def _claim_citations(self) -> dict[str, list[Claim]]:
        citing: dict[str, list[Claim]] = {}
        for claim in sorted(self.claims.values(), key=lambda claim: claim.title):
            for source_id in dict.fromkeys(proof.source for _field, proof in claim.proofs):
                citing.setdefault(source_id, []).append(claim)
        return citing

    def claims_citing(self, source_id: str) -> list[Claim]:
        """Published claims quoting `source_id` (the claim itself or its evidence), by title."""
        return list(self._claim_citations.get(source_id, ()))

    @cached_property
    def _claims_by_promise(self) -> dict[str, list[Claim]]:
        linked: dict[str, list[Claim]] = {}
        for claim in sorted(self.claims.values(), key=lambda claim: (claim.reviewed_on, claim.id), reverse=True):
            for promise_id in claim.promises:
                # kb check flags an old id; until fixed, the link still leads to the promise.
                linked.setdefault(self.alias_target(promise_id) or promise_id, []).append(claim)
        return linked

    def claims_about(self, promise_id: str) -> list[Claim]:
        """Published claims that name promise `promise_id` as related, latest verdict first."""
        return list(self._claims_by_promise.get(promise_id, ()))


def read_tree(root: Path, progress: Callable[[list[Path]], Iterable[Path]] | None = None, kinds: Kinds = KINDS) -> ContentTree:
    """Read a whole content tree: the vocabularies and every file of every kind."""
    root = Path(root)
    if not root.is_dir():
        raise ContentError(_("dossier de contenu introuvable : %(path)s", path=display_path(root)))
    statuses, problems = load_statuses(root)
    verdicts, verdict_problems = load_verdicts(root)
    tree = ContentTree(root=root, statuses=statuses, verdicts=verdicts, kinds=kinds, problems=problems + verdict_problems)
    files: list[Path] = []
    for kind in kinds:
        directory = root / kind.folder
        if not directory.is_dir():
            if directory.exists():
                tree.problems.append(Problem(display_path(directory), None, None, _("ce n'est pas un dossier")))
            elif not kind.optional:
                tree.problems.append(Problem(display_path(directory), None, None, _("dossier manquant")))
            continue
        for path in sorted(directory.iterdir()):
            if path.name.startswith("."):
                continue  # editor swap files, .gitkeep
            if path.suffix != ".md":
                message = _("ignoré : seuls les fichiers .md sont lus")
            elif not path.is_file():
                message = _("ignoré : ce n'est pas un fichier ordinaire (dossier, lien cassé ou en boucle…)")
            else:
                files.append(path)
                continue
            tree.problems.append(Problem(display_path(path), None, None, message, "warning"))
    for path in progress(files) if progress else files:
        kind = kinds.by_folder[path.parent.name]
        item, file_problems = kind.read(path)
        if item is None:
            tree.unreadable[kind.name].add(path.stem)
        elif any(problem.severity == "error" for problem in file_problems):
            tree.broken[kind.name].append(item)
        else:
            tree.items[kind.name][item.id] = item
        tree.problems.extend(file_problems)
    return tree
