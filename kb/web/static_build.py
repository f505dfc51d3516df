"""`kb build DIR`: the public site as files, for any static server or CDN.

Pages are rendered by the same views and templates as the live site (through Flask's test
client), written as files, and their internal links rewritten to relative file paths, so the
build works from any server, under any sub-path, even opened from disk. What only a live
server can answer — search, the newsroom, combinations of several filters or a sort — links
to the live site given with --live-url (or stays a root-relative link, for a CDN that sends
unknown paths to the application).

The build is written beside DIR and swapped in at the end: a reader never sees half a site.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape, unescape
from pathlib import Path
from urllib.parse import urljoin, parse_qsl, urlsplit

from flask import Flask

from kb.catalog import queries
from kb.config.i18n import gettext as _
from kb.content import originals
from kb.content.listing import CLAIM_FILTERS, FILTERS, slug
from kb.web.content_store import current_tree
from kb.web.request_log import STATIC_BUILD

LINK = re.compile(r'(href|src|action)="(/[^"#]*)(#[^"]*)?"')
CSS_URL = re.compile(r'url\(\s*["\']?([^"\')]+)["\']?\s*\)')
DYNAMIC = ("/recherche", "/redaction", "/api/search", "/oembed", "/suivre")
# A saved web page uploaded as a source: a static host would serve it inline, scripts and all.
ORIGINAL_HTML = re.compile(r"^/sources/[^/]+/original\.html$")
MARKER = ".kb-build"  # names a directory kb built, and so may replace
EXTENSIONS = {"application/json": ".json", "text/csv": ".csv", "application/xml": ".xml", "text/css": ".css"}


class BuildError(Exception):
    """The build cannot be written where asked."""


@dataclass
class BuildReport:
    """What a build wrote."""

    files: int = 0
    pages: int = 0
    bytes: int = 0
    seconds: float = 0.0
    failures: list[str] = field(default_factory=list)


def _seeds(app: Flask) -> list[str]:
    with app.test_request_context():
        tree = current_tree()
        urls = ["/", "/promesses", "/flux.atom", "/sitemap.xml", "/statuts.css", "/favicon.svg", "/favicon.ico"]
        urls += ["/export/promises.csv", "/api/promises"]
        urls += ["/affirmations", "/affirmations.atom", "/export/claims.csv", "/api/claims", "/suivis", "/api/trackers"]
        # Every item's page, at its kind's address; then what else the site says of each item.
        urls += [kind.path_of(key) for kind in tree.kinds for key in sorted(tree.items[kind.name])]
        for promise_id in sorted(tree.promises):
            urls += [f"/promesses/{promise_id}.atom", f"/api/promises/{promise_id}"]
        urls += [f"/api/sources/{source_id}" for source_id in sorted(tree.sources)]
        for source_id in sorted(tree.sources):  # the archived originals, downloadable from the static site too
            found = originals.find(Path(app.config["CONTENT_DIR"]), tree.sources[source_id].sha256)
            urls += [f"/sources/{source_id}/original{found.suffix}"] if found and found.suffix != ".html" else []
        urls += [f"/api/claims/{claim_id}" for claim_id in sorted(tree.claims)]
        for tracker_id in sorted(tree.trackers):
            urls += [f"/suivis/{tracker_id}.atom", f"/api/trackers/{tracker_id}"]
        urls += ["/elus", "/api/people"] + (["/logo"] if app.config["SITE_LOGO"] else []) + [f"/territoires/{name}" for name in sorted(queries.places(tree))]
        urls += [f"/elus/{person.id}/photo" for person in sorted(tree.people.values(), key=lambda person: person.id) if person.photo]
        # The cards other sites embed (their iframes name the build's base URL).
        urls += [f"/integrer/promesses/{promise_id}" for promise_id in sorted(tree.promises)]
        urls += [f"/integrer/elus/{person_id}" for person_id in sorted(tree.people)]
        urls += [f"/integrer/suivis/{tracker_id}" for tracker_id in sorted(tree.trackers)]
        urls += ["/static/embed.css"]
    return urls


def _buildable(url: str) -> bool:
    """Whether the static build holds this URL (one filter at most, and its pages; no sort)."""
    parts = urlsplit(url)
    if parts.path.startswith(DYNAMIC) or ORIGINAL_HTML.match(parts.path):
        return False
    args = dict(parse_qsl(parts.query))
    if not args:
        return True
    names = CLAIM_FILTERS if parts.path in ("/affirmations", "/affirmations.atom", "/export/claims.csv") else FILTERS
    filters = [name for name in args if name in names]
    if parts.path.startswith("/suivis/") and not parts.path.endswith(".atom"):
        # A tracker's page, filtered once more (its own tracker is not a filter there).
        filters = [name for name in filters if name != "tracker"]
        return len(filters) <= 1 and set(args) <= {*filters, "page"}
    if parts.path in ("/promesses", "/affirmations"):
        return len(filters) <= 1 and set(args) <= {*filters, "page"}
    if parts.path in ("/flux.atom", "/affirmations.atom"):
        return len(filters) == 1 and len(args) == 1
    return False


def file_for(url: str, mimetype: str) -> str:
    """The file (relative to the build) that holds a URL's response."""
    parts = urlsplit(url)
    path = parts.path.strip("/")
    if parts.query:
        # Readable, and unique: two queries whose slugs agree ("Aubry", "AUBRY") differ in hash.
        readable = slug(" ".join(f"{name} {value}" for name, value in sorted(parse_qsl(parts.query))))
        query = f"--{readable}-{hashlib.sha256(parts.query.encode()).hexdigest()[:8]}"
    else:
        query = ""
    if mimetype == "text/html":
        return f"{path}/index{query}.html" if path else f"index{query}.html"
    stem, dot, extension = path.rpartition("/")[2].partition(".")
    folder = path.rpartition("/")[0]
    name = f"{stem}{query}.{extension}" if dot else f"{stem}{query}{EXTENSIONS.get(mimetype, '')}"
    return f"{folder}/{name}" if folder else name


