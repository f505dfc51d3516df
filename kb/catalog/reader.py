"""The content tree as the catalog holds it: ContentTree's interface, read lazily from the database.

Pages, the API and the newsroom ask a `CatalogView` what they used to ask the tree read into
memory; each answer is a query for what it needs (one item, the promises related to one, the
quotes of one source), so no process holds the whole tree. A view records what it read (`used`):
the keys of the items, and tags for the sets it listed, so that a page rendered from it is kept
until one of those changes, and no longer.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Engine, func, select

from kb.catalog import codec, tables
from kb.catalog.listed import ListedCache
from kb.content.listing import authors_of
from kb.content.model import Claim, Promise, Source, Status, Verdict
from kb.content.quotes import FoldedText
from kb.content.registry import Kinds
from kb.content.statuses import FILE_NAME as STATUSES_FILE
from kb.content.statuses import load_statuses
from kb.content.verdicts import FILE_NAME as VERDICTS_FILE
from kb.content.verdicts import load_verdicts

ITEM_CACHE_BYTES = 8 * 1024 * 1024  # of JSON: about twice that once decoded
items_c = tables.items.c
links_c = tables.links.c


class ItemCache:
    """Items decoded from their rows, one per key (its latest revision), least recently used dropped.

    Bounded in bytes (of the rows' JSON, which a source's whole text makes large), not in count.
    """

    def __init__(self, max_bytes: int = ITEM_CACHE_BYTES):
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[str, tuple[int, Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, revision: int):
        with self._lock:
            found = self._items.get(key)
            if found is None or found[0] != revision:
                return None
            self._items.move_to_end(key)
            return found[1]

    def put(self, key: str, revision: int, item: Any, size: int = 0) -> None:
        if size > self.max_bytes // 4:
            return  # one huge document must not push everything else out
        with self._lock:
            previous = self._items.pop(key, None)  # an older revision of the same item goes with it
            self.bytes -= previous[2] if previous else 0
            self._items[key] = (revision, item, size)
            self.bytes += size
            while self.bytes > self.max_bytes and self._items:
                _, (_, _, dropped) = self._items.popitem(last=False)
                self.bytes -= dropped

    def __len__(self) -> int:
        return len(self._items)


class Vocabularies:
    """statuses.yml and verdicts.yml, read again when their files change (a stat, at most once a second)."""

    def __init__(self, root: Path, recheck_seconds: float = 1.0):
        self.root = Path(root)
        self.recheck_seconds = recheck_seconds
        self._signature: tuple | None = None
        self._checked_at = float("-inf")
        self._lock = threading.Lock()
        self.statuses: dict[str, Status] = {}
        self.verdicts: dict[str, Verdict] = {}

    def current(self) -> "Vocabularies":
        import time

        now = time.monotonic()
        if self._signature is not None and now - self._checked_at < self.recheck_seconds:
            return self
        with self._lock:
            signature = tuple(_stat(self.root / name) for name in (STATUSES_FILE, VERDICTS_FILE))
            if signature != self._signature:
                self.statuses = load_statuses(self.root)[0]
                self.verdicts = load_verdicts(self.root)[0]
                self._signature = signature
            self._checked_at = now
        return self

    def reload(self) -> None:
        """Read the files again at the next use, whenever they were last read (a change was announced)."""
        with self._lock:
            self._signature = None

    @property
    def final_statuses(self) -> set[str]:
        return {key for key, status in self.statuses.items() if status.final}


def _stat(path: Path) -> tuple | None:
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return (stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns)


class CatalogView:
    """What a request reads of the content: the catalog, asked lazily; records what it read in `used`."""

    def __init__(
        self, engine: Engine, root: Path, kinds: Kinds, vocabularies: Vocabularies, cache: ItemCache, listed: "ListedCache | None" = None
    ):
        self.engine = engine
        self.root = Path(root)
        self.kinds = kinds
        vocabularies = vocabularies.current()
        self.statuses = vocabularies.statuses
        self.verdicts = vocabularies.verdicts
        self.final_statuses = vocabularies.final_statuses
        self.cache = cache
        self.listed = listed  # a server process's rows of every published promise, kept by its change follower
        self.used: set[str] = set()
        self.memo: dict = {}  # what this request already asked (the same rows for a page's several counts)
        self.items = {kind.name: _Items(self, kind.name, "published") for kind in kinds}
        self.broken_items = {kind.name: _Items(self, kind.name, "broken") for kind in kinds}

    # -- reading rows --------------------------------------------------------------------------

    def query(self, statement) -> list:
        with self.engine.connect() as connection:
            return connection.execute(statement).all()

    def scalar(self, statement):
        with self.engine.connect() as connection:
            return connection.execute(statement).scalar()

    def load(self, rows) -> list:
        """Items from (key, kind, revision, data) rows, decoded once per revision and kept."""
        found = []
        for row in rows:
            self.used.add(row.key)
            item = self.cache.get(row.key, row.revision)
            if item is None:
                item = self._decode(row)
                if item is None:
                    continue
                self.cache.put(row.key, row.revision, item, len(row.data or ""))
            found.append(item)
        return found

    def _decode(self, row):
        kind = self.kinds[row.kind]
        path = self.kinds.path(self.root, row.key)
        if row.data is not None and kind.item_type is not None:
            item = codec.decode(kind.item_type, row.data)
            item.path = path  # where the file is now (the tree may have moved since the row was written)
            return item
        item, _ = kind.read(path)  # a kind kept as its file
        return item

    def select_items(self, *where, order=None):
        statement = select(items_c.key, items_c.kind, items_c.revision, items_c.data).where(*where)
        return statement.order_by(*(order if order is not None else [items_c.item_id]))

    # -- ContentTree's interface -----------------------------------------------------------------

    promises = property(lambda self: self.items["promise"])
    trackers = property(lambda self: self.items["tracker"])
    people = property(lambda self: self.items["person"])

    def person_named(self, name: str) -> str | None:
        """The id of the person (or institution) of that name or alias, if any (people are few: all read)."""
        wanted = (name or "").casefold()
        for person in sorted(self.every("person"), key=lambda person: person.id):
            if wanted in {known.casefold() for known in (person.name, *person.aliases) if known}:
                return person.id
        return None
    sources = property(lambda self: self.items["source"])
    claims = property(lambda self: self.items["claim"])
    broken_promises = property(lambda self: self.broken_items["promise"].values())
    broken_sources = property(lambda self: self.broken_items["source"].values())
    broken_claims = property(lambda self: self.broken_items["claim"].values())
    unreadable_promises = property(lambda self: self._unreadable("promise"))
    unreadable_sources = property(lambda self: self._unreadable("source"))
    unreadable_claims = property(lambda self: self._unreadable("claim"))

    def _unreadable(self, kind: str) -> set[str]:
        return {row.item_id for row in self.query(select(items_c.item_id).where(items_c.kind == kind, items_c.state == "unreadable"))}

    def file_ids(self, kind: str) -> set[str]:
        """The ids of every file of a kind, published, broken or unreadable (what a reference may name)."""
        self.used.add(f"list:{kind}")
        return {row.item_id for row in self.query(select(items_c.item_id).where(items_c.kind == kind))}

    def has_file(self, kind: str, item_id: str) -> bool:
        self.used.add(f"{kind}:{item_id}")
        return bool(self.scalar(select(func.count()).where(items_c.key == f"{kind}:{item_id}")))

    def every(self, kind: str) -> list:
        """Every item of a kind that could be read, published or not (the newsroom's checks)."""
        self.used.add(f"list:{kind}")
        return self.load(self.query(self.select_items(items_c.kind == kind, items_c.state != "unreadable")))

    def neighbours(self, kind: str, item) -> list:
        """The other items that share an id or an old id with `item`: all a rule across files can find at fault."""
        names = [item.id, *getattr(item, "aliases", [])]
        self.used.add(f"list:{kind}")
        # Two look-ups by index (the aliases' links, then the keys): an OR of both in one WHERE
        # scanned every item, 20 ms a check at 10,000 promises.
        sharing = {row.key for row in self.query(select(links_c.key).where(links_c.relation == "alias", links_c.target.in_(names)))}
        keys = sorted((sharing | {f"{kind}:{name}" for name in names}) - {f"{kind}:{item.id}"})
        if not keys:  # an empty IN scans every row in SQLite
            return []
        rows = self.query(self.select_items(items_c.key.in_(keys), items_c.kind == kind, items_c.state != "unreadable"))
        return self.load(rows)

    def summaries(self, kind: str) -> list["Summary"]:
        """Published items of a kind by title — id, title, date only — for a form's choices."""
        self.used.add(f"list:{kind}")
        if self.listed is not None:  # a server process: small kinds' are kept (kb.catalog.listed)
            return self.listed.summaries(kind, lambda: self._summaries(kind))
        return self._summaries(kind)

    def _summaries(self, kind: str) -> list["Summary"]:
        rows = self.query(
            select(items_c.item_id, items_c.title, items_c.sort_date, items_c.made_by, items_c.territory, items_c.status)
            .where(items_c.kind == kind, items_c.state == "published")
        )  # fmt: skip
        found = [Summary(row.item_id, row.title, row.sort_date, authors_of(row.made_by), row.territory, row.status) for row in rows]
        return sorted(found, key=lambda summary: (summary.title or "").lower())

    def titles(self, kind: str, ids) -> dict[str, "Summary"]:
        """Published items of a kind by id — id, title, date, authors (a source's publisher), nothing decoded — for the names a page shows."""
        wanted = list(dict.fromkeys(ids))
        self.used.update(f"{kind}:{item_id}" for item_id in wanted)
        rows = self.query(
            select(items_c.item_id, items_c.title, items_c.sort_date, items_c.made_by)
            .where(items_c.state == "published", items_c.key.in_([f"{kind}:{item_id}" for item_id in wanted]))
        ) if wanted else []  # fmt: skip
        # made_by: a promise's or a claim's authors, a source's publisher.
        return {row.item_id: Summary(row.item_id, row.title, row.sort_date, tuple(row.made_by.split("\n")) if row.made_by else ()) for row in rows}

    @property
    def quotable_sources(self) -> Mapping[str, Source]:
        """Sources quotes are checked against, as kb check does: one with errors of its own still exists."""
        return _Items(self, "source", None)

    def alias_target(self, old_id: str) -> str | None:
        """The current id of a promise that used to be called `old_id`, if any."""
        self.used.add(f"alias:{old_id}")
        key = self.scalar(select(links_c.key).where(links_c.relation == "alias", links_c.target == old_id).order_by(links_c.key).limit(1))
        return key.partition(":")[2] if key else None

    def related(self, promise: Promise, count: int = 5) -> list[Promise]:
        """Promises of the same territory and theme first, then of either; each group from the ids after
        the promise's own, then from its start.

        Not the latest first: a publication makes its promise the latest of its territory and its
        theme, and the related promises of every page of both then changed — a tenth of all promise
        pages drawn again after each publication at a newsroom's size. In the order of ids, what a page
        shows changes only when a promise joins or leaves its groups ("group:…" tags, which the
        catalog logs for such changes alone), or when one of those it shows changes (their keys).
        """
        self.used.update({f"group:promise:territory:{promise.territory}", f"group:promise:theme:{promise.theme}"})
        published = (items_c.kind == "promise", items_c.state == "published", items_c.item_id != promise.id)
        found: list[Promise] = []
        for where in (
            (items_c.territory == promise.territory, items_c.theme == promise.theme),
            (items_c.territory == promise.territory,),
            (items_c.theme == promise.theme,),
        ):
            # Up to `count` not found yet, the ones found before being among them at worst.
            limit = count + len(found)
            after = self.select_items(*published, *where, items_c.item_id > promise.id, order=[items_c.item_id])
            before = self.select_items(*published, *where, items_c.item_id < promise.id, order=[items_c.item_id])
            for part in (after, before):
                for item in self.load(self.query(part.limit(limit))):
                    if len(found) == count:
                        return found
                    if all(item.id != other.id for other in found):
                        found.append(item)
        return found

    def quote_verified(self, source_id: str, quote: str) -> bool:
        """Whether `quote` occurs in source `source_id` (the rule of kb check), as the catalog verified it."""
        self.used.add(f"source:{source_id}")
        answer = self.scalar(
            select(links_c.verified).where(links_c.relation == "quotes", links_c.target == source_id, links_c.quote == quote).limit(1)
        )
        if answer is not None:
            return bool(answer)
        source = self.quotable_sources.get(source_id)  # a quote from outside the catalog (a newsroom draft…)
        return source is not None and FoldedText.cached(source.text).contains(quote)

    def _quoting(self, kind: str, relation: str, target: str, order) -> list:
        self.used.add(f"{relation}:{target}")
        keys = select(links_c.key).where(links_c.relation == relation, links_c.target == target)
        return self.load(self.query(self.select_items(items_c.kind == kind, items_c.state == "published", items_c.key.in_(keys), order=order)))

    def promises_citing(self, source_id: str) -> list[Promise]:
        """Published promises with at least one quote from `source_id`, by title."""
        return self._quoting("promise", "quotes", source_id, [items_c.title, items_c.item_id])

    def claims_citing(self, source_id: str) -> list[Claim]:
        """Published claims quoting `source_id` (the claim itself or its evidence), by title."""
        return self._quoting("claim", "quotes", source_id, [items_c.title, items_c.item_id])

    def _naming(self, kind: str, relation: str, promise_id: str, order) -> list:
        """Published items of `kind` whose `relation` links name promise `promise_id` or one of its old ids."""
        aliases = [old for (old,) in self.query(select(links_c.target).where(links_c.relation == "alias", links_c.key == f"promise:{promise_id}"))]
        self.used.update(f"{relation}:{name}" for name in (promise_id, *aliases))
        keys = select(links_c.key).where(links_c.relation == relation, links_c.target.in_([promise_id, *aliases]))
        return self.load(self.query(self.select_items(items_c.kind == kind, items_c.state == "published", items_c.key.in_(keys), order=order)))

    def carried_over_to(self, promise_id: str) -> list[Promise]:
        """Published promises of later terms that carry over promise `promise_id` (or one of its old ids), by id."""
        return self._naming("promise", "carried", promise_id, [items_c.item_id])

    def claims_about(self, promise_id: str) -> list[Claim]:
        """Published claims that name promise `promise_id` (or one of its old ids) as related, latest verdict first."""
        return self._naming("claim", "about", promise_id, [items_c.sort_date.desc(), items_c.item_id.desc()])


@dataclass(frozen=True)
class Summary:
    """What a list of choices shows of an item."""

    id: str
    title: str
    date: Any
    made_by: tuple[str, ...] = ()
    territory: str | None = None
    status: str | None = None


class _Items(Mapping):
    """The items of one kind in one state (None: published or broken), by id, read on demand."""

    def __init__(self, view: CatalogView, kind: str, state: str | None):
        self.view = view
        self.kind = kind
        self.state = state

    def _where(self):
        where = [items_c.kind == self.kind]
        where.append(items_c.state == self.state if self.state else items_c.state != "unreadable")
        return where

    def __getitem__(self, item_id: str):
        if not isinstance(item_id, str):
            raise KeyError(item_id)
        self.view.used.add(f"{self.kind}:{item_id}")
        # By key (the primary key), not by kind and id: one row looked up, not a kind's rows scanned.
        found = self.view.load(self.view.query(self.view.select_items(*self._where(), items_c.key == f"{self.kind}:{item_id}")))
        if not found:
            raise KeyError(item_id)
        return found[0]

    def __contains__(self, item_id: object) -> bool:
        if not isinstance(item_id, str):
            return False
        self.view.used.add(f"{self.kind}:{item_id}")
        return bool(self.view.scalar(select(func.count()).where(*self._where(), items_c.key == f"{self.kind}:{item_id}")))

    # Which ids there are changes only when an item comes, goes or changes state (kb.catalog.update
    # logs "ids:KIND" then): not at each publication, as the items' contents do ("list:KIND").
    def __iter__(self) -> Iterator[str]:
        self.view.used.add(f"ids:{self.kind}")
        return iter([row.item_id for row in self.view.query(select(items_c.item_id).where(*self._where()).order_by(items_c.item_id))])

    def __len__(self) -> int:
        self.view.used.add(f"ids:{self.kind}")
        return self.view.scalar(select(func.count()).select_from(tables.items).where(*self._where())) or 0

    def values(self) -> list:  # type: ignore[override]
        self.view.used.add(f"list:{self.kind}")
        return self.view.load(self.view.query(self.view.select_items(*self._where())))
