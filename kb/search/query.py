"""Searching promises, sources and claims: queries from anyone, facets, highlighted snippets, suggestions.

Anyone can type anything, so the query language is deliberately small — words (all
required), "phrases", -exclusions, OR/OU — and every other input is read as plain words.
Field syntax (`title:`), wildcards and ranges are switched off: they are not for citizens,
and a lone `*` would otherwise ask for every term of the index.

Speed: facet counts are computed from column values cached per index generation, over the
document numbers of the match (no scoring, no stored fields); snippets are cut only for the
page's hits, by a scan of the stored text that stems each distinct word once. The naive
Whoosh way (groupedby + highlights on long stored texts) costs seconds per query.
"""

from __future__ import annotations

import copy

import html
import itertools
import logging
import re
import threading
import time
import unicodedata
import weakref
from collections import Counter, OrderedDict
from itertools import chain
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Callable

from markupsafe import Markup
from whoosh import query as q
from whoosh.qparser import (
    GroupPlugin,
    OperatorsPlugin,
    PhrasePlugin,
    PlusMinusPlugin,
    QueryParser,
)

from kb.config.i18n import gettext as _, language
from kb.content.kinds import KINDS
from kb.content.registry import Kinds
from kb.search.kept_results import KeptResults, SharedResults, index_state
from kb.search.matchers import AndNot, Phrase, own_matchers
from kb.search.ranking import holds_all, locate, rank_terms, score_each, top
from kb.search.segment_files import SegmentFiles
from kb.search.analysis import TOKEN, normalize_numbers, term_for, tokens, typed_word
from kb.search.index import FACETS, MULTIPLE_FACETS, SearchIndex

logger = logging.getLogger(__name__)

MAX_QUERY_CHARS = 200
MAX_PAGE = 1000
# Results kept per process for the current index generation (a page of hits and the facet counts each).
RESULTS_KEPT = 256
PER_PAGE = 10
SNIPPET_WORDS = 30
SNIPPET_SCAN_TOKENS = 3000
SNIPPETS_KEPT = 4096  # per process, a few hundred bytes each
SEARCH_FIELDS = ("content",)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# People type field syntax from other search engines; only names that look like fields are
# stripped, so "14:30" or "article 3:" stay as typed.
_FIELD_SYNTAX = re.compile(
    r"(?<![\w\"])(?:title|titre|status|statut|verdict|territory|territoire|theme|thème|made_by|auteur|kind|type|"
    r"body|content|text|texte|source|id|date|party|parti|tracker|suivi):(?=[\w\"])",
    re.IGNORECASE,
)
OPERATORS = {"AND", "OR", "NOT", "ET", "OU", "SAUF", "ANDNOT"}
_OPERATOR = r"(?:AND|OR|NOT|ET|OU|SAUF|ANDNOT)"
# An operator with nothing on one side ("lille OR", "OR lille", "a SAUF SAUF b") is dropped.
_DANGLING = re.compile(rf"^(?:{_OPERATOR}\s+)+|(?:\s+{_OPERATOR})+$")
_REPEATED = re.compile(rf"(?<=\s){_OPERATOR}(?:\s+{_OPERATOR})+(?=\s)")
_QUOTE_MARKS = re.compile(r"[«»“”„‟]")


@dataclass
class Hit:
    """One result: what a results page or the JSON API shows of a document."""

    kind: str
    id: str
    title: str
    status: str | None
    snippet: Markup
    verdict: str | None = None  # claims only

    def as_json(self, url: str) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "url": url,
            "status": self.status,
            "verdict": self.verdict,
            "snippet": str(self.snippet),
        }


