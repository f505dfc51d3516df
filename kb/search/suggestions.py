"""Passages of a source most likely to be evidence for a promise or a claim: ranked, never published.

A journalist adds a council deliberation; kb reads each of its passages (kb.content.passages: verbatim
slices, so every suggestion verifies by construction) against every open promise and every claim
with the French analyzer of search (folded, stemmed, stop words out), and ranks them with BM25 over
the source's own passages: a word rare in this document weighs more than one it repeats on every page.

What a target asks for, and how much each part weighs, was learnt from the demo's existing quotes
(kb bench-suggest measures it): a promise's title says what to look for (alone it finds 54 % of the
removed passages), its earlier quotes say how documents word it, its notes and the opening of its
analysis say what moved it, its territory and theme narrow it down (all together: 69 %). Consecutive words of the title found side by side ("plan vélo", "permis de
louer") add a bonus: a passage naming the thing beats one that mentions its words apart.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, defaultdict
from dataclasses import dataclass

from kb.content.model import Claim, Promise
from kb.content.passages import Passage, passages
from kb.content.quotes import FoldedText
from kb.search.analysis import terms as terms_of

K1, B = 1.2, 0.75
WEIGHTS = {"title": 2.0, "quote": 1.5, "place": 1.0, "note": 1.0, "body": 1.0}
PAIR_BONUS = 0.6  # per title bigram found side by side, times the pair's idf
BODY_CHARACTERS = 2000
MAX_TARGETS = 300  # ranked in full per source, the most hopeful first (the newsroom shows 40)
PAIR_CANDIDATES = 20  # passages a title pair's bonus is looked for in
MIN_TERMS = 3  # words that count (stop words aside) a passage needs to say something
MIN_SCORE = 0.05  # below this share of what a perfect passage would score, it is noise (tuned on the demo: kb bench-suggest)


@dataclass(frozen=True)
class Target:
    """What a promise or a claim is looking for: its words, weighted, and the passages it already quotes.

    Analysed once (kb.search.analysis.terms), then ranked against any number of sources."""

    key: str  # "promise:<id>" or "claim:<id>"
    terms: dict[str, float]  # index term → weight, saturated (a word said twenty times is not twenty times the evidence)
    title_pairs: frozenset[tuple[str, str]]  # consecutive terms of the title
    quoted: tuple[tuple[str, str], ...]  # (source id, quote) it cites already


def target(key: str, parts: list[tuple[str, str]], quoted: list[tuple[str, str]]) -> Target:
    """A target from its texts, each of a kind of WEIGHTS."""
    asked: Counter[str] = Counter()
    title_terms: list[str] = []
    for kind, text in parts:
        if not WEIGHTS[kind] or not text:
            continue
        terms = terms_of(text)
        for term in terms:
            asked[term] += WEIGHTS[kind]
        if kind == "title":
            title_terms += terms
    return Target(
        key, {term: math.log1p(weight) for term, weight in asked.items()}, frozenset(zip(title_terms, title_terms[1:])), tuple(quoted)
    )


@dataclass(frozen=True)
class Suggestion:
    target: str
    quote: str  # the passage, verbatim (its whitespace collapsed: quotes are compared folded)
    score: float  # share (0..1+) of what a passage holding every asked word would score
    page: int | None
    start: int  # where the passage is in the source's text
    end: int

    def as_json(self) -> dict:
        return {"target": self.target, "quote": self.quote, "score": round(self.score, 4), "page": self.page}


def promise_target(promise: Promise) -> Target:
    # The analysis's opening says what the promise is about; the rest (cost of reading it: linear) adds little.
    parts = [("title", promise.title or ""), ("place", promise.territory or ""), ("place", promise.theme or ""), ("body", (promise.body or "")[:BODY_CHARACTERS])]
    quoted = []
    for entry in promise.history:
        parts.append(("note", entry.note or ""))
        for proof in entry.evidence:
            parts.append(("quote", proof.quote))
            quoted.append((proof.source, proof.quote))
    return target(f"promise:{promise.id}", parts, quoted)


def claim_target(claim: Claim) -> Target:
    parts = [("title", claim.title or ""), ("body", (claim.body or "")[:BODY_CHARACTERS])]
    quoted = []
    for field, proof in claim.proofs:
        parts.append(("title" if field == "claim" else "quote", proof.quote))
        quoted.append((proof.source, proof.quote))
    return target(f"claim:{claim.id}", parts, quoted)


class SourcePassages:
    """One source's passages as an inverted index of terms, for ranking them against many targets."""

    def __init__(self, source_id: str, text: str):
        self.source_id = source_id
        self.text = text
        self.passages: list[Passage] = passages(text)
        term_counts = []
        self.lengths: list[int] = []
        self.pairs: list[set[tuple[str, str]]] = []
        for passage in self.passages:
            terms = terms_of(passage.text)
            self.lengths.append(len(terms))
            term_counts.append(Counter(terms))
            self.pairs.append(set(zip(terms, terms[1:])))
        count = len(self.passages)
        average = (sum(self.lengths) / count if count else 0) or 1.0  # a source of stop words only has no length
        found_in: Counter[str] = Counter(term for counts in term_counts for term in counts)
        self.idf = {term: math.log(1 + (count - df + 0.5) / (df + 0.5)) for term, df in found_in.items()}
        # A word the document never uses weighs as its rarest word: a target whose words are not here scores
        # low (and a one-page note, whose every word is "common", is not judged against a 200-page report's scale).
        self.absent_idf = max(self.idf.values(), default=1.0)
        # Each term's BM25 part in each passage, computed once for every target.
        self.postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for number, counts in enumerate(term_counts):
            length_norm = K1 * (1 - B + B * self.lengths[number] / average)
            for term, tf in counts.items():
                self.postings[term].append((number, self.idf[term] * tf * (K1 + 1) / (tf + length_norm)))
        self.best = {term: max(value for _, value in found) for term, found in self.postings.items()}
        self._folded: FoldedText | None = None

    def _quoted_spans(self, target: Target) -> list[tuple[int, int]]:
        spans = []
        for source_id, quote in target.quoted:
            if source_id == self.source_id:
                self._folded = self._folded or FoldedText.of(self.text)
                spans += self._folded.locate(quote) or []
        return spans

    def _perfect(self, target: Target) -> float:
        """What a passage holding every word `target` asks for would score here."""
        return sum(weight * self.idf.get(term, self.absent_idf) for term, weight in target.terms.items())

    def _bound(self, target: Target) -> float:
        """The most `target` could score here: each of its words at its best passage, every title pair found."""
        bound = sum(weight * self.best[term] for term, weight in target.terms.items() if term in self.best)
        return bound + sum(PAIR_BONUS * (self.idf[a] + self.idf[b]) / 2 for a, b in target.title_pairs if a in self.idf and b in self.idf)

    def promise_of(self, target: Target) -> float:
        """The most `target` could score here, as a share of a perfect passage's score: a cheap upper bound."""
        perfect = self._perfect(target)
        return self._bound(target) / perfect if perfect else 0.0

    def rank(self, target: Target, limit: int = 3) -> list[Suggestion]:
        """The best passages for `target`, best first; those it quotes already left out."""
        perfect = self._perfect(target)
        if not perfect or self._bound(target) < MIN_SCORE * perfect:
            return []
        scores: dict[int, float] = defaultdict(float)
        for term, weight in target.terms.items():
            for number, value in self.postings.get(term, ()):
                scores[number] += weight * value
        # Title pairs side by side: a bonus looked for among the best few only (a set intersection per passage).
        pair_values = {pair: PAIR_BONUS * (self.idf[pair[0]] + self.idf[pair[1]]) / 2 for pair in target.title_pairs if pair[0] in self.idf and pair[1] in self.idf}
        best = heapq.nlargest(PAIR_CANDIDATES + limit, scores.items(), key=lambda item: (item[1], -item[0]))
        if pair_values:
            best = [(number, score + sum(pair_values[pair] for pair in self.pairs[number].intersection(pair_values))) for number, score in best]
        quoted = self._quoted_spans(target)
        ranked = []
        for number, score in sorted(best, key=lambda item: (-item[1], item[0])):
            share = score / perfect
            if share < MIN_SCORE:
                break
            passage = self.passages[number]
            if self.lengths[number] < MIN_TERMS:
                continue  # a heading or a name alone ("Métropole Européenne de Lille") is no evidence of anything
            if any(start < passage.end and passage.start < end for start, end in quoted):
                continue  # evidence already: nothing to suggest
            ranked.append(Suggestion(target.key, " ".join(passage.text.split()), share, passage.page, passage.start, passage.end))
            if len(ranked) == limit:
                break
        return ranked


def open_targets(tree) -> list[Target]:
    """What a new source may move: every promise not in a final status, every claim (a tree or a catalog view)."""
    targets = [promise_target(promise) for promise in tree.promises.values() if promise.status not in tree.final_statuses]
    return targets + [claim_target(claim) for claim in tree.claims.values()]


def suggest(source_id: str, text: str, targets: list[Target], limit: int = 3, candidates: int = MAX_TARGETS) -> list[Suggestion]:
    """For each target, its `limit` best passages of the source; all together, best first.

    Only the `candidates` targets that could score best (an upper bound, cheap) are ranked in full:
    at 10,000 promises a source is read against the few hundred it may concern, in under a second."""
    index = SourcePassages(source_id, text)
    hopeful = [(index.promise_of(target), position) for position, target in enumerate(targets)]
    chosen = heapq.nlargest(candidates, ((bound, position) for bound, position in hopeful if bound >= MIN_SCORE))
    found = [suggestion for _, position in chosen for suggestion in index.rank(targets[position], limit)]
    return sorted(found, key=lambda suggestion: (-suggestion.score, suggestion.target, suggestion.start))
