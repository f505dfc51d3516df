"""The Whoosh index: derived from the content files, rebuilt or caught up at any time.

Each content file is one document, keyed as the registry names it ("promise:<id>"…),
carrying the sha256 of its file in a column; what a document holds comes from its kind's
`indexed` (kb.content.kinds). Catching up compares those hashes with the files on disk, so
an edit by hand, by git or by the newsroom is indexed without anyone asking, and a deleted
or unreadable index is built again. Whoosh allows many readers and one writer (a file lock):
processes that find the lock taken leave the catching up to the one holding it.
"""

from __future__ import annotations

import fcntl
import gc
import hashlib
import os
import shutil
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable, Iterable

from whoosh.filedb.filestore import FileStorage
from whoosh.fields import DATETIME, ID, STORED, TEXT, Schema
from whoosh.index import LockError

from kb.config.i18n import gettext as _
from kb.content.kinds import KINDS
from kb.content.registry import InvalidKey, Key, Kind, Kinds
from kb.content.tree import ContentTree, read_tree
from kb.search import building
from kb.search.analysis import PART_BREAK, FrenchPositions, TypedWordsTokenizer, french_analyzer
from kb.search.merging import merge_by_tiers, merge_small_tiers, sizes, to_merge
from kb.search.segment_files import SegmentFiles

# Bumped whenever the schema or the analysis changes: an index of another version is rebuilt.
SCHEMA_VERSION = "14"
INDEX_NAME = f"kb{SCHEMA_VERSION}"
FACETS = ("kind", "tracker", "status", "verdict", "territory", "made_by", "theme")
# Facets that hold several values, one per line ("martine-aubry\nbernard-gerard"): search counts each.
MULTIPLE_FACETS = ("made_by",)


def _french_text() -> TEXT:
    field = TEXT(analyzer=french_analyzer())
    field.format = FrenchPositions()
    return field


def make_schema() -> Schema:
    """The searched field, the facets, and what a result shows."""
    return Schema(
        key=ID(stored=True, unique=True, sortable=True),
        sha256=ID(sortable=True),
        kind=ID(stored=True, sortable=True),
        id=ID(stored=True),
        title=STORED,
        # Everything searchable in one field: a word is then one term to match, not an OR
        # over six fields, which halves search time and postings. The title is repeated
        # TITLE_WEIGHT times and quotes QUOTE_WEIGHT times, so that a match there outranks
        # a passing mention (BM25 saturates term frequency, which keeps this a gentle boost).
        content=_french_text(),
        # The title alone, analysed the same way: a search ranks the items whose title has its words
        # before those that merely mention them (kb.search.query, tiers).
        title_words=_french_text(),
        # The title's words as typed (folded, not stemmed): the first tier, titles holding the words
        # exactly as asked ("mutualisation" before "mutualiser").
        title_typed=TEXT(analyzer=TypedWordsTokenizer(), phrase=False),
        status=ID(stored=True, sortable=True),
        verdict=ID(stored=True, sortable=True),
        territory=ID(stored=True, sortable=True),
        made_by=ID(stored=True, sortable=True),
        theme=ID(stored=True, sortable=True),
        tracker=ID(stored=True, sortable=True),
        date=DATETIME(stored=True, sortable=True),
        due=DATETIME(stored=True),
        snippet_text=STORED,
    )


TITLE_WEIGHT = 3
QUOTE_WEIGHT = 2


def _content(title: str, quotes: list[str], *texts: str | None) -> str:
    parts = [title] * TITLE_WEIGHT + quotes * QUOTE_WEIGHT + [text for text in texts if text]
    return PART_BREAK.join(parts)


def _when(day: date | None) -> datetime | None:
    return datetime(day.year, day.month, day.day) if day else None