def _rewrite(html: str, own_file: str, built: dict[str, str], live_url: str | None) -> str:
    here = os.path.dirname(own_file) or "."

    def replace(match: re.Match) -> str:
        attribute, url, fragment = match.group(1), unescape(match.group(2)), match.group(3) or ""
        target = built.get(url)
        if target is not None:
            return f'{attribute}="{os.path.relpath(target, here)}{fragment}"'
        if live_url:
            return f'{attribute}="{escape(live_url.rstrip("/") + url)}{fragment}"'
        return match.group(0)

    return LINK.sub(replace, html)


# The app and the build's settings, for the forked workers (set before the pool starts).
_job: dict = {}


def _render(urls: list[str]) -> list[tuple[str, str | None, int, bool, list[str]]]:
    """Render URLs into the work directory: (url, file or None, bytes, is_html, links found)."""
    client = _job["app"].test_client()
    done = []
    for url in urls:
        response = client.get(url, base_url=_job["base_url"], environ_overrides={STATIC_BUILD: True})
        body = response.get_data()
        response.close()  # static files are streamed from an open file
        if response.status_code != 200:
            done.append((url, None, response.status_code, False, []))
            continue
        target = file_for(url, response.mimetype)
        _write(_job["work"] / target, body)
        html = response.mimetype == "text/html"
        links = [unescape(match.group(2)) for match in LINK.finditer(body.decode("utf-8"))] if html else []
        if response.mimetype == "text/css":  # the fonts a stylesheet names, relative to it (kept as they are: same layout)
            links = [urljoin(url, found) for found in CSS_URL.findall(body.decode("utf-8")) if not found.startswith(("data:", "http"))]
        done.append((url, target, len(body), html, links))
    return done


def _relink(targets: list[str]) -> int:
    """Rewrite the links of built HTML files, now that every built URL is known."""
    written = 0
    for target in targets:
        path = _job["work"] / target
        body = _rewrite(path.read_text(encoding="utf-8"), target, _job["built"], _job["live_url"]).encode("utf-8")
        path.write_bytes(body)
        written += len(body)
    return written


def _chunks(items: list, count: int) -> list[list]:
    return [items[start::count] for start in range(count)] if items else []


def build_site(
    app: Flask, out: Path, base_url: str, live_url: str | None = None, progress=None, processes: int | None = None
) -> BuildReport:
    """Render every public page, feed, read-API document and the CSV into `out`.

    Pages are rendered in rounds (the seeds, then the links they reveal) by `processes`
    forked workers, each writing its files; links are rewritten once every URL is known.
    """
    started = time.perf_counter()
    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise BuildError(_("%(path)s est un fichier : indiquez un dossier", path=out))
    if out.exists() and any(out.iterdir()) and not (out / MARKER).exists():
        raise BuildError(_("%(path)s existe et n'est pas une construction de kb : choisissez un dossier vide ou nouveau", path=out))
    work = out.parent / f".{out.name}.building-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    processes = processes or os.cpu_count() or 1
    report = BuildReport()
    _job.update(app=app, base_url=base_url, live_url=live_url, work=work, built={})
    built: dict[str, str] = _job["built"]
    html_files: list[str] = []
    html_bytes = 0
    wave = list(dict.fromkeys(_seeds(app)))
    seen = set(wave)
    try:
        with _pool(processes) as pool:
            while wave:
                results = [row for rows in _map(pool, _render, _chunks(wave, processes)) for row in rows]
                wave = []
                for url, target, size, html, links in sorted(results):
                    if target is None:
                        report.failures.append(f"{url} : {size}")
                        continue
                    built[url] = target
                    report.files += 1
                    report.bytes += size
                    if html:
                        html_files.append(target)
                        html_bytes += size
                    for link in links:
                        if link not in seen and _buildable(link):
                            seen.add(link)
                            wave.append(link)
                    if progress:
                        progress(url)
        # A new pool: its workers must see the complete map of built URLs.
        with _pool(processes) as pool:
            rewritten = sum(_map(pool, _relink, _chunks(html_files, processes)))
        report.pages = len(html_files)
        report.bytes += rewritten - html_bytes  # links rewritten: the pages' final size
        _write(work / MARKER, b"kb build\n")
        _swap_in(work, out)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    finally:
        _job.clear()
    report.seconds = time.perf_counter() - started
    return report


@contextmanager
def _pool(processes: int):
    if processes <= 1:
        yield None
        return
    # fork: the workers inherit the app and the content tree already read, nothing is pickled.
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        yield pool


def _map(pool, function, chunks: list[list]) -> list:
    return pool.map(function, chunks) if pool is not None else [function(chunk) for chunk in chunks]


def _write(path: Path, body: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)


def _swap_in(work: Path, out: Path) -> None:
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        os.replace(out, old)
    os.replace(work, out)
    shutil.rmtree(old, ignore_errors=True)
