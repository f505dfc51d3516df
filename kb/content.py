"""The content tree: read promise, source and claim files into plain objects, write promises back.

Reading is lenient on purpose: a file with a missing field still yields an object (with
None where the value is missing) and a list of problems, so `kb check` can report every
problem of every file in one run. Only files read without error are *published* (served
by the site and indexed); the others are kept aside for the checker.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterable

from . import frontmatter
from .files import atomic_write, display_path, read_content_file
from .model import ID_PATTERN, SOURCE_KINDS, Claim, Evidence, HistoryEntry, Problem, Promise, Source, Status, Verdict
from .quotes import FoldedText
from .statuses import load_statuses
from .verdicts import load_verdicts

# Promises are written by hand: anything this large is an accident (a pasted PDF, a binary).
MAX_PROMISE_BYTES = 512 * 1024
# A claim is a fact-check: a few quotes and an explanation.
MAX_CLAIM_BYTES = 512 * 1024
# Sources hold whole documents; a long council deliberation is a few hundred KB of text.
MAX_SOURCE_BYTES = 20 * 1024 * 1024

PROMISE_KEYS = (
    "id", "title", "made_by", "party", "list", "territory", "theme",
    "made_on", "due", "status", "history", "reply", "aliases",
)  # fmt: skip
SOURCE_KEYS = ("id", "title", "publisher", "kind", "date", "date_note", "reference", "url", "sha256")
CLAIM_KEYS = (
    "id", "title", "claimed_by", "claimed_on", "claim", "territory", "theme",
    "verdict", "reviewed_on", "evidence", "promises",
)  # fmt: skip
HISTORY_KEYS = ("date", "status", "note", "evidence")
EVIDENCE_KEYS = ("source", "quote")
CLAIM_EVIDENCE_KEYS = ("source", "quote", "note")
# Content folders and the kind of file each holds; claims came later, so their folder is optional.
FOLDERS = {"promises": "promise", "sources": "source", "claims": "claim"}
FOLDER_OF = {kind: folder for folder, kind in FOLDERS.items()}
OPTIONAL_FOLDERS = ("claims",)

DATE_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SHA256 = re.compile(r"^[0-9a-f]{64}$")
URL = re.compile(r"^https?://\S+$")


class ContentError(Exception):
    """The content tree cannot be read at all (missing directory…)."""


@dataclass
class ContentTree:
    """Everything under a content directory, as read from disk."""

    root: Path
    statuses: dict[str, Status]
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    promises: dict[str, Promise] = field(default_factory=dict)
    sources: dict[str, Source] = field(default_factory=dict)
    claims: dict[str, Claim] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # Files that parsed only partly: not published, but still checked as far as possible.
    broken_promises: list[Promise] = field(default_factory=list)
    broken_sources: list[Source] = field(default_factory=list)
    broken_claims: list[Claim] = field(default_factory=list)
    # Ids of files that could not be read at all (bad YAML, not UTF-8…).
    unreadable_promises: set[str] = field(default_factory=set)
    unreadable_sources: set[str] = field(default_factory=set)
    unreadable_claims: set[str] = field(default_factory=set)

    @property
    def final_statuses(self) -> set[str]:
        return {key for key, status in self.statuses.items() if status.final}

    @cached_property
    def _latest_first_by(self) -> dict[tuple[str, str], list[Promise]]:
        groups: dict[tuple[str, str], list[Promise]] = {}
        for promise in self.promises.values():
            for key in (("territory", promise.territory), ("theme", promise.theme)):
                groups.setdefault(key, []).append(promise)
            groups.setdefault(("pair", f"{promise.territory}\n{promise.theme}"), []).append(promise)
        for members in groups.values():
            members.sort(key=lambda promise: (promise.updated_on, promise.id), reverse=True)
        return groups

    def related(self, promise: Promise, count: int = 5) -> list[Promise]:
        """Promises of the same territory and theme first, then of either; latest first."""
        groups = self._latest_first_by
        found: list[Promise] = []
        for key in (("pair", f"{promise.territory}\n{promise.theme}"), ("territory", promise.territory), ("theme", promise.theme)):
            for other in groups.get(key, ()):
                if len(found) == count:
                    return found
                if other.id != promise.id and other not in found:
                    found.append(other)
        return found

    @cached_property
    def _verified(self) -> dict[str, dict[str, bool]]:
        return {}

    def quote_verified(self, source_id: str, quote: str) -> bool:
        """Whether `quote` occurs in source `source_id` (the rule of kb check).

        The first quote asked of a source settles every quote citing it, with one folding
        of its text: pages need the answers, and folding a long text is the costly part.
        """
        answers = self._verified.get(source_id)
        if answers is None:
            source = self.sources.get(source_id)
            folded = FoldedText.of(source.text) if source is not None else None
            quotes = {
                proof.quote
                for promise in self._citations.get(source_id, ())
                for entry in promise.history
                for proof in entry.evidence
                if proof.source == source_id
            } | {
                proof.quote
                for claim in self._claim_citations.get(source_id, ())
                for _field, proof in claim.proofs
                if proof.source == source_id
            }
            answers = {quote: bool(folded and folded.contains(quote)) for quote in quotes}
            self._verified[source_id] = answers
        if quote not in answers:  # a quote from outside the tree (a newsroom draft…)
            source = self.sources.get(source_id)
            return source is not None and FoldedText.cached(source.text).contains(quote)
        return answers[quote]

    @cached_property
    def _aliases(self) -> dict[str, str]:
        return {alias: promise.id for promise in self.promises.values() for alias in promise.aliases}

    def alias_target(self, old_id: str) -> str | None:
        """The current id of a promise that used to be called `old_id`, if any."""
        return self._aliases.get(old_id)

    @cached_property
    def _citations(self) -> dict[str, list[Promise]]:
        citing: dict[str, list[Promise]] = {}
        for promise in sorted(self.promises.values(), key=lambda promise: promise.title):
            for source_id in dict.fromkeys(proof.source for entry in promise.history for proof in entry.evidence):
                citing.setdefault(source_id, []).append(promise)
        return citing

    def promises_citing(self, source_id: str) -> list[Promise]:
        """Published promises with at least one quote from `source_id`, by title."""
        return list(self._citations.get(source_id, ()))

    @cached_property
    def _claim_citations(self) -> dict[str, list[Claim]]:
        citing: dict[str, list[Claim]] = {}
        for claim in sorted(self.claims.values(), key=lambda claim: claim.title):
            for source_id in dict.fromkeys(proof.source for _field, proof in claim.proofs):
                citing.setdefault(source_id, []).append(claim)
        return citing

    def claims_citing(self, source_id: str) -> list[Claim]:
        """Published claims quoting `source_id` (the claim itself or its evidence), by title."""
        return list(self._claim_citations.get(source_id, ()))

    @cached_property
    def _claims_by_promise(self) -> dict[str, list[Claim]]:
        linked: dict[str, list[Claim]] = {}
        for claim in sorted(self.claims.values(), key=lambda claim: (claim.reviewed_on, claim.id), reverse=True):
            for promise_id in claim.promises:
                # kb check flags an old id; until fixed, the link still leads to the promise.
                linked.setdefault(self.alias_target(promise_id) or promise_id, []).append(claim)
        return linked

    def claims_about(self, promise_id: str) -> list[Claim]:
        """Published claims that name promise `promise_id` as related, latest verdict first."""
        return list(self._claims_by_promise.get(promise_id, ()))


def read_tree(root: Path, progress: Callable[[list[Path]], Iterable[Path]] | None = None) -> ContentTree:
    """Read a whole content tree: the vocabularies, every promise, source and claim."""
    root = Path(root)
    if not root.is_dir():
        raise ContentError(f"dossier de contenu introuvable : {display_path(root)}")
    statuses, problems = load_statuses(root)
    verdicts, verdict_problems = load_verdicts(root)
    tree = ContentTree(root=root, statuses=statuses, verdicts=verdicts, problems=problems + verdict_problems)
    files: list[Path] = []
    for folder in FOLDERS:
        directory = root / folder
        if not directory.is_dir():
            if directory.exists():
                tree.problems.append(Problem(display_path(directory), None, None, "ce n'est pas un dossier"))
            elif folder not in OPTIONAL_FOLDERS:
                tree.problems.append(Problem(display_path(directory), None, None, "dossier manquant"))
            continue
        for path in sorted(directory.iterdir()):
            if path.name.startswith("."):
                continue  # editor swap files, .gitkeep
            if path.suffix != ".md":
                message = "ignoré : seuls les fichiers .md sont lus"
            elif not path.is_file():
                message = "ignoré : ce n'est pas un fichier ordinaire (dossier, lien cassé ou en boucle…)"
            else:
                files.append(path)
                continue
            tree.problems.append(Problem(display_path(path), None, None, message, "warning"))
    for path in progress(files) if progress else files:
        kind = FOLDERS[path.parent.name]
        item, file_problems = READERS[kind](path)
        published, broken, unreadable = (getattr(tree, f"{prefix}{kind}s") for prefix in ("", "broken_", "unreadable_"))
        _keep(published, broken, unreadable, path, item, file_problems)
        tree.problems.extend(file_problems)
    return tree


def _keep(published: dict, broken: list, unreadable: set, path: Path, item, problems: list[Problem]) -> None:
    if item is None:
        unreadable.add(path.stem)
        return
    if any(problem.severity == "error" for problem in problems):
        broken.append(item)
    else:
        published[item.id] = item


class _Fields:
    """Reads typed fields out of one YAML mapping, recording a problem for each bad one."""

    def __init__(self, shown: str, lines: dict[str, int], problems: list[Problem]):
        self.shown = shown
        self.lines = lines
        self.problems = problems

    def line(self, path: str) -> int | None:
        return frontmatter.nearest_line(self.lines, path)

    def problem(self, path: str | None, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(self.shown, self.line(path or ""), path, message, severity))

    def mapping(self, value: Any, path: str, what: str) -> dict | None:
        if isinstance(value, dict):
            return value
        self.problem(path or None, f"{what} doit être une table « clé: valeur »")
        return None

    def unknown_keys(self, data: dict, prefix: str, known: tuple[str, ...]) -> None:
        for key in data:
            if str(key) not in known:
                hint = difflib.get_close_matches(str(key), known, n=1)
                also = f" ; vouliez-vous dire « {hint[0]} » ?" if hint else f" (champs connus : {', '.join(known)})"
                self.problem(prefix + str(key), f"champ inconnu{also}")

    def text(self, data: dict, key: str, prefix: str = "", required: bool = False) -> str | None:
        path = prefix + key
        value = data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.problem(path, "champ obligatoire manquant ou vide")
            return None
        if not isinstance(value, str):
            self.problem(path, f"doit être du texte (lu : {value!r} ; mettez la valeur entre guillemets)")
            return None
        bad = next((ch for ch in value if ch not in "\n\t" and unicodedata.category(ch) in ("Cc", "Cs")), None)
        if bad is not None:
            self.problem(path, f"caractère interdit U+{ord(bad):04X} (caractère de contrôle ou invalide)")
            return None
        return value.strip()

    def date(self, data: dict, key: str, prefix: str = "", required: bool = False) -> date | None:
        path = prefix + key
        value = data.get(key)
        if value is None:
            if required:
                self.problem(path, "date obligatoire manquante")
            return None
        text = str(value).strip()
        try:
            if not DATE_FORMAT.match(text):
                raise ValueError
            return date.fromisoformat(text)
        except ValueError:
            self.problem(path, f"date invalide « {text} » (attendu AAAA-MM-JJ, par exemple 2022-11-08)")
            return None

    def identifier(self, value: Any, path: str) -> str | None:
        if not isinstance(value, str) or not ID_PATTERN.match(value):
            self.problem(path, f"identifiant invalide « {value} » (minuscules, chiffres et tirets)")
            return None
        return value

    def items(self, data: dict, key: str, prefix: str = "") -> list:
        value = data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(prefix + key, "doit être une liste (lignes commençant par « - »)")
            return []
        return value


def _open_document(path: Path, limit: int, keys: tuple[str, ...]):
    """Read and split a file; return (document, fields reader, problems) or stop early."""
    text, problems = read_content_file(path, limit)
    if text is None:
        return None, None, problems
    return _parse_document(path, text, keys)


def _parse_document(path: Path, text: str, keys: tuple[str, ...]):
    shown = display_path(path)
    problems: list[Problem] = []
    try:
        document = frontmatter.load(text)
    except frontmatter.FrontMatterError as error:
        return None, None, [Problem(shown, error.line, None, error.message)]
    fields = _Fields(shown, document.lines, problems)
    if fields.mapping(document.data, "", "le front matter") is None:
        return None, None, problems
    for key, line in document.duplicate_keys:
        problems.append(Problem(shown, line, key, "champ en double (la deuxième valeur écraserait la première)"))
    fields.unknown_keys(document.data, "", keys)
    _check_file_id(path, document.data, fields)
    return document, fields, problems


def _check_file_id(path: Path, data: dict, fields: _Fields) -> None:
    if not ID_PATTERN.match(path.stem):
        fields.problem(
            None, f"nom de fichier invalide : l'identifiant « {path.stem} » doit être en minuscules, chiffres et tirets"
        )
    if "id" in data and data["id"] != path.stem:
        fields.problem("id", f"l'identifiant « {data['id']} » ne correspond pas au nom du fichier « {path.stem} »")


def read_promise_file(path: Path) -> tuple[Promise | None, list[Problem]]:
    """Parse one promise file; the promise may be partial when there are problems."""
    return _promise_from(path, *_open_document(path, MAX_PROMISE_BYTES, PROMISE_KEYS))


def parse_promise(path: Path, text: str) -> tuple[Promise | None, list[Problem]]:
    """Parse a promise file's text as if it were at `path` (nothing is read from disk)."""
    return _promise_from(path, *_parse_document(path, text, PROMISE_KEYS))


