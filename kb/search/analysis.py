"""French text analysis for search: how words in documents and queries become index terms.

"Barœul", "Baroeul" and "BAROEUL" are one word; "l'habitat" is "habitat"; "mutualisations"
is "mutualisation"; "Marcq-en-Barœul" is found by `marcq baroeul`; "15 000" is one number.
Words are folded the same way as quotes (kb.content.quotes.fold) *before* stemming, so a word typed
without accents always reaches the same stem as the accented one.

Analysis dominates indexing time, so one tokenizer does splitting, folding, stop words and
stemming in a single pass with a cache per distinct word (a corpus has far fewer distinct
words than tokens).
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import lru_cache

from whoosh.analysis import Token, Tokenizer
from whoosh.formats import Positions
from whoosh.lang.snowball.french import FrenchStemmer
from whoosh.lang.stopwords import stoplists

from kb.content.quotes import fold

# A number written with thousands separators ("15 000", "1 200 000") is one token;
# otherwise a token is a run of letters/digits, so hyphens and apostrophes split words.
NUMBER = r"(?<!\w)\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?!\w)"
TOKEN = re.compile(NUMBER + r"|\w+", re.UNICODE)
THOUSANDS_NUMBER = re.compile(NUMBER)

# Elided articles and pronouns (l', d', qu', jusqu'…) end up as tokens of their own.
ELISIONS = {"l", "d", "j", "n", "s", "c", "m", "t", "qu", "jusqu", "lorsqu", "puisqu", "quoiqu"}
# Whoosh's French list misses a few of the commonest words.
MISSING_STOP_WORDS = {"les", "a", "cet", "cette", "dont", "où", "ni", "si"}
STOP_WORDS = frozenset(fold(word) for word in set(stoplists["fr"]) | MISSING_STOP_WORDS) | ELISIONS

_stem = FrenchStemmer().stem


def normalize_numbers(text: str) -> str:
    """Join thousands groups ("15 000" → "15000") exactly where the tokenizer would."""
    return THOUSANDS_NUMBER.sub(lambda match: "".join(match.group().split()), text)


@lru_cache(maxsize=200_000)
def term_for(word: str) -> str | None:
    """The index term of one word, or None for a stop word."""
    if word[0].isdigit():
        # Numbers are kept as they are ("5", "2022", "15000"), ordinals folded ("1ER" = "1er").
        return fold("".join(word.split()))
    folded = fold(word)
    if folded in STOP_WORDS or len(folded) < 2:
        return None
    return _stem(folded)


def _same_kind(self, other) -> bool:
    """A tokenizer's equality, as Whoosh compares schemas: the same class (they hold no settings)."""
    return other is not None and self.__class__ is other.__class__


class FrenchTokenizer(Tokenizer):
    """Split, fold, drop stop words and stem in one pass.

    A tokenizer followed by a filter costs one Token per raw word and two generator hops;
    doing it here yields only the words kept. Positions count kept words only (like
    StopFilter's renumbering), so "plan de sauvegarde" matches "plan sauvegarde" phrases.
    """

    __eq__ = _same_kind

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):  # fmt: skip
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.original = token.text = value
            token.boost = 1.0
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        position = start_pos
        for match in TOKEN.finditer(value):
            word = match.group()
            term = term_for(word)
            if term is None:
                if removestops:
                    continue
                token.stopped = True
            else:
                token.stopped = False
            token.text = term if term is not None else word
            token.boost = 1.0
            if keeporiginal:
                token.original = word
            if positions:
                token.pos = position
            if chars:
                token.startchar, token.endchar = start_char + match.start(), start_char + match.end()
            if term is not None:
                position += 1
            yield token


class TypedWordsTokenizer(Tokenizer):
    """A title's distinct words as typed: folded (accents and case aside), neither stemmed nor
    dropped as stop words. Search ranks first the items whose title holds the words as they were
    typed ("mutualisation", not "mutualiser"): one lookup in this field, where it was reading and
    folding up to 2,000 stored titles (again for each new segment a merge made)."""

    __eq__ = _same_kind

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", **kwargs):  # fmt: skip
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        words = [typed_word(value)] if not tokenize else sorted({typed_word(word) for word in TOKEN.findall(value)})
        for position, word in enumerate(words, start_pos):
            token.text = word
            token.stopped = False
            token.boost = 1.0
            if keeporiginal:
                token.original = word
            if positions:
                token.pos = position
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token


def typed_word(word: str) -> str:
    """One word as typed, in the form the title's typed words are indexed: folded, a number's
    thousands joined ("15 000" is "15000", as the index terms have it)."""
    return fold("".join(word.split()))


def french_analyzer() -> FrenchTokenizer:
    """The analyzer for French text fields."""
    return FrenchTokenizer()


# Separates the parts of a field (title, quotes, analysis…): positions jump across it, so a
# "phrase" never matches the end of one part and the start of the next.
PART_BREAK = "\u2029"
PART_GAP = 100


class FrenchPositions(Positions):
    """The postings format of French text fields, reading words straight off the text.

    Same terms and positions as FrenchTokenizer (a test holds them equal), without a Token
    object and two generator hops per word: indexing a corpus spends most of its time here.
    Queries still go through the field's analyzer.
    """

    def word_values(self, value, analyzer, **kwargs):
        positions: dict[str, list[int]] = defaultdict(list)
        position = 0
        for part in value.split(PART_BREAK):
            for match in TOKEN.finditer(part):
                term = term_for(match.group())
                if term is not None:
                    positions[term].append(position)
                    position += 1
            position += PART_GAP
        boost = self.field_boost
        for term, where in positions.items():
            yield term, len(where), len(where) * boost, self.encode(where)


def tokens(text: str):
    """(start, end, term) for each indexable word of `text`, for highlighting snippets."""
    for match in TOKEN.finditer(text):
        term = term_for(match.group())
        if term is not None:
            yield match.start(), match.end(), term


def terms(text: str) -> list[str]:
    """The index terms of `text`, in order (tokens without their offsets, at a third of the cost)."""
    return [term for term in map(term_for, TOKEN.findall(text)) if term is not None]
