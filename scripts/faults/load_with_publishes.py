"""Readers under load while the newsroom publishes: throughput, latency, no 5xx, and how soon a publication is searchable.

`kb serve --production` (2 × processors + 1 workers by default) serves the demo content; wrk loads
it for --seconds with a Lua script mixing searches (varied French words of the corpus, on
/recherche and /api/search) and page views (home, promise list and pages, source pages,
/affirmations and fact-check pages). Meanwhile another thread publishes a change every few
seconds: a journalist's edit proposed through kb.newsroom.workflow, approved over HTTP by an editor, then
/api/search polled from fresh connections until it finds the new version (the delay is reported).

Reports requests/s, p50/p90/p99 latency (wrk --latency), wrk's non-2xx/3xx count and socket
errors, the 5xx counted in the server's JSON request log, and the publication delays.
FAIL on any 5xx, on a publication not published or not searchable within 30 s, or if kb check fails.

    .venv/bin/python scripts/faults/load_with_publishes.py [--database postgresql://…] [--seconds 120]
        [--connections 32] [--workers N] [--threads 4] [--publish-every 5] [--search-share 0.4]
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _common as common  # noqa: E402

from kb.config import settings  # noqa: E402

# Words of the demo corpus too common to tell anything apart (searched anyway, a few).
_STOP = {"depuis", "contre", "entre", "encore", "toutes", "autres", "plusieurs", "commune", "communes", "dans", "leurs", "cette"}


def corpus_words(content: Path, rng: random.Random, count: int = 60) -> list[str]:
    """Varied French words of the corpus: the frequent ones and a random pick of rarer ones."""
    counts = Counter()
    for path in content.rglob("*.md"):
        for word in re.findall(r"[a-zàâäçéèêëîïôöùûüÿœæ]{5,}", path.read_text(encoding="utf-8").lower()):
            if word not in _STOP:
                counts[word] += 1
    frequent = [word for word, _ in counts.most_common(count // 2)]
    rare = [word for word, n in counts.items() if n <= 3 and word not in frequent]
    return frequent + rng.sample(rare, min(len(rare), count - len(frequent)))


def lua_script(pages: list[str], searches: list[str], search_share: float, seed: int) -> str:
    def table(paths: list[str]) -> str:
        return "{" + ",".join(f'"{path}"' for path in paths) + "}"

    return f"""
local pages = {table(pages)}
local searches = {table(searches)}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
end
function init(args)
  math.randomseed({seed} + id)
