"""The published content as plain data: promises, their dated history, evidence, sources.

These objects are what a content file means. Equality compares meaning only: where an
object came from (path, line numbers) is carried alongside, never compared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

@dataclass
class Evidence:
    """A passage quoted from a source document, backing one history entry."""

    source: str
    quote: str
    note: str | None = None  # claims only: what the passage shows
    line: int | None = field(default=None, compare=False, repr=False)
    position: int | None = field(default=None, compare=False, repr=False)  # index in the file's list


@dataclass
class HistoryEntry:
    """One dated step in a promise's life: the status it reached and why we say so."""

    date: date
    status: str
    note: str | None = None
    evidence: list[Evidence] = field(default_factory=list)
    line: int | None = field(default=None, compare=False, repr=False)
    position: int | None = field(default=None, compare=False, repr=False)  # index in the file's list


@dataclass
class Promise:
    """A commitment made by an elected official or an institution, and how it fared."""

    id: str
    title: str
    made_by: list[str]  # the ids of its authors (people's files); words in trees from before people had files
    territory: str
    theme: str
    made_on: date
    status: str
    history: list[HistoryEntry]
    tracker: str | None = None  # the id of the tracker (term, body) it belongs to; kb check requires one
    party: str | None = None
    list_name: str | None = None  # the electoral list; `list` in the file
    due: date | None = None
    reply: str | None = None
    carried_over_from: str | None = None  # the id of the same promise in an earlier term's tracker
    aliases: list[str] = field(default_factory=list)
    body: str = ""
    path: Path | None = field(default=None, compare=False, repr=False)
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def status_on(self, day: date) -> str | None:
        """The status its history gave it on `day` (None: no entry that early)."""
        found = None
        for entry in self.history:
            if entry.date is not None and entry.date <= day:
                found = entry.status
        return found

    @property
    def updated_on(self) -> date:
        """The date of the latest history entry (when the promise was last assessed)."""
        return self.history[-1].date if self.history else self.made_on

    def is_overdue(self, today: date, final_statuses: set[str]) -> bool:
        """Past its deadline and not in a final status."""
        return self.due is not None and self.due < today and self.status not in final_statuses


@dataclass
class Page:
    """A page the newsroom writes about itself: methodology, corrections policy, about."""

    id: str
    title: str
    body: str = ""
    path: Path | None = field(default=None, compare=False, repr=False)
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)


@dataclass
class Role:
    """An office a person held (or an institution's role), with its dates when known."""

    title: str
    start: date | None = None
    end: date | None = None


@dataclass
class Person:
    """Who makes promises and claims: a person (a mayor, a vice-president) or an institution."""

    id: str
    name: str
    kind: str  # person | institution
    roles: list[Role] = field(default_factory=list)
    party: str | None = None
    photo: str | None = None  # a file of the content tree's media/ folder
    photo_credit: str | None = None
    photo_licence: str | None = None
    links: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)  # names it was written as, before it had an id ("Martine Aubry")
    body: str = ""
    path: Path | None = field(default=None, compare=False, repr=False)
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def title(self) -> str:
        return self.name


@dataclass
class Tracker:
    """What a newsroom follows for one term: the promises of a body or an office, from its start to its end."""

    id: str
    title: str
    territory: str
    office: str  # the body or office tracked: "Mairie de Lille", "Conseil de la Métropole"
    term_start: date
    term_end: date | None = None  # None: a term with no set end yet
    closed: bool = False  # its record is final: counted as of term_end, whatever later entries say
    body: str = ""  # the methodology, Markdown
    path: Path | None = field(default=None, compare=False, repr=False)
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def runs_on(self, day: date) -> bool:
        return self.term_start <= day and (self.term_end is None or day <= self.term_end)

    def record_day(self, today: date) -> date | None:
        """The day a closed tracker's final record is counted as of: its end (today, if that end is still
        ahead); None while it is open, or closed without an end."""
        return min(self.term_end, today) if self.closed and self.term_end else None


# Between two pages of a source's text: a form feed on a line of its own (as pdftotext writes it).
# Quotes read it as a space, so a passage may run across pages; pages show it as a page marker.
PAGE_BREAK = "\f"


@dataclass
class Source:
    """A source document (deliberation, press release, article…) and its full text."""

    id: str
    title: str
    publisher: str
    document_type: str  # deliberation, press-release… (the file's `kind:` field)
    date: date
    text: str
    reference: str | None = None
    url: str | None = None
    sha256: str | None = None
    date_note: str | None = None
    path: Path | None = field(default=None, compare=False, repr=False)
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)


@dataclass
class Claim:
    """A claim of fact made by an official or an institution, and the verdict of its fact-check."""

    id: str
    title: str
    claimed_by: list[str]  # the ids of who claimed it, as a promise's made_by
    claimed_on: date
    quote: Evidence | None  # the claim as stated, verbatim, in the source it appears in
    verdict: str
    reviewed_on: date
    evidence: list[Evidence] = field(default_factory=list)
    territory: str | None = None
    theme: str | None = None
    promises: list[str] = field(default_factory=list)  # ids of related promises
    body: str = ""  # the fact-checker's explanation, Markdown
    path: Path | None = field(default=None, compare=False, repr=False)
    lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def proofs(self) -> list[tuple[str, Evidence]]:
        """Every quote of the file with its field: the claim's own, then the evidence."""
        found = [("claim", self.quote)] if self.quote else []
        return found + [(f"evidence[{proof.position}]", proof) for proof in self.evidence]


def _shown(label: str, labels: tuple) -> str:
    """A vocabulary label in the interface's language, when the vocabulary gives one (`labels: {en: …}`)."""
    from kb.config.i18n import language

    return dict(labels).get(language(), label)


@dataclass(frozen=True)
class Status:
    """An entry of the status vocabulary."""

    key: str
    label: str  # as the vocabulary writes it (French)
    color: str
    final: bool
    symbol: str = ""  # a glyph beside the label: told apart without colour (colour blindness, grey print)
    labels: tuple = ()  # (language, label) for the interface's other languages

    def shown(self) -> str:
        return _shown(self.label, self.labels)


@dataclass(frozen=True)
class Verdict:
    """An entry of the verdict vocabulary of fact-checks."""

    key: str
    label: str  # as the vocabulary writes it (French)
    color: str
    rating: int | None  # 1 (false) to 5 (accurate); None off that scale (unverifiable)
    symbol: str = ""  # as a status's
    labels: tuple = ()  # as a status's

    def shown(self) -> str:
        return _shown(self.label, self.labels)


class ContentError(Exception):
    """The content tree cannot be read at all (missing directory…), or a file kb must not write."""


@dataclass(frozen=True)
class Problem:
    """Something wrong in the content tree, said so a person can find and fix it."""

    path: str
    line: int | None
    field: str | None
    message: str
    severity: str = "error"  # or "warning": reported, but `kb check` still passes

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        what = f"{self.field}: " if self.field else ""
        tag = "" if self.severity == "error" else "avertissement: "
        return f"{where}: {tag}{what}{self.message}"

    def sort_key(self) -> tuple:
        return (self.path, self.line or 0, self.field or "", self.message)
