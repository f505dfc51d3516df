"""Markdown to HTML that is safe to put in a page.

Content is written by people and may be pasted from anywhere: it is rendered with
Python-Markdown, then everything not on a short allow-list is stripped by nh3 (scripts,
event attributes, `javascript:` links, styles), so no content field can inject code.
"""

from __future__ import annotations

import html
import re

import markdown
import nh3
from markupsafe import Markup

from kb.content.model import PAGE_BREAK
from kb.config.i18n import gettext as _

ALLOWED_TAGS = {
    "a", "abbr", "blockquote", "br", "code", "del", "em", "h2", "h3", "h4", "h5", "h6",
    "hr", "li", "ol", "p", "pre", "strong", "sub", "sup", "table", "tbody", "td", "th",
    "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "abbr": {"title"}, "td": {"align"}, "th": {"align"}}
URL_SCHEMES = {"http", "https", "mailto"}


def markdown_to_html(text: str) -> Markup:
    """Render Markdown to sanitized HTML (marked safe for templates: it has been cleaned)."""
    rendered = markdown.markdown(text or "", extensions=["extra", "sane_lists"], output_format="html")
    return Markup(nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    ))


def highlighted_text(
    text: str, passages: list[tuple[str, list[tuple[int, int]]]], notes: dict[str, Markup] | None = None
) -> Markup:
    """A source's text, HTML-escaped, with each quoted passage in <mark> and an anchor at its start.

    `passages` pairs an anchor id with the spans of one quote in `text` (several spans when the
    quote elides words). Quotes may overlap: marks cover the union, every anchor stays reachable.
    `notes` (by anchor) go right before their anchor: who cites the passage, the way to the next.
    A form feed (between two pages of the document) becomes a page marker, `#page-N`.
    """
    notes = notes or {}
    starts: dict[int, list[str]] = {}
    depth_changes: dict[int, int] = {}
    for anchor, spans in passages:
        starts.setdefault(spans[0][0], []).append(anchor)
        for start, end in spans:
            depth_changes[start] = depth_changes.get(start, 0) + 1
            depth_changes[end] = depth_changes.get(end, 0) - 1
    pieces: list[str] = []
    depth, cursor = 0, 0
    for position in sorted(set(starts) | set(depth_changes)):
        pieces.append(html.escape(text[cursor:position], quote=False))
        cursor = position
        before = depth
        depth += depth_changes.get(position, 0)
        anchors = starts.get(position, ())
        # Every anchor is followed by the mark of its passage (the stylesheet outlines it when
        # targeted), even one starting inside another quote's passage: that mark is split there.
        if before and (not depth or anchors):
            pieces.append("</mark>")
        # Notes first, then the anchors in a row right before the mark (the CSS outlines the mark a target precedes).
        here = [str(notes[anchor]).replace(PAGE_BREAK, " ") for anchor in anchors if anchor in notes]
        if here:  # one box for the notes of passages starting at one place: side by side in a margin, they would overlap
            pieces.append(f'<span class="passage-notes">{"".join(here)}</span>')
        for anchor in anchors:
            pieces.append(f'<span class="anchor" id="{html.escape(anchor)}"></span>')
        if depth and (not before or anchors):
            pieces.append("<mark>")
    pieces.append(html.escape(text[cursor:], quote=False))
    return _paged(Markup("".join(pieces)))


def _paged(marked: Markup) -> Markup:
    """Each form feed of a text (already escaped) as a visible page marker a link can reach."""
    if PAGE_BREAK not in marked:
        return marked
    parts = str(marked).split(PAGE_BREAK)
    pages = [_page_marker(1), parts[0].lstrip("\n")]
    for number, part in enumerate(parts[1:], start=2):
        pages.append(_page_marker(number))
        pages.append(part.lstrip("\n"))
    return Markup("".join(pages))


def _page_marker(number: int) -> str:
    return f'<span class="page-marker" id="page-{number}" role="separator">{_("page %(number)s", number=number)}</span>'


# Line breaks (and the blank lines some extractions put between every line of the layout) between
# two lines of text; a form feed (a page break) is no part of one.
_LINE_BREAKS = re.compile(r"[ \t]*\n(?:[ \t]*\n)*[ \t]*")
_SENTENCE_END = ".!?…"
_STOPS = _SENTENCE_END + ":;»)"


def reading_text(text: str) -> str:
    """A source's text for reading: the line breaks of the layout inside a sentence become spaces.

    The same length, character for character (each joined break becomes spaces), so that the quotes'
    spans found in the original text mark the same passages. A break is the layout's when the next
    line starts in lower case (not after the end of a sentence), or when the line before it is as long
    as the page's lines usually are and stops on no punctuation: the text ran on to the next line.
    Short lines (headings, signatures, "Après en avoir délibéré,") and sentence ends keep their breaks.
    """
    lines = [line.strip() for line in text.split("\n")]
    lengths = sorted(len(line) for line in lines if len(line) > 20)
    usual = lengths[len(lengths) // 2] if lengths else 70

    def join(match: re.Match) -> str:
        start, end = match.start(), match.end()
        if start == 0 or end == len(text):
            return match.group()
        before, after = text[start - 1], text[end]
        line_start = text.rfind("\n", 0, start) + 1
        previous = text[line_start:start].strip()
        # Across a blank line, a lower-case start continues only a line long enough to have run on
        # (some extractions put one between every line); a heading's paragraph stays its own.
        blank = match.group().count("\n") > 1
        continues = (after.islower() or after in "(«\"'’") and (not blank or len(previous) >= 0.5 * usual)
        runs_on = len(previous) >= 0.8 * usual and before not in _STOPS and after.isalpha()
        if PAGE_BREAK in (before, after) or before in _SENTENCE_END or not (continues or runs_on):
            # A kept break: one blank line at most (extractions leave runs of them), the rest as spaces.
            kept = match.group()
            if kept.count("\n") > 2:
                kept = "\n\n" + " " * (len(kept) - 2)
            return kept
        return " " * (end - start)

    return _LINE_BREAKS.sub(join, text)


_MARKDOWN_SYNTAX = (
    (re.compile(r"!?\[([^\]]*)\]\([^)]*\)"), r"\1"),  # [text](url), ![alt](src) → text
    (re.compile(r"<[^>]+>"), ""),  # inline HTML
    (re.compile(r"^\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)", re.M), ""),  # headings, quotes, lists
    (re.compile(r"(\*\*|__|~~|`|(?<!\w)[*_]|[*_](?!\w))"), ""),  # emphasis and code marks
)


def markdown_to_text(text: str) -> str:
    """The words of a Markdown text without its syntax (for search snippets).

    Regular expressions rather than rendering: it runs on every promise at indexing time,
    and a snippet needs the words, not the structure.
    """
    for pattern, replacement in _MARKDOWN_SYNTAX:
        text = pattern.sub(replacement, text or "")
    return html.unescape(text)
