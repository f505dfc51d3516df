"""`kb bench-live`: the live site at newsroom scale while the newsroom publishes, every figure beside its target.

A synthetic corpus (10,000 promises and 1,000 sources of 40 KB by default) served by `kb serve
--production` as documented (WORKERS processes × THREADS threads, as settings say, unless told otherwise), on
SQLite or on a fresh schema of a PostgreSQL server. wrk loads a mix of home, filtered lists, promise
and source pages, feeds and searches over words of the corpus, while an editor publishes a status
change every few seconds over HTTP. After each approval, fresh connections poll the promise's page,
the list's counts, the home page's latest changes and search until they show it; the server's JSON
log says which worker answered each poll, so "visible on every worker" is measured, not assumed.
Then: worker memory before and after 200 more publications, 100 files edited by hand, and warm
throughput of single pages.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from urllib.parse import quote
from typing import Callable

from kb.bench.harness import EDITORS, JOURNALISTS, Client, Scratch, Server
from kb.bench.synthetic import write_corpus
from kb.bench.web import parse_wrk
from kb.config import settings
from kb.content.kinds import KINDS
from kb.content.tree import read_tree

TARGETS = {
    "p99_ms": 250,
    "visible_p95_s": 1.0,
    "visible_max_s": 2.0,
    "rss_mb": 250,
    "rss_growth_mb": 20,
    "first_page_s": 1.0,
    "hand_edit_s": 5.0,
    "warm_rps": 2000,
}


@dataclass
class Poll:
    request_id: str
    surface: str
    fresh: bool
    at: float  # seconds after the approval


@dataclass
class Publication:
    promise_id: str
    status: str
    approved_at: float
    polls: list[Poll] = field(default_factory=list)
    error: str | None = None


def _get(url: str, request_id: str, timeout: float = 10.0) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"X-Request-Id": request_id, "Connection": "close"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def _scanners(server: Server) -> set[int]:
    """The pid of the server's scanner process (kb.ops.scanner), as its first log line says (read once found)."""
    found = server.scanner_pids
    if not found:
        found = server.scanner_pids = {
            int(line["pid"]) for line in server.log_lines() if line.get("event") == "scanner.start" and line.get("pid")
        }  # fmt: skip
    return found


def _workers(server: Server) -> list[int]:
    """The pids of the server's worker processes (children of the gunicorn master but its scanner)."""
    master = server.process.pid
    scanners = _scanners(server)
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master and int(entry.name) not in scanners:
                found.append(int(entry.name))
    return sorted(found)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# How long the mix runs to warm the workers, after every page was asked once.
WARM_SECONDS = 20


def _lua(paths: list[str], seed: int) -> str:
    # Percent-encoded, so pure ASCII: a JSON string escape such as \u00e9 is no Lua string escape,
    # and wrk, unable to load the script, would load the bare URL alone without failing.
    table = "{" + ",".join(json.dumps(quote(path, safe="/?=&%")) for path in paths) + "}"
    return f"""
local paths = {table}
local counter = 0
function setup(thread) counter = counter + 1; thread:set("id", counter) end
function init(args) math.randomseed({seed} + id) end
function request() return wrk.format("GET", paths[math.random(#paths)]) end
"""


def _wrk(url: str, seconds: int, connections: int, script: Path | None = None) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script is not None:
        command += ["-s", str(script)]
    result = subprocess.run([*command, url], capture_output=True, text=True, timeout=seconds + 120)
    if script is not None and result.stderr.strip():
        raise RuntimeError(f"wrk n'a pas pu charger son script {script} : {result.stderr.strip()[:300]}")
    load = parse_wrk(result.stdout)
    return {"rps": load.requests_per_second, "p50": load.p50_ms, "p99": load.p99_ms, "errors": load.errors, "output": result.stdout}


