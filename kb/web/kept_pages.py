"""Kept pages served before Flask: a citizen's request for a page the cache holds costs no dispatch.

At 10,000 promises a newsroom's busiest pages (the home page, the lists, a shared promise) are
read thousands of times between two changes. Served by Flask, a kept page still goes through the
routing, the request's functions and the response's (about 0.5 ms); here it is the cache's bytes
with the very headers Flask sent the first time (its security headers, CORS on the API…, kept
with the page by kb.web.page_cache), an ETag, a request id and the log line every request gets.

Anything else goes to Flask: another method, a conditional request, a journalist's session
cookie (their session is refreshed there), a page not kept, or kept but stale (Flask draws it
again, once). Before answering, the same upkeep as a request's start: the scan for hand edits
(kb.web.content_store) and the change log (kb.web.follower), so a kept page is never older here.
"""

from __future__ import annotations

import logging
import time

from urllib.parse import parse_qs

from flask import Flask

from kb.config import i18n

from kb.web import request_log
from kb.web.page_cache import PageCache, page_key_of

log = logging.getLogger(__name__)
# Headers of one answer, not of the page: never replayed.
NOT_KEPT = {"content-length", "etag", "cache-control", "x-request-id", "set-cookie", "date", "server"}


class KeptPages:
    """WSGI middleware around Flask's app: answers from the page cache when it can, else passes on."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self.cookies = (app.config["SESSION_COOKIE_NAME"], app.config.get("REMEMBER_COOKIE_NAME", "remember_token"))

    def __call__(self, environ, start_response):
        if not self._may_answer(environ):
            return self.wsgi_app(environ, start_response)
        try:
            return self._answer(environ, start_response)
        except Exception:  # noqa: BLE001 — whatever went wrong here, Flask answers (and its error pages say it)
            log.exception("page gardée non servie : %s", environ.get("PATH_INFO"))
            return self.wsgi_app(environ, start_response)

    def _answer(self, environ, start_response):
        started = time.perf_counter()
        store, follower = self.app.extensions["kb.content"], self.app.extensions["kb.follower"]
        if not store.keep_current():
            return self.wsgi_app(environ, start_response)  # Flask says the content is missing (503)
        follower.poll()
        cache: PageCache = self.app.extensions["kb.pages"]
        key = page_key_of(environ)
        page = cache.get(key)
        if page is None or page.stale or page.wire is None:
            return self._through(environ, start_response, cache, key)
        request_id = request_log.given_id(environ)
        headers = [
            *page.wire,
            ("ETag", f'"{page.etag}"'),
            ("Cache-Control", "public, max-age=60, must-revalidate"),
            (request_log.HEADER, request_id),
            ("Content-Length", str(len(page.body))),
        ]
        request_log.write_line(environ, 200, time.perf_counter() - started, len(page.body), request_id)
        start_response("200 OK", headers)  # last: anything failing before it is still Flask's to answer
        return [page.body]

    def _may_answer(self, environ) -> bool:
        if environ.get("REQUEST_METHOD") != "GET" or "HTTP_IF_NONE_MATCH" in environ or environ.get(request_log.STATIC_BUILD) or environ.get(request_log.REHEARSAL):
            return False
        cookies = environ.get("HTTP_COOKIE", "")
        if any(f"{name}=" in cookies for name in self.cookies):
            return False
        # A language switch (?lang=) not yet remembered: Flask answers, and sets the cookie that remembers it.
        asked = parse_qs(environ.get("QUERY_STRING", "")).get("lang", [None])[-1]
        return asked is None or f"{i18n.COOKIE}={asked}" in cookies

    def _through(self, environ, start_response, cache: PageCache, key: tuple):
        """Flask answers; a kept page it sends as is has its headers remembered for the next time."""
        sent = {}

        def remember(status, headers, exc_info=None):
            sent["status"], sent["headers"] = status, headers
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        body = self.wsgi_app(environ, remember)
        headers = sent.get("headers") or []
        names = {name.lower() for name, _ in headers}
        if str(sent.get("status", "")).startswith("200") and "set-cookie" not in names:
            etag = next((value.strip('"') for name, value in headers if name.lower() == "etag"), None)
            cache_control = next((value for name, value in headers if name.lower() == "cache-control"), "")
            if etag and "no-cache" not in cache_control:
                cache.keep_wire(key, etag, [(name, value) for name, value in headers if name.lower() not in NOT_KEPT])
        return body


def init_app(app: Flask) -> None:
    """Put the kept pages in front of Flask (inside the proxy fix: hosts and addresses are the client's)."""
    app.wsgi_app = KeptPages(app, app.wsgi_app)
