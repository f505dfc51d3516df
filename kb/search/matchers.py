"""The query nodes kb matches its own way: phrases by their positions as sets, exclusions without Whoosh's bug.

Phrases ("permis de louer", and the tier of the words typed as a phrase). Whoosh matches a phrase
through its span machinery: for every document holding all the words it makes a Span object per
position of each word and walks them by binary search — 25 µs a candidate,
100 ms for "plan de sauvegarde" among the 3,900 documents of a 10,000-promise corpus holding both
words. The words of a phrase are consecutive index terms (stop words are not indexed and take no
position, kb.search.analysis), so a document holds the phrase when some start p has word i at
p + i for every i: a few set operations on the positions Whoosh decodes anyway. The documents and
the scores are Whoosh's (the intersection of the words, scored as their sum): tests hold them equal.

Exclusions ("lille -mutualisation"). Whoosh's AndNotMatcher checks only whether the excluded
word's first document is the first match: when the word's postings start earlier, the first
match of each segment was found even if it held the word (5 of the demo's 47 "lille" results held
"mutualisation"). AndNot here moves the excluded word's matcher to the first match first.
"""

from __future__ import annotations

from whoosh import matching
from whoosh import query as q
from whoosh.matching import binary, wrappers
from whoosh.query.spans import Span
from whoosh.util import make_binary_tree


class Phrase(q.Phrase):
    """Whoosh's Phrase, words next to each other (slop 1, the only one the parser makes), matched faster."""

    def matcher(self, searcher, context=None):
        field = searcher.schema[self.fieldname] if self.fieldname in searcher.schema else None
        if self.slop != 1 or len(self.words) < 2 or field is None or not field.format or not field.format.supports("positions"):
            return super().matcher(searcher, context)
        reader = searcher.reader()
        matchers = []
        for word in self.words:
            try:
                term = field.to_bytes(word)
            except ValueError:
                return matching.NullMatcher()
            if (self.fieldname, term) not in reader:
                return matching.NullMatcher()
            matchers.append(q.Term(self.fieldname, term).matcher(searcher, context))
        found = _Adjacent(matchers)
        if self.boost != 1.0:
            return wrappers.WrappingMatcher(found, boost=self.boost)
        return found


class _AndNotMatcher(binary.AndNotMatcher):
    def _find_first(self):
        # Whoosh's skips the first match only if the excluded matcher happens to be on it.
        if self.a.is_active() and self.b.is_active():
            self._find_next()


class AndNot(q.AndNot):
    """Whoosh's AndNot (what "-word" makes), excluding the first match too when it holds the word."""

    def matcher(self, searcher, context=None):
        return _AndNotMatcher(self.a.matcher(searcher, context), self.b.matcher(searcher, searcher.boolean_context()))


def own_matchers(query):
    """The same query, its phrases and exclusions matched by the classes above."""
    if query is None:
        return None

    def swap(node):
        if type(node) is q.Phrase:
            return Phrase(node.fieldname, node.words, slop=node.slop, boost=node.boost, char_ranges=node.char_ranges)
        if type(node) is q.AndNot:
            return AndNot(node.a, node.b)
        return node

    return query.accept(swap)


def _starts(matchers) -> set[int]:
    """The positions where the words of the current document follow one another."""
    starts = set(matchers[0].value_as("positions"))
    for offset, matcher in enumerate(matchers[1:], 1):
        if not starts:
            break
        starts.intersection_update([position - offset for position in matcher.value_as("positions")])
    return starts


class _Adjacent(wrappers.WrappingMatcher):
    """The documents of the intersection of the words' matchers where they are next to each other.

    It finds its first match when first asked (is_active, id, next…), not when made: skip_to
    from the start reads positions only from the document asked (kb.search.ranking.score_each
    scores a few documents so).
    """

    def __init__(self, matchers: list):
        self.matchers = matchers
        super().__init__(make_binary_tree(matching.IntersectionMatcher, matchers))
        self._first = None
        self._placed = False

    def _place(self) -> None:
        if not self._placed:
            self._placed = True
            self._find_next()

    def _find_next(self) -> None:
        child = self.child
        while child.is_active():
            starts = _starts(self.matchers)
            if starts:
                self._first = min(starts)
                return
            child.next()

    def copy(self):
        return _Adjacent([matcher.copy() for matcher in self.matchers])

    def replace(self, minquality=0):
        return self if self.is_active() else matching.NullMatcher()

    def is_active(self):
        self._place()
        return self.child.is_active()

    def id(self):
        self._place()
        return self.child.id()

    def all_ids(self):
        while self.is_active():
            yield self.id()
            self.next()

    def reset(self):
        self.child.reset()
        self._placed = False

    def next(self):
        self._place()
        self.child.next()
        self._find_next()

    def skip_to(self, id):
        self._placed = True
        self.child.skip_to(id)
        self._find_next()

    def weight(self):
        self._place()
        return self.child.weight()

    def score(self):
        self._place()
        return self.child.score()

    def value(self):
        self._place()
        return self.child.value()

    def value_as(self, astype):
        self._place()
        return self.child.value_as(astype)

    def spans(self):
        self._place()
        return [Span(self._first, self._first + len(self.matchers) - 1)]

    def supports_block_quality(self):
        return False