def index_document(kind: Kind, item, sha256: str) -> dict:
    """The index document of an item of any kind, from what its kind says search should know of it."""
    indexed = kind.indexed(item)
    document = dict(
        key=f"{kind.name}:{item.id}",
        sha256=sha256,
        kind=kind.name,
        id=item.id,
        title=indexed.title,
        title_words=indexed.title,
        title_typed=indexed.title,
        content=_content(indexed.title, indexed.quotes, *indexed.texts),
        # Undated items sort last; a missing value would be a column default Whoosh cannot read back as a date.
        date=_when(indexed.date) or datetime.min,
        snippet_text=indexed.snippet,
    )
    document.update({name: value for name, value in indexed.facets.items() if name in FACETS and value})
    if indexed.due:
        document["due"] = _when(indexed.due)
    return document


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass
class SyncReport:
    """What catching up did."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    rebuilt: bool = False
    skipped: bool = False  # another process holds the writer lock: it will catch up

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed or self.rebuilt)


@dataclass
class _HashCache:
    """sha256 of files, recomputed only when a file's size or mtime changed."""

    entries: dict[Path, tuple[int, int, str]] = field(default_factory=dict)

    def sha256(self, path: Path) -> str:
        stat = path.stat()
        known = self.entries.get(path)
        if known and known[:2] == (stat.st_mtime_ns, stat.st_size):
            return known[2]
        digest = file_sha256(path)
        self.entries[path] = (stat.st_mtime_ns, stat.st_size, digest)
        return digest


def content_files(content_root: Path, kinds: Kinds = KINDS) -> dict[str, Path]:
    """Index key → file, for every regular content file of the tree."""
    return {str(key): path for key, path in kinds.files(content_root).items()}



def _storage(directory: Path) -> FileStorage:
    """The index's folder, read through plain file reads, not memory maps.

    Whoosh reads a segment it maps into memory by copying each of its parts into a BytesIO
    (filedb.compound → structfile.BufferFile): every searcher of every thread of every worker held
    its own copy of the whole index (80 MB at 10,000 promises, anew after each publication). Read
    from the file, a searcher holds only what it is reading.
    """
    return FileStorage(str(directory), supports_mmap=False)

