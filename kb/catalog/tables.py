"""The catalog's tables, in the workflow database but not in its migrations: they are derived.

They have a version of their own (VERSION); a catalog of another version, or one whose build never
finished, is dropped and built again from the files, never served half-made.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, Index, Integer, MetaData, String, Table, Text

# Bumped whenever what the catalog stores changes: catalogs of another version are rebuilt.
VERSION = "9"

metadata = MetaData()

# Small facts about the catalog itself: its version, whether its build finished, the vocabularies' signatures.
meta = Table(
    "catalog_meta",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("value", Text, nullable=False),
)

# One row per content file: where it stands on disk, what lists filter, sort and count on, and the item.
items = Table(
    "catalog_items",
    metadata,
    Column("key", String(200), primary_key=True),  # "promise:<id>"
    Column("kind", String(40), nullable=False),
    Column("item_id", String(160), nullable=False),
    Column("state", String(12), nullable=False),  # published | broken (read with errors) | unreadable
    # The file as the scanner last saw it: an edit by hand or by git changes one of these.
    Column("size", BigInteger),
    Column("mtime_ns", BigInteger),
    Column("ino", BigInteger),
    Column("ctime_ns", BigInteger),
    Column("sha256", String(64)),
    Column("title", Text),
    Column("title_sort", Text),
    Column("status", String(100)),
    Column("verdict", String(100)),
    Column("made_by", Text),  # the authors' ids, one per line (lists split them; links hold them one by one)
    Column("party", Text),
    Column("list_name", Text),
    Column("territory", Text),
    Column("territory_slug", String(250)),
    Column("theme", Text),
    Column("tracker", String(160)),  # a promise's tracker id
    Column("sort_date", Date),  # a promise's last assessment, a claim's verdict, a source's date
    Column("due", Date),
    Column("data", Text),  # the item, as JSON (kb.catalog.codec); None: read from the file
    Column("revision", BigInteger, nullable=False),  # the change that last touched the row
    Index("ix_catalog_items_kind_state", "kind", "state"),
    Index("ix_catalog_items_territory_slug", "territory_slug"),
    # A promise page's related promises: same territory and theme, then either, in the order of ids.
    Index("ix_catalog_items_related", "territory", "theme", "item_id"),
    Index("ix_catalog_items_territory_id", "territory", "item_id"),
    Index("ix_catalog_items_theme_id", "theme", "item_id"),
    Index("ix_catalog_items_territory", "territory", "sort_date"),
    Index("ix_catalog_items_theme", "theme", "sort_date"),
    Index("ix_catalog_items_tracker", "tracker", "sort_date"),
)

# A promise's history entries: the status changes feeds list and the scorecards count.
history = Table(
    "catalog_history",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("date", Date),
    Column("status", String(100)),
    Column("before", String(100)),  # the previous entry's status (None for the first)
    # The item's revision (its last change in the log): of two entries of the same day, the one
    # published last comes first in "the latest changes", whatever the promises' names.
    Column("revision", Integer),
    # In the order of "the latest changes": the home page's ten are read from its end, not sorted out of all.
    Index("ix_catalog_history_latest", "date", "revision", "key", "position"),
)

# What items say of other items: the passages they quote (and whether each is found in its
# source), the promises a fact-check is about, a promise's old ids, the promise it carries over, its authors.
links = Table(
    "catalog_links",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False),
    # quotes | about | alias | carried (a promise's earlier term) | made_by (one author of a promise or a claim)
    Column("relation", String(10), nullable=False),
    Column("target", String(160), nullable=False),  # a source id, a promise id, an old id
    Column("field", String(100)),  # quotes: where in the file ("history[1].evidence[0]")
    Column("quote", Text),
    Column("verified", Boolean),
    # (key, relation): "the quotes of these files" must use it, not the (relation, target) index,
    # which SQLite preferred for relation = 'quotes' and walked every quote (115 ms at 10,000 promises).
    Index("ix_catalog_links_key", "key", "relation"),
    Index("ix_catalog_links_target", "relation", "target"),
)

# Every change of the catalog, in order: each process follows it to refresh its index and its pages.
changes = Table(
    "catalog_changes",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("key", String(200), nullable=False),  # a content key, or "*" for everything (a rebuild, a vocabulary)
    # Pages' tags the change touches beyond its item's own (kb.web.follower): the groups of related
    # promises it joined or left ("group:promise:territory:Lille"), "ids:promise" when the item came,
    # went or changed state; one per line; most changes have none.
    Column("tags", Text),
)
