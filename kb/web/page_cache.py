"""Public pages rendered once per state of the content, then served as fixed bytes.

Citizens arrive in bursts (an article is shared, a council meets): the same pages, the same
content. A page is kept under (path, query string, content version); any change to the files
changes the version, so nothing stale is ever served. The same version gives the ETag, so a
browser or a CDN revalidating an unchanged page gets a 304 and no body.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from datetime import date
from functools import wraps
from importlib.metadata import version
from urllib.parse import parse_qsl, urlencode

from flask import Response, current_app, g, request

from kb.web.content_store import content_version

MAX_BYTES = 64 * 1024 * 1024
# A deploy can change templates without touching content: it must change every ETag too.
KB_VERSION = version("kb")


class PageCache:
    """Rendered responses, bounded in bytes, least recently used dropped first."""

    def __init__(self, max_bytes: int = MAX_BYTES):
        self.max_bytes = max_bytes
        self.bytes = 0
        self._pages: OrderedDict[tuple, tuple[bytes, int, dict]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple):
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: tuple, page: tuple[bytes, int, dict]) -> None:
        size = len(page[0])
        if size > self.max_bytes // 8:
            return  # one huge document must not evict everything else
        with self._lock:
            previous = self._pages.pop(key, None)
            self.bytes -= len(previous[0]) if previous else 0
            self._pages[key] = page
            self.bytes += size
            while self.bytes > self.max_bytes:
                _, (body, _, _) = self._pages.popitem(last=False)
                self.bytes -= len(body)


def cached_page(view):
    """Serve the view's 200 responses from the cache, with an ETag, per content version."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        # Pages hold absolute URLs (feeds, sitemap, metadata) and "en retard" depends on the
        # day: the host and the date belong to the key as much as the content does.
        query = urlencode(sorted(parse_qsl(request.query_string.decode("utf-8", "replace"))))
        key = (request.host_url, request.path, query, content_version(), date.today().isoformat(), KB_VERSION)
        etag = hashlib.sha256(repr(key).encode()).hexdigest()[:20]
        cache: PageCache = current_app.extensions["kb.pages"]
        # Only a page known to exist is revalidated: "If-None-Match: *" must not hide a 404.
        if cache.get(key) is not None and not request.if_none_match.star_tag and request.if_none_match.contains(etag):
            return Response(status=304, headers={"ETag": f'"{etag}"'})
        page = cache.get(key)
        if page is None:
            response = current_app.make_response(view(*args, **kwargs))
            if response.status_code != 200 or response.direct_passthrough:
                return response
            if g.get("kb_degraded"):  # rendered without the database: not a page to keep
                response.headers["Cache-Control"] = "no-store"
                return response
            headers = {name: value for name, value in response.headers.items() if name.lower() != "content-length"}
            page = (response.get_data(), response.status_code, headers)
            cache.put(key, page)
        body, status, headers = page
        response = Response(body, status=status, headers=headers)
        response.set_etag(etag)
        response.headers["Cache-Control"] = "public, max-age=60, must-revalidate"
        return response

    return wrapper