def _promise_from(path: Path, document, fields, problems) -> tuple[Promise | None, list[Problem]]:
    if document is None:
        return None, problems
    data = document.data
    history = []
    for index, item in enumerate(fields.items(data, "history")):
        entry = _read_history_entry(item, index, fields)
        if entry is not None:
            history.append(entry)
    if data.get("history") in (None, []):
        fields.problem("history", "historique manquant : au moins une entrée datée avec un statut")
    aliases = []
    for index, alias in enumerate(fields.items(data, "aliases")):
        alias = fields.identifier(alias, f"aliases[{index}]")
        if alias:
            aliases.append(alias)
    promise = Promise(
        id=path.stem,
        title=fields.text(data, "title", required=True),
        made_by=fields.text(data, "made_by", required=True),
        territory=fields.text(data, "territory", required=True),
        theme=fields.text(data, "theme", required=True),
        made_on=fields.date(data, "made_on", required=True),
        status=fields.text(data, "status", required=True),
        history=history,
        party=fields.text(data, "party"),
        list_name=fields.text(data, "list"),
        due=fields.date(data, "due"),
        reply=fields.text(data, "reply"),
        aliases=aliases,
        body=document.body.strip("\n"),
        path=path,
        lines=document.lines,
    )
    return promise, problems


def _read_history_entry(item: Any, position: int, fields: _Fields) -> HistoryEntry | None:
    path = f"history[{position}]"
    data = fields.mapping(item, path, "une entrée d'historique")
    if data is None:
        return None
    prefix = path + "."
    fields.unknown_keys(data, prefix, HISTORY_KEYS)
    evidence = []
    for index, proof in enumerate(fields.items(data, "evidence", prefix)):
        proof_path = f"{prefix}evidence[{index}]"
        proof_data = fields.mapping(proof, proof_path, "une preuve")
        if proof_data is None:
            continue
        proof = _read_quote(proof_data, proof_path, fields, EVIDENCE_KEYS, position=index)
        if proof is not None:
            evidence.append(proof)
    return HistoryEntry(
        date=fields.date(data, "date", prefix, required=True),
        status=fields.text(data, "status", prefix, required=True),
        note=fields.text(data, "note", prefix),
        evidence=evidence,
        line=fields.line(path),
        position=position,
    )


