"""Ranking a one-word search a block of postings at a time, with Whoosh's own BM25F scores.

Whoosh ranks a query by asking, for each matching document, its matcher for the weight, the
reader for the document's field length (a file read), and the scorer for the score: some 27 µs a
match in Python, 200 ms for "commune" at 10,000 promises (10,775 matches), all of it in a reader's
request. A search of one word is most searches; for it, this module reads each block of postings
whole (document numbers and weights), keeps the segments' field lengths in memory (a segment
never changes once written), and computes each distinct (weight, length) score once with Whoosh's
own scorer — the same floats, so the same order as Whoosh: by score, then by document number.

It reads Whoosh's W3 codec below its public interface (a leaf matcher's blocks, a segment's
length column). Anything not as expected makes `rank_term` answer None and the caller ranks with
Whoosh's collector as before; tests hold both rankings equal.
"""

from __future__ import annotations

import bisect
import heapq
from array import array
from collections import OrderedDict
import itertools
import operator
import threading

from whoosh import query as q
from whoosh.matching import ReadTooFar
from whoosh.scoring import BM25F

# Field lengths by (segment id, field): one small int a document, 11,000 at 10k promises.
_LENGTHS: dict[tuple[str, str], list[int]] = {}
_LENGTHS_LOCK = threading.Lock()
_LENGTHS_KEPT = 256

# A term's postings in a segment (document numbers, weights), by (segment id, field, term), the
# terms searched last kept first: a block is a pickle of numbers, weights and every position,
# and unpickling it was most of a search. 8 bytes a posting, at most POSTINGS_KEPT postings.
_POSTINGS: OrderedDict[tuple, tuple[array, array]] = OrderedDict()
_POSTINGS_LOCK = threading.Lock()
POSTINGS_KEPT = 2_000_000
_postings_held = 0


def rank_term(searcher, query) -> list[tuple[float, int]] | None:
    """(score, -document number) of every live match of a one-term query, or None (rank it with Whoosh).

    The document number negated: the pairs then sort as Whoosh ranks, without a key function.
    """
    if not isinstance(query, q.Term) or query.boost != 1.0 or type(searcher.weighting) is not BM25F:
        return None
    field, text = query.fieldname, query.text
    if not searcher.schema[field].scorable:
        return None
    try:
        return _rank(searcher, field, text)
    except (AttributeError, TypeError, KeyError, IndexError):  # another Whoosh than the one this reads
        return None


def rank_terms(searcher, query) -> list[tuple[float, int]] | None:
    """As rank_term, for one term or several all required (an And of terms, as "schéma mutualisation"
    parses): the documents holding every term, their terms' scores summed as Whoosh's intersection
    matchers sum them (in another order: the last bits of a float may differ); or several of which
    any will do (an Or of terms). None: rank it with Whoosh.

    Whoosh's collector scored such a query match by match: 300 ms for two common words at 10,000
    promises, where FTS5 took 50.
    """
    if isinstance(query, q.Term):
        return rank_term(searcher, query)
    either = type(query) is q.Or and query.minmatch in (0, None) and query.scale is None
    if not (type(query) is q.And or either) or query.boost != 1.0 or len(query.subqueries) < 2:
        return None
    parts = []
    for sub in query.subqueries:
        ranked = rank_term(searcher, sub) if isinstance(sub, q.Term) else None
        if ranked is None:
            return None
        parts.append(ranked)
    if either:
        # "énergie OR assurances": documents holding any term, the scores of those they hold summed
        # (Whoosh's union matcher); in document order, as Whoosh's matcher gives them.
        totals: dict[int, float] = {}
        for part in parts:
            for score, negated in part:
                totals[negated] = totals.get(negated, 0.0) + score
        return [(totals[negated], negated) for negated in sorted(totals, reverse=True)]
    # Documents holding every term, each with its terms' scores in the query's order.
    common = {negated: [score] for score, negated in parts[0]}
    for part in parts[1:]:
        found = {negated: score for score, negated in part}
        common = {negated: scores + [found[negated]] for negated, scores in common.items() if negated in found}
    return [(sum(scores), negated) for negated, scores in common.items()]


def top(matches: list[tuple[float, int]], count: int) -> list[int]:
    """The `count` best document numbers, in Whoosh's order: score descending, then document number."""
    return [-negated for _, negated in heapq.nlargest(count, matches)]


class _Scores(dict):
    """Scores by (weight, length), each computed once by Whoosh's scorer (a few hundred distinct pairs)."""

    def __init__(self, scorer):
        super().__init__()
        self.scorer = scorer

    def __missing__(self, pair: tuple[float, int]) -> float:
        score = self[pair] = self.scorer._score(*pair)
        return score


def _rank(searcher, field: str, text) -> list[tuple[float, int]]:
    if (field, text) not in searcher.reader():
        return []  # a word no document has: nothing to score (Whoosh's scorer cannot even be made)
    scores = _Scores(searcher.weighting.scorer(searcher, field, text))
    matches: list[tuple[float, int]] = []
    for segment, offset in searcher.reader().leaf_readers():
        if (field, text) not in segment:
            continue
        lengths = _lengths(segment, field)
        ids, weights = _postings(segment, field, text)
        deleted = deleted_docs(segment)
        if deleted:
            kept = [index for index, docnum in enumerate(ids) if docnum not in deleted]
            ids, weights = [ids[index] for index in kept], [weights[index] for index in kept]
        # At C speed: lengths looked up, scores found (or computed once), numbers negated.
        found = map(scores.__getitem__, zip(weights, map(lengths.__getitem__, ids)))
        matches.extend(zip(found, map(operator.sub, itertools.repeat(-offset), ids)))
    return matches


