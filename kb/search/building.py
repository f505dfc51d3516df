"""How a whole index is built: in segments of bounded size, several at once, committed together.

Whoosh's writer keeps every posting of the segment it writes in one pool, sorted before it is
written out (and, past its memory limit, sorted to disk in runs merged back at the end). The cost
of that sort per posting grows with the pool: one writer given 27,500 documents (half of a
50,000-promise corpus) took 176 s where 5,500 documents (half of 10,000) took 24 s — 7.3 × the
time for 5 × the text — and 2.4 GB of memory. Cut into portions of at most SEGMENT_TEXT characters,
each written by a fresh writer as a segment of its own, a build costs the same per document at any
size, and a build process's memory is that of one portion.

The segments are committed in one table of contents by the writer that holds the index's lock:
readers see the old index or the new one, never a mix. They are marked as a build's: the scanner's
merges leave them be (kb.search.merging). Portions are built in forked processes when
`processes` > 1 (only for big rebuilds from the command line: forking a threaded web worker is
unsafe), else one after the other in this process.
"""

from __future__ import annotations

import heapq
import itertools
import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable

from whoosh.index import clean_files
from whoosh.writing import SegmentWriter

# Characters of text per portion (a document counts DOCUMENT_TEXT more, below). A 10,000-promise
# corpus with 1,000 sources of 40 KB weighs about 100 million: two portions, one per process of a
# 2-core machine. Each portion's writer peaks near 600 MB.
SEGMENT_TEXT = 60_000_000
# What analysing and storing one document costs beyond its text, as characters of text (measured:
# a 2,000-character promise costs as much as 6,000 characters of a long source).
DOCUMENT_TEXT = 4_000
# Postings a portion's writer keeps in memory before sorting a run to disk: above what one portion
# holds, so a portion is sorted once, in memory.
POOL_MB = 1024

# In a forked process of a build: the index's storage and name, and the build's portions.
_under_way: tuple = ()


def weight(document: dict) -> int:
    """What indexing a document costs, in characters of text."""
    return len(document.get("content") or "") + DOCUMENT_TEXT


def portions(documents: list[dict], processes: int = 1) -> list[list[dict]]:
    """The documents cut into portions of at most about SEGMENT_TEXT, of like weight.

    A small corpus stays in one portion. Past as many portions as processes, their number is a
    multiple of `processes` (so that no process is left alone with the last one). Each document
    goes to the lightest portion so far, heaviest documents first; each portion keeps its documents
    in the corpus's order.
    """
    weights = [weight(document) for document in documents]
    count = max(1, math.ceil(sum(weights) / SEGMENT_TEXT))
    if count > processes > 1:
        count = math.ceil(count / processes) * processes
    count = min(count, max(1, len(documents)))
    if count == 1:
        return [list(documents)]
    loads = [(0, position) for position in range(count)]
    places: list[list[int]] = [[] for _ in range(count)]
    for place in sorted(range(len(documents)), key=weights.__getitem__, reverse=True):
        load, position = heapq.heappop(loads)
        places[position].append(place)
        heapq.heappush(loads, (load + weights[place], position))
    # Each portion in the corpus's order (its promises before its sources): the order in which
    # searches meet a segment's matches, and read their positions for the exact phrase.
    return [[documents[place] for place in sorted(portion)] for portion in places]


def _write_portion(ix, documents: Iterable[dict]):
    """Write these documents as one new segment of `ix`, not yet in its table of contents (None
    if there are none)."""
    # _lk=False: the writer committing the build holds the index's lock for all the portions.
    writer = SegmentWriter(ix, _lk=False, limitmb=POOL_MB)
    try:
        for document in documents:
            writer.add_document(**document)
        if not writer._added:
            writer._close_segment()
            return None
        return writer._finalize_segment()
    except BaseException:
        writer._close_segment()
        raise


def _adopt(storage, indexname, cut) -> None:
    global _under_way
    _under_way = (storage, indexname, cut)


def _forked_portion(position: int):
    storage, indexname, cut = _under_way
    return _write_portion(storage.open_index(indexname), cut[position])


def build(ix, documents: list[dict], progress: Callable | None = None, processes: int = 1) -> None:
    """Replace everything `ix` holds with these documents, in one commit."""
    cut = portions(documents, processes)
    writer = ix.writer(timeout=60.0)
    try:
        if processes > 1 and len(cut) > 1:
            segments = _forked(ix, cut, processes, progress)
        else:
            # One progress over all the documents, whichever portion they fall in.
            ordered = [document for portion in cut for document in portion]
            feed = iter(progress(ordered) if progress else ordered)
            segments = [_write_portion(ix, itertools.islice(feed, len(portion))) for portion in cut]
            for _ in feed:  # nothing is left: this ends the progress
                pass
        segments = [segment for segment in segments if segment is not None]
        for segment in segments:
            segment.kb_built = True  # pickled with it in the table of contents (kb.search.merging)
        # What Whoosh's own multi-process writer does with its sub-writers' segments: the
        # committing writer's own segment stays empty, the table of contents lists theirs alone
        # (the index's former segments are dropped, and their files deleted).
        writer._close_segment()
        writer._commit_toc(segments)
        writer._finish()
    except BaseException:
        # The portions written so far are in no table of contents: their files go now, while
        # the lock is still held (a build's worth of disk), then the index is as it was.
        try:
            writer._close_segment()  # its own (empty) segment's files closed, to go with the others
            toc = ix._read_toc()
            clean_files(ix.storage, ix.indexname, toc.generation, toc.segments)
        except Exception:  # noqa: BLE001 — the next commit cleans them anyway
            pass
        writer.cancel()
        raise


def _forked(ix, cut: list[list[dict]], processes: int, progress: Callable | None) -> list:
    """The portions written by forked processes, in order. The progress counts portions."""
    context = multiprocessing.get_context("fork")
    ticks = iter(progress(range(len(cut))) if progress else range(len(cut)))
    segments = []
    # The portions reach the processes as they are forked (initargs): nothing is pickled, and no
    # global of this process is shared by two builds.
    pool = ProcessPoolExecutor(min(processes, len(cut)), mp_context=context, initializer=_adopt, initargs=(ix.storage, ix.indexname, cut))
    try:
        for future in [pool.submit(_forked_portion, position) for position in range(len(cut))]:
            segments.append(future.result())
            next(ticks)
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)  # those not begun are not begun
        raise
    pool.shutdown(wait=True)
    for _ in ticks:  # nothing is left: this ends the progress
        pass
    return segments