def read_source_file(path: Path) -> tuple[Source | None, list[Problem]]:
    """Parse one source file; its body is the document's text, kept exactly as it is."""
    return _source_from(path, *_open_document(path, MAX_SOURCE_BYTES, SOURCE_KEYS))


def parse_source(path: Path, text: str) -> tuple[Source | None, list[Problem]]:
    """Parse a source file's text as if it were at `path` (nothing is read from disk)."""
    return _source_from(path, *_parse_document(path, text, SOURCE_KEYS))


def _source_from(path: Path, document, fields, problems) -> tuple[Source | None, list[Problem]]:
    if document is None:
        return None, problems
    data = document.data
    kind = fields.text(data, "kind", required=True)
    if kind and kind not in SOURCE_KINDS:
        fields.problem("kind", f"type inconnu « {kind} » (types possibles : {', '.join(SOURCE_KINDS)})")
    url = fields.text(data, "url")
    if url and not URL.match(url):
        fields.problem("url", f"adresse invalide « {url} » (attendu http:// ou https://)")
    sha256 = fields.text(data, "sha256")
    if sha256 and not SHA256.match(sha256):
        fields.problem("sha256", "empreinte invalide (64 caractères hexadécimaux en minuscules)")
    if not document.body.strip():
        fields.problem(None, "texte du document vide : le texte intégral suit le front matter")
    source = Source(
        id=path.stem,
        title=fields.text(data, "title", required=True),
        publisher=fields.text(data, "publisher", required=True),
        kind=kind,
        date=fields.date(data, "date", required=True),
        text=document.body,
        reference=fields.text(data, "reference"),
        url=url,
        sha256=sha256,
        date_note=fields.text(data, "date_note"),
        path=path,
        lines=document.lines,
    )
    return source, problems


