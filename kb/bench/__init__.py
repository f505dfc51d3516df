"""Benchmarks at newsroom scale: a synthetic corpus, search (Whoosh beside SQLite FTS5), the web site under load."""
