"""Quote verification: does a quoted passage occur in a source text?

The rule (shared by `kb check`, the newsroom and the source pages): compare after
folding case, whitespace, accents, ligatures (œ→oe, æ→ae) and typographic
apostrophes, quotes and dashes. Journalists copy from PDFs and web pages, so the
same words arrive with « » or " ", ’ or ', line breaks or spaces; none of that
should make a true quote fail, while any change of wording still does.

A quote may elide words with "[…]" (or "[...]"): each part must then occur, in order.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from functools import lru_cache

_APOSTROPHES = "’‘‛`´ʼʹ′"
_QUOTE_MARKS = "“”„‟«»‹›″"
_DASHES = "‐‑‒–—―−"
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
# French typography puts a (often non-breaking) space before these and inside « »;
# a copied quote may or may not have it, so spaces next to them are dropped on both sides.
_SPACE_AGNOSTIC = set('":;!?')

ELISION = re.compile(r"\[\s*(?:…|\.\.\.)\s*\]")
# "[…]" may skip a few sentences, not half the document: beyond this many characters the
# parts no longer read as one passage.
MAX_ELISION_GAP = 400


def _typographic(ch: str) -> str | None:
    """What a character of the first rules (invisible, space, apostrophe, quote mark, dash) becomes, or None."""
    if ch in _INVISIBLE:
        return ""
    if ch.isspace():
        return " "
    if ch in _APOSTROPHES:
        return "'"
    if ch in _QUOTE_MARKS:
        return '"'
    if ch in _DASHES:
        return "-"
    return None


def _letters(ch: str) -> str:
    """Case, ligatures and accents folded, before dropping combining marks."""
    return unicodedata.normalize("NFKD", ch.casefold().replace("œ", "oe").replace("æ", "ae"))


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    """What one character becomes once folded (possibly nothing, possibly two letters)."""
    typographic = _typographic(ch)
    if typographic is not None:
        return typographic
    return "".join(c for c in _letters(ch) if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Fold `text` for comparison (see the module docstring for the rule).

    The same result as fold_with_offsets(text)[0] (a test holds them equal, character by character
    over all of Unicode), at C speed: each rule is a pass of str methods over the whole text, in the
    order _fold_char applies them to one character. Case folding and NFKD act on each character
    alone, and NFKD's reordering only moves the combining marks that are dropped anyway.
    (A 40 KB source: 2.5 ms, where str.translate and regular expressions took 8 ms; a hand edit of
    100 promises verifies quotes against some 300 sources.)
    """
    distinct = set(text)
    marks = set()
    for ch in distinct:
        typographic = _typographic(ch)
        if typographic is None:
            marks.update(c for c in _letters(ch) if unicodedata.combining(c))
        elif typographic != ch:
            text = text.replace(ch, typographic)
    text = text.casefold().replace("œ", "oe").replace("æ", "ae")
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        for mark in marks:
            text = text.replace(mark, "")
    while "  " in text:
        text = text.replace("  ", " ")
    # Spaces beside these marks go, on both sides: with single spaces left, one pass removes them all.
    for mark in _SPACE_AGNOSTIC:
        if mark in text:
            text = text.replace(" " + mark, mark).replace(mark + " ", mark)
    return text.strip(" ")


def fold_with_offsets(text: str) -> tuple[str, array]:
    """Fold `text` for comparison; also return, for each folded char, its index in `text`."""
    chars: list[str] = []
    origin = array("I")  # 4 bytes an offset (texts stay far below 4 GB), not a 28-byte int object each
    table = {ch: _fold_char(ch) for ch in set(text)}
    for index, ch in enumerate(text):
        for out in table[ch]:
            if out == " ":
                if not chars or chars[-1] == " " or chars[-1] in _SPACE_AGNOSTIC:
                    continue
            elif out in _SPACE_AGNOSTIC and chars and chars[-1] == " ":
                chars.pop()
                origin.pop()
            chars.append(out)
            origin.append(index)
    if chars and chars[-1] == " ":
        chars.pop()
        origin.pop()
    return "".join(chars), origin


class FoldedText:
    """A source text folded once, for many quote look-ups (offsets only when spans are asked)."""

    def __init__(self, original: str):
        self.original = original
        self.folded = fold(original)
        self._origin: array | None = None

    @property
    def origin(self) -> array:
        if self._origin is None:
            folded, self._origin = fold_with_offsets(self.original)
            assert folded == self.folded
        return self._origin

    @classmethod
    def of(cls, text: str) -> "FoldedText":
        return cls(text)

    @staticmethod
    @lru_cache(maxsize=32)  # about 8 bytes a character (text, folded text, offsets): 32 sources of 40 KB is 10 MB
    def cached(text: str) -> "FoldedText":
        """The folded form of a text, kept for the texts asked for most (source pages)."""
        return FoldedText.of(text)

    def _match(self, quote: str) -> list[tuple[int, int]] | None:
        """Spans of the quote's parts in the folded text, or None when it does not occur."""
        parts = [fold(part) for part in ELISION.split(quote)]
        parts = [part for part in parts if part]
        if not parts:
            return None
        spans = []
        position, limit = 0, None
        for part in parts:
            found = self._find_words(part, position, limit)
            if found < 0:
                return None
            end = found + len(part)
            spans.append((found, end))
            position, limit = end, end + MAX_ELISION_GAP + len(part)
        return spans

    def locate(self, quote: str) -> list[tuple[int, int]] | None:
        """Spans (start, end) in the original text of each part of `quote`, or None if absent."""
        spans = self._match(quote)
        if spans is None:
            return None
        return [(self.origin[start], self.origin[end - 1] + 1) for start, end in spans]

    def _find_words(self, part: str, start: int, limit: int | None) -> int:
        """Where `part` occurs as whole words ("légal" is not in "illégal"), or -1."""
        text = self.folded
        while True:
            found = text.find(part, start) if limit is None else text.find(part, start, limit + len(part))
            if found < 0:
                return -1
            end = found + len(part)
            cut_before = part[0].isalnum() and found > 0 and text[found - 1].isalnum()
            cut_after = part[-1].isalnum() and end < len(text) and text[end].isalnum()
            if not (cut_before or cut_after):
                return found
            start = found + 1

    def contains(self, quote: str) -> bool:
        """True when `quote` occurs in the text under the folding rule."""
        return self._match(quote) is not None

    def longest_matching_prefix(self, quote: str) -> str:
        """The longest run of the quote's first words that does occur (for error messages)."""
        words = quote.split()
        low, high = 0, len(words)
        # Occurrence is monotone in prefix length, so bisect on the number of words.
        while low < high:
            middle = (low + high + 1) // 2
            if self._find_words(fold(" ".join(words[:middle])), 0, None) >= 0:
                low = middle
            else:
                high = middle - 1
        return " ".join(words[:low])
