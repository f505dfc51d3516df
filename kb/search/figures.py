"""Figures the sources state, and pairs of them that look like one quantity given two values: leads
for a fact-check ("85 communes" in 2012, "90 communes" in 2019; "25 actions déployées depuis 2015"
against "18 dispositifs déployés depuis 2015").

A figure is a number with what it counts: the noun after it ("90 communes", "1,9 million
d'habitants", "95 % des communes"), and the sentence around it (kb.content.passages: verbatim, so
what a lead quotes verifies as it is). Years, dates, article and section numbers, telephone numbers
are not figures. Two figures look like the same quantity when they are of one kind (a count, a
percentage, an amount), differ in value, and say it in the same words: the counted noun counts most,
then the words of their sentences, weighed by how rare they are among all figures' sentences (the
French analysis of search: "déployées" is "déployés"). Leads are ranked best first; kb only proposes.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date

from kb.content.passages import passages
from kb.search.analysis import term_for, terms

MONTHS = "janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre"
# A number as written: "25", "15 000", "1,9", "1.9" — then a scale word, a percent sign or euros.
_FIGURE = re.compile(
    r"(?<![\w.,/-])(?P<number>\d{1,3}(?:[ \u00a0\u202f]\d{3})+|\d+(?:[,.]\d+)?)"
    r"(?:[ \u00a0\u202f]*(?P<scale>millions?|milliards?|M€|Md€))?"
    r"(?:[ \u00a0\u202f]*(?P<percent>%|pour ?cent))?"
    r"(?![\w/-]|[.,]\d)",
    re.IGNORECASE,
)
_AFTER = re.compile(r"\s*(?:(?:des|du|de|d['’]|d ['’]?)\s*)?(?P<head>[^\W\d_]{2,}|(?![aày]\s)[^\W\d_]\s+[^\W\d_]{3,})(?P<rest>(?:[ \u00a0\u202f]+(?:de|d['’]|du|des)[ \u00a0\u202f]*[^\W\d_]{3,})?)", re.IGNORECASE)
_NOT_A_FIGURE_BEFORE = re.compile(r"(?:n°|no\.?|article|art\.|l\.|r\.|page|p\.|tél\.?|tel\.?|\+)\s*$", re.IGNORECASE)
_DATE_AFTER = re.compile(rf"^\s*(?:er\s+)?(?:{MONTHS})\b", re.IGNORECASE)
_PHONE = re.compile(r"^\s*\d{2}(?:\s\d{2}){3}")
_ANTECEDENT = re.compile(r"\b(?:toutes les|tous les|les|des|ces|ses)\s+([^\W\d_]{3,}[sx])\b", re.IGNORECASE)
_WHOLE_BEFORE = re.compile(r"\b(?:les|des|ses|leurs|aux|nos|vos|c['’]est)\s*(?:\.\.)?\s*$", re.IGNORECASE)
_PART_AFTER = re.compile(
    r"\s*(?:\S+\s+){0,3}?(?:adhérent|adhèrent|ont adhéré|bénéfici|participent|concernées|engagées|inscrites|membres de|sur les)", re.IGNORECASE
)
_PRONOUNS = {"entre", "elles", "eux", "ces", "celles", "ceux", "leur", "leurs"}
# Durations and times are no quantities a fact-check compares ("3 mois", "6 ans", "18 h").
_DURATIONS = {"mois", "ans", "an", "années", "jours", "jour", "semaines", "heures", "h", "minutes"}
SCALES = {"million": 1e6, "millions": 1e6, "milliard": 1e9, "milliards": 1e9, "m€": 1e6, "md€": 1e9}
UNIT_WORDS = {"euros": "amount", "euro": "amount", "€": "amount", "km": "length", "km²": "area", "hectares": "area", "ha": "area"}


def _loose(term: str) -> str:
    """A stem cut to its first six letters: the stemmer leaves "déployées" and "déployés" apart."""
    return term[:6]


@dataclass(frozen=True)
class Figure:
    source: str
    source_date: date | None
    value: float
    written: str  # the figure as written ("1,9 million", "95%")
    kind: str  # count, percent, amount…
    head: str | None  # the noun it counts, as written ("communes", "actions de mutualisation")
    head_term: str | None  # that noun's index term
    quote: str  # the sentence it stands in, verbatim
    start: int  # where the sentence starts in the source's text
    context: tuple[str, ...]  # the terms around it (the figure itself left out)
    whole: bool = False  # said as a whole ("ses 90 communes")
    part: bool = False  # said as a part ("39 communes adhérentes", "(83 communes)")


def figures_of(source_id: str, text: str, when: date | None = None) -> list[Figure]:
    """The figures a source's text states, each with its sentence."""
    found = []
    for passage in passages(text, min_letters=3):  # "85 communes" alone on a slide is a figure
        for match in _FIGURE.finditer(passage.text):
            figure = _figure(source_id, when, passage.text, passage.start, match)
            if figure is not None:
                found.append(figure)
    return found


