"""People and institutions: who makes promises and claims, their file, their rules, what search indexes.

A promise names its authors by id (`made_by: martine-aubry`, or a list for a joint promise), a
claim likewise (`claimed_by:`). Trees written before people had files named them in words
("Martine Aubry"): `kb people migrate` writes a file per name and puts the ids in their place, and
a person keeps the words as `aliases`, so that the old `/elus/<nom>` addresses still lead to them.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.content import frontmatter
from kb.content.fields import URL, Fields, open_document, problem_at
from kb.content.model import ID_PATTERN, Person, Problem, Role
from kb.content.registry import Indexed
from kb.content.render import markdown_to_text
from kb.config.i18n import N_
from kb.config.i18n import gettext as _

if TYPE_CHECKING:
    from kb.content.tree import ContentTree

MAX_BYTES = 256 * 1024
KEYS = ("id", "name", "kind", "party", "roles", "photo", "links", "aliases")
ROLE_KEYS = ("title", "from", "to")
PHOTO_KEYS = ("file", "credit", "licence")
KINDS = {"person": N_("personne"), "institution": N_("institution")}
# The pictures a photo may be, by extension: served with this type, never anything else.
PHOTO_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}
MEDIA_FOLDER = "media"
MAX_PHOTO_BYTES = 2 * 1024 * 1024
_MEDIA_NAME = re.compile(r"^[a-z0-9]+(?:[-_.][a-z0-9]+)*$")


EXAMPLE = """---
name: Prénom Nom
kind: person
party: Parti
roles:
  - title: Maire de …
    from: 2026-03-22
links:
  - https://fr.wikipedia.org/wiki/…
---
Une courte biographie.
"""


def parse(path: Path, text: str) -> tuple[Person | None, list[Problem]]:
    """Parse a person's file as if it were at `path`."""
    document, fields, problems = open_document(path, text, KEYS)
    if document is None:
        return None, problems
    data = document.data
    kind = fields.text(data, "kind", required=True)
    if kind and kind not in KINDS:
        fields.problem("kind", _("genre inconnu « %(kind)s » (person ou institution)", kind=kind))
    roles = []
    for index, item in enumerate(fields.items(data, "roles")):
        role = _role(item, f"roles[{index}]", fields)
        if role is not None:
            roles.append(role)
    photo = credit = licence = None
    if data.get("photo") is not None:
        found = fields.mapping(data["photo"], "photo", _("la photo doit être une table « clé: valeur »"))
        if found is not None:
            fields.unknown_keys(found, "photo.", PHOTO_KEYS)
            photo = fields.text(found, "file", "photo.", required=True)
            credit = fields.text(found, "credit", "photo.", required=True)
            licence = fields.text(found, "licence", "photo.", required=True)
            if photo and (not _MEDIA_NAME.match(photo) or Path(photo).suffix not in PHOTO_TYPES):
                kinds = ", ".join(PHOTO_TYPES)
                fields.problem("photo.file", _("nom de fichier invalide « %(name)s » (minuscules, chiffres, tirets ; %(kinds)s)", name=photo, kinds=kinds))
                photo = None
    links = []
    for index, link in enumerate(fields.items(data, "links")):
        if isinstance(link, str) and URL.match(link.strip()):
            links.append(link.strip())
        else:
            fields.problem(f"links[{index}]", _("adresse invalide « %(url)s » (attendu http:// ou https://)", url=link))
    aliases = []
    for index, alias in enumerate(fields.items(data, "aliases")):
        if isinstance(alias, str) and alias.strip():
            aliases.append(alias.strip())
        else:
            fields.problem(f"aliases[{index}]", _("un alias est un nom, en texte"))
    person = Person(
        id=path.stem,
        name=fields.text(data, "name", required=True),
        kind=kind,
        roles=roles,
        party=fields.text(data, "party"),
        photo=photo,
        photo_credit=credit,
        photo_licence=licence,
        links=links,
        aliases=aliases,
        body=document.body.strip("\n"),
        path=path,
        lines=document.lines,
    )
    return person, problems


def _role(item: Any, path: str, fields: Fields) -> Role | None:
    data = fields.mapping(item, path, _("un rôle doit être une table « clé: valeur »"))
    if data is None:
        return None
    prefix = path + "."
    fields.unknown_keys(data, prefix, ROLE_KEYS)
    role = Role(fields.text(data, "title", prefix, required=True), fields.date(data, "from", prefix), fields.date(data, "to", prefix))
    if role.start and role.end and role.end < role.start:
        fields.problem(f"{prefix}to", _("la fin du rôle précède son début"))
    return role if role.title else None


def to_text(person: Person) -> str:
    """The file kb writes for a person or an institution."""
    data: dict[str, Any] = {"name": person.name, "kind": person.kind}
    if person.party:
        data["party"] = person.party
    if person.roles:
        data["roles"] = [
            {"title": role.title, **({"from": role.start} if role.start else {}), **({"to": role.end} if role.end else {})}
            for role in person.roles
        ]
    if person.photo:
        data["photo"] = {"file": person.photo, "credit": person.photo_credit, "licence": person.photo_licence}
    if person.links:
        data["links"] = list(person.links)
    if person.aliases:
        data["aliases"] = list(person.aliases)
    return frontmatter.dump(data, person.body)