class Editor(threading.Thread):
    """Every `every` seconds, a status change approved over HTTP, then polled on fresh connections until every surface shows it."""

    def __init__(self, scratch: Scratch, server: Server, tree, every: float, count: int, rng: random.Random, wait: bool = True):
        super().__init__(daemon=True)
        self.scratch, self.server, self.every, self.count, self.rng, self.wait = scratch, server, every, count, rng, wait
        self.tree = tree  # read once, before the load: reading 10,000 files is the bench's cost, not the server's
        self.publications: list[Publication] = []
        self.stop = threading.Event()

    def run(self) -> None:
        from kb.content.kinds import PROMISE
        from kb.newsroom import proposals, workflow
        from kb.store.accounts import find_user

        editor = Client(self.server.base).login(EDITORS[0])
        tree = self.tree
        statuses = [key for key in tree.statuses if key != "unverifiable"]
        candidates = self.rng.sample(sorted(tree.promises), min(len(tree.promises), max(self.count, 1) * 2))
        for number in range(self.count):
            if self.stop.is_set():
                return
            started = time.monotonic()
            promise_id = candidates[number % len(candidates)]
            path = KINDS.path(self.scratch.content, f"promise:{promise_id}")
            promise, _ = PROMISE.read(path)
            status = next(key for key in self.rng.sample(statuses, len(statuses)) if key != promise.status)
            proof = next(((p.source, p.quote) for e in promise.history for p in e.evidence), None)
            marker = f"zqv{secrets.token_hex(4)}"
            text = proposals.status_update(promise, date.today().isoformat(), status, f"Repère {marker}.", [proof] if proof else [])
            text = text.rstrip("\n") + f"\n\nRepère de vérification : {marker}.\n"
            publication = Publication(promise_id, status, 0.0)
            try:
                with self.scratch.sessions()() as session:
                    author = find_user(session, JOURNALISTS[number % len(JOURNALISTS)])
                    # The tree read once: propose checks against it, and bases the request on the file as it is now.
                    change = workflow.propose(session, tree, author, "status", f"promise:{promise_id}", text, f"Statut {marker}")
                    workflow.submit(session, tree, change, author)
                    change_id = change.id
                counts_before = self._count(status)
                code = editor.act(change_id, "approve")
                publication.approved_at = time.monotonic()
                if code != 302:
                    publication.error = f"approbation : HTTP {code}"
                elif self.wait:
                    self._poll(publication, marker, counts_before + 1)
            except Exception as error:  # noqa: BLE001 — reported in the figures, the run goes on
                publication.error = f"{type(error).__name__}: {error}"
            self.publications.append(publication)
            self.stop.wait(max(0.0, self.every - (time.monotonic() - started)))

    def _count(self, status: str) -> int:
        _, body = _get(f"{self.server.base}/api/promises?per_page=1", secrets.token_hex(8))
        return json.loads(body)["counts"]["status"].get(status, 0)

    def _poll(self, publication: Publication, marker: str, expected: int) -> None:
        base, promise_id = self.server.base, publication.promise_id
        checks: dict[str, tuple[str, Callable[[str], bool]]] = {
            "page": (f"/promesses/{promise_id}", lambda body: marker in body),
            "counts": ("/api/promises?per_page=1", lambda body: json.loads(body)["counts"]["status"].get(publication.status) == expected),
            "home": ("/", lambda body: f"/promesses/{promise_id}\"" in body.split('id="changements"', 1)[-1].split("</section>", 1)[0]),
            "search": (f"/api/search?q={marker}", lambda body: json.loads(body)["total"] >= 1),
        }
        fresh_streak = {surface: 0 for surface in checks}
        deadline = publication.approved_at + 10.0
        while time.monotonic() < deadline and min(fresh_streak.values()) < 3 * self.server.workers:
            for surface, (path, is_fresh) in checks.items():
                request_id = f"live{secrets.token_hex(8)}"
                status, body = _get(base + path, request_id)
                fresh = status == 200 and is_fresh(body)
                publication.polls.append(Poll(request_id, surface, fresh, time.monotonic() - publication.approved_at))
                fresh_streak[surface] = fresh_streak[surface] + 1 if fresh else 0


def _visibility(publications: list[Publication], pid_of: dict[str, int]) -> tuple[list[float], int]:
    """Per publication, the time after its approval when its last stale answer was given; workers seen answering."""
    times, workers = [], set()
    for publication in publications:
        if publication.error or not publication.polls:
            continue
        stale = [poll.at for poll in publication.polls if not poll.fresh]
        workers.update(pid_of[poll.request_id] for poll in publication.polls if poll.request_id in pid_of)
        never_fresh = any(not any(poll.fresh for poll in publication.polls if poll.surface == surface) for surface in {p.surface for p in publication.polls})
        times.append(float("inf") if never_fresh else (max(stale) if stale else 0.0))
    return times, len(workers)


