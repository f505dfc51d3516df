"""A source's text cut into passages a journalist could quote: sentences, list items, headings.

Each passage is a verbatim slice of the text (start, end offsets), so whatever is suggested from it
verifies by construction. Cuts follow the document, not the layout: a sentence runs across the
line breaks a PDF left inside it (kb.content.render.reading_text decides which), and ends at a
full stop, a question or exclamation mark, a semicolon, or a paragraph break.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.content.render import reading_text
from kb.content.sources import page_of

# Where a passage ends: after sentence punctuation followed by a space, or at a kept line break.
_END = re.compile(r"(?<=[.!?;…])(?:[ \u00a0\u202f]*[\"»”)])*\s+|\n\s*|\f")
MIN_LETTERS = 12  # shorter bits ("Article 2.", "Le Maire,") are no evidence of anything
MAX_CHARACTERS = 600  # a longer "sentence" is a run-on list: cut at its commas


@dataclass(frozen=True)
class Passage:
    start: int
    end: int
    text: str  # text[start:end] of the source, exactly
    page: int | None  # None when the source has one page


def passages(text: str, min_letters: int = MIN_LETTERS) -> list[Passage]:
    """The quotable passages of a source's text, in order (those of fewer letters left out)."""
    readable = reading_text(text)  # same length: offsets hold in `text`
    paged = "\f" in text
    found: list[Passage] = []
    start = 0
    for match in _END.finditer(readable):
        _add(found, text, start, match.start(), paged, min_letters)
        start = match.end()
    _add(found, text, start, len(text), paged, min_letters)
    return found


def _add(found: list[Passage], text: str, start: int, end: int, paged: bool, min_letters: int) -> None:
    while start < end:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        stop = end
        if end - start > MAX_CHARACTERS:  # a run-on list: cut at a comma, the rest goes round again
            cut = text.rfind(", ", start + MAX_CHARACTERS // 3, start + MAX_CHARACTERS)
            if cut != -1:
                stop = cut + 1
        piece = text[start:stop]
        if piece and sum(ch.isalpha() for ch in piece) >= min_letters:
            found.append(Passage(start, stop, piece, page_of(text, start) if paged else None))
        start = stop + 1 if stop < end else end
