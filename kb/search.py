"""Searching promises and sources: queries from anyone, facets, highlighted snippets, suggestions.

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

import html
import itertools
import re
import threading
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup
from whoosh import query as q
from whoosh.qparser import (
    GroupPlugin,
    OperatorsPlugin,
    PhrasePlugin,
    PlusMinusPlugin,
    QueryParser,
)
from whoosh.qparser.common import QueryParserError

from .analysis import normalize_numbers, term_for, tokens
from .index import FACETS, SearchIndex

MAX_QUERY_CHARS = 200
MAX_PAGE = 1000
PER_PAGE = 10
SNIPPET_WORDS = 30
SNIPPET_SCAN_TOKENS = 3000
SEARCH_FIELDS = ("content",)
KINDS = ("promise", "source")

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_FIELD_SYNTAX = re.compile(r"(?<![\w\"])\w+:(?=[\w\"])")
_EXCLUSION = re.compile(r"(?:^|(?<=\s))-(?=\S)")
OPERATORS = {"AND", "OR", "NOT", "ET", "OU", "SAUF", "ANDNOT"}
_QUOTE_MARKS = re.compile(r"[«»“”„‟]")


@dataclass
class Hit:
    """One result: what a results page or the JSON API shows of a document."""

    kind: str
    id: str
    title: str
    status: str | None
    snippet: Markup

    @property
    def url(self) -> str:
        return f"/promesses/{self.id}" if self.kind == "promise" else f"/sources/{self.id}"

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "url": self.url,
            "status": self.status,
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
        return max(1, -(-self.total // self.per_page))

    def as_json(self) -> dict:
        return {
            "query": self.query,
            "total": self.total,
            "page": self.page,
            "results": [hit.as_json() for hit in self.hits],
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
        notices.append(f"Votre recherche était trop longue : seuls ses {MAX_QUERY_CHARS} premiers caractères ont été pris en compte.")
    if _FIELD_SYNTAX.search(text):
        text = _FIELD_SYNTAX.sub("", text)
        notices.append("La recherche par champ (« titre: ») n'existe pas ici : utilisez les filtres à côté des résultats.")
    if text.count('"') % 2:
        # An unbalanced quote would swallow the rest of the query into a phrase.
        text = text.replace('"', " ").strip()
    return text, notices


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
            PlusMinusPlugin(),
        ],
    )
    return parser


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
_SEGMENT_COLUMNS: dict[str, dict[str, list]] = {}
_SEGMENT_CACHE_SIZE = 256
COLUMNS = (*FACETS, "date", "key")


def _column_values(reader) -> dict[str, list]:
    """Every document slot's value of each column in COLUMNS, segment caches reused."""
    values: dict[str, list] = {name: [] for name in COLUMNS}
    for segment_reader, _offset in reader.leaf_readers():
        segment_id = segment_reader.segment().segment_id()
        cached = _SEGMENT_COLUMNS.get(segment_id)
        if cached is None:
            cached = {name: list(segment_reader.column_reader(name)) for name in COLUMNS}
            if len(_SEGMENT_COLUMNS) >= _SEGMENT_CACHE_SIZE:
                _SEGMENT_COLUMNS.pop(next(iter(_SEGMENT_COLUMNS)))
            _SEGMENT_COLUMNS[segment_id] = cached
        for name in COLUMNS:
            values[name].extend(cached[name])
    return values


class _ReaderState:
    """A Whoosh searcher and the column values of its documents, for one thread."""

    def __init__(self, searcher):
        self.searcher = searcher
        self.columns = _column_values(searcher.reader())
        self.facet_values = {name: self.columns[name] for name in FACETS}
        self._by_date: list[int] | None = None

    @property
    def by_date(self) -> list[int]:
        """Live documents, newest first (for browsing without a query); ties by key."""
        if self._by_date is None:
            dates, keys = self.columns["date"], self.columns["key"]
            live = self.searcher.reader().all_doc_ids()
            self._by_date = sorted(live, key=lambda docnum: (dates[docnum], keys[docnum]), reverse=True)
        return self._by_date


