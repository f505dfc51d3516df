"""SQLite FTS5 search over a content tree: the baseline the Whoosh index is measured against.

A fair baseline, not a strawman: accents folded by the tokenizer, ligatures folded before
it (unicode61 keeps "œ" as one letter, so "Baroeul" would miss "Barœul"), BM25 with column
weights, one query for a page of hits with snippets and one for every facet count.

What FTS5 cannot do here without a C extension is French stemming ("mutualisations" does
not find "mutualisation"); a trailing `*` asks for a prefix instead.
"""

from __future__ import annotations

import html
import re
import sqlite3
import unicodedata
from pathlib import Path

from kb.content.tree import ContentTree

COLUMNS = ("kind", "id", "title", "body", "notes", "quotes", "made_by", "territory", "theme", "status")
UNINDEXED = {"kind", "id", "status"}
# Same order as COLUMNS: a word in a title or in a quoted passage says most about a document.
WEIGHTS = (0.0, 0.0, 10.0, 1.0, 2.0, 5.0, 3.0, 2.0, 2.0, 0.0)
BODY = COLUMNS.index("body")
FACETS = ("status", "territory", "made_by", "theme", "kind")

LIGATURES = str.maketrans({"œ": "oe", "Œ": "Oe", "æ": "ae", "Æ": "Ae"})
# Private-use characters mark hits in snippets, so the rest can be HTML-escaped safely.
OPEN, CLOSE = "\ue000", "\ue001"
MARKERS = str.maketrans({OPEN: None, CLOSE: None})
SNIPPET_TOKENS = 20
MAX_TERMS = 64  # a pasted page of text is not a query; its first words are enough
# A term: optional "-", then a "phrase" (closing quote optional) or a bare word.
TERM = re.compile(r'(-?)"([^"]*)"?|(-?)([^\s"]+)')
WORD_CHAR = re.compile(r"\w")


def _index_text(text: str | None) -> str:
    return (text or "").translate(LIGATURES).translate(MARKERS)


def build_fts(db_path: Path, tree: ContentTree) -> None:
    """Create (or replace) the FTS5 database of a tree's published promises and sources."""
    db_path = Path(db_path)
    db_path.unlink(missing_ok=True)
    conn = sqlite3.connect(db_path)
    try:
        # A rebuilt-from-scratch file needs no journal: a crash means building it again.
        conn.execute("PRAGMA journal_mode = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        columns = ", ".join(f"{name} UNINDEXED" if name in UNINDEXED else name for name in COLUMNS)
        conn.execute(f"CREATE VIRTUAL TABLE docs USING fts5({columns}, tokenize='unicode61 remove_diacritics 2')")
        conn.execute(
            "CREATE TABLE meta (rowid INTEGER PRIMARY KEY, kind TEXT NOT NULL, status TEXT NOT NULL,"
            " territory TEXT NOT NULL, made_by TEXT NOT NULL, theme TEXT NOT NULL)"
        )
        with conn:
            conn.executemany(
                f"INSERT INTO docs (rowid, {', '.join(COLUMNS)}) VALUES (?{', ?' * len(COLUMNS)})",
                ((rowid, *(_index_text(value) for value in row)) for rowid, row, _ in _rows(tree)),
            )
            conn.executemany("INSERT INTO meta VALUES (?, ?, ?, ?, ?, ?)", ((rowid, *m) for rowid, _, m in _rows(tree)))
            for name in FACETS:
                conn.execute(f"CREATE INDEX meta_{name} ON meta ({name})")
            # Merge the index segments into one b-tree, as a deployed index would be.
            conn.execute("INSERT INTO docs (docs) VALUES ('optimize')")
        conn.execute("ANALYZE")
    finally:
        conn.close()


def _rows(tree: ContentTree):
    """(rowid, docs row, meta row) for every published promise, then every source."""
    rowid = 0
    for key in sorted(tree.promises):
        p = tree.promises[key]
        rowid += 1
        notes = "\n".join(entry.note for entry in p.history if entry.note)
        quotes = "\n".join(proof.quote for entry in p.history for proof in entry.evidence)
        authors = " ".join(p.made_by)
        row = ("promise", p.id, p.title, p.body, notes, quotes, authors, p.territory, p.theme, p.status)
        yield rowid, row, ("promise", p.status or "", p.territory or "", authors, p.theme or "")
    for key in sorted(tree.sources):
        s = tree.sources[key]
        rowid += 1
        row = ("source", s.id, s.title, s.text, "", "", s.publisher, "", "", "")
        yield rowid, row, ("source", "", "", s.publisher or "", "")


def match_query(query: str) -> str | None:
    """The FTS5 MATCH expression for what a person typed, or None if nothing is searchable.

    Every word and phrase is double-quoted, so nothing typed is ever FTS5 syntax: words are
    AND-ed, "a phrase" stays a phrase, -word excludes, word* is a prefix.
    """
    cleaned = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in query)
    cleaned = _index_text(cleaned)
    wanted, excluded = [], []
    for match in TERM.finditer(cleaned):
        negated, phrase, negated_word, word = match.groups()
        text = phrase if phrase is not None else word
        prefix = phrase is None and text.endswith("*")
        text = text.rstrip("*") if prefix else text
        if not WORD_CHAR.search(text):
            continue  # "*", "--", "«": no token, and an empty phrase would match nothing
        term = '"' + text.replace('"', '""') + '"' + (" *" if prefix else "")
        (excluded if (negated or negated_word) else wanted).append(term)
        if len(wanted) + len(excluded) >= MAX_TERMS:
            break
    if not wanted:
        return None  # FTS5's NOT needs something to subtract from
    expression = "(" + " AND ".join(wanted) + ")"
    return expression + "".join(f" NOT {term}" for term in excluded)