def read_claim_file(path: Path) -> tuple[Claim | None, list[Problem]]:
    """Parse one claim file; the claim may be partial when there are problems."""
    return _claim_from(path, *_open_document(path, MAX_CLAIM_BYTES, CLAIM_KEYS))


def parse_claim(path: Path, text: str) -> tuple[Claim | None, list[Problem]]:
    """Parse a claim file's text as if it were at `path` (nothing is read from disk)."""
    return _claim_from(path, *_parse_document(path, text, CLAIM_KEYS))


def _claim_from(path: Path, document, fields, problems) -> tuple[Claim | None, list[Problem]]:
    if document is None:
        return None, problems
    data = document.data
    quote = None
    if data.get("claim") is None:
        fields.problem("claim", "affirmation manquante : la citation exacte (quote) et la source où elle figure (source)")
    else:
        stated = fields.mapping(data.get("claim"), "claim", "l'affirmation")
        if stated is not None:
            quote = _read_quote(stated, "claim", fields, EVIDENCE_KEYS)
    evidence = []
    for index, item in enumerate(fields.items(data, "evidence")):
        proof_path = f"evidence[{index}]"
        proof_data = fields.mapping(item, proof_path, "une preuve")
        if proof_data is not None:
            proof = _read_quote(proof_data, proof_path, fields, CLAIM_EVIDENCE_KEYS, position=index)
            if proof is not None:
                evidence.append(proof)
    promises = []
    for index, promise_id in enumerate(fields.items(data, "promises")):
        promise_id = fields.identifier(promise_id, f"promises[{index}]")
        if promise_id:
            promises.append(promise_id)
    claim = Claim(
        id=path.stem,
        title=fields.text(data, "title", required=True),
        claimed_by=fields.text(data, "claimed_by", required=True),
        claimed_on=fields.date(data, "claimed_on", required=True),
        quote=quote,
        verdict=fields.text(data, "verdict", required=True),
        reviewed_on=fields.date(data, "reviewed_on", required=True),
        evidence=evidence,
        territory=fields.text(data, "territory"),
        theme=fields.text(data, "theme"),
        promises=promises,
        body=document.body.strip("\n"),
        path=path,
        lines=document.lines,
    )
    return claim, problems