class Search:
    """Runs searches on an index, catching it up with the files now and then."""

    def __init__(self, index: SearchIndex, sync_seconds: float | None = 2.0):
        self.index = index
        self.sync_seconds = sync_seconds
        self._synced_at = float("-inf")
        self._sync_lock = threading.Lock()
        self._local = threading.local()
        self._parser = None

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
            self._synced_at = time.monotonic()
        finally:
            self._sync_lock.release()

    def _state(self) -> _ReaderState:
        state = getattr(self._local, "state", None)
        if state is None:
            ix = self.index.open()
            self._parser = self._parser or _parser(ix.schema)
            state = self._local.state = _ReaderState(ix.searcher())
        elif not state.searcher.up_to_date():
            # Not Searcher.refresh(): it reuses segment readers and so misses deletions
            # committed since (a removed promise would still be found).
            state.searcher.close()
            state = self._local.state = _ReaderState(self.index.open().searcher())
        return state

    # -- searching ----------------------------------------------------------------------

    def parse(self, text: str):
        """The Whoosh query for cleaned text; None for an empty query (everything)."""
        text = normalize_numbers(text)
        if not text:
            return None
        try:
            parsed = self._parser.parse(text)
        except (QueryParserError, ValueError, TypeError, IndexError, AttributeError):
            parsed = q.NullQuery
        if parsed is q.NullQuery and all(word.startswith("-") for word in text.split()):
            # Only exclusions ("-mutualisation"): everything except those.
            excluded = self._parser.parse(_EXCLUSION.sub("", text))
            if excluded is not q.NullQuery:
                return q.AndNot(q.Every(), excluded)
        if parsed is q.NullQuery or not list(parsed.leaves()):
            # Operators alone ("AND OR") or syntax the parser choked on: plain words.
            words = [word for word in re.findall(r"\w+", text) if word not in OPERATORS]
            parsed = self._parser.parse(" ".join(words)) if words else q.NullQuery
            if parsed is q.NullQuery:
                return None
        return parsed

    def search(self, text: str | None, filters: dict[str, str] | None = None, page: int = 1, per_page: int = PER_PAGE) -> Results:
        """Search; never raises on user input."""
        self._maybe_sync()
        state = self._state()
        searcher = state.searcher
        cleaned, notices = clean_query(text)
        filters = {name: value for name, value in (filters or {}).items() if name in FACETS and value}
        page = min(max(1, page), MAX_PAGE)
        user_query = self.parse(cleaned)

        # One pass of Whoosh over the query's matches, unfiltered; filters and facet counts
        # are then applied in Python from the cached column values, so a query with facets
        # costs one traversal, not one per facet.
        if user_query is None:
            ranked = state.by_date
        else:
            ranked = [docnum for docnum, _ in searcher.search(user_query, limit=None).items()]
        values = state.facet_values
        if not filters:
            # The common case, at C speed: every match counts for every facet.
            kept = ranked
            counts = {name: Counter(map(values[name].__getitem__, ranked)) for name in FACETS}
        else:
            kept = []
            counts = {name: Counter() for name in FACETS}
            for docnum in ranked:
                failed = [name for name, value in filters.items() if values[name][docnum] != value]
                if not failed:
                    kept.append(docnum)
                    for name in FACETS:
                        counts[name][values[name][docnum]] += 1
                elif len(failed) == 1:
                    # A facet's counts ignore its own filter, so its other values stay choosable.
                    counts[failed[0]][values[failed[0]][docnum]] += 1
        facets = {}
        for name, counter in counts.items():
            counter.pop("", None)
            counter.pop(None, None)
            facets[name] = dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))

        terms = positive_terms(user_query) if user_query is not None else set()
        hits = []
        for docnum in kept[(page - 1) * per_page : page * per_page]:
            stored = searcher.stored_fields(docnum)
            hits.append(
                Hit(
                    kind=stored["kind"],
                    id=stored["id"],
                    title=stored["title"],
                    status=stored.get("status"),
                    snippet=snippet(stored.get("snippet_text", ""), terms),
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
        )

    def suggest(self, cleaned: str, searcher) -> str | None:
        """The query with unknown words replaced by the closest indexed word, if any.

        The index holds stems, not words: the closest stem is found with Whoosh's corrector,
        then shown as a real word, the form it takes in a document that contains it.
        """
        corrector = None
        changed = False
        words = re.split(r"(\w+)", cleaned)
        for index in range(1, len(words), 2):
            word = words[index]
            stem = term_for(word)
            if word in OPERATORS or len(word) < 4 or stem is None or stem.isdigit():
                continue
            if searcher.doc_frequency("content", stem):
                continue
            corrector = corrector or searcher.corrector("content")
            for candidate in corrector.suggest(stem, limit=3, maxdist=2, prefix=1):
                surface = _surface_form(searcher, candidate)
                if surface:
                    words[index] = surface
                    changed = True
                    break
        return "".join(words) if changed else None


def _surface_form(searcher, stem: str) -> str | None:
    """A word of the indexed texts whose stem is `stem` (as written there, in lower case)."""
    for docnum in itertools.islice(searcher.docs_for_query(q.Term("content", stem)), 3):
        stored = searcher.stored_fields(docnum)
        for text in (stored.get("title", ""), stored.get("snippet_text", "")):
            for start, end, term in tokens(text):
                if term == stem:
                    return text[start:end].lower()
    return None


def open_search(index_dir: Path, content_root: Path, sync_seconds: float = 2.0) -> Search:
    """A Search over the index at `index_dir` for the content tree at `content_root`."""
    return Search(SearchIndex(index_dir, content_root), sync_seconds)
