"""Public pages rendered once, then served as fixed bytes until something they show changes.

Citizens arrive in bursts (an article is shared, a council meets): the same pages, the same
content. A page is kept under (host, path, query string, day, kb version) with what it read from
the catalog: the items (their keys) and the sets it listed ("list:promise", "territory:Lille"…),
as kb.catalog.reader records them. A change drops the pages that read what changed — the item's
page, the lists and feeds it appears in, the pages that show it as related — and no other. The
page's ETag lets a browser or a CDN revalidating an unchanged page get a 304 and no body.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from functools import wraps
from importlib.metadata import version
from urllib.parse import parse_qsl, urlencode

from flask import Response, current_app, g, request

MAX_BYTES = 32 * 1024 * 1024
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
        """Drop every page that read one of `tags` ("*": every page); how many were dropped."""
        with self._lock:
            self.generation += 1
            if EVERYTHING in tags:
                dropped = len(self._pages)
                self._pages.clear()
                self._by_tag.clear()
                self.bytes = 0
                return dropped
            keys = set().union(*(self._by_tag.get(tag, ()) for tag in tags)) if tags else set()
            for key in keys:
                self._drop(key)
            return len(keys)

    def _drop(self, key: tuple) -> None:
        page = self._pages.pop(key, None)
        if page is None:
            return
        self.bytes -= len(page.body)
        for tag in page.tags:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]

    def __len__(self) -> int:
        return len(self._pages)


def cached_page(view):
    """Serve the view's 200 responses from the cache, with an ETag, until what they read changes."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        # Pages hold absolute URLs (feeds, sitemap, metadata) and "en retard" depends on the
        # day: the host and the date belong to the key as much as the path does.
        query = urlencode(sorted(parse_qsl(request.query_string.decode("utf-8", "replace"))))
        key = (request.host_url, request.path, query, date.today().isoformat(), KB_VERSION)
        cache: PageCache = current_app.extensions["kb.pages"]
        page = cache.get(key)
        # Only a page known to exist is revalidated: "If-None-Match: *" must not hide a 404.
        if page is not None and not request.if_none_match.star_tag and request.if_none_match.contains(page.etag):
            return Response(status=304, headers={"ETag": f'"{page.etag}"'})
        if page is None:
            generation = cache.generation
            response = current_app.make_response(view(*args, **kwargs))
            if response.status_code != 200 or response.direct_passthrough:
                return response
            if g.get("kb_degraded"):  # rendered without the database: not a page to keep
                response.headers["Cache-Control"] = "no-store"
                return response
            headers = {name: value for name, value in response.headers.items() if name.lower() != "content-length"}
            body = response.get_data()
            view_used = g.kb_view.used if "kb_view" in g else set()
            etag = hashlib.sha256(repr(key).encode() + body).hexdigest()[:20]
            page = Page(body, response.status_code, headers, etag, frozenset(view_used))
            cache.put(key, page, generation)
        response = Response(page.body, status=page.status, headers=page.headers)
        response.set_etag(page.etag)
        response.headers["Cache-Control"] = "public, max-age=60, must-revalidate"
        return response

    return wrapper
