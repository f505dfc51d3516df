"""Structured logs: one line per request and per state change, JSON when LOG_FORMAT says so."""

from __future__ import annotations

import json
import logging
import re

import pytest

from kb.config import logs
from kb.store import audit
from kb.web import create_app

from .conftest import Newsroom
from .test_newsroom_pages import change_number, propose_status


def make_app(content_dir, tmp_path, **settings):
    config = {"TESTING": True, "CONTENT_DIR": str(content_dir), "INSTANCE_DIR": str(tmp_path / "instance"), "CONTENT_RECHECK_SECONDS": 0}
    return create_app(config | settings)


@pytest.fixture
def json_app(content_dir, tmp_path):
    return make_app(content_dir, tmp_path, LOG_FORMAT="json")


@pytest.fixture
def read_lines(capsys):
    """The JSON log lines written on stderr since the last call."""

    def read() -> list[dict]:
        return [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]

    return read


def requests_in(lines: list[dict]) -> list[dict]:
    return [line for line in lines if line["event"] == "request"]


def test_each_request_is_one_json_line_with_status_and_duration(json_app, read_lines):
    read_lines()
    json_app.test_client().get("/promesses")
    [line] = requests_in(read_lines())
    assert (line["method"], line["path"], line["status"], line["level"]) == ("GET", "/promesses", 200, "INFO")
    assert line["duration_ms"] > 0 and line["bytes"] > 0 and isinstance(line["pid"], int)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])
    assert line["logger"].startswith("kb.") and line["message"].startswith("GET /promesses 200")


def test_a_404_is_logged(json_app, read_lines):
    json_app.test_client().get("/promesses/inconnue-au-bataillon")
    [line] = requests_in(read_lines())
    assert (line["status"], line["level"]) == (404, "INFO")


@pytest.fixture
def failing_app(content_dir, tmp_path):
    app = make_app(content_dir, tmp_path, LOG_FORMAT="json", PROPAGATE_EXCEPTIONS=False)

    @app.route("/panne")
    def broken():
        raise RuntimeError("panne de test")

    return app


def test_a_500_is_logged_at_error_level(failing_app, read_lines):
    assert failing_app.test_client().get("/panne").status_code == 500
    [line] = requests_in(read_lines())
    assert (line["path"], line["status"], line["level"]) == ("/panne", 500, "ERROR")


def test_an_unhandled_exception_is_one_json_line_with_its_traceback(failing_app, read_lines):
    failing_app.test_client().get("/panne", headers={"X-Request-Id": "trace-42"})
    [failure] = [line for line in read_lines() if "exception" in line]
    assert "RuntimeError: panne de test" in failure["exception"] and failure["level"] == "ERROR"
    assert failure["request_id"] == "trace-42"  # the same id as the request's own line


def test_a_request_context_without_a_request_is_not_logged(json_app, read_lines):
    with json_app.test_request_context("/promesses"):
        pass
    assert requests_in(read_lines()) == []


def test_the_request_id_from_the_proxy_is_echoed_and_logged(json_app, read_lines):
    response = json_app.test_client().get("/", headers={"X-Request-Id": "lb-7f3a.91"})
    assert response.headers["X-Request-Id"] == "lb-7f3a.91"
    assert requests_in(read_lines())[0]["request_id"] == "lb-7f3a.91"


def test_a_request_without_an_id_gets_a_new_one(json_app, read_lines):
    first = json_app.test_client().get("/").headers["X-Request-Id"]
    second = json_app.test_client().get("/").headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second
    assert [line["request_id"] for line in requests_in(read_lines())] == [first, second]


@pytest.mark.parametrize("given", ["a b", "x" * 65, "id;rm -rf", "<script>", "café"])
def test_an_unsafe_request_id_is_replaced(json_app, given):
    assert json_app.test_client().get("/", headers={"X-Request-Id": given}).headers["X-Request-Id"] != given


def test_query_string_values_are_not_logged(json_app, read_lines):
    json_app.test_client().get("/recherche?q=adresse+privée")
    [line] = requests_in(read_lines())
    assert line["path"] == "/recherche" and line["query_length"] > 0
    assert "privée" not in json.dumps(line, ensure_ascii=False)


