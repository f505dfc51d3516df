"""The passage of a source closest to a quote that is not in it: "vouliez-vous citer : … ?".

A journalist retypes a quote from a scan ("mutualisatlon"), drops an accent, changes a comma, or
the source was corrected and re-uploaded: the quote no longer verifies, and kb offers the passage
that comes nearest. What it offers is always the source's own words, cut at word boundaries — it
verifies as it is; kb never accepts the typed text itself.

Words of the quote vote for where it starts in the source (each word found at position p, being
the i-th of the quote, votes for p - i: OCR errors spoil some words, not all); the best few starts
are compared character by character (difflib's ratio, over folded words: case, accents and
punctuation aside) with windows a little shorter and longer than the quote.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from difflib import SequenceMatcher

from kb.content.quotes import ELISION, FoldedText, fold

_WORD = re.compile(r"\w+")
MIN_RATIO = 0.75  # below, the passage is another passage, not the quote mistyped
MAX_QUOTE = 1500  # characters: a longer "quote" is a paste gone wrong, not worth the search
CANDIDATES = 8
WORD_RATIO = 0.7  # a word read with a slip or two ("mutualisatlon", "mlse") still counts as the word


def _words(text: str) -> list[tuple[str, int, int]]:
    return [(fold(match.group()), match.start(), match.end()) for match in _WORD.finditer(text)]


def _same_words(asked: list[str], window: list[str]) -> bool:
    """Whether (almost) every word that counts in the quote is in the window, at least nearly (an OCR
    slip, a typo): "centrale nucléaire" is not "centrale d'achats" however many letters they share."""
    counted = [word for word in asked if len(word) >= 3]
    allowed = len(counted) // 8
    present = set(window)
    for word in counted:
        if word in present or any(
            abs(len(other) - len(word)) <= 3 and SequenceMatcher(None, word, other).ratio() >= WORD_RATIO for other in window
        ):
            continue
        allowed -= 1
        if allowed < 0:
            return False
    return True


def nearest_passage(source_text: str, quote: str) -> str | None:
    """The source's passage closest to `quote` (verbatim, its whitespace collapsed), or None when none comes near."""
    quote = " ".join(quote.split())
    if not quote or len(quote) > MAX_QUOTE or ELISION.search(quote):
        return None
    asked = [word for word, _, _ in _words(quote)]
    if not asked:
        return None
    words = _words(source_text)
    where: dict[str, list[int]] = defaultdict(list)
    for position, (word, _, _) in enumerate(words):
        where[word].append(position)
    votes: Counter[int] = Counter()
    for index, word in enumerate(asked):
        if len(word) < 3 or len(where.get(word, ())) > 200:
            continue  # short or everywhere: votes for nothing in particular
        for position in where.get(word, ()):
            votes[max(0, position - index)] += 1
    if not votes:
        return None
    wanted = " ".join(asked)
    best, best_ratio = None, MIN_RATIO
    matcher = SequenceMatcher(autojunk=False)
    matcher.set_seq2(wanted)
    slack = 2 if len(asked) <= 40 else 1  # a long quote: fewer windows, each dearer to compare
    for start, _ in votes.most_common(CANDIDATES):
        for first in range(max(0, start - slack), min(len(words), start + slack + 1)):
            for length in range(max(1, len(asked) - slack), len(asked) + slack + 1):
                window = words[first : first + length]
                if not window:
                    continue
                matcher.set_seq1(" ".join(word for word, _, _ in window))
                if matcher.real_quick_ratio() < best_ratio or matcher.quick_ratio() < best_ratio:
                    continue
                ratio = matcher.ratio()
                if ratio > best_ratio and _same_words(asked, [word for word, _, _ in window]):
                    best, best_ratio = (window[0][1], window[-1][2]), ratio
    if best is None:
        return None
    passage = " ".join(source_text[best[0] : best[1]].split())
    # Its own words, so it verifies; said once more in code, since only a verbatim passage may be offered.
    return passage if FoldedText.cached(source_text).contains(passage) else None