def _figure(source_id, when, sentence: str, offset: int, match: re.Match) -> Figure | None:
    number, scale, percent = match.group("number"), match.group("scale"), match.group("percent")
    before, after = sentence[: match.start()], sentence[match.end() :]
    if _NOT_A_FIGURE_BEFORE.search(before[-12:]) or _DATE_AFTER.match(after) or _PHONE.match(sentence[match.start() :]):
        return None
    digits = re.sub(r"[ \u00a0\u202f]", "", number).replace(",", ".")
    try:
        value = float(digits)
    except ValueError:
        return None
    if not scale and not percent and "." not in digits and 1800 <= value <= 2100:
        return None  # a year
    if before.rstrip().endswith(("-", "–")) and not percent:
        return None  # a range's second end, a reference ("L.2121-25")
    if scale:
        value *= SCALES.get(scale.lower(), 1)
    head = rest = None
    following = _AFTER.match(after)
    if following and not percent and following.group("head").lower() in _DURATIONS:
        return None
    if digits.startswith("0") and not digits.startswith("0.") and len(digits) > 1:
        return None  # a reference ("0347"), not a quantity
    if following:
        # A word an OCR split ("d 'h abitants"): its letters joined back.
        head, rest = "".join(following.group("head").split()), following.group("rest").strip()
    kind = "percent" if percent else "count"
    if head and head.lower() in UNIT_WORDS:
        kind = UNIT_WORDS[head.lower()]
    if head and head.lower() in _PRONOUNS:
        # "53 % d'entre elles": what they are is the sentence's subject ("toutes les communes … et 53 % d'entre elles").
        antecedents = _ANTECEDENT.findall(before)
        head, rest = (antecedents[-1], None) if antecedents else (None, None)
    head_term = _loose(term_for(head) or "") or None if head else None
    if head_term is None:
        head = None
    if kind == "count" and head is None and not scale:
        return None  # a bare number ("5 en 2019", "la page 3") says what it counts nowhere: no lead
    written = sentence[match.start() : match.end()].strip()
    shown_head = f"{head} {rest}".strip() if head and rest else head
    # What is said right around the figure, not the whole sentence: "25 actions de mutualisation
    # déployées depuis 2015" and "Depuis 2015, 18 dispositifs ont été déployés" share their words there.
    near = " ".join(before.split()[-CONTEXT_WORDS:]) + " " + " ".join(after.split()[:CONTEXT_WORDS])
    context = tuple(_loose(term) for term in terms(near) if term != digits)
    if scale:  # "million" is part of the figure, and says much of what it counts
        context += (scale.lower().rstrip("s"),)
    # "ses 90 communes", "des 90 communes", or "85 communes" standing alone on a slide: the whole, not a part.
    whole = bool(_WHOLE_BEFORE.search(before)) or len(sentence.split()) <= 4
    # "(39 communes adhérentes)", "83 communes ont adhéré": a part of them, counted for one action.
    part = before.rstrip().endswith("(") or bool(_PART_AFTER.match(after))
    return Figure(source_id, when, value, written, kind, shown_head, head_term, " ".join(sentence.split()), offset, context, whole and not part, part)


@dataclass(frozen=True)
class Lead:
    subject: str
    score: float
    a: Figure
    b: Figure

    def as_json(self) -> dict:
        side = lambda figure: {"source": figure.source, "quote": figure.quote, "value": figure.written}  # noqa: E731
        return {"subject": self.subject, "score": round(self.score, 4), "a": side(self.a), "b": side(self.b)}


