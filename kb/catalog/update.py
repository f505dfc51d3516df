"""Keeping the catalog equal to the files: a full build, item-by-item refreshes, and the scan for hand edits.

Every write runs under the publish lock (kb.newsroom.publishing holds it around a publication and
refreshes the catalog in the transaction that records it; `rebuild` waits for it; `scan` leaves its
round to whoever holds it), so the catalog's rows follow the files in the order they were written.
Each refresh appends to `catalog_changes`; every process follows that log to refresh its own index
and pages.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from sqlalchemy import Connection, Engine, delete, func, insert, inspect, select, update

from kb.catalog import tables
from kb.catalog.rows import FileState, Rows, rows_of
from kb.content.kinds import KINDS
from kb.content.model import Source
from kb.content.quotes import FoldedText
from kb.content.registry import InvalidKey, Key, Kinds
from kb.content.statuses import FILE_NAME as STATUSES_FILE
from kb.content.verdicts import FILE_NAME as VERDICTS_FILE
from kb.store import journal
from kb.store.locks import PUBLISH_LOCK_KEY, attempt, exclusive

log = logging.getLogger(__name__)

VOCABULARIES = (STATUSES_FILE, VERDICTS_FILE)
EVERYTHING = "*"
# A scan asks the database about every file this often (else only about those that moved since the last
# scan of this process): a catalog row changed from elsewhere without its file moving here is caught then.
FULL_SCAN_SECONDS = 60.0


@dataclass
class ScanReport:
    """What a scan found: files changed, added and gone, and the time it took."""

    changed: list[str] = field(default_factory=list)
    files: int = 0
    hashed: int = 0
    seconds: float = 0.0
    skipped: bool = False  # somebody else holds the lock (a publication, another scanner)


class Catalog:
    """The catalog of one content tree in one database."""

    def __init__(self, engine: Engine, content_root: Path, lock_path: Path | None, kinds: Kinds = KINDS):
        self.engine = engine
        self.content_root = Path(content_root)
        self.lock_path = lock_path
        self.kinds = kinds
        # The scan's memory, in this process: each file's stat when last seen matching the catalog.
        self._seen: dict[str, tuple] = {}
        self._full_scan_at = float("-inf")
        self._keys: dict[tuple[str, str], str | None] = {}

    # -- state -------------------------------------------------------------------------------

    def ready(self, connection: Connection | None = None) -> bool:
        """Whether a finished catalog of this version is there."""
        if connection is None:
            with self.engine.connect() as connection:
                return self.ready(connection)
        if not inspect(connection).has_table(tables.meta.name):
            return False
        values = dict(connection.execute(select(tables.meta.c.name, tables.meta.c.value)).all())
        return values.get("version") == tables.VERSION and values.get("complete") == "1"

    def ensure(self) -> bool:
        """Build the catalog if it is missing, of another version, or was left half-built; True when built."""
        if self.ready():
            return False
        with exclusive(PUBLISH_LOCK_KEY, self.lock_path, self.engine):
            journal.settle(self.content_root, self.engine)
            if self.ready():  # another process built it while this one waited
                return False
            self._rebuild_locked()
        return True

    def rebuild(self) -> int:
        """Build the catalog again from every file (`kb index`); the number of files."""
        with exclusive(PUBLISH_LOCK_KEY, self.lock_path, self.engine):
            journal.settle(self.content_root, self.engine)
            return self._rebuild_locked()

    def _rebuild_locked(self) -> int:
        started = time.perf_counter()
        files = self.kinds.files(self.content_root)
        # Sources first: the quotes of the others are verified against their text.
        order = sorted(files, key=lambda key: (key.kind != "source", str(key)))
        texts = _SourceTexts(self, None)
        built: list[Rows] = []
        for key in order:
            rows = self._read(key, files[key], texts)
            if rows is not None:
                built.append(rows)
                if key.kind == "source":
                    texts.known[key.id] = rows
        with self.engine.begin() as connection:
            # One transaction: readers see the old catalog or the new one, never a half-made one.
            if inspect(connection).has_table(tables.meta.name):
                version = connection.execute(select(tables.meta.c.value).where(tables.meta.c.name == "version")).scalar()
                if version != tables.VERSION:
                    # The change log stays: its ids must keep growing, or followers would skip changes.
                    tables.metadata.drop_all(connection, tables=[table for table in tables.metadata.sorted_tables if table is not tables.changes])
            tables.metadata.create_all(connection)
            for table in (tables.items, tables.history, tables.links, tables.meta):
                connection.execute(delete(table))
            revision = _record(connection, [EVERYTHING])
            _insert(connection, built, revision)
            connection.execute(
                insert(tables.meta),
                [{"name": "version", "value": tables.VERSION}, {"name": "complete", "value": "1"}]
                + [{"name": f"vocabulary:{name}", "value": _signature(self.content_root / name)} for name in VOCABULARIES],
            )
        log.info("catalogue construit : %d fichiers en %.1f s", len(built), time.perf_counter() - started)
        return len(built)

    # -- item by item ----------------------------------------------------------------------------

    def refresh(self, connection: Connection, keys: list[Key | str]) -> list[str]:
        """Bring these files' rows in line with the files as they are now, in `connection`'s transaction.

        A file gone is removed; a source whose text changed has the quotes citing it verified
        again. Call under the publish lock. Returns the keys whose rows changed, as recorded in
        the change log.
        """
        parsed = []
        for key in keys:
            try:
                parsed.append(key if isinstance(key, Key) else self.kinds.parse_key(key))
            except InvalidKey:
                # A row of a kind no longer declared, or a name no key can hold: its rows go.
                log.warning("clé inconnue retirée du catalogue : %s", key)
                _remove(connection, [str(key)])
        keys = parsed
        texts = _SourceTexts(self, connection)
        texts.remember_answers_of([str(key) for key in keys])
        changed: list[str] = []
        groups: dict[str, set[str]] = {}
        items_c = tables.items.c
        keys = list(dict.fromkeys(keys))
        # Read every file, then replace their rows in a few statements (a batch publishes a thousand
        # files: one query per file and table was seven seconds of the publication, under the lock).
        read = {key: self._read(key, path, texts) if (path := self.kinds.path(self.content_root, key)).is_file() else None for key in keys}
        names = [str(key) for key in keys]
        olds = {}
        for start in range(0, len(names), 500):
            chunk = names[start : start + 500]
            olds.update((row.key, row) for row in connection.execute(select(items_c.key, items_c.sha256, *GROUPED).where(items_c.key.in_(chunk))))
            _remove(connection, chunk)
        _insert(connection, [rows for rows in read.values() if rows is not None], 0)
        for key in keys:
            rows, old = read[key], olds.get(str(key))
            if rows is None and old is None:
                continue  # nothing there before, nothing now
            changed.append(str(key))
            groups[str(key)] = _groups_left_or_joined(old, rows) | _ids_changed(key.kind, old, rows)
        for key in keys:
            if key.kind == "source" and str(key) in changed:
                texts.forget(key.id)
                changed += self._verify_again(connection, key.id, texts)
        if changed:
            revision = _record(connection, changed, groups)
            for table in (tables.items, tables.history):
                connection.execute(update(table).where(table.c.key.in_(changed)).values(revision=revision))
        return list(dict.fromkeys(changed))

    def _verify_again(self, connection: Connection, source_id: str, texts: "_SourceTexts") -> list[str]:
        """Verify again every quote of `source_id` (its text changed); the keys whose answer changed."""
        links = tables.links.c
        quoting = connection.execute(
            select(links.id, links.key, links.quote, links.verified).where(links.relation == "quotes", links.target == source_id)
        ).all()
        changed = []
        for link_id, key, quote, verified in quoting:
            now = texts.verified(source_id, quote)
            if now != verified:
                connection.execute(update(tables.links).where(links.id == link_id).values(verified=now))
                changed.append(key)
        return changed

    def _read(self, key: Key, path: Path, texts: "_SourceTexts") -> Rows | None:
        """The rows of one file as it is on disk (None when it is gone)."""
        kind = self.kinds[key.kind]
        try:
            stat = path.stat()
            digest = _sha256(path)
        except OSError:
            return None
        item, problems = kind.read(path)
        if item is None:
            state = "unreadable"
        elif any(problem.severity == "error" for problem in problems):
            state = "broken"
        else:
            state = "published"
        return rows_of(kind, key, item, state, FileState.of(stat, digest), texts.verified)

    # -- hand edits ----------------------------------------------------------------------------------

    def scan(self, every: float = 0.0, before_changes: Callable[[], None] | None = None) -> ScanReport:
        """Find the files changed on disk since the catalog last saw them (by hand, by git) and refresh them.

        A look at every file's size, times and inode first, against what this process saw at its last
        scan (a database look only for the files that moved since, and all of them once a minute);
        only files that moved are hashed, and only those whose content changed are read again.
        One process of the machine scans at a time, and with `every`, at most that often between
        them all (a stamp file beside the publish lock): another one holding the publish lock (a
        publication, another scan) makes this round a no-op. `before_changes` is called when files
        moved, before their rows change (kb.ops.scanner takes the index's writer then).
        """
        started = time.perf_counter()
        report = ScanReport()
        if every > 0 and self._scanned_recently(every):
            report.skipped = True
            return report
        with attempt(PUBLISH_LOCK_KEY, self.lock_path, self.engine) as taken:
            if not taken:
                report.skipped = True
                return report
            # Half a batch whose writer died is put back before it could pass for an edit by hand.
            journal.settle(self.content_root, self.engine)
            missing = [kind.folder for kind in self.kinds if not kind.optional and not (self.content_root / kind.folder).is_dir()]
            if not self.content_root.is_dir() or missing:
                # An unmounted or half-copied tree is not "every file deleted": leave the catalog as it is.
                log.warning("contenu illisible (%s) : catalogue laissé tel quel", ", ".join(missing) or self.content_root)
                report.skipped = True
                return report
            files = self._file_states()
            report.files = len(files)
            full = time.monotonic() - self._full_scan_at >= FULL_SCAN_SECONDS
            # What moved since this process last looked (all, for a full look): only those are asked of the database.
            moved_here = files if full else {key: state for key, state in files.items() if self._seen.get(key) != state[1]}
            vanished = [key for key in self._seen if key not in files]
            with self.engine.begin() as connection:
                columns = tables.items.c
                wanted = select(columns.key, columns.size, columns.mtime_ns, columns.ino, columns.ctime_ns, columns.sha256)
                if full:
                    known = {row.key: row for row in connection.execute(wanted)}
                else:
                    asked = [*moved_here, *vanished]
                    known = {}
                    for start in range(0, len(asked), 500):
                        known.update((row.key, row) for row in connection.execute(wanted.where(columns.key.in_(asked[start : start + 500]))))
                moved, touched = [], []
                for key, (path, signature) in moved_here.items():
                    row = known.get(key)
                    if row is not None and (row.size, row.mtime_ns, row.ino, row.ctime_ns) == signature:
                        continue
                    report.hashed += 1
                    try:
                        digest = _sha256(path)
                    except OSError:
                        continue  # gone between the listing and now: the next scan settles it
                    if row is not None and row.sha256 == digest:
                        touched.append((key, signature))  # same bytes (touch, cp -p): remember the new stat
                    else:
                        moved.append(key)
                gone = [key for key in known if key not in files]
                for key, (size, mtime_ns, ino, ctime_ns) in touched:
                    connection.execute(
                        update(tables.items).where(columns.key == key).values(size=size, mtime_ns=mtime_ns, ino=ino, ctime_ns=ctime_ns)
                    )  # fmt: skip
                if (moved or gone) and before_changes is not None:
                    before_changes()
                report.changed = self.refresh(connection, moved + gone) if moved or gone else []
                report.changed += self._vocabularies(connection)
            # Remembered only once committed: a failed round is looked at again in full next time.
            self._seen = {key: signature for key, (_, signature) in files.items()}
            if full:
                self._full_scan_at = time.monotonic()
            self._stamp()
        report.seconds = time.perf_counter() - started
        return report

    def _file_states(self) -> dict[str, tuple[str, tuple]]:
        """Every content file by key: its path and (size, mtime, inode, ctime), from one directory listing each."""
        found = {}
        for kind in self.kinds:
            try:
                entries = os.scandir(self.content_root / kind.folder)
            except (FileNotFoundError, NotADirectoryError):
                continue
            with entries:
                for entry in entries:
                    name = entry.name
                    if not name.endswith(".md") or name.startswith("."):
                        continue
                    key = self._key_of(kind.name, name[:-3])
                    if key is None:
                        continue  # a name no key can hold: kb check reports the file
                    try:
                        if not entry.is_file():
                            continue
                        stat = entry.stat()
                    except OSError:
                        continue  # gone between the listing and now: the next scan settles it
                    found[key] = (entry.path, (stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns))
        return found

    def _key_of(self, kind: str, stem: str) -> str | None:
        # Checking a name is the costly part of listing 10,000 files: each name once per process.
        cache_key = (kind, stem)
        if cache_key not in self._keys:
            if len(self._keys) > 200_000:
                self._keys.clear()
            try:
                self._keys[cache_key] = str(self.kinds.key(kind, stem))
            except InvalidKey:
                self._keys[cache_key] = None
        return self._keys[cache_key]

    def _stamp_path(self) -> Path | None:
        return self.lock_path.with_name(self.lock_path.name + ".scanned") if self.lock_path is not None else None

    def _scanned_recently(self, every: float) -> bool:
        path = self._stamp_path()
        try:
            return path is not None and time.time() - path.stat().st_mtime < every
        except OSError:
            return False

    def _stamp(self) -> None:
        path = self._stamp_path()
        if path is None:
            return
        try:
            path.touch()
        except OSError as error:  # then every process scans as often as it likes: slower, still right
            log.warning("marque du dernier parcours des fichiers non écrite (%s) : %s", path, error)

    def _vocabularies(self, connection: Connection) -> list[str]:
        """A change of statuses.yml or verdicts.yml changes every page: recorded as a change of everything."""
        changed = False
        for name in VOCABULARIES:
            signature = _signature(self.content_root / name)
            row_name = f"vocabulary:{name}"
            known = connection.execute(select(tables.meta.c.value).where(tables.meta.c.name == row_name)).scalar()
            if known != signature:
                connection.execute(delete(tables.meta).where(tables.meta.c.name == row_name))
                connection.execute(insert(tables.meta).values(name=row_name, value=signature))
                changed = True
        if not changed:
            return []
        _record(connection, [EVERYTHING])
        return [EVERYTHING]

    # -- the change log ------------------------------------------------------------------------------

    def changes_after(self, connection: Connection, cursor: int, limit: int = 10_000) -> list[tuple[int, str]]:
        """(change id, key) of the changes after `cursor`, oldest first."""
        query = select(tables.changes.c.id, tables.changes.c.key).where(tables.changes.c.id > cursor).order_by(tables.changes.c.id)
        return [(row.id, row.key) for row in connection.execute(query.limit(limit))]

    def last_change(self, connection: Connection) -> int:
        return connection.execute(select(func.max(tables.changes.c.id))).scalar() or 0


class _SourceTexts:
    """Source texts for verifying quotes, read from the catalog (or from rows being built), folded once each."""

    def __init__(self, catalog: Catalog, connection: Connection | None):
        self.catalog = catalog
        self.connection = connection
        self.known: dict[str, Rows] = {}
        self._folded: dict[str, FoldedText | None] = {}
        self._changed: set[str] = set()  # sources whose text changed in this transaction
        self._answers: dict[tuple[str, str], bool] = {}  # (source, quote): as the catalog verified it

    def remember_answers_of(self, keys: list[str]) -> None:
        """Read at once the answers the catalog holds for the quotes of these files (before their rows go):
        an edit mostly keeps its quotes, and asking for each one alone was a query per quote."""
        if self.connection is None:
            return
        links = tables.links.c
        for start in range(0, len(keys), 500):
            rows = self.connection.execute(
                select(links.target, links.quote, links.verified)
                .where(links.key.in_(keys[start : start + 500]), links.relation == "quotes", links.verified.is_not(None))
            )  # fmt: skip
            self._answers.update(((row.target, row.quote), bool(row.verified)) for row in rows)

    def forget(self, source_id: str) -> None:
        self._folded.pop(source_id, None)
        self._changed.add(source_id)

    def _recorded(self, source_id: str, quote: str) -> bool | None:
        """The answer the catalog holds already for this passage of this source, if any.

        It holds: a source whose text changes has every quote citing it verified again in the same
        transaction (Catalog._verify_again). Reading it spares folding the source's text: a hand edit
        or a git pull of 100 promises cites some 300 sources of 40 KB.
        """
        if self.connection is None or source_id in self.known or source_id in self._changed:
            return None
        if (source_id, quote) in self._answers:
            return self._answers[source_id, quote]
        links = tables.links.c
        return self.connection.execute(
            select(links.verified)
            .where(links.relation == "quotes", links.target == source_id, links.quote == quote, links.verified.is_not(None))
            .limit(1)
        ).scalar()

    def _text(self, source_id: str) -> FoldedText | None:
        if source_id not in self._folded:
            from kb.catalog import codec

            data = self.known[source_id].item["data"] if source_id in self.known else None
            if data is None and self.connection is not None:
                data = self.connection.execute(
                    select(tables.items.c.data).where(tables.items.c.key == f"source:{source_id}", tables.items.c.state != "unreadable")
                ).scalar()
            source = codec.decode(Source, data) if data else None
            self._folded[source_id] = FoldedText.of(source.text) if source is not None and source.text else None
        return self._folded[source_id]

    def verified(self, source_id: str, quote: str) -> bool:
        recorded = self._recorded(source_id, quote)
        if recorded is not None:
            return recorded
        text = self._text(source_id)
        return bool(text and text.contains(quote))


def _insert(connection: Connection, built: list[Rows], revision: int) -> None:
    if not built:
        return
    for start in range(0, len(built), 500):
        batch = built[start : start + 500]
        connection.execute(insert(tables.items), [rows.item | {"revision": revision} for rows in batch])
        history = [entry | {"revision": revision} for rows in batch for entry in rows.history]
        if history:
            connection.execute(insert(tables.history), history)
        links = [link for rows in batch for link in rows.links]
        if links:
            connection.execute(insert(tables.links), [{"field": None, "quote": None, "verified": None} | link for link in links])


def _remove(connection: Connection, keys: list[str]) -> None:
    for table in (tables.items, tables.history, tables.links):
        connection.execute(delete(table).where(table.c.key.in_(keys)))


def _record(connection: Connection, keys: list[str], tags: dict[str, set[str]] | None = None) -> int:
    """Append the changes to the log, with the pages' tags each touches beyond its own (tables.changes);
    the id of the last one (the rows' new revision)."""
    last = 0
    for key in dict.fromkeys(keys):
        extra = "\n".join(sorted((tags or {}).get(key, ()))) or None
        last = connection.execute(insert(tables.changes).values(key=key, tags=extra)).inserted_primary_key[0]
    return last


# What makes an item one of a group of related promises (kb.catalog.reader.related).
GROUPED = (tables.items.c.kind, tables.items.c.state, tables.items.c.territory, tables.items.c.theme)


def _groups_left_or_joined(old, rows: Rows | None) -> set[str]:
    """The groups of related promises an item left or joined: none when a publication only changes
    its history or its text, the most common change by far."""

    def groups(kind, state, territory, theme) -> set[str]:
        if kind != "promise" or state != "published":
            return set()
        return {f"group:promise:territory:{territory}", f"group:promise:theme:{theme}"}

    before = groups(old.kind, old.state, old.territory, old.theme) if old is not None else set()
    new = rows.item if rows is not None else {}
    after = groups(new.get("kind"), new.get("state"), new.get("territory"), new.get("theme"))
    return before ^ after


def _ids_changed(kind: str, old, rows: Rows | None) -> set[str]:
    """{"ids:KIND"} when the item came, went or changed state: the ids of a kind in a state changed
    (kb.catalog.reader's _Items, which the sitemap reads); none for a new version of an item that
    stays as it was listed, the most common change by far."""
    before = old.state if old is not None else None
    after = rows.item.get("state") if rows is not None else None
    return {f"ids:{kind}"} if before != after else set()


def _sha256(path: Path) -> str:
    """A file's sha256, read in blocks (a stray huge file is not loaded whole)."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _signature(path: Path) -> str:
    try:
        stat = os.stat(path)
    except OSError:
        return "absent"
    return f"{stat.st_size}:{stat.st_mtime_ns}:{stat.st_ino}:{stat.st_ctime_ns}"
