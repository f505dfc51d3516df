"""Keep a static build (`kb build`) in step with publications made through the newsroom.

After each publication the build is rendered again in a background thread, from the files,
and swapped in atomically as `kb build` does; publications arriving during a build are
coalesced into one more build. Citizens reading the static copy see the change seconds later
(the demo corpus builds in about half a second); the live site shows it at once.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from flask import Flask

from kb.web.static_build import build_site

log = logging.getLogger(__name__)


class StaticRebuilder:
    """Called with the published target; rebuilds `out` in the background, one build at a time."""

    def __init__(self, app: Flask, out: Path):
        self.app = app
        self.out = out
        self.base_url = app.config.get("STATIC_BUILD_BASE_URL") or "http://127.0.0.1:5000/"
        self.live_url = app.config.get("STATIC_BUILD_LIVE_URL")
        self._wanted = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.builds = 0

    def __call__(self, target: str) -> None:
        with self._lock:
            self._wanted.set()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="kb-static-rebuild", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            # Decided under the lock: a publication arriving now either sees this thread still
            # running (and is picked up by the next round) or starts a new one.
            with self._lock:
                if not self._wanted.is_set():
                    self._thread = None
                    return
                self._wanted.clear()
            try:
                # One process: forking a threaded web server is not safe.
                report = build_site(self.app, self.out, self.base_url, self.live_url, processes=1)
                self.builds += 1
                log.info("construction statique mise à jour : %d pages en %.1f s", report.pages, report.seconds)
            except Exception:
                log.exception("construction statique %s impossible", self.out)

    def wait(self, timeout: float = 60.0) -> None:
        """Block until no build is running or wanted (for tests and the CLI)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
