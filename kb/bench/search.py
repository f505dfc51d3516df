"""`kb bench`: search speed and memory at newsroom scale, Whoosh beside SQLite FTS5, in one run.

Everything is measured side by side on the same machine in the same run, because these
machines are shared and noisy: absolute figures drift, ratios hold. Each engine's searches
run in a fresh process of their own, so the memory figure is that of a serving process
(index open, caches warm), not of the process that built the corpus.
"""

from __future__ import annotations

import json
import multiprocessing
import shutil
import sqlite3
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from kb.bench.fts import build_fts, search_fts
from kb.bench.synthetic import write_corpus
from kb.content.kinds import PROMISE
from kb.content.promises import write as write_promise
from kb.content.registry import Key
from kb.content.tree import read_tree
from kb.search.index import SearchIndex
from kb.search.query import Search

# Words, phrases, exclusions, OR, numbers, accents, elisions, hyphenated names, a misspelling:
# what citizens type, drawn from the demo corpus's vocabulary (which the synthetic corpus uses).
QUERIES = (
    "mutualisation",
    "schéma de mutualisation",
    "Marcq baroeul",
    "l'habitat",
    '"permis de louer"',
    "permis -louer",
    "centrale achats",
    "intérêt général",
    "interet general",
    "2022",
    "15 000",
    "énergie OR assurances",
    "communes",
    "Lille Lomme Hellemmes",
    '"plan de sauvegarde"',
    "vidéoprotection",
    "restauration collective",
    "données personnelles",
    "certificats économie énergie",
    "archivage électronique",
    "balayeuses",
    "marchands de sommeil",
    "monnaie locale",
    "délibération cadre",
    "économie sociale solidaire",
    "groupement de commande",
    "Villeneuve d'Ascq",
    "Métropole européenne",
    "accompagnement des communes",
    "mutualistion",
    "transition écologique",
    "police municipale",
    "conseil en énergie partagé",
    "ressources humaines paie",
)
# The same queries again, narrowed by a facet, as when a citizen clicks a status.
FILTERED = (("mutualisation", {"status": "planned"}), ("communes", {"kind": "promise", "status": "done"}))
TARGETS = {"p95_ratio": 2.0, "build_seconds": 30.0, "reindex_ms": 300.0, "rss_mb": 300.0}
# A corpus several times bigger (--scale-to): the build grows about as the corpus does, memory stays bounded.
SCALE_TARGETS = {"build_growth_per_size": 6.0 / 5.0, "rss_mb": 400.0, "p95_ratio": 2.0, "reindex_ms": 300.0}


@dataclass
class Latencies:
    """Latencies of one engine over the query set, and the memory of the process that ran them."""

    samples_ms: list[float]
    peak_rss_mb: float
    total_hits: int

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def _peak_rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _queries() -> list[tuple[str, dict]]:
    return [(text, {}) for text in QUERIES] + [(text, dict(filters)) for text, filters in FILTERED]


def _measure_whoosh(index_dir: str, content_dir: str, rounds: int, queue) -> None:
    # As a web worker: the index opened, no hashing of every file (the catalog's change log tells it what changed).
    index = SearchIndex(Path(index_dir), Path(content_dir))
    search = Search(index, sync_seconds=None, results_kept=0)  # each search measured, none answered from memory
    _measure(lambda text, filters: search.search(text, filters).total, rounds, queue)


def _measure_fts(db_path: str, rounds: int, queue) -> None:
    connection = sqlite3.connect(db_path)
    _measure(lambda text, filters: search_fts(connection, text, filters)["total"], rounds, queue)


def _measure(run: Callable[[str, dict], int], rounds: int, queue) -> None:
    queries = _queries()
    for text, filters in queries:  # warm-up: open files, fill caches
        run(text, filters)
    samples, hits = [], 0
    for _ in range(rounds):
        for text, filters in queries:
            started = time.perf_counter()
            hits += run(text, filters)
            samples.append((time.perf_counter() - started) * 1000)
    queue.put(Latencies(samples, _peak_rss_mb(), hits))


def _in_fresh_process(target, *args) -> Latencies:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=target, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


def corpus_in(workdir: Path, promises: int, sources: int, source_bytes: int, seed: int, say) -> Path:
    """The synthetic corpus, generated once per set of parameters and reused after."""
    corpus = workdir / "corpus"
    wanted = {"promises": promises, "sources": sources, "source_bytes": source_bytes, "seed": seed}
    marker = workdir / "corpus.json"
    if marker.exists() and json.loads(marker.read_text()) == wanted and corpus.is_dir():
        say(f"corpus synthétique réutilisé : {corpus}")
        return corpus
    shutil.rmtree(corpus, ignore_errors=True)
    marker.unlink(missing_ok=True)
    started = time.perf_counter()
    write_corpus(corpus, promises, sources, source_bytes, seed)
    marker.write_text(json.dumps(wanted))
    say(f"corpus synthétique généré en {time.perf_counter() - started:.1f} s : {corpus}")
    return corpus