class SearchIndex:
    """An index directory over a content tree, safe to share between threads and processes."""

    def __init__(self, index_dir: Path, content_root: Path, kinds: Kinds = KINDS):
        self.index_dir = Path(index_dir)
        self.content_root = Path(content_root)
        self.kinds = kinds
        self._hashes = _HashCache()
        # Files known unreadable, by key, with the hash they had: not read again until they change.
        self._broken: dict[str, str] = {}
        self._sync_lock = threading.Lock()
        self._ix = None  # the opened index, kept between searchers and catch-ups (_kept)
        self._build_thread_lock = threading.Lock()

    # -- opening -------------------------------------------------------------------------

    def exists(self) -> bool:
        """True when a readable index of this schema version is there."""
        return self._open_existing() is not None

    def _open_existing(self):
        failure = None
        try:
            storage = _storage(self.index_dir)
            if not storage.index_exists(INDEX_NAME):
                return None
            ix = storage.open_index(INDEX_NAME)
            ix.doc_count()  # reads the table of contents and segments: fails if corrupt
            return ix
        except FileNotFoundError as error:  # a file the table of contents names is gone
            failure = error
        except OSError:
            raise  # too many open files, permissions…: not a reason to throw the index away
        except Exception as error:  # noqa: BLE001 — any other failure to read it: corrupt
            failure = error
        # Whoosh leaves open the file it failed on; it closes when the failure is dropped, and
        # that must not surface later as a stray ResourceWarning.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            del failure
            gc.collect()
        return None

    def open(self):
        """The Whoosh index, built first if it is missing, of another version, or unreadable."""
        ix = self._open_existing()
        if ix is None:
            self.rebuild()
            ix = self._open_existing()
        return ix

    @contextmanager
    def _building(self):
        """One builder at a time, across threads and processes (an flock beside the index)."""
        self.index_dir.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.index_dir.parent / f".{self.index_dir.name}.lock"
        with self._build_thread_lock, open(lock_path, "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # -- writing -------------------------------------------------------------------------

    def rebuild(self, tree: ContentTree | None = None, progress: Callable | None = None, processes: int = 1) -> int:
        """Index the whole tree from scratch; return the number of documents.

        An existing index is replaced in one commit (kb.search.building): readers see the old
        index or the new one, never a mix, and the growing generation number tells every open
        searcher. A missing or unreadable one is built aside and renamed into place, so no
        reader ever opens a half-built index.
        """
        tree = tree or read_tree(self.content_root, kinds=self.kinds)
        documents = self._tree_documents(tree)
        with self._building():
            ix = self._open_existing()
            if ix is None:
                self._build_aside(documents, progress, processes)
            else:
                building.build(ix, documents, progress, processes)
        return len(documents)

    def _build_aside(self, documents: list[dict], progress, processes: int) -> None:
        tag = f"{os.getpid()}-{threading.get_ident()}"
        fresh = self.index_dir.parent / f".{self.index_dir.name}.new-{tag}"
        old = self.index_dir.parent / f".{self.index_dir.name}.old-{tag}"
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir()
        try:
            building.build(_storage(fresh).create_index(make_schema(), indexname=INDEX_NAME), documents, progress, processes)
            if self.index_dir.exists():
                os.replace(self.index_dir, old)  # unreadable anyway: nobody reads it
            os.replace(fresh, self.index_dir)
        finally:
            shutil.rmtree(fresh, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)

    def _tree_documents(self, tree: ContentTree) -> list[dict]:
        documents = []
        for kind in tree.kinds:
            for item in tree.items[kind.name].values():
                try:
                    digest = self._hashes.sha256(item.path)
                except OSError:
                    continue  # gone since it was read: the next catching up settles it
                documents.append(index_document(kind, item, digest))
        return documents

    def reindex(self, keys: Iterable[str]) -> SyncReport:
        """Index what these files ("promise:<id>", "source:<id>", "claim:<id>") hold now; drop those gone or broken.

        The newsroom calls this right after publishing. The index stays derived from the files:
        it is their text that is read, never an object in memory.
        """
        # A rebuild or a catching up may hold the lock longer: the next catching up sees the new hash.
        return self._write_files(self.open(), list(keys), timeout=2.0)

    def writer_if_free(self):
        """The index's writer if nobody holds it now (else None): kb.ops.scanner takes it before a
        scan commits its changes to the catalog, so that the workers hearing of them leave the
        indexing to it instead of one of them doing it within a request. Pass it to catch_up, or
        cancel it."""
        try:
            return self.open().writer(timeout=0)
        except LockError:
            return None

    def _write_files(self, ix, keys: list[str], timeout: float, writer=None) -> SyncReport:
        """Index these files as they are now, or drop them when gone or broken; `skipped` if the lock stays taken.
        With `writer` (held already), through it: committed here."""
        if writer is None:
            try:
                writer = ix.writer(timeout=timeout)
            except LockError:
                return SyncReport(skipped=True)
        report = SyncReport()
        try:
            for key in keys:
                path = self._path_of(key)
                document = self._file_document(key, path) if path.is_file() else None
                if document is None:
                    writer.delete_by_term("key", key)
                    report.removed += 1
                else:
                    writer.update_document(**document)
                    report.updated += 1
            writer.commit(mergetype=merge_small_tiers)
        except BaseException:
            writer.cancel()
            raise
        return report

    def merge_when_due(self) -> int:
        """Merge the segments of every full tier (kb.search.merging), if the index's writer is free;
        how many segments were merged. For the machine's scanner, between its rounds."""
        ix = self.open()
        due = to_merge(sizes(ix._segments()))
        if not due:
            return 0
        try:
            writer = ix.writer(timeout=0)
        except LockError:
            return 0  # a publication is indexing: the next round
        try:
            writer.commit(mergetype=merge_by_tiers)
        except BaseException:
            writer.cancel()
            raise
        return len(due)

    def catch_up(self, keys: Iterable[str], timeout: float = 0.5, writer=None) -> SyncReport:
        """Index these files if the index does not hold them as they are now (another server published them).

        Several workers of one machine hear of the same publication: the first re-indexes, the
        others find the file's hash already indexed and write nothing. `skipped` when another
        writer holds the index longer than `timeout`: the caller tries again later. With `writer`
        (writer_if_free), through it: committed, or cancelled when there is nothing to write.
        """
        keys = list(dict.fromkeys(keys))
        digests = {}
        for key in keys:
            path = self._path_of(key)
            try:
                # Read, not taken from the cache: a file shared over the network may keep its
                # size and a cached mtime for a while after another server rewrote it.
                digests[key] = file_sha256(path) if path.is_file() else None
            except OSError:
                digests[key] = None
        with self._reading() as (ix, reader):
            current = indexed_as(reader, keys, digests)
        stale = [key for key in keys if key not in current]
        if not stale:
            if writer is not None:
                writer.cancel()
            return SyncReport()
        return self._write_files(ix, stale, timeout, writer)

    def searcher(self, files: SegmentFiles | None = None):
        """A Whoosh searcher of the index as it is now (each thread of each worker opens one again
        after every publication: see _kept); over the segments `files` keeps open, when given."""
        return self._kept(lambda ix: files.searcher(ix) if files is not None else ix.searcher())[1]

    @contextmanager
    def _reading(self):
        """The index and a reader of it as it is now (the table of contents read again: a new generation is seen)."""
        ix, reader = self._kept(lambda ix: ix.reader())
        try:
            yield ix, reader
        finally:
            reader.close()

    def _kept(self, opening):
        """(index, opening(index)), the index object kept from one call to the next.

        Opening the index checks it by reading it whole, which doubled the cost of each worker's
        catching up and of each thread's new searcher after a publication. Only when the kept
        object fails (rebuilt aside, removed, corrupt) is the index opened, and checked, anew.
        """
        ix = self._ix
        if ix is not None:
            try:
                return ix, opening(ix)
            except Exception:  # noqa: BLE001 — opened (and checked) anew below
                pass
        ix = self._ix = self.open()
        return ix, opening(ix)

    def sync(self) -> SyncReport:
        """Bring the index up to date with the files on disk, by content hash."""
        report = SyncReport()
        with self._sync_lock:
            ix = self._open_existing()
            if ix is None:
                self.rebuild()
                return SyncReport(rebuilt=True)
            with ix.searcher() as searcher:
                indexed = indexed_hashes(searcher.reader())
            changed: dict[str, tuple[Path, str]] = {}
            present = set()
            for key, path in content_files(self.content_root, self.kinds).items():
                try:
                    digest = self._hashes.sha256(path)
                except OSError:
                    continue  # vanished or unreadable right now: treated as gone
                present.add(key)
                if indexed.get(key) != digest and self._broken.get(key) != digest:
                    changed[key] = (path, digest)
            gone = [key for key in indexed if key not in present]
            if not changed and not gone:
                return report
            try:
                writer = ix.writer(timeout=0.5)
            except LockError:
                return SyncReport(skipped=True)
            try:
                for key in gone:
                    writer.delete_by_term("key", key)
                    report.removed += 1
                for key, (path, digest) in sorted(changed.items()):
                    document = self._file_document(key, path)
                    if document is None:  # unreadable file: unpublished until fixed
                        self._broken[key] = digest
                        if key in indexed:
                            writer.delete_by_term("key", key)
                            report.removed += 1
                        continue
                    self._broken.pop(key, None)
                    writer.update_document(**document)
                    if key in indexed:
                        report.updated += 1
                    else:
                        report.added += 1
                if report.changed:
                    writer.commit(mergetype=merge_small_tiers)
                else:
                    writer.cancel()  # only known-broken files: no new generation for nothing
            except BaseException:
                writer.cancel()
                raise
        return report

    def _path_of(self, key: str) -> Path:
        try:
            return self.kinds.path(self.content_root, key)
        except InvalidKey:
            kinds = ", ".join(f"{name}:<id>" for name in self.kinds.names())
            raise ValueError(_("clé de document invalide : %(key)s (attendu %(kinds)s)", key=repr(key), kinds=kinds)) from None

    def _file_document(self, key: str, path: Path) -> dict | None:
        kind = self.kinds[Key.split(key).kind]
        try:
            item, problems = kind.read(path)
            digest = self._hashes.sha256(path)
        except OSError:
            return None
        if item is None or any(problem.severity == "error" for problem in problems):
            return None
        return index_document(kind, item, digest)


def indexed_hashes(reader) -> dict[str, str]:
    """Key → sha256 of every live document, read from columns (no stored fields loaded)."""
    keys, hashes = reader.column_reader("key"), reader.column_reader("sha256")
    return {keys[docnum]: hashes[docnum] for docnum in reader.all_doc_ids()}


def indexed_as(reader, keys: Iterable[str], digests: dict[str, str | None]) -> set[str]:
    """Those of `keys` the index holds as `digests` says: a live document with that hash, or none (None).

    Term look-ups only: a publication's catching up in every worker asks about its few files,
    not about all 11,000 of a newsroom's index (reading every hash took 270 ms a time at 10k).
    """
    current = set()
    for key in keys:
        live = set()
        if ("key", key) in reader:
            live = {docnum for docnum in reader.postings("key", key).all_ids() if not reader.is_deleted(docnum)}
        digest = digests.get(key)
        if digest is None:
            if not live:
                current.add(key)
        elif live and ("sha256", digest) in reader and live <= set(reader.postings("sha256", digest).all_ids()):
            current.add(key)
    return current
