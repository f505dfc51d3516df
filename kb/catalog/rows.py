"""What the catalog stores of one content file: its row, its history entries, its links."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

from kb.catalog import codec
from kb.content import listing
from kb.content.listing import slug
from kb.content.registry import Key, Kind


@dataclass
class FileState:
    """A file as the scanner sees it: what changes when anyone edits it."""

    size: int | None = None
    mtime_ns: int | None = None
    ino: int | None = None
    ctime_ns: int | None = None
    sha256: str | None = None

    @classmethod
    def of(cls, stat, sha256: str | None) -> "FileState":
        return cls(stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns, sha256)

    def same_file(self, stat) -> bool:
        """Whether a stat says the file is unchanged (inode and ctime too: cp -p and tar restore mtimes)."""
        return (self.size, self.mtime_ns, self.ino, self.ctime_ns) == (stat.st_size, stat.st_mtime_ns, stat.st_ino, stat.st_ctime_ns)


@dataclass
class Rows:
    """The rows of one file in the catalog's tables."""

    item: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)


def rows_of(kind: Kind, key: Key, item: Any, state: str, file: FileState, verified: Callable[[str, str], bool]) -> Rows:
    """The rows of `item` (None: a file that cannot be read at all), `state` published, broken or unreadable."""
    row: dict[str, Any] = {
        "key": str(key), "kind": kind.name, "item_id": key.id, "state": state, "size": file.size, "mtime_ns": file.mtime_ns,
        "ino": file.ino, "ctime_ns": file.ctime_ns, "sha256": file.sha256, "title": None, "title_sort": None, "status": None,
        "verdict": None, "made_by": None, "party": None, "list_name": None, "territory": None,
        "territory_slug": None, "theme": None, "tracker": None, "sort_date": None, "due": None, "data": None,
    }  # fmt: skip
    if item is None:
        return Rows(row)
    rows = Rows(row)
    if kind.item_type is not None and dataclasses.is_dataclass(item):
        row["data"] = codec.encode(item)
    if state != "published":
        return rows  # kept so that the scanner knows the file; lists and pages show published items only
    indexed = kind.indexed(item)
    facets = indexed.facets
    row.update(
        title=indexed.title,
        title_sort=(indexed.title or "").casefold(),
        status=facets.get("status"),
        verdict=facets.get("verdict"),
        made_by=facets.get("made_by"),
        party=facets.get("party"),
        list_name=facets.get("list"),
        territory=facets.get("territory"),
        territory_slug=slug(facets["territory"]) if facets.get("territory") else None,
        theme=facets.get("theme"),
        tracker=facets.get("tracker"),
        sort_date=indexed.date,
        due=indexed.due,
    )
    entries = getattr(item, "history", None) or []
    rows.history = [
        {"key": str(key), "position": position, "date": entry.date, "status": entry.status,
         "before": entries[position - 1].status if position else None}
        for position, entry in enumerate(entries)
    ]  # fmt: skip
    if kind.quotes is not None:
        rows.links += [
            {"key": str(key), "relation": "quotes", "target": proof.source, "field": name, "quote": proof.quote,
             "verified": verified(proof.source, proof.quote)}
            for name, proof in kind.quotes(item)
        ]  # fmt: skip
    rows.links += [{"key": str(key), "relation": "about", "target": target} for target in dict.fromkeys(getattr(item, "promises", None) or [])]
    if kind.name in ("promise", "claim"):
        rows.links += [{"key": str(key), "relation": "made_by", "target": author[:160]} for author in listing.authors_of(facets.get("made_by"))]
    earlier = getattr(item, "carried_over_from", None)
    rows.links += [{"key": str(key), "relation": "carried", "target": earlier}] if earlier else []
    rows.links += [{"key": str(key), "relation": "alias", "target": alias} for alias in dict.fromkeys(getattr(item, "aliases", None) or [])]
    return rows
