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

A result whose words a changed document does hold is mended rather than searched again when it can be
(Search._mended, for a first page of one word): the documents that changed are known one by one
(`Changes`: those added, not those a merge merely moved; those deleted), so the total and the facet
counts are moved by theirs, and the page stays as it is when none of them is on it or ranks into it.
After each publication, searching again every result whose word the promise holds was most of what
the workers did (10 to 30 searches of 15 ms each, in every worker). A result is mended when it is
first read in the new generation, by the first process of the machine to read it: the others take
its results from SharedResults.

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
from collections import Counter, OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from whoosh import query as q

from kb.search.ranking import deleted_docs, holds_all, locate, postings_ids

log = logging.getLogger(__name__)

# Shared results: every PRUNE_EVERY results saved by a process, those older than KEEP_SECONDS go.
PRUNE_EVERY = 200
KEEP_SECONDS = 15 * 60

# A Whoosh segment's deleted documents, by segment id: what a generation is made of.
Snapshot = dict[str, frozenset[int]]


# Segments up to this size have their documents' identities kept (key and hash), so that a merge of
# them is known for what it is: the same documents moved, not changed. Larger ones (a full build's)
# are never merged.
IDENTIFIED_UP_TO = 4096


# Results are mended for a generation of up to this many changed documents (a publication, a few
# files edited by hand); beyond (a git pull), what they touch is searched again: matching each kept
# result against each changed document, in the request that first reads the generation, would cost
# more than the searches.
MENDED_UP_TO = 16


@dataclass(frozen=True)
class Changes:
    """The documents a new generation changed, by number in its reader: `added` (new documents, not
    those a merge moved) and `removed` (deleted since: still readable, in segments that remain)."""

    added: tuple[int, ...]
    removed: tuple[int, ...]


# How a kept result is mended for changes whose documents match it: the new results, or None (search again).
Mend = Callable[[object, tuple, list[int], list[int]], object]


@dataclass
class _Kept:
    results: object
    words: tuple[tuple[str, object], ...] | None  # (field, term) all required, or None: never carried over
    # Whether the machine's other processes can find it for this generation (SharedResults): a result
    # carried over or mended into a new generation is not there yet.
    shared: bool = True
    # The changed documents that match it (added, removed), when it waits to be mended for this
    # generation: at its first reading, unless another process left it mended already.
    unmended: tuple[list[int], list[int]] | None = None


