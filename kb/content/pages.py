"""The newsroom's own pages (content/pages/<id>.md): methodology, corrections policy, about.

What fact-check aggregators ask of a newsroom before they list its work: a published methodology,
a corrections policy and a way to report an error. A title and Markdown, listed at the foot of every page.
"""

from __future__ import annotations

from pathlib import Path

from kb.config.i18n import gettext as _
from kb.content import frontmatter
from kb.content.fields import open_document
from kb.content.model import Page, Problem
from kb.content.registry import Indexed
from kb.content.render import markdown_to_text

MAX_BYTES = 256 * 1024
KEYS = ("id", "title")
EXAMPLE = """---
title: Politique de corrections
---
Quand nous nous trompons, nous corrigeons la fiche et le disons : …
"""


def parse(path: Path, text: str) -> tuple[Page | None, list[Problem]]:
    """Parse a page's file as if it were at `path`."""
    document, fields, problems = open_document(path, text, KEYS)
    if document is None:
        return None, problems
    body = document.body.strip("\n")
    if not body.strip():
        fields.problem(None, _("page vide : son texte suit le front matter"))
    return Page(id=path.stem, title=fields.text(document.data, "title", required=True), body=body, path=path, lines=document.lines), problems


def to_text(page: Page) -> str:
    return frontmatter.dump({"title": page.title}, page.body)


def indexed(page: Page) -> Indexed:
    text = markdown_to_text(page.body)
    return Indexed(title=page.title, texts=[page.body], snippet=text)
