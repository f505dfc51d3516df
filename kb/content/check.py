"""`kb check`: every problem of a content tree, in one run.

Per-file problems (YAML, missing fields, bad dates…) come from reading the tree; each kind adds
the rules that need the vocabularies, today's date or other files (kb.content.kinds), and this
module proves, for every kind that quotes, that each quoted passage really is in its source.
The newsroom checks a proposed file with `check_text`: the same rules, for one file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from kb.config.i18n import N_
from kb.config.i18n import gettext as _
from kb.content import frontmatter, originals
from kb.content.fields import problem_at
from kb.content.files import display_path
from kb.content.model import Evidence, Problem, Source
from kb.content.nearest import nearest_passage
from kb.content.quotes import FoldedText
from kb.content.registry import Key
from kb.content.tree import ContentTree, read_tree


@dataclass
class Report:
    """The outcome of a check, with the counts people want to see."""

    problems: list[Problem]
    counts: dict[str, int]  # files of each kind (published or not)
    history_entries: int
    verified_quotes: int
    labels: dict[str, str] = field(default_factory=dict)  # each kind's plural, for the summary

    @property
    def errors(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [problem for problem in self.problems if problem.severity == "warning"]

    promises = property(lambda self: self.counts.get("promise", 0))
    sources = property(lambda self: self.counts.get("source", 0))
    claims = property(lambda self: self.counts.get("claim", 0))


def check_content(root: Path, today: date | None = None, progress=None) -> Report:
    """Read and check the content tree at `root`."""
    return check_tree(read_tree(root, progress), today)


def check_tree(tree: ContentTree, today: date | None = None) -> Report:
    """Check a tree already read; report every problem found."""
    today = today or date.today()
    problems = list(tree.problems)
    folded: dict[str, FoldedText] = {}
    verified = 0
    for kind in tree.kinds:
        items = tree.every(kind.name)
        for item in items:
            problems.extend(kind.check(item, tree, today))
            if kind.quotes is not None:
                quote_problems, item_verified = check_quotes(item, kind.quotes(item), tree, folded)
                problems.extend(quote_problems)
                verified += item_verified
        problems.extend(kind.check_together(items, tree))
    if "source" in tree.kinds and tree.root is not None:
        named = {source.sha256 for source in tree.every("source") if source.sha256}
        for path in originals.orphans(tree.root, named):
            problems.append(Problem(display_path(path), None, None, _(ORPHAN), "warning"))
    return Report(
        problems=sorted(set(problems), key=Problem.sort_key),
        counts={kind.name: len(tree.every(kind.name)) for kind in tree.kinds},
        history_entries=sum(len(promise.history) for promise in tree.every("promise")) if "promise" in tree.kinds else 0,
        verified_quotes=verified,
        labels={kind.name: kind.plural for kind in tree.kinds},
    )


ORPHAN = N_("document original qu'aucune source ne cite (dépôt en relecture, refusé ou remplacé) : à citer ou à supprimer")


def check_text(tree: ContentTree, key: Key, text: str, today: date | None = None) -> list[Problem]:
    """Every problem the file `text` would have once published as `key` in `tree`.

    The same rules as `kb check`, for one file: the newsroom validates proposals with it.
    """
    today = today or date.today()
    kind = tree.kinds[key.kind]
    path = tree.kinds.path(tree.root, key)
    size = len(text.encode("utf-8"))
    if size > kind.max_bytes:
        # Files past kb's size limit are not read at all: one a proposal would write must not be either.
        message = _(
            "fichier trop gros (%(size)s octets ; limite %(limit)s)",
            size=f"{size:,}".replace(",", " "),
            limit=f"{kind.max_bytes:,}".replace(",", " "),
        )
        return [Problem(display_path(path), None, None, message)]
    item, problems = kind.parse(path, text)
    if item is None:
        return sorted(problems, key=Problem.sort_key)
    problems += kind.check(item, tree, today)
    if kind.quotes is not None:
        problems += check_quotes(item, kind.quotes(item), tree, None)[0]
    others = [other for other in tree.neighbours(kind.name, item) if other.id != key.id]
    shown = display_path(path)
    problems += [problem for problem in kind.check_together(others + [item], tree) if problem.path == shown]
    return sorted(set(problems), key=Problem.sort_key)


def check_quotes(item, proofs: list[tuple[str, Evidence]], tree: ContentTree, folded: dict[str, FoldedText] | None) -> tuple[list[Problem], int]:
    """Problems with the quotes of a file (`proofs`: field, quote), and how many of them are verified.

    `folded`: the source texts this check folded (a whole tree's, kept by the caller); None to use
    the process's cache of recently folded texts.
    """
    problems: list[Problem] = []
    sources: dict[str, Source] = tree.quotable_sources
    verified = 0
    reported_unreadable: set[str] = set()
    for field_name, proof in proofs:
        # One file checked (a proposal): the tree answers for the passages it already verified (the
        # catalog keeps each answer) without reading the source; only new passages fold its text.
        if folded is None and tree.quote_verified(proof.source, proof.quote):
            verified += 1
            continue
        source = sources.get(proof.source)
        if source is None and proof.source in tree.unreadable_sources:
            # Said once per file: the source's own errors are listed under its file.
            if proof.source not in reported_unreadable:
                reported_unreadable.add(proof.source)
                problems.append(
                    problem_at(
                        item,
                        f"{field_name}.source",
                        _("la source « %(source)s » est illisible : corrigez d'abord ses erreurs", source=proof.source),
                    )
                )
            continue
        if source is None:
            problems.append(
                problem_at(
                    item,
                    f"{field_name}.source",
                    _("source inconnue « %(source)s » (aucun fichier sources/%(source)s.md)", source=proof.source),
                )
            )
            continue
        if not (source.text or "").strip():
            continue  # an empty source is reported once, under its own file
        if folded is None:
            text = FoldedText.cached(source.text)
        else:
            if proof.source not in folded:
                folded[proof.source] = FoldedText.of(source.text)
            text = folded[proof.source]
        # The tree's answer aside (a source read with errors is quotable, not among its sources): the text says.
        if text.contains(proof.quote):
            verified += 1
            continue
        hint = prefix_hint(text, proof.quote) or _(" ; même son premier mot en est absent")
        hint += nearest_hint(source.text, proof.quote)
        problems.append(
            Problem(
                display_path(item.path),
                proof.line or frontmatter.nearest_line(item.lines, f"{field_name}.quote"),
                f"{field_name}.quote",
                _("citation introuvable dans la source « %(source)s »%(hints)s", source=proof.source, hints=hint),
            )
        )
    return problems, verified


def nearest_hint(source_text: str, quote: str) -> str:
    """For a quote not found: the source's nearest passage, as a repair to copy (or nothing)."""
    nearest = nearest_passage(source_text, quote)
    return _(" ; passage le plus proche : « %(passage)s »", passage=nearest) if nearest else ""


def prefix_hint(text: FoldedText, quote: str) -> str | None:
    """For a quote not found: how far its start does match, said for people (None: not even its first word)."""
    found = text.longest_matching_prefix(quote)
    return _(" ; le début « %(found)s » s'y trouve, la suite diffère", found=found) if found else None