class KeptResults:
    """Results by search key for one index generation, carried over to the next where they hold."""

    def __init__(self, limit: int):
        self.limit = limit
        self._entries: OrderedDict[tuple, _Kept] = OrderedDict()
        self._generation: int | None = None
        self._snapshot: Snapshot = {}
        self._identities: dict[str, tuple | None] = {}  # by segment id, for the segments of the snapshot
        self._lock = threading.Lock()

    def get(
        self, reader, key: tuple, mend: Mend | None = None, share: Callable[[object], None] | None = None,
        shared: Callable[[], bool] | None = None,
    ):  # fmt: skip
        """The kept results for `key`, if they hold for `reader`'s generation. `mend`: how results
        that a new generation's changed documents match are mended (else they are searched again).
        `share`: called once with results carried or mended into this generation, for the other
        processes (without it, a worker that did not keep them searched again after each publication).
        `shared`: whether another process left results for `key` in this generation: those are
        taken (None here) rather than mended once more."""
        generation = reader.generation()
        if not self.limit or generation is None:
            return None
        with self._lock:
            if self._generation is None or generation > self._generation:
                self._move_to(reader, generation, mend)
            elif generation < self._generation:
                if any(segment.segment().segment_id() in self._snapshot for segment, _ in reader.leaf_readers()):
                    return None  # a thread still reading an older generation: it searches for itself
                self._entries.clear()  # none of the segments known: an index built anew, numbered from the start
                self._generation, self._snapshot = generation, snapshot_of(reader)
                self._identities = _identities(reader, {})
            kept = self._entries.get(key)
            if kept is None:
                return None
            if kept.unmended is not None and not self._mended(key, kept, mend, shared):
                return None
            self._entries.move_to_end(key)
            results, unshared = kept.results, not kept.shared
            kept.shared = True
        if unshared and share is not None:
            share(results)  # outside the lock: it writes a file
        return results

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

    def _mended(self, key: tuple, kept: _Kept, mend: Mend | None, shared: Callable[[], bool] | None) -> bool:
        """Mend `kept` for this generation (under the lock); False: dropped, to be taken or searched again.

        Mended at its first reading, not when the generation is first seen: every thread of the
        process waited for the mending of every kept result a publication touched (60 to 70 ms at
        10,000 promises, more under load), and each worker of the machine did it again, where one
        can mend and the others take its results."""
        added, removed = kept.unmended
        if (shared is not None and shared()) or mend is None:
            del self._entries[key]
            return False
        results = mend(kept.results, kept.words, added, removed)
        if results is None:
            del self._entries[key]
            return False
        kept.results, kept.unmended = results, None
        return True

    def _move_to(self, reader, generation: int, mend: Mend | None = None) -> None:
        snapshot = snapshot_of(reader)
        identities = _identities(reader, self._identities)
        for key in [key for key, kept in self._entries.items() if kept.unmended is not None]:
            del self._entries[key]  # to be mended for a generation gone, where nobody read it
        if self._generation is not None and self._entries:
            leaves = {segment.segment().segment_id(): (segment, offset) for segment, offset in reader.leaf_readers()}
            # Deleted since the kept snapshot, in segments both know: by segment id.
            deleted = {
                segment_id: deletions - self._snapshot[segment_id]
                for segment_id, deletions in snapshot.items()
                if segment_id in self._snapshot and deletions - self._snapshot[segment_id]
            }
            changes = self._changes(leaves, snapshot, identities, deleted)
            if changes is None or len(changes.added) + len(changes.removed) > MENDED_UP_TO:
                self._drop_touched(leaves, deleted)
            else:
                self._mend(leaves, changes, mend)
        else:
            self._entries.clear()
        for kept in self._entries.values():
            kept.shared = False  # carried or mended: found in an older generation
        self._generation, self._snapshot, self._identities = generation, snapshot, identities

    def _changes(self, leaves, snapshot: Snapshot, identities: dict, deleted: Snapshot) -> Changes | None:
        """The documents changed since the kept snapshot, or None when a merge took away one whose
        words can no longer be read (a document deleted in a segment merged since)."""
        moved: Counter = Counter()
        for segment_id, deletions in self._snapshot.items():
            if segment_id in leaves:
                continue
            known = self._identities.get(segment_id)
            if known is None:
                return None
            moved.update(identity for number, identity in enumerate(known) if number not in deletions)
        added = []
        for segment_id, (segment, offset) in leaves.items():
            if segment_id in self._snapshot:
                continue
            known = identities.get(segment_id)
            if known is None:
                return None
            deletions = snapshot[segment_id]
            for number, identity in enumerate(known):
                if number in deletions:
                    continue
                if moved[identity] > 0:
                    moved[identity] -= 1  # moved by a merge, not changed
                else:
                    added.append(offset + number)
        if +moved:
            return None
        removed = [leaves[segment_id][1] + number for segment_id, numbers in deleted.items() for number in sorted(numbers)]
        return Changes(tuple(added), tuple(removed))

    def _mend(self, leaves, changes: Changes, mend: Mend | None) -> None:
        """Keep what no changed document matches; mark the rest to be mended (`_mended`), or drop it."""
        ordered = sorted(leaves.values(), key=lambda pair: pair[1])
        offsets = [offset for _, offset in ordered]
        located = []
        for docnum in (*changes.added, *changes.removed):
            index, local = locate(offsets, docnum)
            located.append((docnum, (ordered[index][0], local)))
        added = set(changes.added)
        for key in list(self._entries):
            kept = self._entries[key]
            if kept.words is None:
                del self._entries[key]
                continue
            matching = [docnum for docnum, (segment, local) in located if holds_all(segment, local, kept.words)]
            if not matching:
                continue
            if mend is None:
                del self._entries[key]
            else:
                kept.unmended = ([d for d in matching if d in added], [d for d in matching if d not in added])

    def _drop_touched(self, leaves, deleted: Snapshot) -> None:
        """Drop every result a document of a new segment, or one `deleted` since, holds a word of."""
        segments = {segment_id: segment for segment_id, (segment, _) in leaves.items()}
        added = [segment for segment_id, segment in segments.items() if segment_id not in self._snapshot]
        for key in list(self._entries):
            words = self._entries[key].words
            if words is None or _touched(words, added, deleted, segments):
                del self._entries[key]


def _identities(reader, known: dict[str, tuple | None]) -> dict[str, tuple | None]:
    """Each segment's documents as (key, hash), in order (None for a segment too large to keep them),
    read once per segment: `known` holds the previous snapshot's."""
    identities = {}
    for segment, _ in reader.leaf_readers():
        segment_id = segment.segment().segment_id()
        if segment_id in known:
            identities[segment_id] = known[segment_id]
        elif segment.doc_count_all() <= IDENTIFIED_UP_TO:
            identities[segment_id] = tuple(zip(segment.column_reader("key"), segment.column_reader("sha256")))
        else:
            identities[segment_id] = None
    return identities


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

    def holds(self, generation: str | None, key: tuple) -> bool:
        """Whether a process left results for `key` in this state already (a stat, not a read)."""
        return generation is not None and self._path(generation, key).exists()

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