def test_the_logged_in_user_is_logged(json_app, read_lines):
    newsroom = Newsroom(json_app)
    editor = newsroom.client("editor")
    read_lines()
    editor.get("/redaction/")
    [line] = requests_in(read_lines())
    assert line["user_id"] == newsroom.user("etienne@redaction.fr").id


def test_an_anonymous_request_logs_no_user(json_app, read_lines):
    json_app.test_client().get("/")
    assert requests_in(read_lines())[0]["user_id"] is None


def test_an_approval_logs_the_approval_and_the_publication_with_the_change_id(json_app, read_lines):
    newsroom = Newsroom(json_app)
    number = change_number(propose_status(newsroom, newsroom.client("journalist")))
    editor = newsroom.client("editor")
    read_lines()
    Newsroom.post(editor, f"/redaction/demandes/{number}/approve")
    changes = [line for line in read_lines() if line["event"] == "state_change"]
    assert [line["action"] for line in changes] == ["change.approve", "change.publish", "promise.publish"]
    assert {line["change_id"] for line in changes} == {number}
    assert {line["target"] for line in changes} == {"promise:balayeuses-communes"}
    assert [(line["from_state"], line["to_state"]) for line in changes[:2]] == [("submitted", "approved"), ("approved", "published")]
    assert {line["actor_id"] for line in changes} == {newsroom.user("etienne@redaction.fr").id}


def test_a_state_change_line_carries_the_request_id(json_app, read_lines):
    newsroom = Newsroom(json_app)
    number = change_number(propose_status(newsroom, newsroom.client("journalist")))
    editor = newsroom.client("editor")
    read_lines()
    Newsroom.post(editor, f"/redaction/demandes/{number}/approve")
    lines = read_lines()
    request_id = requests_in(lines)[0]["request_id"]
    assert {line["request_id"] for line in lines if line["event"] == "state_change"} == {request_id}


def test_a_step_rolled_back_is_not_logged(json_app, read_lines):
    newsroom = Newsroom(json_app)
    read_lines()
    with newsroom.session() as session:
        audit.record(session, "user.test", None, target="promise:balayeuses-communes")
        session.rollback()
        audit.record(session, "user.test", None, target="source:deliberation-test")
        session.commit()
    [line] = [line for line in read_lines() if line["event"] == "state_change"]
    assert line["target"] == "source:deliberation-test"


def test_the_text_format_is_one_readable_line_per_request(content_dir, tmp_path, capsys):
    app = make_app(content_dir, tmp_path, LOG_FORMAT="text")
    capsys.readouterr()
    app.test_client().get("/promesses", headers={"X-Request-Id": "abc"})
    [line] = [line for line in capsys.readouterr().err.splitlines() if "kb.web.request_log" in line]
    assert re.match(r"\S+Z INFO kb\.web\.request_log: GET /promesses 200 [\d.]+ ms ", line)
    assert "request_id=abc" in line and "status=200" in line


def test_log_level_hides_lines_below_it(content_dir, tmp_path, read_lines):
    app = make_app(content_dir, tmp_path, LOG_FORMAT="json", LOG_LEVEL="WARNING")
    app.test_client().get("/promesses")
    app.test_client().get("/promesses/inconnue")
    assert requests_in(read_lines()) == []


def test_apps_created_again_and_again_share_one_handler(content_dir, tmp_path):
    for _ in range(3):
        make_app(content_dir, tmp_path, LOG_FORMAT="json")
    handlers = logging.getLogger("kb").handlers
    assert len(handlers) == 1 and isinstance(handlers[0].formatter, logs.JsonFormatter)


def test_an_unknown_log_format_is_refused():
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logs.configure("xml", "INFO")


def test_an_event_cannot_overwrite_the_standard_fields():
    record = logging.LogRecord("kb.test", logging.INFO, __file__, 1, "vrai message", None, None)
    record.event, record.fields = "essai", {"message": "faux", "level": "DEBUG", "change_id": 3}
    line = json.loads(logs.JsonFormatter().format(record))
    assert (line["message"], line["level"], line["event"], line["change_id"]) == ("vrai message", "INFO", "essai", 3)
