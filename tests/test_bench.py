"""The benchmark runs end to end on a tiny corpus and prints figures with their ratios."""

from kb.bench.search import QUERIES, run_benchmark


def test_benchmark_prints_every_figure_side_by_side_with_ratios(tmp_path):
    lines = []
    figures = run_benchmark(tmp_path, promises=40, sources=4, source_bytes=3000, rounds=1, processes=1, say=lines.append)
    printed = "\n".join(lines)
    assert figures["documents"] == 40 + 4 + 64 + 41  # promises, sources, the trackers of 32 territories × 2 terms, 41 authors
    assert figures["queries"] >= 30 and len(QUERIES) >= 30
    for key in ("whoosh_p95_ms", "fts_p95_ms", "whoosh_build_seconds", "fts_build_seconds", "reindex_max_ms", "whoosh_rss_mb"):
        assert figures[key] > 0, key
    for label in ("construction complète", "recherche p95", "mémoire du processus", "réindexer une promesse", "cibles"):
        assert label in printed


def test_benchmark_reuses_its_corpus_and_leaves_it_unchanged(tmp_path):
    run_benchmark(tmp_path, promises=20, sources=2, source_bytes=2000, rounds=1, processes=1, say=lambda line: None)
    before = {path.name: path.read_bytes() for path in (tmp_path / "corpus" / "promises").iterdir()}
    lines = []
    run_benchmark(tmp_path, promises=20, sources=2, source_bytes=2000, rounds=1, processes=1, say=lines.append)
    assert any("réutilisé" in line for line in lines)
    assert {path.name: path.read_bytes() for path in (tmp_path / "corpus" / "promises").iterdir()} == before


def test_scaling_runs_both_sizes_in_one_run_and_prints_the_builds_growth_beside_its_target(tmp_path):
    from kb.bench.search import run_scaling

    lines = []
    small, big = run_scaling(tmp_path, promises=20, sources=2, source_bytes=2000, scale_to=40, rounds=1, processes=1, say=lines.append)
    printed = "\n".join(lines)
    assert big["documents"] > small["documents"]
    assert "passage à l'échelle : 20 → 40 promesses (× 2)" in printed
    assert "construction Whoosh" in printed and "cible ≤ × 2.4" in printed
    assert "mémoire du processus qui cherche" in printed and "réindexer une promesse → trouvée" in printed