def _visibility_by_surface(publications: list[Publication]) -> dict[str, float]:
    """Per surface (page, counts, home, search), the p95 over publications of when its last stale answer was given:
    which of them keeps a publication from showing everywhere."""
    found: dict[str, list[float]] = {}
    for publication in publications:
        if publication.error or not publication.polls:
            continue
        for surface in dict.fromkeys(poll.surface for poll in publication.polls):
            stale = [poll.at for poll in publication.polls if poll.surface == surface and not poll.fresh]
            found.setdefault(surface, []).append(max(stale) if stale else 0.0)
    return {surface: _percentile(times, 0.95) for surface, times in found.items()}


def _per_process(server_log: list[dict], began: float, ended: float, workers: list[int]) -> list[int]:
    """Requests each worker answered between two moments, most first (none: 0): how evenly the load was spread."""
    counts: dict[int, int] = dict.fromkeys(workers, 0)
    for line in server_log:
        if line.get("event") != "request" or "time" not in line:
            continue
        at = datetime.fromisoformat(line["time"].replace("Z", "+00:00")).timestamp()
        if began <= at <= ended and line.get("pid") in counts:  # not the scanner process's drawer
            counts[line["pid"]] += 1
    return sorted(counts.values(), reverse=True)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))] if ordered else float("nan")


def _hand_edit(scratch: Scratch, server: Server, count: int, rng: random.Random, say: Callable[[str], None] = print) -> float:
    """Seconds until `count` promise files edited by hand are all served (pages and search) by the site."""
    every = sorted(path.stem for path in (scratch.content / "promises").glob("*.md"))
    ids = rng.sample(every, min(count, len(every)))
    marker = f"zqh{secrets.token_hex(4)}"
    for promise_id in ids:
        path = scratch.content / "promises" / f"{promise_id}.md"
        path.write_text(path.read_text(encoding="utf-8").rstrip("\n") + f"\n\nModifié à la main : {marker}.\n", encoding="utf-8")
    started = time.monotonic()
    waiting = set(ids)

    def live(promise_id: str) -> bool:
        status, body = _get(f"{server.base}/api/promises/{promise_id}", secrets.token_hex(8))
        return status == 200 and marker in body

    # Asked 8 at a time, as readers would: one by one, the bench's own round of 100 requests would be the figure.
    with ThreadPoolExecutor(8) as pool:
        while waiting and time.monotonic() - started < 60:
            asked = sorted(waiting)
            waiting.difference_update(promise_id for promise_id, done in zip(asked, pool.map(live, asked)) if done)
            time.sleep(0.05)
    while time.monotonic() - started < 60 and not waiting:
        status, body = _get(f"{server.base}/api/search?q={marker}", secrets.token_hex(8))
        if status == 200 and json.loads(body)["total"] >= len(ids):
            break
        if status != 200:
            say(f"recherche après les modifications à la main : réponse {status} ({body[:120]!r})")
        time.sleep(0.05)
    return float("inf") if waiting else time.monotonic() - started


