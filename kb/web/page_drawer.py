"""Pages drawn again right after a change, by a process of the machine that serves no requests.

A publication makes stale every page that lists promises: the home page (40–70 ms to draw at
10,000 promises), the lists and their filters (20–40 ms each), the feeds. Each is
drawn once per machine (kb.web.shared_pages), but by the first worker asked for it: under
`kb bench-live` that was mostly the busiest worker, and its other requests waited behind the
drawing. In the first second after an approval the server answered an eighth of its usual
requests.

So the machine's scanner process (kb.ops.scanner) also runs this drawer, in a thread, with an app
of its own. It reads the change log every POLL_SECONDS, well before the workers do
(PUBLICATION_POLL_SECONDS). When a change makes stale pages that readers asked for since the
change before, it draws them one by one, within BUDGET_SECONDS and PREDRAW_PAGES pages, each
under its drawing lock (pages whose drawing takes less than LEAST_CPU_MS of processor time
are left to the workers): the home page first, then the others from the quickest to draw to the
slowest. The HTML pages of the round that list items, as many as it can expect to draw within its
budget, are claimed first (kb.web.shared_pages): meanwhile a worker asked for one gives its older
copy (marked `no-cache`), as for a page another process draws, rather than drawing it among its
requests. It takes the new copy as soon as the copy is saved. A page a worker is drawing already
is left to it.

"Asked for" is the copy's modification time: a worker's drawing or taking of a copy sets it.
The drawer's own copies keep the time of the copy they replace, so a page nobody asks for any
more is drawn once more at most.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import date
from urllib.parse import parse_qsl

from flask import Flask

from kb.config import settings
from kb.store.db import first_line
from kb.web.page_cache import EVERYTHING, KB_VERSION, rehearse
from kb.web.shared_pages import SharedPages

log = logging.getLogger(__name__)

# How often the drawer reads the change log. Well before the workers do (PUBLICATION_POLL_SECONDS),
# so that it most often starts drawing a page before the first of them asks for it.
POLL_SECONDS = 0.05
# How long after a change it goes on drawing. The pages it has not reached by then are drawn by
# the workers that ask for them: a page must not stay stale for long.
BUDGET_SECONDS = 2.0
# At its start the drawer knows nothing of what was asked before. It counts the copies touched in the last hour.
FIRST_LOOK_SECONDS = 3600.0
# A page whose drawing takes less processor time than this (kb.web.page_cache.Page.cost_ms: the
# least of its drawings) is left to the worker asked for it, neither drawn nor claimed here.
# At 10,000 promises an item's JSON, a source's page or a feed takes 9 to 15 ms, a list 45 to 55,
# the home page 80 to 140. While the drawer draws a page, the workers give their older copy of it:
# after 100 files edited by hand (`kb bench-live`), it drew the 100 promises' JSON one by one in
# 2 s while the bench, asking for them in the same order, was given each one stale until the
# drawer reached it; a worker draws one in a few milliseconds. The setting PREDRAW_LEAST_MS.
LEAST_CPU_MS = settings.BY_NAME["PREDRAW_LEAST_MS"].default
# How much longer a drawing takes on a machine under load than its recorded cost (the least of its
# drawings): the drawer, the workers and the database share the processors (a list: 45 ms alone,
# 110 to 130 under `kb bench-live`).
LOADED = 3.0
# What a page that lists items read (kb.catalog.reader): every item of a kind, or which ones there are.
LISTING_TAGS = ("list:", "ids:")


class PageDrawer:
    """The pages each change makes stale, drawn again by this process for the workers of the machine."""

    def __init__(self, app: Flask, most: int, least_ms: float = LEAST_CPU_MS):
        self.app = app
        self.most = most
        self.least_ms = least_ms  # pages cheaper to draw are the workers' (see LEAST_CPU_MS)
        self.follower = app.extensions["kb.follower"]
        self.follower.indexes = False  # publications are indexed where they are made, edits by hand by the scanner
        self.pages: SharedPages = app.extensions["kb.shared_pages"]
        self.pages.asked_here = False
        self.client = app.test_client()
        self._tags: set[str] = set()  # what the changes followed since the last drawing touched
        self.follower.after_changes.append(self._tags.update)
        self._since = time.time() - FIRST_LOOK_SECONDS
        # What the pages it draws read, read before the first change: its first round after a start
        # drew the home page and a list in 1.5 to 2 s under `kb bench-live` (0.1 to 0.3 s later),
        # showing the first publications late.
        self.follower.poll(force=True)  # the first look forgets what was read before it
        rehearse(app)

    def round(self) -> int:
        """Follow the change log; the pages it made stale that readers had asked for, drawn again: how many."""
        self.follower.poll(force=True)
        if not self._tags:
            return 0
        tags = set(self._tags)
        self._tags.clear()
        started = time.time()
        since, self._since = self._since, started
        position = self.follower.position
        wanted = self._wanted(since, tags, position)[: self.most]
        keys = [key for key, _cost, _listing in wanted]
        # The pages that list items (the home page, the lists, their filters: 45 to 140 ms each at
        # 10,000 promises, a dozen stale after each publication) are claimed: meanwhile a worker
        # gives its older copy of one rather than drawing it among its requests. An item's page,
        # drawn in a few milliseconds, is not: the first worker asked for it draws it at once.
        claimed = _within_budget([(key, cost) for key, cost, listing in wanted if listing])
        if claimed:
            self.pages.claim(claimed, position)
        drawn = 0
        try:
            for key in keys:
                if time.time() - started > BUDGET_SECONDS:
                    break  # the rest are the workers' to draw, when asked
                # One lock at a time: a worker drawing a page already (it was asked for it before the
                # claim) keeps it, and the drawer goes on with the others.
                with self.pages.holding(key) as held:
                    if held:
                        drawn += self._draw(key)
        finally:
            if claimed:
                self.pages.claim([], position)  # over: what it did not draw, the workers draw when asked
        if keys:
            log.info(
                "pages redessinées après un changement : %d sur %d demandées", drawn, len(keys),
                extra={"event": "pages.drawn", "fields": {"drawn": drawn, "wanted": len(keys), "seconds": round(time.time() - started, 3)}},
            )  # fmt: skip
        return drawn

    def _wanted(self, since: float, tags: set[str], position: int | None) -> list[tuple[tuple, float, bool]]:
        """The keys of the copies asked for after `since` that these changes made stale, in the order
        they are drawn, each with its cost (ms) and whether it lists items (a change made it stale by a
        `list:` or `ids:` tag)."""
        today = date.today().isoformat()
        wanted = []
        for _asked, header in self.pages.asked_since(since):  # first asked first
            key = tuple(header.get("page") or ())
            if len(key) != 6 or key[4] != today or key[5] != KB_VERSION:
                continue  # drawn another day or by another version of kb: never asked for again
            if position is not None and int(header.get("cursor", -1)) >= position:
                continue  # drawn knowing these changes already
            cost = float(header.get("cost_ms", float("inf")))  # not recorded: drawn, last
            if cost < self.least_ms:
                continue  # cheaper drawn by the worker asked for it than given stale until the drawer reaches it
            read = set(header.get("tags") or ())
            touched = read if EVERYTHING in tags else tags & read
            if touched:
                wanted.append((_rank(key), cost, key, _html(header) and any(tag.startswith(LISTING_TAGS) for tag in touched)))
        # First asked first put the home page, which shows a publication in its latest changes and
        # its scorecard and which most readers see first, anywhere among the fifteen stale pages of a
        # publication under `kb bench-live` (1.4 s to draw them all): on PostgreSQL it stayed stale
        # 1.2 s at p95. It comes first; then the quickest to draw, so that the most pages are fresh
        # the soonest: a list's counts in JSON (15 ms) waited behind a dozen lists (45 to 55 ms each).
        wanted.sort(key=lambda item: item[:2])  # stable: first asked first at equal cost
        return [(key, cost, listing) for _rank_of, cost, key, listing in wanted]

    def _draw(self, key: tuple) -> bool:
        """The page drawn as a reader's request would have it drawn (kb.web.page_cache saves the copy)."""
        root, path, query, language, _day, _version = key
        response = self.client.get(path, base_url=root, query_string=query, headers={"Accept-Language": language})
        response.close()
        return response.status_code == 200


