"""Source documents: their file (metadata and the full text, kept exactly), their rules, what search indexes."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.content import frontmatter
from kb.content.fields import SHA256, URL, open_document, problem_at
from kb.content.model import PAGE_BREAK, Problem, Source
from kb.content.registry import Indexed
from kb.config.i18n import N_
from kb.config.i18n import gettext as _

if TYPE_CHECKING:
    from kb.content.tree import ContentTree

# Sources hold whole documents; a long council deliberation is a few hundred KB of text.
MAX_BYTES = 20 * 1024 * 1024
KEYS = ("id", "title", "publisher", "kind", "date", "date_note", "reference", "url", "sha256")
# What a source document is; the file's `kind:` field (a name kept from the first format).
DOCUMENT_TYPES = ("deliberation", "press-release", "article", "report", "slides", "other")
DOCUMENT_TYPE_LABELS = {
    "deliberation": N_("délibération"),
    "press-release": N_("communiqué de presse"),
    "article": N_("article"),
    "report": N_("rapport"),
    "slides": N_("présentation"),
    "other": N_("autre"),
}


def parse(path: Path, text: str) -> tuple[Source | None, list[Problem]]:
    """Parse a source file's text as if it were at `path`; its body is the document's text, kept exactly as it is."""
    document, fields, problems = open_document(path, text, KEYS)
    if document is None:
        return None, problems
    data = document.data
    document_type = fields.text(data, "kind", required=True)
    if document_type and document_type not in DOCUMENT_TYPES:
        fields.problem("kind", _("type inconnu « %(kind)s » (types possibles : %(known)s)", kind=document_type, known=", ".join(DOCUMENT_TYPES)))
    url = fields.text(data, "url")
    if url and not URL.match(url):
        fields.problem("url", _("adresse invalide « %(url)s » (attendu http:// ou https://)", url=url))
    sha256 = fields.text(data, "sha256")
    if sha256 and not SHA256.match(sha256):
        fields.problem("sha256", _("empreinte invalide (64 caractères hexadécimaux en minuscules)"))
    if not document.body.strip():
        fields.problem(None, _("texte du document vide : le texte intégral suit le front matter"))
    source = Source(
        id=path.stem,
        title=fields.text(data, "title", required=True),
        publisher=fields.text(data, "publisher", required=True),
        document_type=document_type,
        date=fields.date(data, "date", required=True),
        text=document.body,
        reference=fields.text(data, "reference"),
        url=url,
        sha256=sha256,
        date_note=fields.text(data, "date_note"),
        path=path,
        lines=document.lines,
    )
    return source, problems


def page_of(text: str, offset: int) -> int:
    """The page (1 for the first) of a source's text on which `offset` falls."""
    return text.count(PAGE_BREAK, 0, offset) + 1


def pages(text: str) -> int:
    return text.count(PAGE_BREAK) + 1


def to_text(source: Source) -> str:
    """The file kb writes for a source: fixed key order; the text kept exactly as given."""
    data: dict[str, Any] = {"title": source.title, "publisher": source.publisher, "kind": source.document_type, "date": source.date}
    for key in ("date_note", "reference", "url", "sha256"):
        if getattr(source, key):
            data[key] = getattr(source, key)
    return frontmatter.dump(data, source.text)


def check(source: Source, tree: ContentTree, today: date) -> list[Problem]:
    if source.date and source.date > today:
        return [problem_at(source, "date", _("date dans le futur (%(date)s)", date=source.date.isoformat()))]
    return []


def indexed(source: Source) -> Indexed:
    """What search knows of a source: its title, publisher and whole text."""
    return Indexed(
        title=source.title,
        texts=[source.publisher, source.text],
        snippet=source.text,
        facets={"made_by": source.publisher},
        date=source.date,
    )