def run_live_benchmark(
    database: str = "sqlite", promises: int = 10_000, sources: int = 1_000, source_bytes: int = 40_000, seconds: int = 120,
    connections: int = 32, workers: int | None = None, threads: int | None = None, publish_every: float = 5.0, growth_publications: int = 200,
    seed: int = 1, keep: bool = False, say: Callable[[str], None] = print,
) -> dict:
    """Run the whole scenario; print and return every figure with its target."""
    rng = random.Random(seed)
    workers = workers or settings.default_workers()
    threads = threads or settings.BY_NAME["THREADS"].default
    scratch = Scratch("live", database, keep=keep, copy_content=promises == 0)
    figures: dict = {"database": scratch.kind, "workers": workers, "threads": threads}
    server = None
    try:
        if promises:
            started = time.perf_counter()
            write_corpus(scratch.content, promises, sources, source_bytes, seed)
            say(f"corpus : {promises} promesses, {sources} sources de {source_bytes // 1000} Ko écrites en {time.perf_counter() - started:.0f} s")
        scratch.setup()
        tree = read_tree(scratch.content)
        server = Server(scratch, workers=workers, threads=threads)
        figures["start_s"] = server.start(wait=1800)
        waited = time.monotonic()
        while not _scanners(server) and time.monotonic() - waited < 15:
            time.sleep(0.2)  # the scanner starts beside the workers: not one of them
        pids = _workers(server)
        ids = sorted(tree.promises)
        say(f"serveur : {len(pids)} processus × {threads} fils, prêt en {figures['start_s']:.1f} s (catalogue et index construits avant les processus)")
        # A fresh worker's first pages: one per connection, so each worker answers some.
        first = []
        for promise_id in rng.sample(ids, min(len(ids), 4 * workers)):
            begun = time.monotonic()
            _get(f"{server.base}/promesses/{promise_id}", secrets.token_hex(8))
            first.append(time.monotonic() - begun)
        figures["first_page_s"] = max(first)
        statuses = list(tree.statuses)
        words = sorted({word for promise in list(tree.promises.values())[:500] for word in re.findall(r"[a-zàâçéèêëîïôûùüÿœ]{6,}", promise.title.lower())})
        paths = ["/"] * 4 + ["/promesses"] * 3 + ["/flux.atom", "/affirmations", "/sitemap.xml"]
        paths += [f"/promesses?status={status}" for status in statuses] + [f"/promesses?status={status}&page=2" for status in statuses[:3]]
        paths += [f"/promesses/{promise_id}" for promise_id in rng.sample(ids, min(len(ids), 300))]
        paths += [f"/sources/{source_id}" for source_id in rng.sample(sorted(tree.sources), min(len(tree.sources), 40))]
        paths += [f"/recherche?q={word}" for word in rng.sample(words, min(len(words), 60))]
        paths += [f"/api/search?q={word}" for word in rng.sample(words, min(len(words), 30))]
        script = Path(tempfile.mkstemp(suffix=".lua")[1])
        script.write_text(_lua(paths, seed))
        # A citizen's site is warm: every page of the mix asked once (drawn once for the machine),
        # then the mix for WARM_SECONDS (each worker's own memory: searches, decoded items); then
        # the load while the editor publishes.
        begun = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda path: _get(server.base + quote(path, safe="/?=&%"), secrets.token_hex(8)), paths))
        _wrk(server.base, WARM_SECONDS, connections, script)
        figures["warm_s"] = time.monotonic() - begun
        figures["rss_warm_mb"] = max(_rss_mb(pid) for pid in _workers(server))
        editor = Editor(scratch, server, tree, publish_every, max(1, int(seconds // publish_every)), rng)
        editor.start()
        load_began = time.time()
        load = _wrk(server.base, seconds, connections, script)
        load_ended = time.time()
        editor.stop.set()
        editor.join(60)
        server_log = server.log_lines()
        pid_of = {line.get("request_id"): line.get("pid") for line in server_log if line.get("event") == "request"}
        figures["rps"], figures["p50_ms"], figures["p99_ms"], figures["errors"] = load["rps"], load["p50"], load["p99"], load["errors"]
        figures["per_process"] = _per_process(server_log, load_began, load_ended, _workers(server))
        figures["server_5xx"] = sum(1 for line in server_log if line.get("event") == "request" and int(line.get("status") or 0) >= 500)
        times, seen = _visibility(editor.publications, pid_of)
        figures["publications"] = len(editor.publications)
        figures["publication_errors"] = [p.error for p in editor.publications if p.error]
        figures["visible_p95_s"], figures["visible_max_s"] = _percentile(times, 0.95), max(times) if times else float("nan")
        figures["workers_polled"] = seen
        figures["visible_by_surface"] = _visibility_by_surface(editor.publications)
        if keep:  # which poll was late, on which worker: the server log has each request by its id
            polls = [{"promise": p.promise_id, "error": p.error, "polls": [asdict(poll) | {"pid": pid_of.get(poll.request_id)} for poll in p.polls]} for p in editor.publications]
            (scratch.root / "publications.json").write_text(json.dumps(polls, indent=1), encoding="utf-8")
        figures["rss_mb"] = max(_rss_mb(pid) for pid in _workers(server))
        # Memory over many publications: 200 more, pages read between them.
        grower = Editor(scratch, server, tree, 0.0, growth_publications, rng, wait=False)
        grower.start()
        while grower.is_alive():
            for path in ("/", "/promesses", f"/promesses/{rng.choice(ids)}", "/flux.atom"):
                _get(server.base + path, secrets.token_hex(8))
        grower.join()
        figures["growth_publications"] = len([p for p in grower.publications if not p.error])
        figures["rss_after_growth_mb"] = max(_rss_mb(pid) for pid in _workers(server))
        figures["rss_growth_mb"] = figures["rss_after_growth_mb"] - figures["rss_mb"]
        figures["scanner_rss_mb"] = max((_rss_mb(pid) for pid in _scanners(server)), default=float("nan"))
        figures["hand_edit_files"] = min(100, len(ids))
        figures["hand_edit_s"] = _hand_edit(scratch, server, 100, rng, say)
        for name, path in (("home", "/"), ("list", "/promesses"), ("promise_page", f"/promesses/{ids[0]}")):
            figures[f"warm_{name}_rps"] = _wrk(server.base + path, 10, connections)["rps"]
        script.unlink(missing_ok=True)
    finally:
        if server is not None:
            server.stop()
        scratch.cleanup()
    _report(figures, say)
    return figures


def _report(figures: dict, say: Callable[[str], None]) -> None:
    def row(label: str, value, target: str, ok: bool | None) -> None:
        verdict = "" if ok is None else ("OK" if ok else "ÉCHEC")
        say(f"  {label:<58} {value:>12}   cible {target:<12} {verdict}")

    say(f"kb bench-live — {figures['database']}, {figures['workers']} processus × {figures['threads']} fils")
    row("erreurs (wrk) / 5xx (journal du serveur)", f"{figures['errors']} / {figures['server_5xx']}", "0", figures["errors"] == 0 and figures["server_5xx"] == 0)
    row("débit pendant les publications (req/s)", f"{figures['rps']:.0f}", "—", None)
    spread = figures.get("per_process") or []
    row("requêtes par processus pendant les publications (le plus, le moins chargé)", f"{spread[0]} / {spread[-1]}" if spread else "—", "—", None)
    row("latence p50 côté client (ms)", f"{figures['p50_ms']:.1f}", "—", None)
    row("latence p99 côté client pendant les publications (ms)", f"{figures['p99_ms']:.1f}", f"≤ {TARGETS['p99_ms']}", figures["p99_ms"] <= TARGETS["p99_ms"])
    row(f"publication visible partout, p95 (s) [{figures['publications']} publ., {figures['workers_polled']} processus]", f"{figures['visible_p95_s']:.2f}", f"≤ {TARGETS['visible_p95_s']}", figures["visible_p95_s"] <= TARGETS["visible_p95_s"])
    row("publication visible partout, pire cas (s)", f"{figures['visible_max_s']:.2f}", f"≤ {TARGETS['visible_max_s']}", figures["visible_max_s"] <= TARGETS["visible_max_s"])
    surfaces = figures.get("visible_by_surface") or {}
    if surfaces:
        names = {"page": "page", "counts": "comptes", "home": "accueil", "search": "recherche"}
        row(f"  p95 par surface ({' / '.join(names.get(name, name) for name in surfaces)})", " / ".join(f"{value:.2f}" for value in surfaces.values()), "—", None)
    if figures["publication_errors"]:
        row("publications en erreur", len(figures["publication_errors"]), "0", False)
    row("mémoire d'un processus, chaud (Mo)", f"{figures['rss_warm_mb']:.0f}", "—", None)
    row("mémoire d'un processus après la charge (Mo)", f"{figures['rss_mb']:.0f}", f"≤ {TARGETS['rss_mb']}", figures["rss_mb"] <= TARGETS["rss_mb"])
    row(f"croissance après {figures['growth_publications']} publications de plus (Mo)", f"{figures['rss_growth_mb']:.1f}", f"≤ {TARGETS['rss_growth_mb']}", figures["rss_growth_mb"] <= TARGETS["rss_growth_mb"])
    row("mémoire du processus qui cherche les modifications à la main (Mo)", f"{figures.get('scanner_rss_mb', float('nan')):.0f}", "—", None)
    row("première page d'un processus neuf, pire cas (s)", f"{figures['first_page_s']:.2f}", f"≤ {TARGETS['first_page_s']}", figures["first_page_s"] <= TARGETS["first_page_s"])
    row(f"{figures['hand_edit_files']} fichiers modifiés à la main : en ligne et trouvés (s)", f"{figures['hand_edit_s']:.2f}", f"≤ {TARGETS['hand_edit_s']}", figures["hand_edit_s"] <= TARGETS["hand_edit_s"])
    for name, label in (("home", "accueil"), ("list", "/promesses"), ("promise_page", "page d'une promesse")):
        value = figures[f"warm_{name}_rps"]
        target = TARGETS["warm_rps"] if name != "promise_page" else None
        row(f"à chaud, {label} (req/s)", f"{value:.0f}", f"≥ {target}" if target else "—", value >= target if target else None)
    row("démarrage jusqu'à /healthz (s)", f"{figures['start_s']:.1f}", "—", None)
    row(f"mise en route : chaque page une fois, puis {WARM_SECONDS} s du mélange (s)", f"{figures['warm_s']:.1f}", "—", None)