def _read_quote(data: dict, path: str, fields: _Fields, keys: tuple[str, ...], position: int | None = None) -> Evidence | None:
    """A quoted passage (source + quote, and a note where `keys` allow one) at `path` in the file."""
    fields.unknown_keys(data, path + ".", keys)
    source = fields.text(data, "source", path + ".", required=True)
    quote = fields.text(data, "quote", path + ".", required=True)
    note = fields.text(data, "note", path + ".") if "note" in keys else None
    if not (source and quote):
        return None
    return Evidence(source, quote, note=note, line=fields.line(path + ".quote"), position=position)


READERS = {"promise": read_promise_file, "source": read_source_file, "claim": read_claim_file}


def promise_to_text(promise: Promise) -> str:
    """The file kb writes for a promise: fixed key order, stable YAML, Markdown body."""
    data: dict[str, Any] = {"title": promise.title, "made_by": promise.made_by}
    if promise.party:
        data["party"] = promise.party
    if promise.list_name:
        data["list"] = promise.list_name
    data.update(territory=promise.territory, theme=promise.theme, made_on=promise.made_on)
    if promise.due:
        data["due"] = promise.due
    data["status"] = promise.status
    data["history"] = [_history_to_data(entry) for entry in promise.history]
    if promise.reply:
        data["reply"] = promise.reply
    data["aliases"] = list(promise.aliases)
    return frontmatter.dump(data, promise.body)


