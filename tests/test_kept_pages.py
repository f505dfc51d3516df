"""Kept pages are answered before Flask, exactly as Flask answered them, and never older than Flask would answer."""

from __future__ import annotations

import logging

import pytest

PAGES = ["/", "/promesses?status=done&tri=titre", "/promesses/balayeuses-communes", "/api/promises", "/statuts.css", "/flux.atom"]


@pytest.fixture
def dispatches(app, monkeypatch) -> list[str]:
    """The paths Flask itself handled (its request functions ran)."""
    handled = []
    preprocess = app.preprocess_request

    def counting():
        from flask import request

        handled.append(request.full_path.rstrip("?"))
        return preprocess()

    monkeypatch.setattr(app, "preprocess_request", counting)
    return handled


def without_request_id(response) -> dict:
    return {name: value for name, value in response.headers.items() if name != "X-Request-Id"}


@pytest.mark.parametrize("path", PAGES)
def test_a_kept_page_is_answered_without_flask_with_the_body_and_headers_flask_sent(client, dispatches, path):
    first = client.get(path)
    second = client.get(path)
    assert dispatches == [path]
    assert (second.status_code, second.get_data()) == (200, first.get_data())
    assert without_request_id(second) == without_request_id(first)
    assert second.headers["Content-Security-Policy"] and second.headers["X-Request-Id"] != first.headers["X-Request-Id"]


def test_the_api_keeps_answering_to_every_origin(client):
    client.get("/api/promises")
    assert client.get("/api/promises").headers["Access-Control-Allow-Origin"] == "*"


def test_a_journalist_with_a_session_is_answered_by_flask(newsroom, dispatches):
    journalist = newsroom.client("journalist")
    journalist.get("/")
    dispatches.clear()
    journalist.get("/")
    assert dispatches == ["/"]


def test_a_conditional_request_is_answered_304_by_flask(client, dispatches):
    etag = client.get("/").headers["ETag"]
    assert client.get("/", headers={"If-None-Match": etag}).status_code == 304


def test_every_answer_is_logged_with_the_request_id_the_proxy_gave(client, caplog):
    client.get("/")
    with caplog.at_level(logging.INFO, logger="kb.web.request_log"):
        response = client.get("/?b=2&a=1", headers={"X-Request-Id": "proxy-42"})
    line = [record for record in caplog.records if getattr(record, "event", None) == "request"][-1]
    assert response.headers["X-Request-Id"] == "proxy-42" and line.fields["request_id"] == "proxy-42"
    assert (line.fields["path"], line.fields["status"], line.fields["query_length"]) == ("/", 200, 7)


def test_a_hand_edit_is_in_the_next_answer(client, content_dir, dispatches):
    client.get("/promesses/balayeuses-communes")
    client.get("/promesses/balayeuses-communes")
    path = content_dir / "promises" / "balayeuses-communes.md"
    path.write_text(path.read_text(encoding="utf-8").replace("title: ", "title: (revue) ", 1), encoding="utf-8")
    assert "(revue)" in client.get("/promesses/balayeuses-communes").get_data(as_text=True)


def test_a_missing_content_directory_is_still_said_by_flask(client, content_dir):
    client.get("/")
    content_dir.rename(content_dir.with_name("ailleurs"))
    assert client.get("/").status_code == 503