end
function request()
  local path
  if math.random() < {search_share} then
    path = searches[math.random(#searches)]
  else
    path = pages[math.random(#pages)]
  end
  return wrk.format("GET", path)
end
"""


def parse_wrk(output: str) -> dict:
    def ms(value: str) -> float:
        number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value).groups()
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]

    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))}
    figures["requests"] = int(re.search(r"(\d+) requests in", output).group(1))
    for percent in (50, 75, 90, 99):
        figures[f"p{percent}"] = ms(re.search(rf"^\s+{percent}%\s+(\S+)", output, re.M).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    figures["non_2xx"] = int(non_2xx.group(1)) if non_2xx else 0
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    figures["socket_errors"] = dict(zip(("connect", "read", "write", "timeout"), map(int, sockets.groups()))) if sockets else {}
    return figures


class Publisher(threading.Thread):
    """Every few seconds: an edit proposed, approved over HTTP, then searched until found."""

    def __init__(self, scratch: common.Scratch, server: common.Server, every: float, rng: random.Random, stop: threading.Event):
        super().__init__(daemon=True)
        self.scratch, self.server, self.every, self.rng, self.stop_event = scratch, server, every, rng, stop
        self.words = common.Words()
        self.results: list[dict] = []
        self.errors: list[str] = []

    def run(self) -> None:
        client = common.Client(self.server.base).login(common.EDITORS[0])
        promises = self.rng.sample(self.scratch.promise_ids(), 8)
        n = 0
        while not self.stop_event.wait(self.every if n else 1.0):
            promise_id = promises[n % len(promises)]
            n += 1
            word = self.words.next()
            try:
                number = common.propose_edit(self.scratch, promise_id, word, common.JOURNALISTS[n % 2])
                started = time.perf_counter()
                status = client.act(number, "approve")
                approved = time.perf_counter()
                with self.scratch.sessions()() as session:
                    state = session.get(common.ChangeRequest, number).state
                visible, tries = None, 0
                while time.perf_counter() - approved < 30:
                    found = common.search_ids(self.server.base, word)
                    tries += 1
                    if found and promise_id in found:
                        visible = time.perf_counter() - approved
                        break
                    time.sleep(0.05)
                # The delay includes the search's own wait in the queue under load; whether the
                # first search sent after the approval already found it says what the index did.
                self.results.append(
                    {"number": number, "status": status, "state": state, "approve_s": approved - started, "visible_s": visible,
                     "first_search": tries == 1}
                )
            except Exception as error:  # noqa: BLE001 — reported, the load goes on
                self.errors.append(f"publication {n} ({promise_id}) : {error}")


def main() -> int:
    parser = common.arguments(__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=120, help="durée de la charge wrk (défaut 120)")
    parser.add_argument("--connections", type=int, default=32, help="connexions wrk simultanées (défaut 32)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="fils de wrk (défaut 2)")
    parser.add_argument("--workers", type=int, default=settings.default_workers(), help="processus gunicorn (défaut : comme kb serve --production, un par processeur, 2 au moins)")
    parser.add_argument("--threads", type=int, default=settings.BY_NAME["THREADS"].default, help="fils par processus gunicorn (défaut : comme kb serve --production)")
    parser.add_argument("--publish-every", type=float, default=5.0, help="secondes entre deux publications (défaut 5)")
    parser.add_argument("--search-share", type=float, default=0.4, help="part des recherches dans la charge (défaut 0.4)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk manquant : apt-get install wrk")
        return 2
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    scratch = common.Scratch("load", args.database, args.keep)
    findings = common.Findings()
    server = None
    publisher = None
    stop = threading.Event()
    print(
        f"load_with_publishes : base {scratch.kind}, kb serve --production {args.workers} processus × {args.threads} fils, "
        f"wrk -t{args.wrk_threads} -c{args.connections} -d{args.seconds}s, une publication toutes les {args.publish_every:g} s, "
        f"{args.search_share:.0%} de recherches, graine {seed}"
    )
    try:
        scratch.setup()
        words = corpus_words(scratch.content, rng)
        searches = [f"/recherche?q={urllib.parse.quote(word)}" for word in words] + [f"/api/search?q={urllib.parse.quote(word)}" for word in words]
        pages = ["/", "/promesses", "/affirmations"] * 5
        pages += [f"/promesses/{path.stem}" for path in sorted((scratch.content / "promises").glob("*.md"))]
        pages += [f"/sources/{path.stem}" for path in sorted((scratch.content / "sources").glob("*.md"))] * 3
        pages += [f"/affirmations/{path.stem}" for path in sorted((scratch.content / "claims").glob("*.md"))] * 3
        script = scratch.root / "charge.lua"
        script.write_text(lua_script(pages, searches, args.search_share, seed), encoding="utf-8")
        server = common.Server(scratch, args.workers, args.threads)
        server.start()
        for path in ("/", searches[0], pages[-1]):  # every kind of URL answers before the load
            status, _ = common.http_get(server.base + path)
            findings.expect(status == 200, f"{path} : HTTP {status} avant la charge")
        publisher = Publisher(scratch, server, args.publish_every, rng, stop)
        publisher.start()
        wrk = subprocess.run(
            ["wrk", f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{args.seconds}s", "--latency", "--timeout", "10s", "-s", str(script), server.base + "/"],
            capture_output=True, text=True, timeout=args.seconds + 120,
        )  # fmt: skip
        stop.set()
        publisher.join(60)
        if wrk.returncode != 0:
            findings.fail(f"wrk : code {wrk.returncode} : {wrk.stderr[-500:]}")
        load = parse_wrk(wrk.stdout)
        server.stop()
        lines = [line for line in server.log_lines() if line.get("event") == "request"]
        statuses = Counter(int(line["status"]) for line in lines)
        server_errors = sum(n for status, n in statuses.items() if status >= 500)
        durations = [float(line["duration_ms"]) for line in lines]
        server = None
        published = [r for r in publisher.results if r["state"] == "published"]
        visible = [r["visible_s"] for r in publisher.results if r["visible_s"] is not None]
        approve = [r["approve_s"] for r in publisher.results]
        print(
            f"wrk : {load['requests']} requêtes, {load['rps']:.0f} req/s ; latence p50 {load['p50']:.1f} ms, p90 {load['p90']:.1f} ms, "
            f"p99 {load['p99']:.1f} ms ; non-2xx/3xx {load['non_2xx']} ; erreurs de socket {load['socket_errors']}"
        )
        print(
            f"journal du serveur : {len(lines)} requêtes, 5xx {server_errors}, statuts {dict(sorted(statuses.items()))} ; "
            f"durée côté serveur p50 {common.percentile(durations, 0.5):.1f} ms, p99 {common.percentile(durations, 0.99):.1f} ms"
        )
        print(
            f"publications : {len(publisher.results)} approuvées, {len(published)} publiées ; approbation médiane "
            f"{common.percentile(approve, 0.5) * 1000:.0f} ms, max {max(approve, default=0) * 1000:.0f} ms ; visible dans la recherche "
            f"(autre connexion) médiane {common.percentile(visible, 0.5) * 1000:.0f} ms, max {max(visible, default=0) * 1000:.0f} ms, "
            f"trouvée dès la première recherche : {sum(r['first_search'] for r in publisher.results)}/{len(publisher.results)}"
        )
        findings.expect(server_errors == 0, f"{server_errors} réponse(s) 5xx dans le journal du serveur")
        findings.expect(load["non_2xx"] == 0, f"wrk : {load['non_2xx']} réponse(s) non-2xx/3xx")
        findings.expect(bool(publisher.results), "aucune publication pendant la charge")
        for error in publisher.errors:
            findings.fail(error)
        for result in publisher.results:
            findings.expect(result["state"] == "published", f"demande {result['number']} : « {result['state']} » (HTTP {result['status']})")
            findings.expect(result["visible_s"] is not None, f"demande {result['number']} introuvable dans la recherche après 30 s")
        common.check_tree(scratch, findings)
        common.check_publications(scratch, findings)
    except Exception as error:  # noqa: BLE001
        import traceback

        traceback.print_exc()
        findings.fail(f"l'essai s'est interrompu : {error}")
        if server is not None:
            print(server.log_tail())
    finally:
        stop.set()
        if server is not None:
            server.stop()
        scratch.cleanup()
    return common.verdict(findings, f"load_with_publishes ({scratch.kind})")


if __name__ == "__main__":
    sys.exit(main())