def draw_forever(drawer: PageDrawer, stop: threading.Event) -> None:
    """The drawer's thread: a round every POLL_SECONDS until `stop`; a failed round is tried again a second later."""
    while not stop.is_set():
        try:
            drawer.round()
        except Exception as error:  # noqa: BLE001 — the workers draw what it does not: never a reason to stop
            log.warning("pages non redessinées : %s", first_line(error))
            stop.wait(1.0)
        stop.wait(POLL_SECONDS)


def _html(header: dict) -> bool:
    """Whether a copy is a page for readers: only those are claimed. A list's HTML draws hundreds of
    links through templates (45 to 140 ms at 10,000 promises); its JSON or feed draws none (10 to 20 ms,
    twice that under load), and programs poll those for a change: claimed, a list's counts in JSON
    waited behind the home page and the lists (1.2 to 1.5 s at p95 under `kb bench-live`)."""
    headers = header.get("headers") if isinstance(header.get("headers"), dict) else {}
    content_type = next((str(value) for name, value in headers.items() if name.lower() == "content-type"), "")
    return content_type.startswith("text/html")


def _within_budget(pages: list[tuple[tuple, float]]) -> list[tuple]:
    """The first of `pages` (key, cost in ms) the drawer can expect to draw within BUDGET_SECONDS on a
    loaded machine: those it would not reach are not claimed, the workers draw them when asked."""
    claimed, spent = [], 0.0
    for key, cost in pages:
        spent += LOADED * min(cost, BUDGET_SECONDS * 1000)
        if claimed and spent > BUDGET_SECONDS * 1000:
            break
        claimed.append(key)
    return claimed


def _rank(key: tuple) -> int:
    """0 for the home page (in any language), 1 for the others."""
    _root, path, query, _language, _day, _version = key
    # ?lang=en is the same page, in English.
    return 0 if path in ("", "/") and all(name == "lang" for name, _value in parse_qsl(query)) else 1