def _reindex_to_found(index: SearchIndex, corpus: Path, search: Search, trials: int = 5) -> list[float]:
    """Milliseconds from writing a changed promise to a search finding it, several times."""
    timings = []
    paths = sorted((corpus / "promises").glob("*.md"))
    # A serving process is warm: its first search reads the columns of every segment (a second at
    # 50,000 promises), which is no part of finding a publication.
    for text, filters in _queries():
        search.search(text, filters)
    for trial in range(trials):
        path = paths[(trial * 997) % len(paths)]
        original, _ = PROMISE.read(path)
        promise, _ = PROMISE.read(path)
        marker = f"zqxjk{trial}"
        promise.title = f"{promise.title} {marker}"
        started = time.perf_counter()
        write_promise(corpus, promise)
        index.reindex([str(Key("promise", promise.id))])
        while search.search(marker).total == 0:
            if time.perf_counter() - started > 30:
                raise RuntimeError("la promesse modifiée n'est pas trouvée après 30 s")
        timings.append((time.perf_counter() - started) * 1000)
        write_promise(corpus, original)  # leave the corpus as generated, for the next run
        index.reindex([str(Key("promise", original.id))])
    return timings


def run_benchmark(
    workdir: Path,
    promises: int = 10_000,
    sources: int = 1_000,
    source_bytes: int = 40_000,
    seed: int = 1,
    rounds: int = 3,
    processes: int = 2,
    say: Callable[[str], None] = print,
) -> dict:
    """Run every measurement and return the figures (also printed through `say`)."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    corpus = corpus_in(workdir, promises, sources, source_bytes, seed, say)

    started = time.perf_counter()
    tree = read_tree(corpus)
    read_seconds = time.perf_counter() - started

    index_dir = workdir / "whoosh"
    shutil.rmtree(index_dir, ignore_errors=True)
    index = SearchIndex(index_dir, corpus)
    started = time.perf_counter()
    documents = index.rebuild(tree, processes=processes)
    whoosh_build = time.perf_counter() - started

    db_path = workdir / "fts5.sqlite"
    db_path.unlink(missing_ok=True)
    started = time.perf_counter()
    build_fts(db_path, tree)
    fts_build = time.perf_counter() - started
    del tree

    whoosh = _in_fresh_process(_measure_whoosh, str(index_dir), str(corpus), rounds)
    fts = _in_fresh_process(_measure_fts, str(db_path), rounds)
    reindex = _reindex_to_found(index, corpus, Search(index, sync_seconds=None, results_kept=0))

    figures = {
        "documents": documents,
        "queries": len(_queries()),
        "rounds": rounds,
        "read_seconds": read_seconds,
        "whoosh_build_seconds": whoosh_build,
        "fts_build_seconds": fts_build,
        "whoosh_p50_ms": whoosh.percentile(0.5),
        "whoosh_p95_ms": whoosh.percentile(0.95),
        "whoosh_max_ms": max(whoosh.samples_ms),
        "fts_p50_ms": fts.percentile(0.5),
        "fts_p95_ms": fts.percentile(0.95),
        "fts_max_ms": max(fts.samples_ms),
        "whoosh_rss_mb": whoosh.peak_rss_mb,
        "fts_rss_mb": fts.peak_rss_mb,
        "reindex_median_ms": statistics.median(reindex),
        "reindex_max_ms": max(reindex),
    }
    say(report(figures, promises, sources, source_bytes, processes))
    return figures


def report(f: dict, promises: int, sources: int, source_bytes: int, processes: int) -> str:
    """The figures as a table, with ratios and the targets they are held to."""
    ratio = f["whoosh_p95_ms"] / f["fts_p95_ms"] if f["fts_p95_ms"] else float("inf")

    def verdict(ok: bool) -> str:
        return "OK" if ok else "HORS CIBLE"

    rows = [
        ("construction complète (s)", f["whoosh_build_seconds"], f["fts_build_seconds"]),
        ("recherche p50 (ms)", f["whoosh_p50_ms"], f["fts_p50_ms"]),
        ("recherche p95 (ms)", f["whoosh_p95_ms"], f["fts_p95_ms"]),
        ("recherche max (ms)", f["whoosh_max_ms"], f["fts_max_ms"]),
        ("mémoire du processus (Mo, pic RSS)", f["whoosh_rss_mb"], f["fts_rss_mb"]),
    ]
    lines = [
        f"kb bench — {promises} promesses + {sources} sources de {source_bytes // 1000} Ko, "
        f"{f['documents']} documents ; {f['queries']} requêtes × {f['rounds']} tours, avec facettes et extraits ; "
        f"construction Whoosh sur {processes} processus",
        f"lecture des fichiers (commune aux deux) : {f['read_seconds']:.1f} s",
        "",
        f"{'':38}{'Whoosh (kb)':>14}{'SQLite FTS5':>14}{'ratio':>9}",
    ]
    for label, mine, theirs in rows:
        lines.append(f"{label:38}{mine:14.1f}{theirs:14.1f}{(mine / theirs if theirs else float('inf')):9.2f}")
    lines += [
        f"{'réindexer une promesse → trouvée (ms)':38}{f['reindex_median_ms']:14.1f}   (médiane ; max {f['reindex_max_ms']:.1f})",
        "",
        "cibles :",
        f"  p95 Whoosh ≤ {TARGETS['p95_ratio']:.0f} × p95 FTS5 : {ratio:.2f} × → {verdict(ratio <= TARGETS['p95_ratio'])}",
        f"  construction complète ≤ {TARGETS['build_seconds']:.0f} s : {f['whoosh_build_seconds']:.1f} s "
        f"(+ {f['read_seconds']:.1f} s de lecture) → {verdict(f['whoosh_build_seconds'] <= TARGETS['build_seconds'])}",
        f"  réindexer une promesse → trouvée ≤ {TARGETS['reindex_ms']:.0f} ms : {f['reindex_max_ms']:.0f} ms (max) "
        f"→ {verdict(f['reindex_max_ms'] <= TARGETS['reindex_ms'])}",
        f"  mémoire d'un processus qui sert les recherches ≤ {TARGETS['rss_mb']:.0f} Mo : {f['whoosh_rss_mb']:.0f} Mo "
        f"→ {verdict(f['whoosh_rss_mb'] <= TARGETS['rss_mb'])}",
    ]
    return "\n".join(lines)


def run_scaling(
    workdir: Path,
    promises: int,
    sources: int,
    source_bytes: int,
    scale_to: int,
    seed: int = 1,
    rounds: int = 3,
    processes: int = 2,
    say: Callable[[str], None] = print,
) -> tuple[dict, dict]:
    """The benchmark at `promises`, then at `scale_to` promises (sources in proportion) in the same run;
    print how the build grew beside the size, and the bigger corpus's figures beside their targets."""
    workdir = Path(workdir)
    small = run_benchmark(workdir / f"p{promises}", promises, sources, source_bytes, seed, rounds, processes, say)
    factor = scale_to / promises
    big_sources = max(1, round(sources * factor))
    big = run_benchmark(workdir / f"p{scale_to}", scale_to, big_sources, source_bytes, seed, rounds, processes, say)
    say(scaling_report(small, big, promises, scale_to))
    return small, big