@dataclass
class Results:
    """A page of results with the facet counts and the suggestion that go with it."""

    query: str
    total: int
    page: int
    per_page: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    filters: dict[str, str]
    suggestion: str | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return min(MAX_PAGE, max(1, -(-self.total // self.per_page)))

    def record(self) -> dict:
        """The results as SharedResults keeps them (JSON; _results_from reads them back).

        Field by field, not dataclasses.asdict, which deep-copies every value: 2 ms per result, paid
        for each result carried into a new index generation, after each publication, on the worker
        that shares it (a fifth of a second for the 90 searches of kb bench-live)."""
        record = {name.name: getattr(self, name.name) for name in fields(self)}
        record["hits"] = [{**vars(hit), "snippet": str(hit.snippet)} for hit in self.hits]
        return record

    def as_json(self, url_of: Callable[[Hit], str]) -> dict:
        return {
            "query": self.query,
            "total": self.total,
            "page": self.page,
            "results": [hit.as_json(url_of(hit)) for hit in self.hits],
            "facets": self.facets,
            "suggestion": self.suggestion,
        }


def clean_query(text: str | None) -> tuple[str, list[str]]:
    """The query as kb will read it, and notices for the person when it had to be changed."""
    notices = []
    text = unicodedata.normalize("NFC", text or "")
    text = _CONTROL.sub(" ", text)
    text = _QUOTE_MARKS.sub('"', text)
    text = " ".join(text.split())
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS].rsplit(" ", 1)[0]
        notices.append(_("Votre recherche était trop longue : seuls ses %(limit)s premiers caractères ont été pris en compte.", limit=MAX_QUERY_CHARS))
    if _FIELD_SYNTAX.search(text):
        text = _FIELD_SYNTAX.sub("", text)
        notices.append(_("La recherche par champ (« titre: ») n'existe pas ici : utilisez les filtres à côté des résultats."))
    if text.count('"') % 2:
        # An unbalanced quote would swallow the rest of the query into a phrase.
        text = " ".join(text.replace('"', " ").split())
    text = _REPEATED.sub(lambda match: match.group().split()[-1], text)
    text = _DANGLING.sub("", text).strip()
    return text, notices


_NOTICED: OrderedDict = OrderedDict()  # (kept results, language) → the same results noticed in that language
_NOTICED_LOCK = threading.Lock()


def _noticed(results: Results, text: str | None) -> Results:
    """`results` with their notices in this request's language: kept results serve every language. The
    same object each time for the same kept results (the search page is drawn again only for new ones)."""
    if not results.notices:
        return results
    key = (id(results), language())
    with _NOTICED_LOCK:
        found = _NOTICED.get(key)
        if found is not None and found[0] is results:
            _NOTICED.move_to_end(key)
            return found[1]
    noticed = replace(results, notices=clean_query(text)[1])
    with _NOTICED_LOCK:
        _NOTICED[key] = (results, noticed)
        while len(_NOTICED) > 256:
            _NOTICED.popitem(last=False)
    return noticed


def _parser(schema) -> QueryParser:
    parser = QueryParser(
        "content",
        schema,
        plugins=[
            PhrasePlugin(),
            GroupPlugin(),
            OperatorsPlugin(
                And=r"(?<=\s)(?:AND|ET)(?=\s)",
                Or=r"(?<=\s)(?:OR|OU)(?=\s)",
                AndNot=r"(?<=\s)(?:ANDNOT|SAUF)(?=\s)",
                AndMaybe=r"(?!x)x",  # never: not for citizens
                Not=r"(^|(?<=(\s|[()])))NOT(?=\s)",
                Require=r"(?!x)x",
            ),
            # "-" excludes only at the start of a word: Marcq-en-Barœul is a name, not an exclusion.
            PlusMinusPlugin(plusexpr=r"(?!x)x", minusexpr=r"(?:^|(?<=[\s(]))-(?=\S)"),
        ],
    )
    return parser


def _minus_in_groups(text: str) -> str:
    """`text` with each "-" that excludes a word inside parentheses written NOT, which the parser reads there.

    Whoosh reads "-" only outside parentheses: inside, its parser failed, and the query was read as
    plain words, so that "mutualisation (-piscine)" asked for "piscine" instead of excluding it."""
    out, depth, quoted = [], 0, False
    for position, char in enumerate(text):
        if char == '"':
            quoted = not quoted
        elif not quoted and char == "(":
            depth += 1
        elif not quoted and char == ")":
            depth = max(0, depth - 1)
        elif (
            char == "-" and depth and not quoted and (position == 0 or text[position - 1] in " (")
            and text[position + 1 : position + 2] not in ("", " ")
        ):  # fmt: skip
            out.append("NOT ")
            continue
        out.append(char)
    return "".join(out)


def positive_terms(query) -> set[str]:
    """Index terms that the query asks for (not those it excludes), for highlighting."""
    found: set[str] = set()

    def walk(node):
        if isinstance(node, (q.Not, q.AndNot)):
            if isinstance(node, q.AndNot):
                walk(node.a)
            return
        if isinstance(node, q.Term) and node.fieldname in SEARCH_FIELDS:
            found.add(node.text)
        elif isinstance(node, q.Phrase) and node.fieldname in SEARCH_FIELDS:
            found.update(node.words)
        for child in node.children():
            walk(child)

    walk(query)
    return found


# A tier lifts a match above every match of the tiers below: BM25 scores here stay far below it.
TIER_BONUS = 10_000.0


# Matches looked at for the phrase typed (Whoosh reads every match's positions: 300 ms for two common
# words in 8,000 documents at 10,000 promises): up to this many; beyond, titles first, then BM25 alone.
PHRASE_CHECKED = 1000


def _tiers(searcher, query, terms: set[str], text: str, matches: int) -> list[set[int]]:
    """The matches to rank first, best first: items whose title holds every word as typed (accents and
    case aside), then those whose title holds them in another form ("mutualiser" for "mutualisation":
    the query run on titles alone), then, for several words, those holding them as the phrase typed.
    [] for a query with nothing to look for (exclusions only). A newcomer expects the promise titled
    "mutualisation" before the forty that merely mention it (it was tenth)."""
    if not terms:
        return []
    titled = set(searcher.docs_for_query(_on_field(query, "title_words")))
    typed = _typed_words(text)
    if typed and titled:
        exact = titled.intersection(searcher.docs_for_query(q.And([q.Term("title_typed", word) for word in sorted(typed)])))
        tiers = [exact, titled - exact]
    else:
        tiers = [titled]
    words = list(query.subqueries) if isinstance(query, q.And) else []
    if len(words) > 1 and matches <= PHRASE_CHECKED and all(isinstance(word, q.Term) and word.fieldname == "content" for word in words):
        tiers.append(set(searcher.docs_for_query(Phrase("content", [word.text for word in words]))) - titled)
    return [tier for tier in tiers if tier]


def _tier_of(leaves: _Leaves, docnum: int, words: tuple, typed: set[str]) -> tuple[bool, bool]:
    """Where _tiers ranks a document for a query of `words` all required, as a key that sorts the
    better tier higher: (title holding every word as typed, title holding the words)."""
    index, local = leaves.locate(docnum)
    segment = leaves.readers[index]
    in_title = holds_all(segment, local, [("title_words", text) for _, text in words])
    as_typed = bool(typed) and holds_all(segment, local, [("title_typed", word) for word in sorted(typed)])
    return in_title and as_typed, in_title


def _sorted_facets(counter: Counter) -> dict:
    """A facet's counts as shown: values most found first, then by value; empty values and zeros left out."""
    return dict(sorted(((value, n) for value, n in counter.items() if value not in ("", None) and n > 0), key=lambda item: (-item[1], item[0])))


# A query's pieces as _typed_words reads them: a quoted phrase, a group's opening (either possibly
# excluded by a leading "-") or closing, a word or operator.
_PIECE = re.compile(r'-?"[^"]*"?|-?\(|\)|[^\s()"]+')
EXCLUDING = {"NOT", "SAUF", "ANDNOT"}


def _typed_words(text: str) -> set[str]:
    """The words a query asks for, folded but not stemmed: not its operators or stop words, nor what it
    excludes ("-lille", "SAUF lille", "NOT (lille OU roubaix)", '-"…"'), which no title it finds holds."""
    asked = []
    depth, excluded_from, excluding = 0, None, False  # excluded_from: the depth of the excluded group we are in
    for piece in _PIECE.findall(text):
        if piece.endswith("(") and len(piece) <= 2:
            depth += 1
            if excluded_from is None and (excluding or piece == "-("):
                excluded_from = depth
        elif piece == ")":
            if excluded_from == depth:
                excluded_from = None
            depth = max(0, depth - 1)
        elif piece in EXCLUDING:
            excluding = True
            continue
        elif piece not in OPERATORS and excluded_from is None and not excluding and not piece.startswith("-"):
            asked.append(piece.strip('"'))
        excluding = False
    return {typed_word(word) for word in TOKEN.findall(" ".join(asked)) if term_for(word) is not None}


def _failed(values: dict[str, list], filters: dict[str, str], docnum: int) -> list[str]:
    """The filters a document does not pass."""
    return [
        name for name, value in filters.items()
        if (value not in values[name][docnum] if name in MULTIPLE_FACETS else values[name][docnum] != value)
    ]  # fmt: skip


class _Leaves:
    """Where each document of a reader lives: its segment (and what this process keeps of it), its number there.

    A segment never changes once written: a document is named by its segment's id and its number
    there (snippets are kept by that name)."""

    def __init__(self, reader):
        leaves = [(offset, segment_reader) for segment_reader, offset in reader.leaf_readers()]
        self.offsets = [offset for offset, _ in leaves]
        self.readers = [segment_reader for _, segment_reader in leaves]
        self.caches = [_segment_cache(segment_reader) for segment_reader in self.readers]

    def locate(self, docnum: int) -> tuple[int, int]:
        """(the segment's place in the reader, the document's number in it)."""
        return locate(self.offsets, docnum)

    def identity(self, docnum: int) -> tuple[str, int]:
        """The document's name for as long as it exists: its segment's id and its number there."""
        index, local = self.locate(docnum)
        return self.caches[index]["segment"], local


def _lifts(tiers: list[set[int]]) -> dict[int, float]:
    """How far up each tiered match is lifted, by negated document number (the form scores carry):
    the best tier is worth the most; a match in no tier is not in the dict."""
    lifts: dict[int, float] = {}
    for position, tier in enumerate(tiers):
        lift = TIER_BONUS * (len(tiers) - position)
        for docnum in tier:
            lifts.setdefault(-docnum, lift)
    return lifts


# Matches ranked one by one (each matcher skipping to them) rather than by Whoosh's collector
# walking every match of the query: up to this many in a tier.
SCORED_EACH = 2000


def _ranked_by_tier(searcher, query, kept: list[int], tiers: list[set[int]], count: int) -> list[int]:
    """The first `count` of `kept`, tier by tier, each ranked by Whoosh's scores: by
    score_each for a few matches, else Whoosh's top-N collector."""
    ranked: list[int] = []
    remaining = set(kept)
    for tier in [*(tier & remaining for tier in tiers), None]:
        if len(ranked) >= count or not remaining:
            break
        allowed = remaining if tier is None else tier
        if not allowed:
            continue
        if len(allowed) <= SCORED_EACH:
            ranked += top(score_each(searcher, query, allowed), count - len(ranked))
        else:
            best = searcher.search(query, limit=count - len(ranked), filter=allowed)
            ranked += [docnum for docnum, _ in best.items()]
        remaining -= allowed
    return ranked


def _on_field(query, field: str):
    """The same query asked of another field (the titles): every leaf on `content` moved to `field`."""

    def move(node):
        if getattr(node, "fieldname", None) == "content":
            node = copy.copy(node)
            node.fieldname = field
        return node

    return query.accept(move)


def _results_from(data: dict) -> Results:
    """Results as SharedResults keeps them (Results.record), made objects again."""
    hits = [Hit(**{**hit, "snippet": Markup(hit["snippet"])}) for hit in data["hits"]]
    return Results(**{**data, "hits": hits})


def snippet(text: str, terms: set[str], words: int = SNIPPET_WORDS) -> Markup:
    """The passage of `text` with the most distinct query terms, matches wrapped in <mark>.

    The scan stops at the first window that holds every query term, and in any case after
    SNIPPET_SCAN_TOKENS words: a 40 KB source is not read to the end for every hit.
    """
    spans: list[tuple[int, int, str]] = []
    hits: list[int] = []
    best, best_score = 0, 0
    for index, span in enumerate(tokens(text or "")):
        spans.append(span)
        if span[2] in terms:
            hits.append(index)
        # Judge the window that starts at the oldest hit still in reach of this word.
        while hits and hits[0] <= index - words:
            window = {spans[i][2] for i in hits if i < hits[0] + words}
            if len(window) > best_score:
                best, best_score = hits[0], len(window)
            hits.pop(0)
        if (terms and best_score == len(terms)) or index >= (SNIPPET_SCAN_TOKENS if terms else words):
            break
    if hits and best_score < len(terms):
        window = {spans[i][2] for i in hits if i < hits[0] + words}
        if len(window) > best_score:
            best, best_score = hits[0], len(window)
    if not spans:
        return Markup("")
    start_token = max(0, best - words // 4) if best_score else 0
    end_token = min(len(spans), start_token + words)
    start = spans[start_token][0] if start_token else 0
    end = spans[end_token - 1][1]
    pieces = ["… " if start else ""]
    cursor = start
    for index in range(start_token, end_token):
        begin, finish, term = spans[index]
        if term in terms:
            pieces.append(html.escape(text[cursor:begin], quote=False))
            pieces.append(f"<mark>{html.escape(text[begin:finish], quote=False)}</mark>")
            cursor = finish
    pieces.append(html.escape(text[cursor:end], quote=False))
    if end < len(text.rstrip()):
        pieces.append(" …")
    return Markup(" ".join("".join(pieces).split()))


# Column values of index segments, by segment id. A segment never changes once written (its
# deletions do not touch its columns), so after a publish only the new small segment is read.
_SEGMENT_COLUMNS: OrderedDict[tuple, dict] = OrderedDict()
_segments_lock = threading.Lock()
_SEGMENT_CACHE_SIZE = 256
COLUMNS = (*FACETS, "date", "key")


def _column_values(reader) -> dict[str, list]:
    """Every document slot's value of each column in COLUMNS, segment caches reused."""
    values: dict[str, list] = {name: [] for name in COLUMNS}
    for segment_reader, _offset in reader.leaf_readers():
        cached = _segment_cache(segment_reader)
        for name in COLUMNS:
            values[name].extend(cached[name])
    return values


def _segment_cache(segment_reader) -> dict:
    """What this process keeps of one segment: its column values.

    Keyed by the index's folder and the segment's id: Whoosh draws ids from `random`, which a test
    may seed alike for two indexes."""
    segment_id = segment_reader.segment().segment_id()
    key = (getattr(segment_reader.storage(), "folder", ""), segment_id)
    with _segments_lock:
        cached = _SEGMENT_COLUMNS.get(key)
        if cached is not None:
            _SEGMENT_COLUMNS.move_to_end(key)
            return cached
    cached = {name: list(segment_reader.column_reader(name)) for name in COLUMNS}
    # "a\nb": a joint promise counts for each of its authors. Split once per segment, not at each
    # new state of the index (10 ms of each worker's share of a publication at 10,000 promises).
    cached["split"] = {name: [tuple(value.split("\n")) if value else () for value in cached[name]] for name in MULTIPLE_FACETS}
    cached["segment"] = key
    with _segments_lock:
        cached = _SEGMENT_COLUMNS.setdefault(key, cached)  # another thread's, if it was first
        while len(_SEGMENT_COLUMNS) > _SEGMENT_CACHE_SIZE:
            _SEGMENT_COLUMNS.popitem(last=False)
    return cached


class _Columns:
    """The column values of one state of the index, shared by the threads of a process reading it."""

    def __init__(self, reader):
        self.columns = _column_values(reader)
        self.facet_values = {name: self.columns[name] for name in FACETS}
        for name in MULTIPLE_FACETS:
            self.facet_values[name] = list(chain.from_iterable(_segment_cache(segment_reader)["split"][name] for segment_reader, _ in reader.leaf_readers()))


# The last few states' columns (each publication makes a state; the threads of a worker all open it).
_STATE_COLUMNS: OrderedDict[str, _Columns] = OrderedDict()
_STATE_COLUMNS_KEPT = 4
_state_columns_lock = threading.Lock()


def _columns_of(identity: str, reader) -> _Columns:
    """The state's columns, made by the first thread to ask (the others wait for it: after a
    publication, every thread of the worker opens the new state at once)."""
    with _state_columns_lock:
        found = _STATE_COLUMNS.get(identity)
        if found is None:
            found = _STATE_COLUMNS[identity] = _Columns(reader)
            while len(_STATE_COLUMNS) > _STATE_COLUMNS_KEPT:
                _STATE_COLUMNS.popitem(last=False)
    return found


class _ReaderState:
    """A Whoosh searcher (one per thread: its files are read with seeks) and the column values of its documents."""

    def __init__(self, searcher):
        self.searcher = searcher
        self.identity = index_state(searcher.reader())
        shared = _columns_of(self.identity, searcher.reader())
        self.columns, self.facet_values = shared.columns, shared.facet_values
        self.leaves = _Leaves(searcher.reader())
        self._by_date: list[int] | None = None

    @property
    def by_date(self) -> list[int]:
        """Live documents, newest first (for browsing without a query); ties by key."""
        if self._by_date is None:
            dates, keys = self.columns["date"], self.columns["key"]
            live = self.searcher.reader().all_doc_ids()
            self._by_date = sorted(live, key=lambda docnum: (dates[docnum], keys[docnum]), reverse=True)
        return self._by_date


def _close_all(searchers: set, files: list, lock: threading.Lock) -> None:
    with lock:
        opened, kept = list(searchers), list(files)
        searchers.clear()
        files.clear()
    for searcher in opened:
        try:
            searcher.close()
        except Exception:  # noqa: BLE001 — closing what is already closed or half-open: nothing left to free
            pass
    for segments in kept:  # after the searchers made of them
        segments.close()


class Search:
    """Runs searches on an index, catching it up with the files now and then."""

    def __init__(self, index: SearchIndex, sync_seconds: float | None = 2.0, results_kept: int = RESULTS_KEPT):
        self.index = index
        self.sync_seconds = sync_seconds
        self._synced_at = float("-inf")
        self._sync_lock = threading.Lock()
        self._local = threading.local()
        self._parser = None
        # Every searcher still open, whichever thread opened it: each holds its segments' files open
        # (kb.search.index reads them, not maps them), closed with this object rather than left to the GC.
        self._open: set = set()
        self._open_files: list[SegmentFiles] = []  # each thread's, closed after the searchers made of them
        self._open_lock = threading.Lock()
        self._kept = KeptResults(results_kept)  # this process's last results (see search())
        # Snippets by document and terms (see _snippet), kept when results are.
        self._snippets: OrderedDict | None = OrderedDict() if results_kept else None
        self._snippets_lock = threading.Lock()
        # The machine's results, when results are kept at all.
        self._shared = SharedResults(index.index_dir.parent / f"{index.index_dir.name}.results") if results_kept else None
        weakref.finalize(self, _close_all, self._open, self._open_files, self._open_lock)

    # -- keeping up ---------------------------------------------------------------------

    def _maybe_sync(self) -> None:
        if self.sync_seconds is None:  # the caller keeps the index up to date itself
            return
        if time.monotonic() - self._synced_at < self.sync_seconds:
            return
        if not self._sync_lock.acquire(blocking=False):
            return  # another thread is catching up; search what is there
        try:
            self.index.sync()
        except Exception:  # noqa: BLE001 — catching up is best effort: search what is indexed
            logger.exception("kb: l'index n'a pas pu rattraper les fichiers ; recherche sur l'index existant")
        finally:
            self._synced_at = time.monotonic()
            self._sync_lock.release()

    def _state(self) -> _ReaderState:
        state = getattr(self._local, "state", None)
        if state is None:
            searcher = self._opened(self.index.searcher(self._files()))
            self._parser = self._parser or _parser(searcher.schema)
            state = self._local.state = _ReaderState(searcher)
        elif not state.searcher.up_to_date():
            # Not Searcher.refresh(): it reuses segment readers and so misses deletions
            # committed since (a removed promise would still be found). The thread's segment
            # files are kept instead, the deletions read anew (kb.search.segment_files).
            self._close(state.searcher)
            state = self._local.state = _ReaderState(self._opened(self.index.searcher(self._files())))
        return state

    def _files(self) -> SegmentFiles:
        """This thread's open segments of the index."""
        files = getattr(self._local, "files", None)
        if files is None:
            files = self._local.files = SegmentFiles()
            with self._open_lock:
                self._open_files.append(files)
        return files

    def _opened(self, searcher):
        with self._open_lock:
            self._open.add(searcher)
        return searcher

    def _close(self, searcher) -> None:
        with self._open_lock:
            self._open.discard(searcher)
        searcher.close()

    def close(self) -> None:
        """Close every searcher this object opened (the next search opens one again)."""
        _close_all(self._open, self._open_files, self._open_lock)
        self._local = threading.local()

    # -- searching ----------------------------------------------------------------------

    def parse(self, text: str):
        """The Whoosh query for cleaned text; None for an empty query (everything)."""
        text = normalize_numbers(text)
        if not text:
            return None
        try:
            parsed = self._parser.parse(_minus_in_groups(text))
        except Exception:  # noqa: BLE001 — Whoosh's parser asserts on some inputs; read them as words
            parsed = q.NullQuery
        if parsed is q.NullQuery and all(word.startswith("-") for word in text.split()):
            # Only exclusions ("-mutualisation -lille"): everything except what has any of them.
            excluded = [self._parse_words(word[1:]) for word in text.split()]
            excluded = [part for part in excluded if part is not None]
            if excluded:
                return AndNot(q.Every(), q.Or(excluded))
        if parsed is q.NullQuery or not list(parsed.leaves()):
            # Operators alone ("AND OR") or syntax the parser choked on: plain words.
            return self._parse_words(text)
        return own_matchers(parsed)

    def _parse_words(self, text: str):
        words = [word for word in re.findall(r"\w+", text) if word not in OPERATORS]
        try:
            parsed = self._parser.parse(" ".join(words)) if words else q.NullQuery
        except Exception:  # noqa: BLE001 — words alone always parse; belt and braces
            return None
        return None if parsed is q.NullQuery else parsed

    def search(self, text: str | None, filters: dict[str, str] | None = None, page: int = 1, per_page: int = PER_PAGE) -> Results:
        """Search; never raises on user input."""
        self._maybe_sync()
        state = self._state()
        filters = {name: value for name, value in (filters or {}).items() if name in FACETS and value}
        page = min(max(1, page), MAX_PAGE)
        # Results are kept for the index generation they were found in, and carried over to the
        # next one while no document added or deleted since holds their words (kb.search.kept_results):
        # a publication (a new generation, seen by every thread's next search) is found at once by
        # every worker, and costs a search again only for the words it touches.
        # Another worker of the machine may have searched the same in this generation (kb.search.kept_results).
        reader = state.searcher.reader()
        key = (text, tuple(sorted(filters.items())), page, per_page)
        # Shared by index state, not generation number: an index built anew starts its numbers again.
        generation = state.identity
        kept = self._kept.get(
            reader, key,
            mend=lambda results, words, added, removed: self._mended(state, results, words, added, removed),
            share=(lambda results: self._share(generation, key, results)) if self._shared else None,
            shared=(lambda: self._shared.holds(generation, key)) if self._shared else None,
        )  # fmt: skip
        if kept is not None:
            return _noticed(kept, text)
        shared = self._shared.load(generation, key) if self._shared else None
        if shared is not None:
            results, user_query = _results_from(shared), self.parse(clean_query(text)[0])
        else:
            results, user_query = self._search(state, text, filters, page, per_page)
            if self._shared:
                self._shared.save(generation, key, results.record())
        self._kept.put(reader, key, results, user_query)
        return _noticed(results, text)

    def _share(self, generation: str, key: tuple, results: Results) -> None:
        """Leave results carried over or mended here for the other workers, unless one did already:
        every worker holding them would otherwise write them too (a record, JSON and a file each)."""
        if not self._shared.holds(generation, key):
            self._shared.save(generation, key, results.record())

    def _mended(self, state: _ReaderState, results: Results, words: tuple, added: list[int], removed: list[int]) -> Results | None:
        """`results` (the first page for one word) as the index now is, after changes whose documents
        `added` and `removed` match the word (kb.search.kept_results); None when only searching again
        tells: a changed document is on the page, or now ranks into it, or the page was not full.

        The total and the facet counts move by those documents, counted as _search counts them."""
        if len(words) != 1 or results.page != 1 or len(results.hits) < results.per_page:
            return None
        keys, values, searcher = state.columns["key"], state.facet_values, state.searcher
        shown = {f"{hit.kind}:{hit.id}" for hit in results.hits}
        if any(keys[docnum] in shown for docnum in (*added, *removed)):
            return None
        filters = results.filters

        def passes(docnum: int) -> bool:
            return not _failed(values, filters, docnum)

        entering = [docnum for docnum in added if passes(docnum)]
        if entering:
            last = results.hits[-1]
            last_docnum = searcher.document_number(key=f"{last.kind}:{last.id}")
            if last_docnum is None:
                return None
            field, text = words[0]
            typed = _typed_words(results.query)
            scores = {-negated: score for score, negated in score_each(searcher, q.Term(field, text), [*entering, last_docnum])}
            if last_docnum not in scores:
                return None

            def rank(docnum: int) -> tuple:
                # As _search ranks: tier, then BM25, then the earlier document first.
                return _tier_of(state.leaves, docnum, words, typed), scores.get(docnum, float("-inf")), -docnum

            bar = rank(last_docnum)
            if any(rank(docnum) > bar for docnum in entering):
                return None  # it ranks into the page
        total = results.total
        counts = {name: Counter(found) for name, found in results.facets.items()}
        for docnum, sign in [*((docnum, 1) for docnum in added), *((docnum, -1) for docnum in removed)]:
            failed = _failed(values, filters, docnum)
            if not failed:
                total += sign
            for name in (FACETS if not failed else failed if len(failed) == 1 else ()):
                found = values[name][docnum]
                for value in (found if name in MULTIPLE_FACETS else (found,)):
                    counts.setdefault(name, Counter())[value] += sign
        facets = {name: _sorted_facets(counter) for name, counter in counts.items()}
        return replace(results, total=total, facets=facets)

    def _search(self, state: _ReaderState, text: str | None, filters: dict[str, str], page: int, per_page: int):
        """The results, and the query they answer (None: no words, or none that parse)."""
        searcher = state.searcher
        cleaned, notices = clean_query(text)
        user_query = self.parse(cleaned)

        # The matches give the total and the facet counts; filters are applied in Python from the
        # cached column values. A one-word query is scored block by block (kb.search.ranking);
        # others are matched unranked (document numbers only) and only the documents up to the
        # asked page are ranked, by Whoosh's top-N collector. Scoring every match one by one
        # through Whoosh took most of a search's time (200 ms for "commune" at 10,000 promises).
        values = state.facet_values
        scored = rank_terms(searcher, user_query) if user_query is not None else None
        if user_query is None:
            matches = state.by_date
        elif scored is not None:
            matches = [-negated for _, negated in scored]
        else:
            matches = list(searcher.docs_for_query(user_query))
        if not filters:
            # The common case, at C speed: every match counts for every facet.
            kept = matches
            counts = {
                name: Counter(chain.from_iterable(map(values[name].__getitem__, matches)) if name in MULTIPLE_FACETS else map(values[name].__getitem__, matches))
                for name in FACETS
            }  # fmt: skip
        else:
            kept = []
            counts = {name: Counter() for name in FACETS}

            def count(name: str, docnum: int) -> None:
                if name in MULTIPLE_FACETS:
                    counts[name].update(values[name][docnum])
                else:
                    counts[name][values[name][docnum]] += 1

            for docnum in matches:
                failed = _failed(values, filters, docnum)
                if not failed:
                    kept.append(docnum)
                    for name in FACETS:
                        count(name, docnum)
                elif len(failed) == 1:
                    # A facet's counts ignore its own filter, so its other values stay choosable.
                    count(failed[0], docnum)
        facets = {name: _sorted_facets(counter) for name, counter in counts.items()}

        terms = positive_terms(user_query) if user_query is not None else set()
        hits = []
        page = min(page, max(1, -(-len(kept) // per_page)))  # past the end: the last page
        if user_query is None:
            shown = kept[(page - 1) * per_page : page * per_page]
        elif not kept:
            shown = []
        else:
            # Tiers first (titles holding the words, then the exact phrase), BM25 within each tier.
            tiers = _tiers(searcher, user_query, terms, cleaned, len(matches))
            if scored is not None:
                if filters:
                    allowed = set(kept)
                    scored = [match for match in scored if -match[1] in allowed]
                if tiers:
                    # Tiers hold a few hundred matches at most; asking each of thousands which tier it is
                    # in was a fifth of a search run again after a publication.
                    lifts = _lifts(tiers)
                    scored = [(score + lifts[negated], negated) if negated in lifts else (score, negated) for score, negated in scored]
                shown = top(scored, page * per_page)[(page - 1) * per_page :]
            else:
                shown = _ranked_by_tier(searcher, user_query, kept, tiers, page * per_page)[(page - 1) * per_page :]
        for docnum in shown:
            stored = searcher.stored_fields(docnum)
            hits.append(
                Hit(
                    kind=stored["kind"],
                    id=stored["id"],
                    title=stored["title"],
                    status=stored.get("status"),
                    verdict=stored.get("verdict"),
                    snippet=self._snippet(state.leaves.identity(docnum), stored, terms),
                )
            )
        return Results(
            query=cleaned,
            total=len(kept),
            page=page,
            per_page=per_page,
            hits=hits,
            facets=facets,
            filters=filters,
            suggestion=self.suggest(cleaned, searcher),
            notices=notices,
        ), user_query

    def _snippet(self, document: tuple[str, int], stored: dict, terms: set[str]) -> Markup:
        """A hit's snippet, kept by document and terms while results are kept: a search run again
        after a publication shows mostly the same hits (1.4 ms a snippet, ten a page)."""
        if self._snippets is None:
            return snippet(stored.get("snippet_text", ""), terms)
        key = (document, frozenset(terms))
        with self._snippets_lock:
            found = self._snippets.get(key)
            if found is not None:
                self._snippets.move_to_end(key)
                return found
        found = snippet(stored.get("snippet_text", ""), terms)
        with self._snippets_lock:
            self._snippets[key] = found
            while len(self._snippets) > SNIPPETS_KEPT:
                self._snippets.popitem(last=False)
        return found

    def suggest(self, cleaned: str, searcher) -> str | None:
        """The query with unknown words replaced by the closest indexed word, if any.

        The index holds stems, not words: the closest stem is found with Whoosh's corrector,
        then shown as a real word, the form it takes in a document that contains it.
        """
        corrector = None
        changed = False
        corrections: dict[str, str | None] = {}
        words = re.split(r"(\w+)", cleaned)
        for index in range(1, len(words), 2):
            word = words[index]
            stem = term_for(word)
            # Stems under four letters are too short to correct: "ceci" (cec) is one edit from "cee".
            if word in OPERATORS or stem is None or len(stem) < 4 or stem[0].isdigit():
                continue
            if stem not in corrections:
                corrections[stem] = None
                if not searcher.doc_frequency("content", stem):
                    corrector = corrector or searcher.corrector("content")
                    # One edit for short words: two would turn "ceci" into "cam".
                    distance = 1 if len(stem) < 6 else 2
                    for candidate in corrector.suggest(stem, limit=3, maxdist=distance, prefix=1):
                        corrections[stem] = _surface_form(searcher, candidate)
                        if corrections[stem]:
                            break
            if corrections[stem]:
                surface = corrections[stem]
                words[index] = surface.capitalize() if word[0].isupper() else surface
                changed = True
        if not changed:
            return None
        suggestion = "".join(words)
        # Only a suggestion that finds something is worth offering.
        suggested = self.parse(suggestion)
        if suggested is None or not any(True for _ in searcher.docs_for_query(suggested)):
            return None
        return suggestion


def _surface_form(searcher, stem: str) -> str | None:
    """A word of the indexed texts whose stem is `stem` (as written there, in lower case)."""
    for docnum in itertools.islice(searcher.docs_for_query(q.Term("content", stem)), 3):
        stored = searcher.stored_fields(docnum)
        for text in (stored.get("title", ""), stored.get("snippet_text", "")):
            for start, end, term in tokens(text):
                if term == stem:
                    return text[start:end].lower()
    return None


def open_search(index_dir: Path, content_root: Path, sync_seconds: float = 2.0, kinds: Kinds = KINDS) -> Search:
    """A Search over the index at `index_dir` for the content tree at `content_root`."""
    return Search(SearchIndex(index_dir, content_root, kinds), sync_seconds)