def search_fts(
    conn: sqlite3.Connection, query: str, filters: dict[str, str] | None = None, page: int = 1, per_page: int = 10
) -> dict:
    """One page of hits for `query`, best first, with snippets and facet counts."""
    facets: dict[str, dict[str, int]] = {name: {} for name in FACETS}
    expression = match_query(query)
    if expression is None:
        return {"total": 0, "results": [], "facets": facets}
    page, per_page = max(1, int(page)), min(100, max(1, int(per_page)))
    where, params = "docs MATCH ?", [expression]
    for name, value in sorted((filters or {}).items()):
        if name not in FACETS:
            raise ValueError(f"filtre inconnu « {name} » (filtres possibles : {', '.join(FACETS)})")
        if value:
            where += f" AND m.{name} = ?"
            params.append(value)
    weights = ", ".join(str(weight) for weight in WEIGHTS)
    rows = conn.execute(
        f"SELECT docs.kind, docs.id, docs.title, snippet(docs, {BODY}, '{OPEN}', '{CLOSE}', '…', {SNIPPET_TOKENS})"
        f" FROM docs JOIN meta AS m ON m.rowid = docs.rowid WHERE {where}"
        f" ORDER BY bm25(docs, {weights}) LIMIT ? OFFSET ?",
        (*params, per_page, (page - 1) * per_page),
    ).fetchall()
    # Every facet from one pass over the hits, materialised once.
    counts = " UNION ALL ".join(
        f"SELECT '{name}', {name}, count(*) FROM hits WHERE {name} != '' GROUP BY {name}" for name in FACETS
    )
    facet_rows = conn.execute(
        f"WITH hits AS MATERIALIZED (SELECT {', '.join('m.' + name for name in FACETS)}"
        f" FROM docs JOIN meta AS m ON m.rowid = docs.rowid WHERE {where}) {counts}",
        params,
    ).fetchall()
    for name, value, count in facet_rows:
        facets[name][value] = count
    results = [
        {"id": id_, "kind": kind, "title": title, "snippet": _snippet_html(snippet)}
        for kind, id_, title, snippet in rows
    ]
    return {"total": sum(facets["kind"].values()), "results": results, "facets": facets}


def _snippet_html(snippet: str | None) -> str:
    return html.escape(snippet or "").replace(OPEN, "<mark>").replace(CLOSE, "</mark>")
