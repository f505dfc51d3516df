"""The content as the web app reads it: the shared catalog, through a view per request.

No process holds the content tree: a request reads from the catalog (kb.catalog) what its page
needs. Edits made by hand or by git are noticed by a scan of the files' sizes and times — one
process at a time, every CONTENT_RECHECK_SECONDS, in a background thread of each server process
(an app driven otherwise, as in tests, scans at the start of a request, at most that often) —
which refreshes the catalog item by item;
publications refresh it themselves. Every process then follows the catalog's change log
(kb.web.follower) to refresh its search index and drop the pages a change touched.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from pathlib import Path

from flask import Flask, current_app, g, redirect, request, url_for

from kb.catalog.listed import ListedCache
from kb.catalog.reader import CatalogView, ItemCache, Vocabularies
from kb.catalog.update import Catalog
from kb.config.i18n import gettext as _
from kb.config.settings import publish_lock_path
from kb.content.model import ContentError
from kb.store.db import first_line

log = logging.getLogger(__name__)

# With a scanner process (kb.ops.scanner), the workers scan once the machine's last scan is this many periods old.
SCANNER_LATE = 5


class ContentStore:
    """One per app: the catalog, the decoded items this process keeps, the scan for hand edits."""

    def __init__(self, app: Flask):
        self.root = Path(app.config["CONTENT_DIR"])
        self.kinds = app.extensions["kb.kinds"]
        self.engine = app.extensions["kb.db"].kw["bind"]
        self.catalog = Catalog(self.engine, self.root, publish_lock_path(app.config), self.kinds)
        self.vocabularies = Vocabularies(self.root, float(app.config["CONTENT_RECHECK_SECONDS"]))
        self.items = ItemCache()
        self.listed = ListedCache(self.engine)  # kept in step by the change follower (kb.web.follower)
        self.recheck_seconds = float(app.config["CONTENT_RECHECK_SECONDS"])
        # Servers scan in a background thread (kb serve sets it, production turns it on); an app
        # driven otherwise (tests, scripts) scans at the start of a request, at most that often.
        self.background = bool(app.config["PRODUCTION"])
        # Under `kb serve --production` a process of its own scans (kb.ops.scanner): the workers'
        # threads only take over when it has not scanned for a while (it is gone).
        self.scan_every = self.recheck_seconds * (SCANNER_LATE if app.config.get("CONTENT_SCANNER") == "process" else 1)
        self._scanned_at = float("-inf")
        self._scanner: threading.Thread | None = None
        self._scanner_lock = threading.Lock()
        self.on_changes = []  # called with the keys a scan of this process changed (the follower)
        # Called in the background thread after its scan found nothing to do (the index's larger merges).
        self.between_scans = []

    def view(self) -> CatalogView:
        return CatalogView(self.engine, self.root, self.kinds, self.vocabularies, self.items, self.listed)

    def ensure(self) -> bool:
        """Build the catalog if it is missing or outdated (first start, new version of kb); True when built."""
        return self.catalog.ensure()

    def scan(self, every: float = 0.0) -> list[str]:
        """Refresh the catalog from files changed on disk; the keys changed (told to `on_changes`).

        With `every`, a no-op when any process of this machine scanned less than that ago.
        """
        return self._scan(every)[0]

    def background_round(self, every: float) -> None:
        """The background thread's turn: a scan, then the upkeep it leaves room for."""
        changed, scanned = self._scan(every)
        if scanned and not changed:
            for job in self.between_scans:
                try:
                    job()
                except Exception as error:  # noqa: BLE001 — upkeep is tried again at a later turn
                    log.warning("entretien entre deux recherches de fichiers remis à plus tard : %s", first_line(error))

    def _scan(self, every: float) -> tuple[list[str], bool]:
        try:
            report = self.catalog.scan(every)
        except Exception as error:  # noqa: BLE001 — a database hiccup must not fail a page: the next scan retries
            log.warning("recherche des fichiers modifiés impossible : %s", first_line(error))
            return [], False
        if report.changed:
            log.info(
                "fichiers modifiés sur le disque : %s", ", ".join(report.changed[:20]),
                extra={"event": "catalog.scan", "fields": {"changed": len(report.changed), "seconds": round(report.seconds, 3)}},
            )  # fmt: skip
            for listener in self.on_changes:
                listener(report.changed)
        return report.changed, not report.skipped

    def keep_current(self) -> bool:
        """At a request's start: look for hand edits as this app does (a background thread, or now if due);
        False when the content directory is not there."""
        if not self.root.is_dir():
            return False
        if self.background and self.recheck_seconds > 0:
            self.start_scanning()
        elif time.monotonic() - self._scanned_at >= self.recheck_seconds:
            self._scanned_at = time.monotonic()
            self.scan()
        return True

    def start_scanning(self) -> None:
        """Scan in a background thread of this process, once every CONTENT_RECHECK_SECONDS (started on first use)."""
        if self._scanner is not None:
            return
        with self._scanner_lock:
            if self._scanner is None:
                self._scanner = threading.Thread(
                    target=_scan_forever, args=(weakref.ref(self), self.recheck_seconds, self.scan_every), name="kb-catalog-scan", daemon=True
                )
                self._scanner.start()


def _scan_forever(store_ref: "weakref.ref[ContentStore]", seconds: float, every: float) -> None:
    # A weak reference: an app that is gone (tests make many) takes its scanner with it.
    while True:
        time.sleep(seconds)
        store = store_ref()
        if store is None:
            return
        store.background_round(every)  # the workers take turns: about one scan a period for the machine
        del store


def init_app(app: Flask) -> None:
    store = ContentStore(app)
    app.extensions["kb.content"] = store
    store.ensure()
    app.before_request(_before_request)


def _before_request() -> None:
    if request.blueprint == "health":
        return  # /healthz says what is wrong itself, as JSON
    store: ContentStore = current_app.extensions["kb.content"]
    if not store.keep_current():
        # Unmounted, or moved: say so (a 503 page) rather than serve the catalog as if nothing happened.
        raise ContentError(_("dossier de contenu introuvable : %(path)s", path=store.root))


def current_tree() -> CatalogView:
    """What this request reads of the content (one view per request: it records what the page used)."""
    if "kb_view" not in g:
        g.kb_view = current_app.extensions["kb.content"].view()
    return g.kb_view


def find_promise(promise_id: str, endpoint: str):
    """(tree, promise, None), or (tree, None, a 301 to `endpoint` under the new id), or (tree, None, None)."""
    tree = current_tree()
    found = tree.promises.get(promise_id)
    if found is not None:
        return tree, found, None
    target = tree.alias_target(promise_id)
    return tree, None, redirect(url_for(endpoint, promise_id=target), code=301) if target else None
