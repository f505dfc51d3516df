"""Public pages rendered once, then served as fixed bytes until something they show changes.

Citizens arrive in bursts (an article is shared, a council meets): the same pages, the same
content. A page is kept under (host, path, query string, day, kb version) with what it read from
the catalog: the items (their keys) and the sets it listed ("list:promise", "territory:Lille"…,
"ids:promise" for which ids there are, as the sitemap reads them), as kb.catalog.reader records
them. A change drops the pages that read what changed — the item's page, the lists and feeds it
appears in, the pages that show it as related, the sitemap when an item came or went — and no other. The
page's ETag lets a browser or a CDN revalidating an unchanged page get a 304 and no body.

A dropped page is drawn again by one thread at a time: while it does, the other requests for
it get the page as it was (marked `no-cache`) rather than each drawing it too — after a
publication, thirty requests for the home page would otherwise each spend its 100 ms at once.
A request that arrives when nobody is drawing it always gets it drawn anew.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import date
from functools import wraps
from importlib.metadata import version
from urllib.parse import parse_qsl, urlencode

from flask import Response, current_app, g, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Request

from kb.config import i18n
from kb.store.db import first_line
from kb.web.i18n import language_of
from kb.web.request_log import REHEARSAL  # the page is drawn, nothing kept (rehearse)
from kb.web.shared_pages import SharedPages

log = logging.getLogger(__name__)

MAX_BYTES = 32 * 1024 * 1024
# How long a request waits for the page another thread is drawing (when there is no older copy to give).
DRAW_WAIT_SECONDS = 30.0
# How much a page's recorded cost may grow from one drawing to the next (see Page.cost_ms).
COST_GROWTH = 1.25
# A deploy can change templates without touching content: it must change every page too.
KB_VERSION = version("kb")
EVERYTHING = "*"


@dataclass
class Page:
    body: bytes
    status: int
    headers: dict
    etag: str
    tags: frozenset[str]
    stale: bool = False  # something it showed changed: given only while another thread draws it again
    # The headers Flask sent with it (its after-request functions' too), less those of one answer:
    # what kb.web.kept_pages sends when it serves the page without Flask. None until seen.
    wire: tuple | None = None
    # The processor time its drawing takes, in ms (kb.web.page_drawer leaves the quick ones to the
    # workers): the least of its drawings, allowed to grow by COST_GROWTH a drawing. One drawing
    # alone varies twofold with the machine's load (a list's counts in JSON: 15 ms, or 30).
    cost_ms: float | None = None


class PageCache:
    """Rendered responses, bounded in bytes, least recently used dropped first, dropped by tag on a change."""

    def __init__(self, max_bytes: int = MAX_BYTES):
        self.max_bytes = max_bytes
        self.bytes = 0
        self._pages: OrderedDict[tuple, Page] = OrderedDict()
        self._by_tag: dict[str, set[tuple]] = {}
        self._lock = threading.Lock()
        # Moves at every invalidation: a page rendered across one may show what was just changed.
        self.generation = 0
        self._drawing: dict[tuple, threading.Event] = {}  # pages a thread is drawing now

    def get(self, key: tuple) -> Page | None:
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: tuple, page: Page, generation: int) -> bool:
        """Keep `page`, unless it was rendered before the last invalidation (it may be stale) or is huge."""
        if len(page.body) > self.max_bytes // 8:
            return False  # one huge document must not evict everything else
        with self._lock:
            if generation != self.generation:
                return False
            self._drop(key)
            self._pages[key] = page
            self.bytes += len(page.body)
            for tag in page.tags:
                self._by_tag.setdefault(tag, set()).add(key)
            while self.bytes > self.max_bytes:
                self._drop(next(iter(self._pages)))
            return True

    def invalidate(self, tags: set[str]) -> int:
        """Mark stale every page that read one of `tags` ("*": every page); how many were marked."""
        with self._lock:
            self.generation += 1
            if EVERYTHING in tags:
                keys = [key for key, page in self._pages.items() if not page.stale]
            else:
                keys = set().union(*(self._by_tag.get(tag, ()) for tag in tags)) if tags else set()
            for key in keys:
                page = self._pages[key]
                self._untag(key, page)
                self._pages[key] = replace(page, stale=True)
            return len(keys)

    def keep_wire(self, key: tuple, etag: str, headers: list[tuple[str, str]]) -> None:
        """Remember the headers sent with the page `etag` under `key` (still that page, still fresh)."""
        with self._lock:
            page = self._pages.get(key)
            if page is not None and page.etag == etag and not page.stale and page.wire is None:
                self._pages[key] = replace(page, wire=tuple(headers))

    def discard(self, key: tuple) -> None:
        """Forget a page (it is no longer a 200 to keep: gone, moved, drawn without the database)."""
        with self._lock:
            self._drop(key)

    def draw(self, key: tuple) -> threading.Event | None:
        """None: the caller draws the page now (then calls `drawn`); else the event set when another thread has drawn it."""
        with self._lock:
            drawing = self._drawing.get(key)
            if drawing is not None:
                return drawing
            self._drawing[key] = threading.Event()
            return None

    def drawn(self, key: tuple) -> None:
        with self._lock:
            event = self._drawing.pop(key, None)
        if event is not None:
            event.set()

    def _drop(self, key: tuple) -> None:
        page = self._pages.pop(key, None)
        if page is None:
            return
        self.bytes -= len(page.body)
        if not page.stale:
            self._untag(key, page)

    def _untag(self, key: tuple, page: Page) -> None:
        for tag in page.tags:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]

    def __len__(self) -> int:
        """Pages kept fresh (stale ones wait for their next drawing)."""
        return sum(1 for page in self._pages.values() if not page.stale)


def page_key(request) -> tuple:
    """Under what a page is kept: a werkzeug request's root, path, sorted query, language, today's date, kb's version.

    Pages hold absolute URLs (feeds, sitemap, metadata) and "en retard" depends on the day: the
    host and the prefix the site is served under (its root URL) and the date belong to the key as
    much as the path does; so does the language the request is answered in (from its cookie or
    Accept-Language, not only its query). kb.web.page_drawer draws a page again from its key alone.
    """
    return page_key_of(request.environ, lambda: request)


def page_key_of(environ: dict, make_request=None) -> tuple:
    """page_key of a WSGI request, from what it was made of last time the same request came.

    Reading the request's root URL, query and language took 50 to 100 µs, as long as answering a
    kept page took otherwise (kb.web.kept_pages): they are kept by the environ's values they are
    read from. `make_request` makes the request when the key must be found (a werkzeug Request by default).
    """
    today = date.today().isoformat()
    cookie = environ.get("HTTP_COOKIE") or ""
    # Of the cookies only the language's is read: a session's or an analytics cookie is not kept,
    # and does not make each visitor's requests new ones.
    read = (*(environ.get(name) for name in _KEY_READS), cookie if i18n.COOKIE in cookie else None)
    found = _KEYS.get(read)
    if found is None or found[4] != today:
        made = make_request() if make_request is not None else Request(environ)
        query = urlencode(sorted(parse_qsl(made.query_string.decode("utf-8", "replace"))))
        found = (made.root_url, made.path, query, language_of(made), today, KB_VERSION)
        if sum(len(value) for value in read if value) > KEY_READ_MOST:
            return found  # a long address or header: made each time, not kept
        if len(_KEYS) >= KEYS_KEPT:
            _KEYS.clear()  # many different requests: start again rather than keep them all
        _KEYS[read] = found
    return found


# What page_key reads of a request, in its WSGI environ: the root URL (scheme, host, prefix), the
# path, the query, and the language (the query's ?lang=, Accept-Language; the cookie, apart).
_KEY_READS = ("wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "HTTP_ACCEPT_LANGUAGE")
KEYS_KEPT = 2048
KEY_READ_MOST = 1024  # characters: 2 MB of keys at most, whatever the requests
_KEYS: dict[tuple, tuple] = {}


# What a process draws once before its first drawing that counts: the pages every publication makes
# stale, which read the most (every promise's row, history entries and tallies, the usual order).
REHEARSED = ("/", "/promesses")


def rehearse(app, paths=REHEARSED) -> None:
    """Draw the pages at `paths` once in this process, keeping no copy: what their drawing reads, loads
    and compiles (rows, histories and tallies, templates, the locale's data) is ready for the first
    drawing that counts. Under `kb bench-live` a process that had only taken other processes' copies
    drew the home page in 1.5 to 1.9 s at its first publication, which showed on it late."""
    client = app.test_client()
    for path in paths:
        try:
            client.get(path, environ_overrides={REHEARSAL: True}).close()
        except Exception as error:  # noqa: BLE001 — drawn at the first request that asks instead
            log.warning("page non dessinée d'avance : %s : %s", path, first_line(error))


def cached_page(view):
    """Serve the view's 200 responses from the cache, with an ETag, until what they read changes."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        if request.environ.get(REHEARSAL):
            return view(*args, **kwargs)  # a rehearsal (rehearse): drawn, nothing kept
        key = page_key(request)
        cache: PageCache = current_app.extensions["kb.pages"]
        page = cache.get(key)
        if page is None or page.stale:
            page = _draw_once(cache, key, page, lambda: view(*args, **kwargs))
            if isinstance(page, Response):
                return page  # not a page to keep (an error, a redirect, a stream)
        # Only a page known to exist is revalidated: "If-None-Match: *" must not hide a 404.
        if not request.if_none_match.star_tag and request.if_none_match.contains(page.etag):
            return Response(status=304, headers={"ETag": f'"{page.etag}"'})
        response = Response(page.body, status=page.status, headers=page.headers)
        response.set_etag(page.etag)
        # A stale copy is given once, while the page is drawn again: nobody is to keep it.
        response.headers["Cache-Control"] = "no-cache" if page.stale else "public, max-age=60, must-revalidate"
        return response

    return wrapper


def _draw_once(cache: PageCache, key: tuple, stale: Page | None, render) -> Page | Response:
    """The page drawn anew by this thread; or, while another thread draws it, the stale copy, else its result."""
    drawing = cache.draw(key)
    if drawing is None:
        try:
            return _draw_or_take(cache, key, stale, render)
        finally:
            cache.drawn(key)
    if stale is not None:
        return stale
    drawing.wait(DRAW_WAIT_SECONDS)
    page = cache.get(key)
    if page is not None and not page.stale:
        return page
    return _render(cache, key, render)  # the other drawing kept nothing (an error, a change meanwhile): draw it here


def _draw_or_take(cache: PageCache, key: tuple, stale: Page | None, render) -> Page | Response:
    """Drawn here, or taken from another worker of the machine that drew it knowing what this one knows."""
    pages: SharedPages | None = current_app.extensions.get("kb.shared_pages")
    if pages is None:
        return _render(cache, key, render)
    cursor = current_app.extensions["kb.follower"].position  # before drawing: what the copy will know at least
    taken = _take(cache, key, pages, cursor)
    if taken is not None:
        return taken
    if stale is not None and pages.claimed(key, cursor):
        return stale  # the machine's drawer is drawing it (kb.web.page_drawer): its copy will be taken at a next request
    with pages.drawing(key) as alone:
        if not alone and stale is not None:
            return stale  # another process draws it: its copy will be taken at a next request
        taken = _take(cache, key, pages, cursor)  # it may have just finished
        if taken is not None:
            return taken
        page = _render(cache, key, render, stale)
        if isinstance(page, Page):
            pages.save(key, cursor, page.status, page.headers, page.etag, page.tags, page.body, cost_ms=page.cost_ms)
        return page


def _cost(measured: float, before: Page | None) -> float:
    """A page's cost after a drawing that took `measured` ms: the least of its drawings, allowed to grow by COST_GROWTH."""
    if before is None or before.cost_ms is None:
        return measured
    return min(measured, before.cost_ms * COST_GROWTH)


def _take(cache: PageCache, key: tuple, pages: SharedPages, cursor: int | None) -> Page | None:
    generation = cache.generation
    copy = pages.load(key, cursor)
    if copy is None:
        return None
    header, body = copy
    cost = header.get("cost_ms")
    page = Page(
        body, int(header["status"]), dict(header["headers"]), str(header["etag"]), frozenset(header["tags"]),
        cost_ms=float(cost) if isinstance(cost, (int, float)) else None,
    )  # fmt: skip
    cache.put(key, page, generation)
    return page


def _render(cache: PageCache, key: tuple, render, before: Page | None = None) -> Page | Response:
    generation = cache.generation
    began = time.thread_time()  # this thread's processor time: what drawing it takes from the others of its process
    try:
        response = current_app.make_response(render())
    except HTTPException:
        cache.discard(key)  # abort(404), a redirect…: no older copy of a page that is now gone or elsewhere
        raise
    if response.status_code != 200 or response.direct_passthrough:
        cache.discard(key)  # no older copy of a page that is now gone or elsewhere
        return response
    if g.get("kb_degraded"):  # rendered without the database: not a page to keep
        response.headers["Cache-Control"] = "no-store"
        return response
    headers = {name: value for name, value in response.headers.items() if name.lower() != "content-length"}
    body = response.get_data()
    view_used = g.kb_view.used if "kb_view" in g else set()
    etag = hashlib.sha256(repr(key).encode() + body).hexdigest()[:20]
    page = Page(body, response.status_code, headers, etag, frozenset(view_used), cost_ms=_cost(1000 * (time.thread_time() - began), before))
    cache.put(key, page, generation)
    return page
