"""How good kb's suggested passages are, measured on a content tree's own quotes (kb bench-suggest).

For every quote a promise or a claim takes from a source: remove it (and every other quote that
target takes from that source, so none gives the answer away), ask kb for the target's 3 best
passages of that source, and count a hit when one of them overlaps the removed passage. Recall@3
is hits / quotes; also the share of (target, source) pairs with at least one hit, and the time to
rank a source's passages for every open promise and claim, as `kb suggest SOURCE --json` does.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from kb.content.model import Promise
from kb.content.quotes import FoldedText
from kb.content.tree import read_tree
from kb.search.suggestions import SourcePassages, Target, claim_target, open_targets, promise_target, suggest

TARGET_RECALL = 0.6  # of removed passages back in the top 3 (0.69 when written; title words alone give 0.54)
TARGET_SECONDS = 2.0  # to rank one 40 KB source for every open promise at 10,000 promises


def _without_source(item, source_id: str) -> Target:
    """The target of a promise or claim whose quotes of `source_id` were never made."""
    if isinstance(item, Promise):
        history = [replace(entry, evidence=[proof for proof in entry.evidence if proof.source != source_id]) for entry in item.history]
        return promise_target(replace(item, history=history))
    claim = replace(item, quote=None if item.quote and item.quote.source == source_id else item.quote,
                    evidence=[proof for proof in item.evidence if proof.source != source_id])  # fmt: skip
    return claim_target(claim)


def measure(content_dir: Path, k: int = 3) -> dict:
    tree = read_tree(content_dir)
    items = [*tree.promises.values(), *tree.claims.values()]
    targets = [promise_target(promise) for promise in tree.promises.values()] + [claim_target(claim) for claim in tree.claims.values()]
    quotes = hits = pairs = pair_hits = 0
    for source in tree.sources.values():
        index = SourcePassages(source.id, source.text)
        folded = FoldedText.of(source.text)
        for item, target in zip(items, targets):
            removed = [quote for source_id, quote in target.quoted if source_id == source.id]
            if not removed:
                continue
            ranked = index.rank(_without_source(item, source.id), k)
            pairs += 1
            hit_here = False
            for quote in dict.fromkeys(removed):
                spans = folded.locate(quote) or []
                quotes += 1
                if any(start < suggestion.end and suggestion.start < end for suggestion in ranked for start, end in spans):
                    hits += 1
                    hit_here = True
            pair_hits += hit_here
    targets_now = open_targets(tree)
    timings = []
    for source in tree.sources.values():
        started = time.perf_counter()
        suggest(source.id, source.text, targets_now)
        timings.append(time.perf_counter() - started)
    return {
        "quotes": quotes,
        "recall_at_3": hits / quotes if quotes else 0.0,
        "pairs": pairs,
        "pairs_hit_at_3": pair_hits / pairs if pairs else 0.0,
        "sources": len(timings),
        "seconds_per_source": sum(timings) / len(timings) if timings else 0.0,
        "slowest_source_seconds": max(timings, default=0.0),
    }


def at_scale(corpus: Path, sources: int = 5) -> dict:
    """Seconds to rank a source of the synthetic corpus for every open promise and claim: the targets
    analysed once, then each source."""
    tree = read_tree(corpus)
    started = time.perf_counter()
    targets_now = open_targets(tree)
    targets_seconds = time.perf_counter() - started
    timings = []
    for source in list(tree.sources.values())[:sources]:
        started = time.perf_counter()
        suggest(source.id, source.text, targets_now)
        timings.append(time.perf_counter() - started)
    return {"promises": len(tree.promises), "targets": len(targets_now), "targets_seconds": targets_seconds,
            "seconds_per_source": sum(timings) / len(timings), "slowest_source_seconds": max(timings)}  # fmt: skip


def run_suggest_benchmark(content_dir: Path, workdir: Path, promises: int, sources: int, say) -> None:
    """kb bench-suggest: each figure beside its target."""
    from kb.bench.search import corpus_in

    quality = measure(content_dir)
    say(f"qualité sur {content_dir} : {quality['quotes']} citations retirées puis redemandées, {quality['pairs']} couples (promesse ou vérification, source)")
    say(f"  rappel@3 (le passage retiré revient parmi les 3 premiers) : {quality['recall_at_3']:.2f}   objectif ≥ {TARGET_RECALL:.2f}")
    say(f"  couples dont un passage revient parmi les 3 premiers     : {quality['pairs_hit_at_3']:.2f}")
    say(f"  temps par source (toutes les promesses ouvertes)         : {quality['seconds_per_source'] * 1000:.0f} ms")
    corpus = corpus_in(workdir, promises, sources, 40_000, 1, say)  # the corpus of kb bench, reused
    scale = at_scale(corpus)
    say(f"à l'échelle : {scale['promises']} promesses, {scale['targets']} ouvertes ou vérifications")
    say(f"  analyse des cibles (une fois)                            : {scale['targets_seconds']:.1f} s")
    say(f"  classement d'une source de 40 Ko (moyenne de 5)          : {scale['seconds_per_source']:.2f} s   objectif ≤ {TARGET_SECONDS:.1f} s")
    say(f"  la plus lente                                            : {scale['slowest_source_seconds']:.2f} s")
