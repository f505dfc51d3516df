"""Three-way merge of content files, field by field, for rebasing a request after a conflict.

The author's request changed some fields of the version it was based on; somebody else
published other changes since. Each field takes whichever side changed it; history entries
added on either side are all kept (by date); where both sides changed the same field
differently, the author's value is kept and the field named, for the author to check
before resubmitting (the editor then reviews the diff against the current file).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from kb.content import frontmatter

BODY = "(texte)"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parts(text: str | None) -> tuple[dict[str, Any], str]:
    if not text:
        return {}, ""
    try:
        document = frontmatter.load(text)
    except frontmatter.FrontMatterError:
        return {}, text
    data = document.data if isinstance(document.data, dict) else {}
    return data, document.body.strip("\n")


def _merge_history(base: list, mine: list, theirs: list) -> list:
    """Their entries, plus the entries only I added, ordered by date (a stable sort keeps ties in place)."""
    added = [entry for entry in mine if entry not in base and entry not in theirs]
    removed = [entry for entry in base if entry not in mine]
    merged = [entry for entry in theirs if entry not in removed] + added
    return sorted(merged, key=lambda entry: str(entry.get("date", "")) if isinstance(entry, dict) else "")


def merge_files(base: str | None, mine: str, theirs: str | None, order: tuple[str, ...] = ()) -> tuple[str, list[str]]:
    """(merged file text, names of the fields both sides changed differently); `order`: the kind's keys as kb writes them."""
    if theirs is None:  # the file was deleted meanwhile: what I propose is all there is
        return mine, []
    base_data, base_body = _parts(base)
    my_data, my_body = _parts(mine)
    their_data, their_body = _parts(theirs)
    clashes: list[str] = []
    merged: dict[str, Any] = {}
    keys = [key for key in order if key in my_data or key in their_data]
    keys += [key for key in {**their_data, **my_data} if key not in keys]
    for key in keys:
        old, new, other = base_data.get(key), my_data.get(key), their_data.get(key)
        if key == "history" and all(isinstance(value, list) for value in (new, other)):
            value = _merge_history(old if isinstance(old, list) else [], new, other)
        elif new == old:
            value = other
        elif other == old or other == new:
            value = new
        else:
            value, _ = new, clashes.append(key)
        if value is not None:
            merged[key] = value
    history = merged.get("history")
    if isinstance(history, list) and history and isinstance(history[-1], dict) and "status" in history[-1]:
        merged["status"] = history[-1]["status"]  # a rule of the format: the status is the latest entry's
        clashes = [name for name in clashes if name != "status"]  # settled by the history
    if my_body == base_body:
        body = their_body
    elif their_body in (base_body, my_body):
        body = my_body
    else:
        body, _ = my_body, clashes.append(BODY)
    return frontmatter.dump(_dates(merged), body), clashes


def _dates(value: Any) -> Any:
    """Dates back to dates: kb reads them as text, and text that looks like a date is dumped quoted."""
    if isinstance(value, dict):
        return {key: _dates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_dates(item) for item in value]
    if isinstance(value, str) and DATE.match(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value
