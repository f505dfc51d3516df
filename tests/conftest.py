"""Shared fixtures: a small scratch content tree written from real files, the app, the CLI."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from datetime import date
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.store.db import dispose_all
from kb.web import create_app

REPO = Path(__file__).resolve().parent.parent


def _demo_corpus() -> Path:
    """The demo corpus as the repository holds it, copied once for the session, outside the checkout.

    Trying the demo writes into the checkout's content/ (a publication through the newsroom, `kb
    source add`): tests never read that. In a git checkout they read the corpus as git's index
    has it, so only a change staged on purpose (`git add content/…`) reaches them; elsewhere
    (an unpacked archive) the directory as it is.
    """
    target = Path(tempfile.mkdtemp(prefix="kb-demo-corpus-"))
    atexit.register(shutil.rmtree, target, ignore_errors=True)
    if (REPO / ".git").exists() and shutil.which("git"):
        listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z", "--", "content"], capture_output=True, check=True).stdout
        if listed:
            subprocess.run(
                ["git", "-C", str(REPO), "checkout-index", "-z", "--stdin", f"--prefix={target}/"], input=listed, check=True
            )
            return target / "content"
    return Path(shutil.copytree(REPO / "content", target / "content"))


# Read-only for tests: a test that writes copies it first (demo_copy).
DEMO_CONTENT = _demo_corpus()

SOURCE = """\
---
title: Délibération sur le schéma de mutualisation
publisher: Ville de Marcq-en-Barœul
kind: deliberation
date: 2022-11-08
reference: 059-2022-11-08-DE-1
---
Le conseil municipal approuve l’adhésion à la Centrale d’Achats Métropolitaine.
Entre Marcq-en-Barœul et La Madeleine, la mutualisation
est en marche : « achat de deux balayeuses » — une pour chaque commune.
"""

PROMISE = """\
---
title: Acheter deux balayeuses en commun
made_by: bernard-gerard
party: Les Républicains (LR)
territory: Marcq-en-Barœul
theme: Propreté
made_on: 2017-04-11
due: 2018-12-31
status: done
history:
  - date: 2017-04-11
    status: planned
    note: Annonce.
    evidence:
      - source: deliberation-test
        quote: "achat de deux balayeuses"
  - date: 2022-11-08
    status: done
    note: Achat réalisé.
    evidence:
      - source: deliberation-test
        quote: "l'adhésion à la Centrale d'Achats Métropolitaine"
reply: La Ville précise que l'achat a été fait en groupement de commande.
tracker: marcq-la-madeleine-2014-2020
aliases:
  - balayeuses
---
Les deux villes ont **acheté** deux balayeuses.
"""

# The tracker the promise above belongs to.
TRACKER = """\
---
title: Marcq-en-Barœul et La Madeleine, mandat 2014-2020
territory: Marcq-en-Barœul et La Madeleine
office: Mairies de Marcq-en-Barœul et de La Madeleine
term_start: 2014-03-30
term_end: 2020-06-28
closed: true
---
Les promesses de la mutualisation entre les deux villes.
"""

# The author of the promise above.
PERSON = """\
---
name: Bernard Gérard
kind: person
party: Les Républicains (LR)
roles:
  - title: Député-maire de Marcq-en-Barœul
aliases:
  - Bernard Gérard
---
"""

# A claim (fact-check) quoting the source above, about the promise above.
CLAIM_FILE = "claims/deux-balayeuses.md"

# Line numbers below are those of this file: 2 title … 10 verdict, 11 reviewed_on, 14 evidence quote, 17 promise.
CLAIM = """\
---
title: "« Deux balayeuses » pour deux communes : exact"
claimed_by: ville-de-marcq-en-baroeul
claimed_on: 2022-11-08
claim:
  source: deliberation-test
  quote: "achat de deux balayeuses"
territory: Marcq-en-Barœul
theme: Propreté
verdict: accurate
reviewed_on: 2023-01-15
evidence:
  - source: deliberation-test
    quote: "une pour chaque commune"
    note: La délibération précise la répartition.
promises:
  - balayeuses-communes
---
La délibération confirme l'**achat** des deux balayeuses, une par commune.
"""


# The scratch tree's promise file, and the day its checks are made on.
PROMISE_FILE = "promises/balayeuses-communes.md"
CHECK_DAY = date(2026, 11, 23)


def corrupt(root: Path, old: str, new: str, name: str = PROMISE_FILE) -> None:
    """Replace `old` (which must be there) by `new` in a file of the tree at `root`."""
    path = root / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def the_error(root: Path):
    """The one error `kb check` finds in the tree at `root` (the test fails on none or several)."""
    from kb.content.check import check_content

    found = check_content(root, today=CHECK_DAY).errors
    assert len(found) == 1, [str(problem) for problem in found]
    return found[0]


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# `sh scripts/dev test` runs the suite twice: on SQLite, then with this set to a PostgreSQL
# server it started for the run (postgresql://kb@127.0.0.1:<port>/kb_test).
POSTGRES = os.environ.get("KB_TEST_POSTGRES")


@pytest.fixture(scope="session")
def postgres_admin():
    """A connection-less engine on the test PostgreSQL server (None when testing on SQLite)."""
    if not POSTGRES:
        yield None
        return
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from kb.store.db import normalize_url

    engine = create_engine(normalize_url(POSTGRES), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


@contextmanager
def own_database(admin, sqlite_path: Path):
    """A database of one's own: a SQLite file, or a fresh schema on the test PostgreSQL server (then dropped).

    A schema rather than a database: creating a PostgreSQL database per test would cost a second each.
    """
    if admin is None:
        yield f"sqlite:///{sqlite_path}"
        dispose_all()
        return
    from sqlalchemy import text

    schema = f"t_{uuid.uuid4().hex[:16]}"
    with admin.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{POSTGRES}?options=-csearch_path%3D{schema}"
    finally:
        dispose_all()
        with admin.connect() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))


@pytest.fixture(scope="session")
def session_database_url(postgres_admin, tmp_path_factory) -> str:
    """A database for servers that live as long as the test session (the browser tests' live server)."""
    with own_database(postgres_admin, tmp_path_factory.mktemp("session-db") / "kb.sqlite3") as url:
        yield url


@pytest.fixture(autouse=True)
def database_url(tmp_path: Path, monkeypatch, postgres_admin) -> str:
    """This test's own workflow database, which every app, command and child process of the test uses."""
    # Nothing a test runs may write into the checkout's ./instance (lock files, a stray database).
    monkeypatch.setenv("KB_INSTANCE_DIR", str(tmp_path / "instance"))
    with own_database(postgres_admin, tmp_path / "instance" / "kb.sqlite3") as url:
        if postgres_admin is None:
            monkeypatch.delenv("DATABASE_URL", raising=False)
        else:
            monkeypatch.setenv("DATABASE_URL", url)
        yield url


@pytest.fixture
def content_dir(tmp_path: Path) -> Path:
    """A valid content tree with one source and one promise."""
    root = tmp_path / "content"
    write(root / "sources" / "deliberation-test.md", SOURCE)
    write(root / "promises" / "balayeuses-communes.md", PROMISE)
    write(root / "trackers" / "marcq-la-madeleine-2014-2020.md", TRACKER)
    write(root / "people" / "bernard-gerard.md", PERSON)
    write(root / "people" / "ville-de-marcq-en-baroeul.md", "---\nname: Ville de Marcq-en-Barœul\nkind: institution\n---\n")
    shutil.copy(DEMO_CONTENT / "statuses.yml", root / "statuses.yml")
    return root


def git_repository(root: Path):
    """Make `root` a git repository with everything in it committed; returns a `git(*args)` that runs there."""

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, text=True).stdout

    git("init", "-q")
    git("-c", "user.name=Init", "-c", "user.email=init@example.org", "add", ".")
    git("-c", "user.name=Init", "-c", "user.email=init@example.org", "commit", "-q", "-m", "départ")
    return git


@pytest.fixture
def demo_copy(tmp_path: Path) -> Path:
    """A scratch copy of the shipped demo corpus, safe to corrupt."""
    return Path(shutil.copytree(DEMO_CONTENT, tmp_path / "demo"))


@pytest.fixture
def app(content_dir: Path, tmp_path: Path):
    return create_app(
        {"TESTING": True, "CONTENT_DIR": str(content_dir), "INSTANCE_DIR": str(tmp_path / "instance"), "CONTENT_RECHECK_SECONDS": 0}
    )


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


PASSWORDS = {
    "journalist": "mot-de-passe-journaliste",
    "editor": "mot-de-passe-editeur",
    "admin": "mot-de-passe-admin",
}
EMAILS = {
    "journalist": "julie@redaction.fr",
    "editor": "etienne@redaction.fr",
    "admin": "alice@redaction.fr",
}


def csrf_token(client, url: str = "/redaction/connexion") -> str:
    """The CSRF token of the client's session, as a form on `url` carries it."""
    import re

    html = client.get(url).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


class Newsroom:
    """The app with one account per role (and a second editor), and logged-in clients."""

    def __init__(self, app):
        from kb.store.accounts import add_user

        self.app = app
        with app.extensions["kb.db"]() as session:
            for role, email in EMAILS.items():
                add_user(session, email, PASSWORDS[role], role, f"{role.capitalize()} Test")
            add_user(session, "paul@redaction.fr", PASSWORDS["editor"], "editor", "Paul Second")

    def session(self):
        return self.app.extensions["kb.db"]()

    def user(self, email: str):
        from kb.store.accounts import find_user

        with self.session() as session:
            return find_user(session, email)

    def client(self, role_or_email: str):
        """A test client logged in as the account of that role (or e-mail)."""
        email = EMAILS.get(role_or_email, role_or_email)
        role = next((role for role, known in EMAILS.items() if known == email), "editor")
        client = self.app.test_client()
        token = csrf_token(client)
        response = client.post("/redaction/connexion", data={"csrf_token": token, "email": email, "password": PASSWORDS[role]})
        assert response.status_code == 302, response.get_data(as_text=True)
        client.token = csrf_token(client, "/redaction/")
        return client

    @staticmethod
    def post(client, url: str, **data):
        return client.post(url, data={"csrf_token": client.token, **data})


@pytest.fixture
def newsroom(app) -> Newsroom:
    return Newsroom(app)


@pytest.fixture
def demo_newsroom(demo_copy, tmp_path) -> Newsroom:
    """The newsroom on a scratch copy of the demo corpus (its sources, promises and fact-checks)."""
    app = create_app({"TESTING": True, "CONTENT_DIR": str(demo_copy), "INSTANCE_DIR": str(tmp_path / "instance"), "CONTENT_RECHECK_SECONDS": 0})
    return Newsroom(app)


# -- a real SMTP server (aiosmtpd) -------------------------------------------------------------------


class Inbox:
    """What an aiosmtpd server received: (recipients, message)."""

    def __init__(self):
        self.received = []

    async def handle_DATA(self, server, session, envelope):
        self.received.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=default_policy)))
        return "250 OK"

    def wait(self, count: int, seconds: float = 10.0) -> list:
        deadline = time.monotonic() + seconds
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # and nothing more comes
        return self.received

    def to(self, address: str) -> list:
        return [message for recipients, message in self.received if address in recipients]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def inbox():
    from aiosmtpd.controller import Controller

    found = Inbox()
    controller = Controller(found, hostname="127.0.0.1", port=free_port())
    controller.start()
    found.port = controller.port
    yield found
    controller.stop()


@pytest.fixture(autouse=True)
def the_interface_is_french_again_after_each_test():
    """A request or a command that switched language gives it back when done: nothing leaks into what follows."""
    yield
    from kb.config import i18n

    assert i18n.language() == i18n.DEFAULT, "the language of a request or a command outlived it"
