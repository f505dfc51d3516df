"""`kb serve --production`: refusals said in a sentence, and a real gunicorn with several workers sharing one database and index."""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from kb.content.tree import read_tree
from kb.newsroom import workflow
from kb.newsroom.workflow import ChangeRequest
from kb.ops.cli import main
from kb.store.accounts import add_user
from kb.store.db import make_engine, open_database
from kb.store.schema import FIRST_REVISION, upgrade_to

from .conftest import EMAILS, PASSWORDS

KB = Path(sys.executable).parent / "kb"
TARGET = "promise:balayeuses-communes"
NEW_TITLE = "Acheter deux balayeuses électriques en commun"
# A word of the new title found nowhere else in the tree: a search for it finds the publication.
NEW_WORD = "électriques"
SEARCHES = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def production_env(monkeypatch, content_dir, tmp_path, database_url) -> dict[str, str]:
    """The environment of a production server on this test's files and database, with a strong key."""
    env = {
        "KB_SECRET_KEY": secrets.token_hex(32),
        "KB_CONTENT_DIR": str(content_dir),
        "KB_INSTANCE_DIR": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def serve_production(runner):
    return runner.invoke(main, ["serve", "--production", "--workers", "1"])


def assert_refused(result, *said: str) -> None:
    """Exit code 1, a message saying each of `said`, no traceback."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "refus de démarrer en production" in result.output and "Traceback" not in result.output
    for words in said:
        assert words in result.output


# -- refusals -----------------------------------------------------------------------------------


def test_serve_production_refuses_without_a_secret_key(runner, production_env, monkeypatch, database_url, tmp_path):
    open_database(database_url)
    monkeypatch.delenv("KB_SECRET_KEY")
    assert_refused(serve_production(runner), "KB_SECRET_KEY n'est pas réglé")
    assert not (tmp_path / "instance" / "index").exists()  # refused before any work


def test_serve_production_refuses_a_database_behind_the_code(runner, production_env, database_url, tmp_path):
    engine = make_engine(database_url)
    upgrade_to(engine, FIRST_REVISION)
    engine.dispose()
    assert_refused(serve_production(runner), f"révision {FIRST_REVISION}", "lancez « kb db upgrade »")
    assert not (tmp_path / "instance" / "index").exists()


def test_serve_production_refuses_an_empty_database(runner, production_env):
    assert_refused(serve_production(runner), "révision vide", "lancez « kb db upgrade »")


def test_serve_production_refuses_an_unreachable_database(runner, production_env, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", f"postgresql://kb:motdepasse@127.0.0.1:{free_port()}/kb")
    result = serve_production(runner)
    assert_refused(result, "injoignable")
    assert "motdepasse" not in result.output


def test_serve_production_refuses_an_address_another_server_listens_on(runner, production_env, database_url, monkeypatch):
    from kb.ops import server

    open_database(database_url)
    monkeypatch.setattr(server, "run", lambda values: pytest.fail("started on an address in use"))
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # as kb's own workers listen
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        result = runner.invoke(main, ["serve", "--production", "--workers", "1", "--bind", f"127.0.0.1:{port}"])
    assert_refused(result, f"BIND 127.0.0.1:{port} : un autre serveur y écoute déjà")


@pytest.mark.parametrize("form", ["127.0.0.1:{port}", "tcp://127.0.0.1:{port}", "localhost:{port}"])
def test_the_address_is_checked_as_gunicorn_reads_it(form):
    from kb.ops.server import _bind_taken

    with socket.socket() as other:  # IPv4, as gunicorn binds any host but an IPv6 literal
        other.bind(("127.0.0.1", 0))
        other.listen()
        bind = form.format(port=other.getsockname()[1])
        assert _bind_taken(bind) == f"BIND {bind} : un autre serveur y écoute déjà (arrêtez-le ou choisissez une autre adresse)"
    assert _bind_taken(bind) is None


def test_port_0_is_refused_each_worker_would_listen_on_another_port():
    from kb.ops.server import _bind_taken

    assert "le port 0" in _bind_taken("127.0.0.1:0")


def test_serve_production_says_every_problem_at_once(runner, production_env, monkeypatch):
    monkeypatch.delenv("KB_SECRET_KEY")
    assert_refused(serve_production(runner), "KB_SECRET_KEY n'est pas réglé", "lancez « kb db upgrade »")


# -- a real server ------------------------------------------------------------------------------


class Client:
    """HTTP on a new connection for each request (so requests spread over the workers), a cookie jar of its own.

    Each request carries an X-Request-Id of its own, kept in `sent` once answered: the server's
    request log must name each of them once.
    """

    def __init__(self, port: int, sent: list[str]):
        self.port = port
        self.sent = sent
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str]:
        request_id = f"test-{uuid.uuid4().hex}"
        headers = {"X-Request-Id": request_id}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8")
        finally:
            connection.close()
        self.sent.append(request_id)
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";")[0]
        return response.status, text

    def csrf_token(self, path: str) -> str:
        status, html = self.request("GET", path)
        assert status == 200, html
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def log_in(self, email: str, password: str) -> None:
        token = self.csrf_token("/redaction/connexion")
        status, html = self.request("POST", "/redaction/connexion", {"csrf_token": token, "email": email, "password": password})
        assert status == 302, html

    def search(self, word: str) -> list[str]:
        status, answer = self.request("GET", f"/api/search?q={quote(word)}")
        assert status == 200, answer
        return [hit["id"] for hit in json.loads(answer)["results"]]


class ProductionServer:
    def __init__(self, port: int, process: subprocess.Popen, log: Path):
        self.port, self.process, self.log = port, process, log
        self.sent: list[str] = []

    def client(self) -> Client:
        return Client(self.port, self.sent)

    def wait_until_healthy(self, seconds: float = 15) -> dict:
        deadline = time.monotonic() + seconds
        while True:
            assert self.process.poll() is None, f"kb serve s'est arrêté :\n{self.log.read_text()}"
            try:
                status, answer = self.client().request("GET", "/healthz")
                if status == 200:
                    return json.loads(answer)
            except OSError:
                pass  # not listening yet
            assert time.monotonic() < deadline, f"/healthz jamais à 200 :\n{self.log.read_text()}"
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it: workers finish their requests and exit."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def log_lines(self) -> list[dict]:
        """The JSON lines of the server's stderr (gunicorn's own lines and kb's banners are text)."""
        lines = self.log.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


@pytest.fixture
def production_server(request, production_env, runner, tmp_path):
    """`kb serve --production --workers 3` in a process of its own, on a database `kb db upgrade` prepared
    (with more settings in its environment when a test parametrizes the fixture with them)."""
    upgraded = runner.invoke(main, ["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    port = free_port()
    log = tmp_path / "kb-serve.log"
    with open(log, "wb") as stderr:
        process = subprocess.Popen(
            [str(KB), "serve", "--production", "--workers", "3", "--bind", f"127.0.0.1:{port}"],
            env={**os.environ, **production_env, **getattr(request, "param", {})}, stdout=stderr, stderr=stderr,
        )  # fmt: skip
    server = ProductionServer(port, process, log)
    try:
        yield server
    finally:
        server.stop()


def _submitted_change(database_url: str, content_dir: Path) -> int:
    """A journalist's new title for the promise, proposed and submitted; the editor's account beside it."""
    sessions = open_database(database_url)
    try:
        with sessions() as session:
            journalist = add_user(session, EMAILS["journalist"], PASSWORDS["journalist"], "journalist", "Julie Journaliste")
            add_user(session, EMAILS["editor"], PASSWORDS["editor"], "editor", "Étienne Éditeur")
            path = content_dir / "promises" / "balayeuses-communes.md"
            text = path.read_text(encoding="utf-8").replace("title: Acheter deux balayeuses en commun", f"title: {NEW_TITLE}")
            change = workflow.propose(session, read_tree(content_dir), journalist, "edit", TARGET, text, "Titre précisé")
            workflow.submit(session, read_tree(content_dir), change, journalist)
            return change.id
    finally:
        sessions.kw["bind"].dispose()


def _state_of(database_url: str, number: int) -> str:
    sessions = open_database(database_url, upgrade=False)
    try:
        with sessions() as session:
            return session.get(ChangeRequest, number).state
    finally:
        sessions.kw["bind"].dispose()


def approve_over_http(server: ProductionServer, number: int) -> None:
    """The editor logs in and approves the request: the worker that answers publishes it."""
    editor = server.client()
    editor.log_in(EMAILS["editor"], PASSWORDS["editor"])
    status, page = editor.request("POST", f"/redaction/demandes/{number}/approve", {"csrf_token": editor.csrf_token("/redaction/")})
    assert status == 302, page


def test_a_publication_in_one_worker_is_found_by_the_searches_of_the_other_workers(production_server, database_url, content_dir):
    health = production_server.wait_until_healthy()
    assert health["status"] == "ok"
    number = _submitted_change(database_url, content_dir)
    # Before: nothing found, and the workers that answered keep a searcher open on the old index.
    assert [production_server.client().search(NEW_WORD) for _ in range(6)] == [[]] * 6

    approve_over_http(production_server, number)
    assert _state_of(database_url, number) == "published"

    searched_from = len(production_server.sent)
    found = [production_server.client().search(NEW_WORD) for _ in range(SEARCHES)]
    assert found == [["balayeuses-communes"]] * SEARCHES

    # Who answered what, from the request log: workers other than the publishing one found it too.
    # (Not "all three": the kernel spreads connections evenly over the workers' sockets, but at random.)
    production_server.stop()
    pid_of = {line["request_id"]: line["pid"] for line in production_server.log_lines() if line["event"] == "request"}
    publishing = pid_of[production_server.sent[searched_from - 1]]
    searching = {pid_of[request_id] for request_id in production_server.sent[searched_from:]}
    assert searching - {publishing}, f"every search went to the publishing worker {publishing}"


def test_the_production_server_logs_one_json_line_per_request_and_each_state_change(production_server, database_url, content_dir):
    production_server.wait_until_healthy()
    number = _submitted_change(database_url, content_dir)
    approve_over_http(production_server, number)
    production_server.client().search(NEW_WORD)

    production_server.stop()  # workers finish their requests (and their log lines) first
    lines = production_server.log_lines()
    requests = [line for line in lines if line["event"] == "request"]
    assert Counter(line["request_id"] for line in requests) == Counter(production_server.sent)
    [publication] = [line for line in lines if line["event"] == "state_change" and line["action"] == "promise.publish"]
    assert (publication["change_id"], publication["target"]) == (number, TARGET)


def _edited_by_hand(content_dir: Path, word: str) -> None:
    path = content_dir / "promises" / "balayeuses-communes.md"
    path.write_text(path.read_text(encoding="utf-8").replace("title: ", f"title: {word} ", 1), encoding="utf-8")


def _found_by_every_request(server: ProductionServer, word: str, seconds: float) -> bool:
    """Whether a search for `word` soon finds the edited promise in six requests in a row (several workers)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if [server.client().search(word) for _ in range(6)] == [["balayeuses-communes"]] * 6:
            return True
        time.sleep(0.2)
    return False


def test_a_hand_edit_is_scanned_and_indexed_by_the_server_s_scanner_not_by_its_workers(production_server, content_dir):
    production_server.wait_until_healthy()
    _edited_by_hand(content_dir, "zqscanner")
    assert _found_by_every_request(production_server, "zqscanner", 15)
    production_server.stop()
    scans = [line for line in production_server.log_lines() if line["event"] == "catalog.scan"]
    assert scans and {line["logger"] for line in scans} == {"kb.ops.scanner"}


def test_when_the_scanner_is_gone_the_workers_scan_in_its_place(production_server, content_dir):
    production_server.wait_until_healthy()
    deadline = time.monotonic() + 10
    while not (started := [line for line in production_server.log_lines() if line["event"] == "scanner.start"]):
        assert time.monotonic() < deadline, production_server.log.read_text()
        time.sleep(0.1)
    os.kill(started[0]["pid"], signal.SIGKILL)
    _edited_by_hand(content_dir, "zqrelief")
    assert _found_by_every_request(production_server, "zqrelief", 20)
    production_server.stop()
    assert {line["logger"] for line in production_server.log_lines() if line["event"] == "catalog.scan"} == {"kb.web.content_store"}


# Every page drawn again by the scanner process, however quick: a test's list is drawn in a few
# milliseconds once its worker is warm, and would be left to the workers (PREDRAW_LEAST_MS).
@pytest.mark.parametrize("production_server", [{"KB_PREDRAW_LEAST_MS": "0"}], indirect=True)
def test_after_a_hand_edit_the_scanner_process_draws_again_the_list_readers_asked_for(production_server, content_dir):
    production_server.wait_until_healthy()
    client = production_server.client()
    deadline = time.monotonic() + 30  # its app made, and the home page and the list drawn once (rehearsed)
    while not [line for line in production_server.log_lines() if line["event"] == "drawer.start"]:
        assert time.monotonic() < deadline, production_server.log.read_text()
        time.sleep(0.1)
    for _ in range(6):  # several workers: one draws the list, the others take its copy
        assert client.request("GET", "/promesses")[0] == 200
    time.sleep(0.5)  # the drawer's first round (every page asked for in the last hour) is over
    before = len([line for line in production_server.log_lines() if line["event"] == "pages.drawn"])
    _edited_by_hand(content_dir, "zqdessin")
    deadline = time.monotonic() + 15
    while not (drawn := [line for line in production_server.log_lines() if line["event"] == "pages.drawn"][before:]):
        assert time.monotonic() < deadline, production_server.log.read_text()
        time.sleep(0.1)
    assert drawn[0]["drawn"] == 1 and drawn[0]["logger"] == "kb.web.page_drawer", drawn
    assert all("zqdessin" in client.request("GET", "/promesses")[1] for _ in range(6))


def _children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.add(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def _gone(pids: set[int], seconds: float) -> set[int]:
    """Those of `pids` still running after `seconds` (zombies count as gone)."""
    deadline = time.monotonic() + seconds
    while True:
        running = {pid for pid in pids if _process_state(pid) != "Z"}
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.1)


@pytest.mark.parametrize("scanner_killed", [False, True], ids=["as-is", "scanner-killed-first"])
def test_no_process_of_the_server_outlives_it(production_server, scanner_killed):
    production_server.wait_until_healthy()
    processes = _children_of(production_server.process.pid)
    deadline = time.monotonic() + 10
    while not (started := [line for line in production_server.log_lines() if line["event"] == "scanner.start"]):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert started[0]["pid"] in processes and len(processes) == 3 + 1  # three workers and the scanner
    if scanner_killed:
        os.kill(started[0]["pid"], signal.SIGKILL)
    production_server.stop()
    assert production_server.process.returncode is not None
    assert _gone(processes, 15) == set()


def _process_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"  # gone meanwhile


def test_kept_alive_connections_are_kept_for_as_long_as_the_client_wants_by_default(production_server):
    production_server.wait_until_healthy()
    connection = http.client.HTTPConnection("127.0.0.1", production_server.port, timeout=30)
    try:
        for _ in range(150):
            connection.request("GET", "/promesses")
            response = connection.getresponse()
            response.read()
            assert response.status == 200 and response.getheader("Connection", "") != "close"
    finally:
        connection.close()


@pytest.mark.parametrize("production_server", [{"KB_KEEPALIVE_REQUESTS": "100"}], indirect=True)
def test_a_kept_alive_connection_is_closed_after_keepalive_requests(production_server):
    """So that a proxy keeping a few connections alive has them spread over the workers."""
    production_server.wait_until_healthy()
    connection = http.client.HTTPConnection("127.0.0.1", production_server.port, timeout=30)
    try:
        said = []
        for _ in range(100):
            connection.request("GET", "/promesses")
            response = connection.getresponse()
            response.read()
            assert response.status == 200
            said.append(response.getheader("Connection", ""))
        assert "close" not in said[:99] and said[99] == "close"
    finally:
        connection.close()


def _listening(port: int) -> int:
    """How many sockets of this machine listen on 127.0.0.1:`port` (/proc/net/tcp: state 0A)."""
    local = f"0100007F:{port:04X}"
    rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    return sum(1 for row in rows if row.split()[1] == local and row.split()[3] == "0A")


def test_kept_alive_connections_are_spread_over_the_workers(production_server):
    """Each worker listens on a socket of its own, and the kernel spreads new connections over them:
    connections a client opens together and keeps do not all land in one process."""
    production_server.wait_until_healthy()
    deadline = time.monotonic() + 30
    while _listening(production_server.port) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)  # the other workers still starting
    assert _listening(production_server.port) == 3
    connections, asked = [], []
    try:
        for _ in range(30):  # all open at once, as a proxy's or a load test's
            connection = http.client.HTTPConnection("127.0.0.1", production_server.port, timeout=30)
            connection.connect()
            connections.append(connection)
        for connection in connections:
            asked.append(f"test-spread-{uuid.uuid4().hex}")
            connection.request("GET", "/healthz", headers={"X-Request-Id": asked[-1]})
            response = connection.getresponse()
            response.read()
            assert response.status == 200
    finally:
        production_server.stop()  # workers finish their requests (and their log lines) first
        for connection in connections:
            connection.close()
    pid_of = {line["request_id"]: line["pid"] for line in production_server.log_lines() if line.get("event") == "request"}
    assert len({pid_of[request_id] for request_id in asked}) == 3