def scaling_report(small: dict, big: dict, promises: int, scale_to: int) -> str:
    factor = scale_to / promises
    growth = big["whoosh_build_seconds"] / small["whoosh_build_seconds"] if small["whoosh_build_seconds"] else float("inf")
    fts_growth = big["fts_build_seconds"] / small["fts_build_seconds"] if small["fts_build_seconds"] else float("inf")
    allowed = SCALE_TARGETS["build_growth_per_size"] * factor
    ratio = big["whoosh_p95_ms"] / big["fts_p95_ms"] if big["fts_p95_ms"] else float("inf")

    def verdict(ok: bool) -> str:
        return "OK" if ok else "HORS CIBLE"

    return "\n".join([
        "",
        f"passage à l'échelle : {promises} → {scale_to} promesses (× {factor:g}), même exécution",
        f"  construction Whoosh : {small['whoosh_build_seconds']:.1f} s → {big['whoosh_build_seconds']:.1f} s (× {growth:.2f} ; FTS5 × {fts_growth:.2f})"
        f" ; cible ≤ × {allowed:g} → {verdict(growth <= allowed)}",
        f"  à {scale_to} : p95 Whoosh {big['whoosh_p95_ms']:.1f} ms = {ratio:.2f} × FTS5 ; cible ≤ {SCALE_TARGETS['p95_ratio']:g} × → {verdict(ratio <= SCALE_TARGETS['p95_ratio'])}",
        f"  à {scale_to} : mémoire du processus qui cherche {big['whoosh_rss_mb']:.0f} Mo ; cible ≤ {SCALE_TARGETS['rss_mb']:.0f} Mo → {verdict(big['whoosh_rss_mb'] <= SCALE_TARGETS['rss_mb'])}",
        f"  à {scale_to} : réindexer une promesse → trouvée {big['reindex_max_ms']:.0f} ms (max) ; cible ≤ {SCALE_TARGETS['reindex_ms']:.0f} ms → {verdict(big['reindex_max_ms'] <= SCALE_TARGETS['reindex_ms'])}",
    ])  # fmt: skip
