"""Search results a process keeps, and carries from one index generation to the next when they still hold.

Every publication makes a new index generation. Dropping every kept result then made each worker
search again for every query after each publication (90 words × 5 workers every 5 s under
`kb bench-live`: more CPU than the machine had). A result is only changed by the documents that
were added or deleted since: a document that was added (it is in a new segment) or deleted (newly
marked so in an old one) changes a query's matches only if it holds one of the query's words. So
a result whose query is words that must all be there (one word, several words) is kept
across a new generation when no added or deleted document holds any of them; anything else (a
browse without words, a phrase, an exclusion, a prefix, a result with a suggestion, which depends on every
word of the index) is searched again.

Kept results keep their order: the BM25 statistics of the collection move a little with every
change (inverse document frequency, average length), which can only swap results whose scores
were nearly equal; the matches, the total and the facet counts stay exact.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from whoosh import query as q

from kb.search.ranking import deleted_docs, postings_ids

log = logging.getLogger(__name__)

# Shared results: every PRUNE_EVERY results saved by a process, those older than KEEP_SECONDS go.
PRUNE_EVERY = 200
KEEP_SECONDS = 15 * 60

# A Whoosh segment's deleted documents, by segment id: what a generation is made of.
Snapshot = dict[str, frozenset[int]]


@dataclass
class _Kept:
    results: object
    words: tuple[tuple[str, object], ...] | None  # (field, term) all required, or None: never carried over


class KeptResults:
    """Results by search key for one index generation, carried over to the next where they hold."""

    def __init__(self, limit: int):
        self.limit = limit
        self._entries: OrderedDict[tuple, _Kept] = OrderedDict()
        self._generation: int | None = None
        self._snapshot: Snapshot = {}
        self._lock = threading.Lock()

    def get(self, reader, key: tuple):
        """The kept results for `key`, if they hold for `reader`'s generation."""
        generation = reader.generation()
        if not self.limit or generation is None:
            return None
        with self._lock:
            if self._generation is None or generation > self._generation:
                self._move_to(reader, generation)
            elif generation < self._generation:
                if any(segment.segment().segment_id() in self._snapshot for segment, _ in reader.leaf_readers()):
                    return None  # a thread still reading an older generation: it searches for itself
                self._entries.clear()  # none of the segments known: an index built anew, numbered from the start
                self._generation, self._snapshot = generation, snapshot_of(reader)
            kept = self._entries.get(key)
            if kept is None:
                return None
            self._entries.move_to_end(key)
            return kept.results

    def put(self, reader, key: tuple, results, query) -> None:
        generation = reader.generation()
        if not self.limit or generation is None:
            return
        with self._lock:
            if generation != self._generation:
                return
            self._entries[key] = _Kept(results, None if getattr(results, "suggestion", None) else required_words(query))
            while len(self._entries) > self.limit:
                self._entries.popitem(last=False)

    def _move_to(self, reader, generation: int) -> None:
        snapshot = snapshot_of(reader)
        if self._generation is not None and self._entries:
            leaves = {segment.segment().segment_id(): segment for segment, _ in reader.leaf_readers()}
            added = [segment for segment_id, segment in leaves.items() if segment_id not in self._snapshot]
            deleted = {
                segment_id: deletions - self._snapshot[segment_id]
                for segment_id, deletions in snapshot.items()
                if segment_id in self._snapshot and deletions - self._snapshot[segment_id]
            }
            for key in list(self._entries):
                words = self._entries[key].words
                if words is None or _touched(words, added, deleted, leaves):
                    del self._entries[key]
        else:
            self._entries.clear()
        self._generation, self._snapshot = generation, snapshot


def snapshot_of(reader) -> Snapshot:
    snapshot = {}
    for segment, _ in reader.leaf_readers():
        snapshot[segment.segment().segment_id()] = deleted_docs(segment)
    return snapshot


def required_words(query) -> tuple[tuple[str, object], ...] | None:
    """The words a document must all hold to match `query`, or None when its matches are not that simple."""
    if isinstance(query, q.Term):
        return ((query.fieldname, query.text),)
    if isinstance(query, q.And):
        words = []
        for sub in query.subqueries:
            inner = required_words(sub)
            if inner is None:
                return None
            words.extend(inner)
        return tuple(words) or None
    return None


def _touched(words, added, deleted: dict[str, frozenset[int]], leaves) -> bool:
    for field, text in words:
        if any((field, text) in segment for segment in added):
            return True
        for segment_id, gone in deleted.items():
            segment = leaves[segment_id]
            if (field, text) in segment and not gone.isdisjoint(postings_ids(segment, field, text)):
                return True
    return False


def index_state(reader) -> str:
    """What identifies one state of the index for every process reading it: its segments (random ids
    Whoosh gives them) and how many documents each has deleted. Not the generation number, which an
    index built anew (deleted, or of a new schema) starts again from the beginning."""
    parts = sorted(f"{segment.segment().segment_id()}:{segment.doc_count_all() - segment.doc_count()}" for segment, _ in reader.leaf_readers())
    return hashlib.sha256(";".join(parts).encode("ascii")).hexdigest()[:24]


class SharedResults:
    """Results of the machine's processes, by index state, in a folder beside the index.

    One state of the index (index_state) is the same for every process that reads it: results found
    in it by one worker are the results of any other worker reading it — each search is done once per
    machine and state, not once per worker. Written aside and renamed (a reader sees all of a file or
    none); copies not written for KEEP_SECONDS are removed now and then. Derived: deleting the folder
    costs searches.
    """

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._saved = 0

    def _path(self, generation: str, key: tuple) -> Path:
        digest = hashlib.sha256(repr(key).encode("utf-8")).hexdigest()[:40]
        return self.directory / f"{generation}-{digest}.json"

    def load(self, generation: str | None, key: tuple) -> dict | None:
        if generation is None:
            return None
        try:
            data = json.loads(self._path(generation, key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data["results"] if data.get("key") == repr(key) else None

    def save(self, generation: str | None, key: tuple, results: dict) -> None:
        if generation is None:
            return
        path = self._path(generation, key)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps({"key": repr(key), "results": results}, ensure_ascii=False), encoding="utf-8")
            os.replace(temporary, path)
        except OSError as error:  # a full disk costs searches, never a result
            log.warning("résultats partagés non enregistrés (%s) : %s", self.directory, error)
        finally:
            temporary.unlink(missing_ok=True)
        self._saved += 1
        if self._saved % PRUNE_EVERY == 0:
            self._prune()

    def _prune(self) -> None:
        """Remove the copies nobody wrote for KEEP_SECONDS (their index state is long gone, most likely)."""
        cutoff = time.time() - KEEP_SECONDS
        try:
            with os.scandir(self.directory) as entries:
                for entry in entries:
                    if entry.stat().st_mtime < cutoff:
                        os.unlink(entry.path)
        except OSError:
            pass