HEAD_BONUS = 0.25
WHOLE_BONUS = 0.2
PART_OF_WHOLE = 0.5
MAX_BLOCK = 50
CONTEXT_WORDS = 8  # on each side of the figure
SAME_SOURCE = 0.6  # two figures of one document are more often two quantities (37 actions listed, 25 deployed)
MIN_SCORE = 0.25


def leads(found: list[Figure], limit: int = 50) -> list[Lead]:
    """Pairs of figures that look like one quantity with two values, best first, each pair of values once."""
    documents = Counter()
    for figure in found:
        documents.update(set(figure.context) | ({figure.head_term} if figure.head_term else set()))
    total = max(1, len(found))
    idf = {term: math.log(1 + total / count) for term, count in documents.items()}

    def vector(figure: Figure) -> dict[str, float]:
        return Counter({term: idf[term] for term in figure.context if term != figure.head_term})

    vectors = [vector(figure) for figure in found]
    norms = [math.sqrt(sum(w * w for w in v.values())) or 1.0 for v in vectors]
    best: dict[tuple, Lead] = {}
    for i, j in _candidates(found, documents):
        a, b = found[i], found[j]
        if a.kind != b.kind or a.value == b.value or (a.source == b.source and a.start == b.start):
            continue
        same_head = bool(a.head_term) and a.head_term == b.head_term
        shared = set(vectors[i]) & set(vectors[j])
        if not shared and not same_head:
            continue
        # What is said around the two figures counts most; the same counted noun adds to it, but
        # alone ("85 communes" on a slide, "39 communes" that joined one action) it is a weak lead.
        score = sum(vectors[i][term] * vectors[j][term] for term in shared) / (norms[i] * norms[j])
        score += HEAD_BONUS if same_head else 0.0
        if same_head and a.whole and b.whole:
            score += WHOLE_BONUS  # two totals of one thing: the lead fact-checkers look for
        elif same_head and ((a.whole and b.part) or (a.part and b.whole)):
            score *= PART_OF_WHOLE  # the whole and a part of it are two quantities
        # One quantity said twice tends to come out near itself (85 and 90 communes, 25 and 18 actions);
        # 3 and 90, or 0.08 and 3.05, are more often two quantities.
        score *= math.sqrt(min(a.value, b.value) / max(a.value, b.value)) if max(a.value, b.value) else 1
        if a.source == b.source:
            score *= SAME_SOURCE
        if score < MIN_SCORE:
            continue
        first, second = (a, b) if (a.source_date or date.min) <= (b.source_date or date.min) else (b, a)
        heads = [figure.head for figure in (first, second) if figure.head]
        subject = heads[0] if len(heads) < 2 or first.head_term == second.head_term else f"{heads[0]} / {heads[1]}"
        key = (first.source, second.source, first.value, second.value, first.kind)
        if key not in best or best[key].score < score:
            best[key] = Lead(subject or first.kind, score, first, second)
    return sorted(best.values(), key=lambda lead: (-lead.score, lead.a.source, lead.b.source))[:limit]


def _candidates(found: list[Figure], documents: Counter) -> list[tuple[int, int]]:
    """Pairs worth scoring: of one kind, sharing the counted noun or a word rare among all figures.

    Comparing every figure with every other is quadratic (58,000 figures in 1,000 sources of 40 KB);
    a word shared by more than MAX_BLOCK figures says too little to make a pair on its own."""
    postings: dict[tuple[str, str], list[int]] = {}
    for index, figure in enumerate(found):
        keys = {term for term in figure.context if documents[term] <= MAX_BLOCK}
        if figure.head_term:
            keys.add(figure.head_term)
        for term in keys:
            postings.setdefault((figure.kind, term), []).append(index)
    pairs: set[tuple[int, int]] = set()
    for members in postings.values():
        members = members[:MAX_BLOCK]
        for position, i in enumerate(members):
            pairs.update((i, j) for j in members[position + 1 :])
    return sorted(pairs)


def contradictions(sources, limit: int = 50) -> list[Lead]:
    """The leads among `sources` (objects with id, text, date)."""
    found = [figure for source in sources for figure in figures_of(source.id, source.text, source.date)]
    return leads(found, limit)
