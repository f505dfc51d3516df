"""Authors of promises and claims as people's ids: the migration of names written in words.

Before people had files, a promise said `made_by: Bernard Gérard et Sébastien Leprêtre`. The
migration (`kb people migrate`) gives each name a file in `content/people/` (kind guessed from the
words, the name kept as an alias so that old addresses still lead there) and writes the ids in
place of the words: only the `made_by:` / `claimed_by:` line of each file changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from kb.config.i18n import gettext as _
from kb.content.files import atomic_write, display_path
from kb.content.listing import slug
from kb.content.model import ID_PATTERN, ContentError, Person
from kb.content.people import guessed_kind, split_names, to_text
from kb.content.registry import MAX_ID_LENGTH
from kb.content.tree import ContentTree, read_tree

# The fields that name authors, by kind.
AUTHOR_FIELDS = {"promise": "made_by", "claim": "claimed_by"}


@dataclass
class Migration:
    """What a migration writes (or would write, dry run)."""

    people: dict[str, Person] = field(default_factory=dict)  # new files, by id
    files: dict[Path, list[str]] = field(default_factory=dict)  # files whose authors become these ids
    skipped: list[str] = field(default_factory=list)  # files left as they are, and why


def author_ids(tree: ContentTree, names: list[str], new: dict[str, Person]) -> list[str]:
    """The ids these authors stand for: ids kept, names looked up among people's names and aliases, others made."""
    ids: list[str] = []
    for written in names:
        if ID_PATTERN.match(written):
            ids.append(written)
            continue
        parts = split_names(written)
        known = tree.person_named(written) if len(parts) == 1 else None
        if known:
            ids.append(known)
            continue
        for position, name in enumerate(parts):
            known = tree.person_named(name) or next((p.id for p in new.values() if name.casefold() in {a.casefold() for a in [p.name, *p.aliases]}), None)
            if known is None:
                known = slug(name)[:MAX_ID_LENGTH - 4].strip("-")
                while known in new or tree.has_file("person", known):
                    known += "-2"
                # The words as written stay an alias (of the first of several): old /elus/<nom> addresses lead there.
                aliases = [name] + ([written] if position == 0 and written != name else [])
                new[known] = Person(id=known, name=name, kind=guessed_kind(name), aliases=aliases)
            ids.append(known)
    return list(dict.fromkeys(ids))


def plan(root: Path) -> Migration:
    """What migrating the tree at `root` would write."""
    tree = read_tree(root)
    found = Migration()
    for kind, name in AUTHOR_FIELDS.items():
        for item in tree.every(kind):
            authors = getattr(item, name) or []
            if all(ID_PATTERN.match(author) and tree.has_file("person", author) for author in authors):
                continue
            ids = author_ids(tree, authors, found.people)
            if name not in item.lines:
                found.skipped.append(_("%(path)s : pas de champ %(field)s", path=display_path(item.path), field=name))
                continue
            found.files[item.path] = ids
    return found


def apply(root: Path, migration: Migration) -> None:
    """Write the new people's files, then the ids in each file's author line (every file checked first)."""
    texts = {path: _with_authors(path, AUTHOR_FIELDS["promise" if path.parent.name == "promises" else "claim"], ids) for path, ids in migration.files.items()}
    folder = Path(root) / "people"
    folder.mkdir(exist_ok=True)
    for person in migration.people.values():
        atomic_write(folder / f"{person.id}.md", to_text(person))
    for path, text in texts.items():
        atomic_write(path, text)


def _with_authors(path: Path, name: str, ids: list[str]) -> str:
    """The file's text with its one-line `name:` field set to these ids; a ContentError when it is not one line."""
    text = path.read_text(encoding="utf-8")
    pattern = re.compile(rf"^{name}:[ \t]*(?P<value>[^\n]*)$", re.MULTILINE)
    matches = list(pattern.finditer(text.split("\n---", 1)[0]))
    if len(matches) != 1 or not matches[0].group("value").strip() or matches[0].group("value").strip()[:1] in "|>-[":
        raise ContentError(
            _(
                "%(path)s : le champ %(field)s n'est pas sur une ligne ; écrivez-y les identifiants à la main : %(ids)s",
                path=display_path(path),
                field=name,
                ids=", ".join(ids),
            )
        )
    # As kb writes the field: one id on the line, several as a list below it.
    value = f" {ids[0]}" if len(ids) == 1 else "".join(f"\n  - {author}" for author in ids)
    start, end = matches[0].span()
    return text[:start] + f"{name}:{value}" + text[end:]
