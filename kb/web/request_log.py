"""One log line per request (`event="request"`), and a request id that follows it.

The id comes from the proxy's X-Request-Id when it is a short safe token (so one id names the
request in the proxy's log and in kb's), else is made here; it is sent back in X-Request-Id
and added to every kb log line written during the request. Only the path is logged, never the
query string's values (searches people type), only its length.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import os
import re
import secrets
import time

from flask import Flask, g, request
from flask.logging import default_handler

from kb.config import logs

log = logging.getLogger(__name__)
HEADER = "X-Request-Id"
# Set in the WSGI environ of the requests a static build makes to render its pages.
STATIC_BUILD = "kb.static_build"
# Set in the WSGI environ of a page a process draws for itself before its first change (kb.web.page_cache.rehearse).
REHEARSAL = "kb.rehearsal"
SAFE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def init_app(app: Flask) -> None:
    """Log lines as LOG_FORMAT / LOG_LEVEL say; time and log every request of `app`."""
    logs.configure(app.config.get("LOG_FORMAT") or "text", app.config.get("LOG_LEVEL") or "INFO")
    # Flask's own handler would print its lines a second time, in its own format.
    app.logger.removeHandler(default_handler)
    # First before, last after the app's other functions, whenever this is called: a request
    # another one answers early is timed too, and the response logged is the one sent.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request_funcs.setdefault(None, []).insert(0, _measure)
    app.teardown_request(_log_request)


def request_id() -> str:
    """This request's id (the proxy's, when safe, else a new one)."""
    if "kb_request_id" not in g:
        g.kb_request_id = given_id(request.environ)
    return g.kb_request_id


def _start() -> None:
    g.kb_request_started = time.perf_counter()
    logs.bind(request_id=request_id())


def _measure(response):
    response.headers[HEADER] = request_id()
    g.kb_response = (response.status_code, response.content_length)
    return response


def _log_request(error: BaseException | None) -> None:
    # Not started: a request context pushed without a request (test_request_context(), kb build's seeds).
    started = g.pop("kb_request_started", None)
    if started is None:
        return
    try:
        _write_line(started)
    finally:
        logs.unbind()


def _write_line(started: float) -> None:
    # No response recorded: an exception went past every error handler (the server answers 500).
    status, size = g.pop("kb_response", (500, None))
    write_line(request.environ, status, time.perf_counter() - started, size, request_id(), _user_id())


def write_line(environ: dict, status: int, seconds: float, size: int | None, the_request_id: str, user_id: int | None = None) -> None:
    """The request's log line, from its WSGI environ (kb.web.kept_pages answers without Flask)."""
    duration = round(seconds * 1000, 1)
    method = environ.get("REQUEST_METHOD", "")
    path = environ.get("PATH_INFO", "").encode("latin-1", "replace").decode("utf-8", "replace")  # WSGI's bytes-as-latin-1
    fields = {
        "method": method,
        "path": path,
        "query_length": len(environ.get("QUERY_STRING", "").encode("latin-1", "replace")),
        "status": status,
        "duration_ms": duration,
        "bytes": size,
        "remote_addr": environ.get("REMOTE_ADDR"),
        "user_id": user_id,
        "request_id": the_request_id,
        "pid": os.getpid(),
    }
    level = logging.ERROR if status >= 500 else logging.INFO
    if level == logging.INFO and (environ.get(STATIC_BUILD) or environ.get(REHEARSAL)):
        level = logging.DEBUG  # a static build renders every page, a process rehearses two: not visits
    log.log(level, "%s %s %s %s ms", method, path, status, duration, extra={"event": "request", "fields": fields})


def given_id(environ: dict) -> str:
    """The proxy's request id when it is a short safe token, else a new one."""
    given = environ.get("HTTP_X_REQUEST_ID", "")
    return given if SAFE_ID.fullmatch(given) else _new_id()


class _Ids:
    """Request ids without a system call each (secrets.token_hex per request was 3 % of a worker's
    time under load): a keyed hash of a counter, the key drawn once per process (again in a forked
    worker), so ids neither repeat across processes nor tell how many requests a worker answered."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self.state = (secrets.token_bytes(16), itertools.count())  # one object: swapped at once

    def __call__(self) -> str:
        key, counter = self.state
        return hashlib.blake2b(next(counter).to_bytes(8, "little"), key=key, digest_size=16).hexdigest()


_new_id = _Ids()


def _user_id() -> int | None:
    # Only a user the request already loaded: looking one up here would query the database for
    # every public page a logged-in journalist reads.
    user = g.get("_login_user")
    return getattr(user, "id", None) if getattr(user, "is_authenticated", False) else None
