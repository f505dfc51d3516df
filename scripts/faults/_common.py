"""What the fault and load scripts share: a scratch installation, a production server, a newsroom client, the invariants.

Each script builds its own installation in a temporary directory (a copy of the demo content,
an instance directory, a database: a SQLite file, or a fresh schema on the PostgreSQL server
given with --database), runs, checks, prints its figures and a PASS/FAIL line, and removes
everything it made (unless --keep).
"""

from __future__ import annotations

import argparse
import html
import http.cookiejar
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from kb.store import audit  # noqa: E402
from kb.store.accounts import add_user, find_user  # noqa: E402
from kb.store.db import dispose_all, normalize_url, open_database  # noqa: E402
from kb.search.index import SearchIndex, content_files, file_sha256, indexed_hashes  # noqa: E402
from kb.newsroom.workflow import ChangeRequest  # noqa: E402

KB = str(Path(sys.executable).parent / "kb")
PASSWORD = "mot-de-passe-des-essais-de-panne"
JOURNALISTS = [f"journaliste{n}@essais.fr" for n in range(1, 3)]
EDITORS = [f"editeur{n}@essais.fr" for n in range(1, 9)]
# Letters the French stemmer leaves alone in a vowel-less word (no plural s/x): each marker word
# is indexed as itself, so a search for it finds exactly the version that carries it.
_LETTERS = "bcdfghjklmnpqrtvwz"
MARKER = "Repère de vérification : "


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


class Words:
    """Unique made-up words (« zqkbcd… »), one per version of a file, so that a search tells versions apart."""

    def __init__(self) -> None:
        self.run = "".join(secrets.choice(_LETTERS) for _ in range(3))
        self._numbers = itertools.count()

    def next(self) -> str:
        n, digits = next(self._numbers), ""
        for _ in range(4):
            n, digit = divmod(n, len(_LETTERS))
            digits = _LETTERS[digit] + digits
        return f"zq{self.run}{digits}"


def with_marker(text: str, word: str) -> str:
    """The promise file with its marker paragraph (appended, or replaced) naming `word`: a real edit of the body."""
    lines = text.rstrip("\n").split("\n")
    lines = [line for line in lines if not line.startswith(MARKER)]
    while lines and lines[-1] == "":
        lines.pop()
    return "\n".join(lines) + f"\n\n{MARKER}{word}, relu par la rédaction.\n"


