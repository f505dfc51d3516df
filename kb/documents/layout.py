"""The lines of a laid-out page (PDF text layer, OCR) joined back into paragraphs.

A PDF knows lines, not paragraphs: extraction leaves a line break at every line of the layout
and a hyphen wherever a word was cut at a line's end. Joining them back makes the text read (and
quote) as the document was written; the rule never changes a word the document has:
- a line continues the paragraph unless a blank line, a bullet or a numbered item starts a new
  one, or the line before ended a sentence well short of the page's usual line length;
- "mutuali-" + "sation" becomes "mutualisation" when the document writes "mutualisation" whole
  elsewhere, or when neither half is a word it uses (syllables, not words); it stays hyphenated
  when the hyphenated form occurs elsewhere or a half is a word of the document ("après-midi",
  "rez-de-chaussée"); a capital or an apostrophe after the hyphen ("Villeneuve-d'Ascq",
  "Lille-Lomme") always keeps it.
"""

from __future__ import annotations

import re
import statistics

from kb.content.model import PAGE_BREAK

_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_BULLET = re.compile(r"^\s*(?:[•▪◦●■□➢►–—*-]\s|\d{1,3}[.)]\s|[a-z][.)]\s|[IVX]{1,5}[.)]\s)")
_SENTENCE_END = ('.', '!', '?', ':', '»', '"', ';')
_CUT = re.compile(r"([^\W\d_]+)-$")
_CONTINUATION = re.compile(r"^([^\W\d_]+)(.*)$")
# A word cut at a line's end, both halves: left out of the vocabulary (its halves are no words).
_CUT_ACROSS = re.compile(r"[^\W\d_]+-[ \t]*\n\s*[^\W\d_]+")


def vocabulary(pages: list[str]) -> set[str]:
    """The words (and hyphenated compounds) of the whole document, lower-cased."""
    words: set[str] = set()
    for page in pages:
        for match in _WORD.finditer(_CUT_ACROSS.sub(" ", page)):
            word = match.group().lower()
            words.add(word)
            if "-" in word:
                words.update(word.split("-"))
    return words


def _joined(before: str, line: str, words: set[str]) -> str:
    """`before` (a paragraph so far) continued by `line`, re-joining a word cut at the line's end."""
    cut = _CUT.search(before)
    match = _CONTINUATION.match(line)
    if not (cut and match):
        return before + " " + line
    head, tail = cut.group(1), match.group(1)
    joined, compound = f"{head}{tail}".lower(), f"{head}-{tail}".lower()
    if not tail[0].islower() or match.group(2).startswith(("'", "’")) or compound in words:
        typeset_cut = False
    elif joined in words:
        typeset_cut = True  # the document writes the word whole elsewhere
    else:
        # Typesetting cuts at syllables ("mutuali-" "sation"): fragments that are no words of the document.
        # A half the document uses as a word ("après-" "midi", "rez-de-" "chaussée") is a compound's.
        typeset_cut = head.lower() not in words and tail.lower() not in words
    # A cut word loses the hyphen the layout added; a compound keeps its own, without a space.
    return before[:-1] + line if typeset_cut else before + line


def reflow(page: str, words: set[str]) -> str:
    """One page's text with its layout's line breaks joined into paragraphs (blank line between them)."""
    lines = [line.strip() for line in page.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    lengths = [len(line) for line in lines if len(line) > 20]
    usual = statistics.median(lengths) if lengths else 60
    paragraphs: list[str] = []
    current = ""
    previous_length = 0
    for line in lines:
        if not line:
            if current:
                paragraphs.append(current)
            current = ""
            continue
        starts_new = (
            not current
            or _BULLET.match(line)
            or (current.endswith(_SENTENCE_END) and previous_length < 0.8 * usual)
        )
        if starts_new:
            if current:
                paragraphs.append(current)
            current = line
        else:
            current = _joined(current, line, words)
        previous_length = len(line)
    if current:
        paragraphs.append(current)
    return "\n\n".join(re.sub(r"[ \t]{2,}", " ", paragraph) for paragraph in paragraphs)


def reflow_pages(pages: list[str]) -> list[str]:
    """Every page reflowed, the document's own words deciding each cut word."""
    words = vocabulary(pages)
    return [reflow(page, words) for page in pages]


def join_pages(pages: list[str]) -> str:
    """The source text: pages in order, a form feed on a line of its own between two pages."""
    return f"\n{PAGE_BREAK}\n".join(page.strip("\n") for page in pages).rstrip() + "\n"