def photo_path(root: Path, person: Person) -> Path | None:
    """Where a person's photo is in the content tree (None: no photo)."""
    return Path(root) / MEDIA_FOLDER / person.photo if person.photo else None


def check(person: Person, tree: ContentTree, today: date) -> list[Problem]:
    """The photo is a file of the tree's media/ folder, not too large; roles do not start in the future."""
    problems = []
    path = photo_path(tree.root, person)
    if path is not None:
        if not path.is_file():
            problems.append(problem_at(person, "photo.file", _("photo introuvable : %(path)s", path=f"{MEDIA_FOLDER}/{person.photo}")))
        elif path.stat().st_size > MAX_PHOTO_BYTES:
            message = _(
                "photo trop lourde (%(size)s Kio ; limite %(limit)s Kio)", size=path.stat().st_size // 1024, limit=MAX_PHOTO_BYTES // 1024
            )
            problems.append(problem_at(person, "photo.file", message))
    for index, role in enumerate(person.roles):
        if role.start and role.start > today:
            problems.append(problem_at(person, f"roles[{index}].from", _("date dans le futur (%(date)s)", date=role.start.isoformat())))
    return problems


def check_together(people: list[Person], tree: ContentTree) -> list[Problem]:
    """A name written before people had ids (an alias) leads to one person only."""
    problems = []
    claimed: dict[str, Person] = {}
    for person in people:
        for index, alias in enumerate(person.aliases):
            other = claimed.get(alias.casefold())
            if other is not None and other is not person:
                problems.append(problem_at(person, f"aliases[{index}]", _("le nom « %(alias)s » est déjà un alias de « %(id)s »", alias=alias, id=other.id)))
            claimed.setdefault(alias.casefold(), person)
    return problems


def indexed(person: Person) -> Indexed:
    """What search knows of a person: the name, the roles, the party, the biography."""
    roles = " · ".join(role.title for role in person.roles)
    return Indexed(
        title=person.name,
        texts=[roles, person.party, *person.aliases, person.body],
        snippet=" · ".join(filter(None, [roles, person.party, markdown_to_text(person.body)])),
        facets={"party": person.party},
    )


def joined(authors: list[str]) -> str | None:
    """Authors as one facet value ("a\nb"): lists, search and the catalog split it again (kb.content.listing.authors_of)."""
    return "\n".join(authors) or None


def authors_value(authors: list[str]):
    """Authors as a file writes them: one id alone, several as a list."""
    return authors[0] if len(authors) == 1 else list(authors)


def author_words(authors: list[str]) -> str:
    """Authors as words search can match: ids with spaces ("martine aubry"), names as written."""
    return " ".join(author.replace("-", " ") if ID_PATTERN.match(author) else author for author in authors)


def author_problems(item, field: str, authors: list[str], tree: ContentTree) -> list[Problem]:
    """Each author an item names is the id of a person's file (a name in words gets the way to migrate)."""
    problems = []
    for index, author in enumerate(authors):
        where = field if len(authors) == 1 else f"{field}[{index}]"
        if ID_PATTERN.match(author) and tree.has_file("person", author):
            continue
        known = tree.person_named(author) if not ID_PATTERN.match(author) else None
        if known:
            message = _("auteur inconnu « %(author)s » ; écrivez son identifiant « %(id)s »", author=author, id=known)
        elif not ID_PATTERN.match(author):
            message = _(
                "auteur inconnu « %(author)s » ; `kb people migrate` crée les fiches des noms écrits en toutes lettres "
                "et met leurs identifiants à leur place",
                author=author,
            )
        else:
            message = _("auteur inconnu « %(author)s » (aucun fichier people/%(author)s.md)", author=author)
        problems.append(problem_at(item, where, message))
    return problems


# Words that say a name is an institution's, not a person's ("Ville de Lille", "Lille Métropole").
INSTITUTION_WORDS = {
    "metropole", "ville", "mairie", "commune", "communes", "conseil", "communaute", "departement", "region", "etat",
    "prefecture", "syndicat", "agence", "office", "gouvernement", "ministere", "assemblee", "senat", "association",
}  # fmt: skip
JOINED = re.compile(r"\s+et\s+|\s*,\s*|\s*&\s*")


def split_names(text: str) -> list[str]:
    """The people a name in words stands for: "Bernard Gérard et Sébastien Leprêtre" → two names.

    An institution's name is never split ("Marcq-en-Barœul et La Madeleine" names two towns, once).
    """
    if _is_institution(text):
        return [text.strip()]
    return [part.strip() for part in JOINED.split(text) if part.strip()]


def _is_institution(name: str) -> bool:
    from kb.content.quotes import fold

    return bool(set(re.findall(r"[a-z]+", fold(name))) & INSTITUTION_WORDS)


def guessed_kind(name: str) -> str:
    """person or institution, from the words of a name (a migration's first guess; the file says for good)."""
    return "institution" if _is_institution(name) else "person"