def marker_of(text: str | None) -> str | None:
    match = re.search(rf"^{re.escape(MARKER)}(\w+),", text or "", re.M)
    return match.group(1) if match else None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Scratch:
    """One throw-away installation: content copy, instance directory, database, accounts."""

    def __init__(self, name: str, database: str, keep: bool = False, copy_content: bool = True):
        self.keep = keep
        self.root = Path(tempfile.mkdtemp(prefix=f"kb-faults-{name}-"))
        self.content = self.root / "content"
        if copy_content:  # else the script copies it itself (onto a small file system)
            shutil.copytree(REPO / "content", self.content)
        self.instance = self.root / "instance"
        self.instance.mkdir()
        self.schema = None
        self._admin = None
        if database == "sqlite":
            self.url = f"sqlite:///{self.instance / 'kb.sqlite3'}"
        elif database.startswith(("postgresql:", "postgres:")):
            self.schema = f"faults_{name.replace('-', '_')}_{uuid.uuid4().hex[:10]}"
            self._admin = create_engine(normalize_url(database), poolclass=NullPool, isolation_level="AUTOCOMMIT")
            with self._admin.connect() as connection:
                connection.execute(text(f"CREATE SCHEMA {self.schema}"))
            self.url = f"{database}{'&' if '?' in database else '?'}options=-csearch_path%3D{self.schema}"
        else:
            raise SystemExit(f"--database : « sqlite » ou une URL postgresql://…, pas {database!r}")
        self.kind = "postgresql" if self.schema else "sqlite"
        self.env = dict(
            os.environ,
            KB_CONTENT_DIR=str(self.content),
            KB_INSTANCE_DIR=str(self.instance),
            DATABASE_URL=self.url,
            KB_SECRET_KEY=secrets.token_hex(32),
            KB_PUBLISH_GIT_COMMIT="false",
            KB_LOG_FORMAT="json",
        )
        self.env.pop("KB_CONFIG", None)
        self.env.pop("KB_INDEX_DIR", None)
        self._sessions = None

    def kb(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([KB, *args], env=self.env, cwd=self.root, capture_output=True, text=True, check=check, timeout=600)

    def setup(self) -> None:
        """Tables (kb db upgrade, as in production) and the accounts: journalists propose, editors approve."""
        self.kb("db", "upgrade")
        with self.sessions()() as session:
            for email in JOURNALISTS:
                add_user(session, email, PASSWORD, "journalist", email.split("@")[0].capitalize())
            for email in EDITORS:
                add_user(session, email, PASSWORD, "editor", email.split("@")[0].capitalize())

    def sessions(self):
        if self._sessions is None:
            self._sessions = open_database(self.url, upgrade=False)
        return self._sessions

    @property
    def engine(self):
        return self.sessions().kw["bind"]

    def promise_path(self, promise_id: str) -> Path:
        return self.content / "promises" / f"{promise_id}.md"

    def promise_ids(self) -> list[str]:
        return sorted(path.stem for path in (self.content / "promises").glob("*.md"))

    def cleanup(self) -> None:
        dispose_all()
        if self._sessions is not None:
            self._sessions.kw["bind"].dispose()
        if self.keep:
            print(f"essai gardé : {self.root}" + (f" ; schéma PostgreSQL {self.schema}" if self.schema else ""))
            return
        if self._admin is not None:
            with self._admin.connect() as connection:
                connection.execute(text(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"))
            self._admin.dispose()
        shutil.rmtree(self.root, ignore_errors=True)


def propose_edit(scratch: Scratch, promise_id: str, word: str, author_email: str | None = None, base_text: str | None = None) -> int:
    """A journalist proposes (and submits) the promise with a new marker word, against the file as it is now; the request's number."""
    from kb.newsroom import workflow
    from kb.content.tree import read_tree

    tree = read_tree(scratch.content)
    target = f"promise:{promise_id}"
    current = base_text if base_text is not None else scratch.promise_path(promise_id).read_text(encoding="utf-8")
    with scratch.sessions()() as session:
        author = find_user(session, author_email or JOURNALISTS[0])
        change = workflow.propose(session, tree, author, "edit", target, with_marker(current, word), f"Repère {word}")
        workflow.submit(session, tree, change, author)
        return change.id


# -- the production server --------------------------------------------------------------------


class Server:
    """`kb serve --production` in its own process group (so that kill -9 takes the master and every worker)."""

    def __init__(self, scratch: Scratch, workers: int = 2, threads: int = 2, port: int | None = None, log_name: str = "server.log"):
        self.scratch = scratch
        self.workers, self.threads = workers, threads
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = scratch.root / log_name
        self.process: subprocess.Popen | None = None

    def start(self, wait: float = 90.0) -> float:
        """Start and wait for /healthz; seconds until it answered 200."""
        started = time.monotonic()
        log = open(self.log_path, "a")
        command = [KB, "serve", "--production", "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers), "--threads", str(self.threads)]
        self.process = subprocess.Popen(
            command, env=self.scratch.env, cwd=self.scratch.root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        log.close()
        deadline = started + wait
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"kb serve --production s'est arrêté (code {self.process.returncode}) :\n{self.log_tail()}")
            try:
                status, _ = http_get(f"{self.base}/healthz", timeout=2)
                if status == 200:
                    return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"/healthz ne répond pas 200 après {wait:.0f} s :\n{self.log_tail()}")

    def kill9(self) -> None:
        """SIGKILL to the whole process group: master and workers die at once, mid-request."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.process = None

    def stop(self) -> None:
        """SIGTERM (workers finish their requests), SIGKILL after 30 s."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(30)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            self.kill9()
        self.process = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def log_lines(self) -> list[dict]:
        """The server's JSON log lines (gunicorn's own plain lines skipped)."""
        found = []
        for line in self.log_path.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    found.append(json.loads(line))
                except ValueError:
                    pass
        return found


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def http_get(url: str, timeout: float = 10) -> tuple[int, str]:
    """A GET on a fresh connection: (status, body)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


class Client:
    """A newsroom member in a browser: cookies, CSRF token, redirects not followed."""

    def __init__(self, base: str, timeout: float = 60):
        self.base = base
        self.timeout = timeout
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect())
        self.token = ""

    def request(self, path: str, data: dict | None = None) -> tuple[int, str, dict]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=self.timeout) as response:
                return response.status, response.read().decode("utf-8", "replace"), dict(response.headers)
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode("utf-8", "replace"), dict(error.headers)

    def _token(self, path: str) -> str:
        status, page, _ = self.request(path)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page)
        if not match:
            raise RuntimeError(f"pas de jeton CSRF sur {path} (HTTP {status})")
        return match.group(1)

    def login(self, email: str, password: str = PASSWORD) -> "Client":
        token = self._token("/redaction/connexion")
        status, page, _ = self.request("/redaction/connexion", {"csrf_token": token, "email": email, "password": password})
        if status != 302:
            raise RuntimeError(f"connexion de {email} refusée (HTTP {status})")
        self.token = self._token("/redaction/")
        return self

    def act(self, number: int, action: str) -> int:
        """approve / publish / … a change request; the HTTP status (302 when the workflow answered)."""
        status, _, _ = self.request(f"/redaction/demandes/{number}/{action}", {"csrf_token": self.token})
        return status

    def flashes(self, number: int) -> list[str]:
        """The messages the change page shows (after an action)."""
        _, page, _ = self.request(f"/redaction/demandes/{number}")
        return [html.unescape(re.sub(r"<[^>]+>", "", found)) for found in re.findall(r'<p class="flash[^"]*"[^>]*>(.*?)</p>', page, re.S)]


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
