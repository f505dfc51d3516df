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
from functools import wraps

from flask import Response, current_app, request

from .content_store import content_version

MAX_PAGES = 2048


class PageCache:
    """A bounded map of rendered responses, least recently used dropped first."""

    def __init__(self, size: int = MAX_PAGES):
        self.size = size
        self._pages: OrderedDict[tuple, tuple[bytes, int, dict]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple):
        with self._lock:
            page = self._pages.get(key)
            if page is not None:
                self._pages.move_to_end(key)
            return page

    def put(self, key: tuple, page: tuple[bytes, int, dict]) -> None:
        with self._lock:
            self._pages[key] = page
            self._pages.move_to_end(key)
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)


def cached_page(view):
    """Serve the view's 200 responses from the cache, with an ETag, per content version."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        version = content_version()
        key = (request.path, request.query_string, version)
        etag = hashlib.sha256(repr(key).encode()).hexdigest()[:20]
        if request.if_none_match.contains(etag):
            return Response(status=304, headers={"ETag": f'"{etag}"'})
        cache: PageCache = current_app.extensions["kb.pages"]
        page = cache.get(key)
        if page is None:
            response = current_app.make_response(view(*args, **kwargs))
            if response.status_code != 200 or response.direct_passthrough:
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