def _history_to_data(entry: HistoryEntry) -> dict[str, Any]:
    data: dict[str, Any] = {"date": entry.date, "status": entry.status}
    if entry.note:
        data["note"] = entry.note
    if entry.evidence:
        data["evidence"] = [_quote_to_data(proof) for proof in entry.evidence]
    return data


def source_to_text(source: Source) -> str:
    """The file kb writes for a source: fixed key order; the text kept exactly as given."""
    data: dict[str, Any] = {"title": source.title, "publisher": source.publisher, "kind": source.kind, "date": source.date}
    for key in ("date_note", "reference", "url", "sha256"):
        if getattr(source, key):
            data[key] = getattr(source, key)
    return frontmatter.dump(data, source.text)


def claim_to_text(claim: Claim) -> str:
    """The file kb writes for a claim: fixed key order, stable YAML, the explanation as body."""
    data: dict[str, Any] = {"title": claim.title, "claimed_by": claim.claimed_by, "claimed_on": claim.claimed_on}
    if claim.quote:
        data["claim"] = {"source": claim.quote.source, "quote": claim.quote.quote}
    for key in ("territory", "theme"):
        if getattr(claim, key):
            data[key] = getattr(claim, key)
    data.update(verdict=claim.verdict, reviewed_on=claim.reviewed_on)
    data["evidence"] = [_quote_to_data(proof) for proof in claim.evidence]
    data["promises"] = list(claim.promises)
    return frontmatter.dump(data, claim.body)


def _quote_to_data(proof: Evidence) -> dict[str, Any]:
    data = {"source": proof.source, "quote": proof.quote}
    if proof.note:
        data["note"] = proof.note
    return data


def write_promise(content_root: Path, promise: Promise) -> Path:
    """Write a promise file atomically; return its path. Refuses to write an unreadable file."""
    if not isinstance(promise.id, str) or not ID_PATTERN.match(promise.id):
        raise ContentError(f"identifiant de promesse invalide : {promise.id!r}")
    path = Path(content_root) / "promises" / f"{promise.id}.md"
    text = promise_to_text(promise)
    # What is written must read back as the same promise, without error: check it in memory first.
    again, problems = parse_promise(path, text)
    errors = [str(problem) for problem in problems if problem.severity == "error"]
    if errors or again != promise:
        raise ContentError("promesse non écrite, elle serait invalide : " + ("; ".join(errors) or "relecture différente"))
    atomic_write(path, text)
    return path
