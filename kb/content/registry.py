"""What a content kind is, and the key that names one file of a kind ("promise:<id>").

A `Kind` says everything the layers above need to know about a kind of content file: where its
files live, how one is parsed and written back, the rules `kb check` applies to it, what search
indexes of it, the key of its state in the audit log, its public address and its labels. The
kinds kb ships are declared in kb.content.kinds; check, index, workflow, audit, the newsroom's
preview, search hits, the static build and the sitemap all read a `Kinds` registry instead of
switching on a kind's name, so a new kind is one entry there plus its templates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from kb.config.i18n import gettext as _
from kb.content.files import read_content_file
from kb.content.model import ID_PATTERN, Evidence, Problem

if TYPE_CHECKING:
    from kb.content.tree import ContentTree

MAX_ID_LENGTH = 150


class InvalidKey(ValueError):
    """A key or an id that names no possible file; the message is for people."""


@dataclass
class Indexed:
    """What search knows of one item, said without Whoosh: kb.search.index turns it into an index document."""

    title: str
    texts: list[str | None]  # searched, once each
    snippet: str  # the text results are cut from (words, not Markdown)
    quotes: list[str] = field(default_factory=list)  # searched with more weight than `texts`
    # What lists filter and count on: status, verdict, territory, made_by, theme, party, list (search keeps its own).
    facets: dict[str, str | None] = field(default_factory=dict)
    date: date | None = None
    due: date | None = None


def _no_problems(*_args) -> list[Problem]:
    return []


@dataclass(frozen=True)
class Kind:
    """One kind of content file, declared once."""

    name: str  # the key's prefix: "promise"
    folder: str  # under the content directory: "promises"
    label: str  # what people read for one, capitalized: "Promesse"
    plural: str  # and for several, in running text: "promesses"
    parse: Callable[[Path, str], tuple[Any, list[Problem]]]  # a file's text as if at a path → (item or None, problems)
    max_bytes: int  # larger files are not read at all (a pasted PDF, a binary)
    url: str  # its public page: "/promesses/{id}"
    indexed: Callable[[Any], Indexed]
    to_text: Callable[[Any], str] | None = None  # the file kb writes for an item
    # Rules that need the vocabularies, today's date or other files: (item, tree, today) → problems.
    check: Callable[[Any, "ContentTree", date], list[Problem]] = _no_problems
    # Rules across every file of the kind (aliases that clash…): (items, tree) → problems.
    check_together: Callable[[list, "ContentTree"], list[Problem]] = _no_problems
    # Every quoted passage of an item, with its field: kb check proves each one is in its source.
    quotes: Callable[[Any], list[tuple[str, Evidence]]] | None = None
    keys: tuple[str, ...] = ()  # front matter keys in the order kb writes them (diffs, merges)
    state_key: str | None = None  # the front matter key whose change a publication records: "status"
    optional: bool = False  # its folder may be missing (a kind added after trees were made)
    item_type: type | None = None  # the dataclass items are: the catalog keeps them as JSON (else re-reads the file)
    # A file to start from, for kinds the newsroom proposes as a whole file (no form of their own).
    example: str | None = None

    def read(self, path: Path) -> tuple[Any, list[Problem]]:
        """Read and parse one file of this kind (None and why, when it cannot be read at all)."""
        text, problems = read_content_file(path, self.max_bytes)
        if text is None:
            return None, problems
        return self.parse(path, text)

    def path_of(self, url_id: str) -> str:
        return self.url.format(id=url_id)


@dataclass(frozen=True)
class Key:
    """One content file named as `kind:id`, the form the database, the audit log and the index use."""

    kind: str
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    @classmethod
    def split(cls, text: str) -> "Key":
        """The two halves of a key as written, unchecked (a registry's `parse_key` checks them)."""
        kind, _colon, item_id = str(text).partition(":")
        return cls(kind, item_id)

    @classmethod
    def of(cls, kind: "Kind", item) -> "Key":
        """The key of an item already read."""
        return cls(kind.name, item.id)


class Kinds:
    """The registry: kinds by name, in the order they are listed."""

    def __init__(self, kinds: Iterable[Kind]):
        self._by_name: dict[str, Kind] = {}
        for kind in kinds:
            if kind.name in self._by_name or any(other.folder == kind.folder for other in self._by_name.values()):
                raise ValueError(f"kind declared twice: {kind.name} ({kind.folder}/)")
            self._by_name[kind.name] = kind
        self.by_folder = {kind.folder: kind for kind in self._by_name.values()}

    def __iter__(self) -> Iterator[Kind]:
        return iter(self._by_name.values())

    def __getitem__(self, name: str) -> Kind:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def names(self) -> list[str]:
        return list(self._by_name)

    def key(self, kind: str, item_id: str) -> Key:
        """The key of an item; InvalidKey, said for people, for an unknown kind or a malformed id."""
        if kind not in self._by_name:
            raise InvalidKey(_("type de fiche inconnu : %(kind)s", kind=kind))
        if not isinstance(item_id, str) or not ID_PATTERN.match(item_id) or len(item_id) > MAX_ID_LENGTH:
            raise InvalidKey(
                _(
                    "identifiant invalide « %(id)s » : minuscules sans accents, chiffres et tirets (ex. « piscine-lomme-2026 »)",
                    id=item_id,
                )
            )
        return Key(kind, item_id)

    def parse_key(self, text: str) -> Key:
        """`"promise:<id>"` as a Key; InvalidKey when it names no possible file."""
        kind, colon, item_id = str(text).partition(":")
        if not colon:
            expected = " / ".join(f"{name}:<id>" for name in self._by_name)
            raise InvalidKey(_("clé invalide « %(key)s » (attendu %(expected)s)", key=text, expected=expected))
        return self.key(kind, item_id)

    def path(self, root: Path, key: Key | str) -> Path:
        """The file a key names under a content directory."""
        key = key if isinstance(key, Key) else self.parse_key(key)
        return Path(root) / self[key.kind].folder / f"{key.id}.md"

    def files(self, root: Path) -> dict[Key, Path]:
        """Every regular content file of the tree, by key (what kb check says of the rest is its business)."""
        found = {}
        for kind in self:
            directory = Path(root) / kind.folder
            if directory.is_dir():
                for path in directory.glob("*.md"):
                    if path.name.startswith(".") or not path.is_file():
                        continue
                    try:
                        found[self.key(kind.name, path.stem)] = path
                    except InvalidKey:
                        continue  # a name no key can hold: kb check reports the file
        return found

    def publish_actions(self) -> tuple[str, ...]:
        """The audit actions that wrote a content file: `<kind>.publish`."""
        return tuple(f"{name}.publish" for name in self._by_name)
