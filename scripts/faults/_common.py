"""What the fault and load scripts share: a scratch installation, a production server, a newsroom client, the invariants.

Each script builds its own installation in a temporary directory (a copy of the demo content,
an instance directory, a database: a SQLite file, or a fresh schema on the PostgreSQL server
given with --database), runs, checks, prints its figures and a PASS/FAIL line, and removes
everything it made (unless --keep).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from sqlalchemy import select  # noqa: E402

from kb.store import audit  # noqa: E402
from kb.search.index import SearchIndex, content_files, file_sha256, indexed_hashes  # noqa: E402
from kb.newsroom.workflow import ChangeRequest  # noqa: E402

from kb.bench.harness import (  # noqa: E402, F401 — the scripts use them through this module
    EDITORS, JOURNALISTS, KB, MARKER, PASSWORD, Client, Scratch, Server, Words, free_port, http_get, marker_of, propose_edit,
    with_marker,
)


def arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--database",
        default="sqlite",
        help="« sqlite » (défaut : un fichier dans l'instance de l'essai) ou une URL postgresql://… (un schéma neuf y est créé puis supprimé)",
    )
    parser.add_argument("--keep", action="store_true", help="garder le dossier de l'essai (et le schéma PostgreSQL) pour l'examiner")
    parser.add_argument("--seed", type=int, default=None, help="graine du hasard (défaut : aléatoire, affichée)")
    return parser


def search_ids(base: str, word: str, timeout: float = 10) -> list[str] | None:
    """The ids /api/search finds for `word` (a fresh connection each time); None when the search failed."""
    status, body = http_get(f"{base}/api/search?q={urllib.parse.quote(word)}", timeout=timeout)
    if status != 200:
        return None
    return [hit["id"] for hit in json.loads(body)["results"]]


# -- invariants ---------------------------------------------------------------------------------


@dataclass
class Findings:
    """What the checks found: a list of problems (empty: PASS) and figures."""

    problems: list[str] = field(default_factory=list)
    figures: dict = field(default_factory=dict)

    def fail(self, message: str) -> None:
        self.problems.append(message)

    def expect(self, condition: bool, message: str) -> bool:
        if not condition:
            self.fail(message)
        return condition


def check_tree(scratch: Scratch, findings: Findings) -> None:
    """`kb check` on the tree: every file parses, every quote is in its source."""
    result = scratch.kb("check", "--content", str(scratch.content), check=False)
    findings.expect(result.returncode == 0, f"kb check échoue :\n{(result.stdout + result.stderr)[-2000:]}")


def temporary_files(scratch: Scratch) -> list[Path]:
    """Leftover temporary files of atomic_write (.<name>.<random>.tmp) in the content tree."""
    return sorted(scratch.content.rglob(".*.tmp"))


def check_publications(scratch: Scratch, findings: Findings, allow_approved: bool = False) -> dict:
    """Database against files: states, one publish row per published change, each file = its last published text.

    Returns {"states": Counter, "approved_written": [ids], "approved_unwritten": [ids]}.
    An approved request (a publication interrupted) is allowed only when `allow_approved`: written
    (its file holds its text, not yet recorded) or not written. Every touched file must be a known
    version (a base or a proposed text): never half-written.
    """
    result = {"states": Counter(), "approved_written": [], "approved_unwritten": []}
    with scratch.sessions()() as session:
        changes = list(session.scalars(select(ChangeRequest).order_by(ChangeRequest.id)))
        rows = list(session.scalars(select(audit.AuditEntry).where(audit.AuditEntry.action.in_(audit.PUBLISH_ACTIONS)).order_by(audit.AuditEntry.id)))
    by_change = Counter(row.change_id for row in rows)
    last_published: dict[str, ChangeRequest] = {}
    by_id = {change.id: change for change in changes}
    for row in rows:  # publication rows are written in publication order, under the lock
        change = by_id.get(row.change_id)
        if change is not None:
            last_published[change.target] = change
    for change in changes:
        result["states"][change.state] += 1
        publish_rows = by_change.get(change.id, 0)
        if change.state == "published":
            findings.expect(publish_rows == 1, f"demande {change.id} publiée avec {publish_rows} ligne(s) {change.target_kind}.publish")
        else:
            findings.expect(publish_rows == 0, f"demande {change.id} « {change.state} » avec {publish_rows} ligne(s) de publication")
        if change.state == "approved":
            path = scratch.content / "promises" / f"{change.target_id}.md"
            on_disk = path.read_text(encoding="utf-8") if path.exists() else None
            # Not its text: not written (the file may be its base, or what a competing request published since).
            result["approved_written" if on_disk == change.proposed_text else "approved_unwritten"].append(change.id)
            if not allow_approved:
                findings.fail(f"demande {change.id} restée « approuvée » (ni publiée ni en conflit)")
    # No file half-written: each touched file is a version some request was based on or proposed.
    for target in {change.target for change in changes}:
        path = scratch.content / "promises" / f"{target.partition(':')[2]}.md"
        on_disk = path.read_text(encoding="utf-8") if path.exists() else None
        known = {text for change in changes if change.target == target for text in (change.base_text, change.proposed_text)}
        findings.expect(on_disk in known, f"{target} : le fichier n'est aucune version connue (écrit à moitié ?)")
    for target, change in last_published.items():
        path = scratch.content / "promises" / f"{change.target_id}.md"
        on_disk = path.read_text(encoding="utf-8") if path.exists() else None
        if on_disk == change.proposed_text:
            continue
        # A later approved request written but not yet recorded (interrupted) legitimately holds the file.
        later = [other for other in changes if other.target == target and other.state == "approved" and other.proposed_text == on_disk]
        if not (allow_approved and later):
            findings.fail(f"{target} : le fichier n'est pas le texte de sa dernière publication (demande {change.id})")
    return result


def check_index(scratch: Scratch, findings: Findings, index_dir: Path | None = None) -> dict:
    """The index opens, has one document per file, and each document's hash is its file's."""
    index = SearchIndex(index_dir or scratch.instance / "index", scratch.content)
    ix = index._open_existing()
    if not findings.expect(ix is not None, "l'index de recherche ne s'ouvre pas"):
        return {"documents": 0, "stale": None}
    files = content_files(scratch.content)
    with ix.searcher() as searcher:
        hashes = indexed_hashes(searcher.reader())
        count = searcher.doc_count()
    stale = sorted(key for key, path in files.items() if hashes.get(key) != file_sha256(path))
    findings.expect(count == len(files), f"index : {count} documents pour {len(files)} fichiers")
    findings.expect(not stale, f"index en retard sur {len(stale)} fichier(s) : {', '.join(stale[:5])}")
    return {"documents": count, "stale": len(stale)}


def verdict(findings: Findings, name: str) -> int:
    """Print the problems and the PASS/FAIL line; the exit code."""
    for problem in findings.problems[:50]:
        print(f"  ! {problem}")
    if len(findings.problems) > 50:
        print(f"  ! … et {len(findings.problems) - 50} autre(s)")
    if findings.problems:
        print(f"FAIL {name} : {len(findings.problems)} problème(s)")
        return 1
    print(f"PASS {name}")
    return 0


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]
