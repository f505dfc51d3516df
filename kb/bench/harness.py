"""A throw-away kb installation driven as people drive it: what the benchmarks and the fault scripts share.

A scratch installation (a content tree, an instance directory, a database: a SQLite file or a fresh
schema on a PostgreSQL server), `kb serve --production` in its own process group, a newsroom member's
HTTP client (cookies, CSRF token), and the made-up marker words that tell versions of a file apart.
"""

from __future__ import annotations

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
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from kb.config.paths import PACKAGE
from kb.store.accounts import add_user, find_user
from kb.store.db import dispose_all, normalize_url, open_database

REPO = PACKAGE.parent

KB = str(Path(sys.executable).parent / "kb")
PASSWORD = "mot-de-passe-des-essais-de-panne"
JOURNALISTS = [f"journaliste{n}@essais.fr" for n in range(1, 3)]
EDITORS = [f"editeur{n}@essais.fr" for n in range(1, 9)]
# Letters the French stemmer leaves alone in a vowel-less word (no plural s/x): each marker word
# is indexed as itself, so a search for it finds exactly the version that carries it.
_LETTERS = "bcdfghjklmnpqrtvwz"
MARKER = "Repère de vérification : "


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
    from kb.content.tree import read_tree
    from kb.newsroom import workflow

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
        self.scanner_pids: set[int] = set()  # kb.ops.scanner's process, once its log line is read (kb.bench.live)

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
