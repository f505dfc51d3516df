"""Trackers: what a newsroom follows for one term (a council, an office, a scheme), their file and rules.

Every promise belongs to one tracker (`tracker:` in its file). A closed tracker's record is final:
counted as of its term's end (kb.content.listing.final_record), so that editing a promise's
history after that date does not rewrite how the term ended.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.config.i18n import gettext as _
from kb.content import frontmatter
from kb.content.fields import open_document, problem_at
from kb.content.model import Problem, Tracker
from kb.content.registry import Indexed
from kb.content.render import markdown_to_text

if TYPE_CHECKING:
    from kb.content.tree import ContentTree

MAX_BYTES = 256 * 1024
KEYS = ("id", "title", "territory", "office", "term_start", "term_end", "closed")


EXAMPLE = """---
title: Mairie de Lille, mandat 2026-2032
territory: Lille
office: Mairie de Lille
term_start: 2026-03-22
term_end: 2032-03-31
closed: false
---
Comment les promesses de ce mandat ont été recensées (programme, professions de foi, débats) et évaluées.
"""


def parse(path: Path, text: str) -> tuple[Tracker | None, list[Problem]]:
    """Parse a tracker file's text as if it were at `path`."""
    document, fields, problems = open_document(path, text, KEYS)
    if document is None:
        return None, problems
    data = document.data
    tracker = Tracker(
        id=path.stem,
        title=fields.text(data, "title", required=True),
        territory=fields.text(data, "territory", required=True),
        office=fields.text(data, "office", required=True),
        term_start=fields.date(data, "term_start", required=True),
        term_end=fields.date(data, "term_end"),
        closed=fields.flag(data, "closed"),
        body=document.body.strip("\n"),
        path=path,
        lines=document.lines,
    )
    if tracker.term_start and tracker.term_end and tracker.term_end < tracker.term_start:
        fields.problem("term_end", _("la fin du mandat précède son début (term_start)"))
    if tracker.closed and tracker.term_end is None:
        fields.problem("closed", _("un suivi clos a besoin de la date de fin du mandat (term_end) : son bilan est arrêté à cette date"))
    return tracker, problems


def to_text(tracker: Tracker) -> str:
    """The file kb writes for a tracker."""
    data: dict[str, Any] = {"title": tracker.title, "territory": tracker.territory, "office": tracker.office, "term_start": tracker.term_start}
    if tracker.term_end:
        data["term_end"] = tracker.term_end
    data["closed"] = tracker.closed
    return frontmatter.dump(data, tracker.body)


def check(tracker: Tracker, tree: ContentTree, today: date) -> list[Problem]:
    """A closed tracker's term is over: its record is counted as of an end that has come."""
    if tracker.closed and tracker.term_end and tracker.term_end > today:
        return [problem_at(tracker, "closed", _("suivi clos avant la fin de son mandat (%(date)s)", date=tracker.term_end.isoformat()))]
    return []


def indexed(tracker: Tracker) -> Indexed:
    """What search knows of a tracker: its title, the body tracked, the methodology."""
    return Indexed(
        title=tracker.title,
        texts=[tracker.office, tracker.territory, tracker.body],
        snippet=markdown_to_text(tracker.body) or tracker.office,
        facets={"territory": tracker.territory},
        date=tracker.term_start,
    )


def term(tracker: Tracker) -> str:
    """The term as people read it: "2020–2026", "depuis 2022"."""
    if tracker.term_end is None:
        return _("depuis %(year)s", year=tracker.term_start.year)
    return f"{tracker.term_start.year}–{tracker.term_end.year}"


def ordered(trackers) -> list[Tracker]:
    """Open trackers first, then closed ones; the latest terms first within each."""
    return sorted(trackers, key=lambda found: (found.closed, -found.term_start.toordinal(), found.title.casefold()))
