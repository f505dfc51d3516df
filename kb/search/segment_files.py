"""A thread's searchers of the index's successive states, each segment's files opened once.

After each publication every thread of every worker opens a searcher of the index's new state
(kb.search.query). Whoosh opens each segment again — its compound file, and its terms' hash table,
3 to 4 ms a segment at 10,000 promises — though only the publication's small segment is new: the
others changed only by the documents deleted from them, which Whoosh keeps in the table of contents,
not in the segment's files. Its own reuse (`Index.reader(reuse=…)`) keeps an old reader whole, its
old deletions with it: a removed promise would still be found.

Here a segment's files and terms reader are kept by the thread that opened them (they are read
with seeks, which threads cannot share), and each new searcher gets readers made of those and of
the new table of contents' segment, whose deletions are current. A segment is known by its id and
its file's inode: an index built anew in the same folder (whose ids a test may draw alike) is never
read through an older one's files.
"""

from __future__ import annotations

import os
import time

from whoosh.filedb.filestore import OverlayStorage
from whoosh.reading import EmptyReader, MultiReader, SegmentReader
from whoosh.searching import Searcher

# How often the table of contents is read again when a segment it names is gone meanwhile (a merge
# committed between the two readings), as Whoosh's own Index.reader does.
RETRIES = 10


class _KeptSegmentReader(SegmentReader):
    """A SegmentReader over files another object keeps open: closing it leaves them open."""

    def __init__(self, schema, segment, generation, storage, terms):
        # SegmentReader.__init__, with the segment's storage and terms reader given rather than opened.
        self.schema = schema
        self.is_closed = False
        self._segment = segment
        self._segid = segment.segment_id()
        self._gen = generation
        self._storage = storage
        self._codec = segment.codec()
        self._terms = terms
        self._perdoc = self._codec.per_document_reader(storage, segment)  # reads the deletions from `segment`

    def close(self):
        self._perdoc.close()
        self.is_closed = True


class SegmentFiles:
    """One thread's open segments of one index folder: (storage, terms reader) by (segment id, inode)."""

    def __init__(self):
        self._open: dict[tuple, tuple] = {}

    def searcher(self, ix) -> Searcher:
        """A searcher of the index as it is now, over the segments this object keeps open (new ones opened)."""
        for attempt in range(RETRIES):
            try:
                return Searcher(self._reader(ix), fromindex=ix)
            except OSError:
                if attempt == RETRIES - 1:
                    raise
                time.sleep(0.05)  # a file named by the table of contents was deleted just before it was opened
        raise AssertionError("unreachable")  # pragma: no cover

    def _reader(self, ix):
        toc = ix._read_toc()  # noqa: SLF001 — what Index.reader reads first: the segments and their deletions
        readers, kept = [], {}
        try:
            for segment in toc.segments:
                identity = _identity(ix.storage, segment)
                if identity is None:  # not a compound segment: opened as Whoosh does
                    readers.append(SegmentReader(ix.storage, toc.schema, segment, generation=toc.generation))
                    continue
                files = self._open.get(identity)
                if files is None:
                    # As SegmentReader does: the compound file over the folder (a file added to the segment later).
                    storage = OverlayStorage(segment.open_compound_file(ix.storage), ix.storage)
                    try:
                        files = (storage, segment.codec().terms_reader(storage, segment))
                    except BaseException:
                        storage.close()
                        raise
                kept[identity] = files
                readers.append(_KeptSegmentReader(toc.schema, segment, toc.generation, *files))
        except BaseException:
            _close(files for identity, files in kept.items() if identity not in self._open)  # opened here, for nothing
            raise
        # Segments merged away since: their files closed (this thread's searchers of them are closed first, by the caller).
        _close(files for identity, files in self._open.items() if identity not in kept)
        self._open = kept
        if not readers:
            return EmptyReader(toc.schema)
        return readers[0] if len(readers) == 1 else MultiReader(readers, generation=toc.generation)

    def close(self) -> None:
        """Close every file kept (the searchers made of them must be closed already)."""
        opened, self._open = self._open, {}
        _close(opened.values())


def _close(opened) -> None:
    for storage, terms in list(opened):
        for part in (terms, storage):
            try:
                part.close()
            except Exception:  # noqa: BLE001 — closing what is closed already: nothing left to free
                pass


def _identity(storage, segment) -> tuple | None:
    if not segment.is_compound():
        return None
    try:
        found = os.stat(os.path.join(storage.folder, segment.make_filename(segment.COMPOUND_EXT)))
    except OSError:
        return None  # gone meanwhile: Whoosh's own opening raises, and the searcher is asked again
    return (segment.segment_id(), found.st_ino, found.st_size)