def deleted_docs(segment) -> frozenset[int]:
    """The document numbers a segment has marked deleted (in the generation its reader was opened at)."""
    return frozenset(segment._perdoc.deleted_docs()) if segment.has_deletions() else frozenset()


def postings_ids(segment, field: str, text) -> array:
    """The document numbers of a term's postings in a segment, deleted ones included."""
    return _postings(segment, field, text)[0]


def holds_all(segment, local: int, words) -> bool:
    """Whether a segment's document `local` holds every (field, term) of `words` (deleted or not)."""
    return all(_holds(segment, local, field, text) for field, text in words)


def _holds(segment, local: int, field: str, text) -> bool:
    """Whether one document of a segment holds a term: in the postings kept, else by skipping to it.

    Not by reading the whole postings list: after each publication every kept result's words are
    checked against the document deleted, in the largest segment, where a common word's list is
    thousands of documents long — decoding each was half of what a publication cost a worker. The
    leaf matcher skips whole blocks by their last document and decodes one."""
    if (field, text) not in segment:
        return False
    if segment.doc_count_all() == 1:
        return True  # a publication's own segment: its words are its one document's
    key = (segment.segment().segment_id(), field, text)
    with _POSTINGS_LOCK:
        found = _POSTINGS.get(key)
    if found is not None:
        ids = found[0]  # in order
        place = bisect.bisect_left(ids, local)
        return place < len(ids) and ids[place] == local
    postings = segment._terms.matcher(field, segment._text_to_bytes(field, text), segment.schema[field].format)
    if not postings.is_active():
        return False
    postings.skip_to(local)
    return postings.is_active() and postings.id() == local


def locate(offsets: list[int], docnum: int) -> tuple[int, int]:
    """(which segment, the number in it) of a reader's document, given its segments' first numbers in order."""
    index = bisect.bisect_right(offsets, docnum) - 1
    return index, docnum - offsets[index]


def _postings(segment, field: str, text) -> tuple[array, array]:
    """Document numbers and weights of a term's postings in a segment, deleted documents included."""
    global _postings_held
    key = (segment.segment().segment_id(), field, text)
    with _POSTINGS_LOCK:
        found = _POSTINGS.get(key)
        if found is not None:
            _POSTINGS.move_to_end(key)
            return found
    ids, weights = array("i"), array("f")
    # The leaf matcher itself: SegmentReader.postings wraps it to skip deleted documents.
    postings = segment._terms.matcher(field, segment._text_to_bytes(field, text), segment.schema[field].format)
    while postings.is_active():
        postings._read_ids()
        postings._read_weights()
        ids.extend(postings._ids)
        weights.extend(postings._weights)
        postings._next_block()
    with _POSTINGS_LOCK:
        if key not in _POSTINGS:
            _POSTINGS[key] = (ids, weights)
            _postings_held += len(ids)
            while _postings_held > POSTINGS_KEPT and len(_POSTINGS) > 1:
                _, (old_ids, _) = _POSTINGS.popitem(last=False)
                _postings_held -= len(old_ids)
    return ids, weights


def _lengths(segment, field: str) -> list[int]:
    """Each document's length of `field` in this segment, as Whoosh's scorer sees it (default 1)."""
    key = (segment.segment().segment_id(), field)
    lengths = _LENGTHS.get(key)
    if lengths is None:
        lengths = _read_lengths(segment, field, segment.doc_count_all())
        with _LENGTHS_LOCK:
            if len(_LENGTHS) >= _LENGTHS_KEPT:
                _LENGTHS.pop(next(iter(_LENGTHS)))
            _LENGTHS[key] = lengths
    return lengths


def _read_lengths(segment, field: str, count: int) -> list[int]:
    # The whole length column at once (one read), decoded as W3PerDocReader.doc_field_length does.
    from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
    from whoosh.util.numeric import byte_to_length

    reader = segment._perdoc._cached_reader(_lenfield(field), LENGTHS_COLUMN)
    if reader is None:
        return [1] * count
    decoded = [byte_to_length(value) for value in range(256)]
    return [decoded[value] if value else 1 for value in reader]


def score_each(searcher, query, docnums) -> list[tuple[float, int]]:
    """(score, -docnum) for each of these documents that the query matches, by Whoosh's scorer.

    Each segment's matcher skips to the documents asked and scores them alone. Whoosh's collector,
    given them as a filter, walks every match of the query and drops the others: for a phrase,
    its positions read again for every document holding the words, after the search that found
    the few holding the phrase.
    """
    wanted = sorted(docnums)
    context = searcher.context()
    scored: list[tuple[float, int]] = []
    for leaf, offset in searcher.leaf_searchers():
        end = offset + leaf.doc_count_all()
        here = wanted[bisect.bisect_left(wanted, offset) : bisect.bisect_left(wanted, end)]
        if not here:
            continue
        matcher = query.matcher(leaf, context)
        for docnum in here:
            local = docnum - offset
            try:
                matcher.skip_to(local)  # no further than its first match at or after it
            except ReadTooFar:
                break
            if not matcher.is_active():
                break
            if matcher.id() == local:
                scored.append((matcher.score(), -docnum))
    return scored
