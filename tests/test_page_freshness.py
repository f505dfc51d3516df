"""Pages kept by a worker are the pages the files say: a change drops exactly what it must.

A kept page is dropped by the tags of what it read (kb.web.page_cache, kb.web.follower); a tag
too narrow would leave a page showing what the files no longer say. These tests change the files
in every way that moves a page's lists and related promises, and compare each page a worker gives
with the same page drawn by another worker that keeps nothing.
"""

from __future__ import annotations

import re
import shutil

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.web import create_app
from kb.web.page_cache import EVERYTHING

from .conftest import DEMO_CONTENT

TERRITORIES = ("Lille", "Métropole européenne de Lille", "Marcq-en-Barœul et La Madeleine")
THEMES = ("Énergie", "Sécurité", "Gouvernance", "Habitat")
OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["history", "title", "territory", "theme", "new", "delete", "rename"]),
        st.integers(min_value=0, max_value=10_000),
    ),
    min_size=1,
    max_size=4,
)


def worker(content, instance):
    # Each its own catalog, following its own scans at once: what is compared is which pages a
    # change drops, not how soon another process hears of it (PUBLICATION_POLL_SECONDS), even when
    # the suite runs on a shared PostgreSQL database.
    settings = {"CONTENT_DIR": str(content), "INSTANCE_DIR": str(instance), "DATABASE_URL": f"sqlite:///{instance}.sqlite3"}
    return create_app({"TESTING": True, **settings, "CONTENT_RECHECK_SECONDS": 0, "PUBLICATION_POLL_SECONDS": 0})


def change(content, operation: str, number: int) -> None:
    promises = sorted((content / "promises").glob("*.md"))
    path = promises[number % len(promises)]
    text = path.read_text(encoding="utf-8")
    if operation == "history":  # what a publication mostly is: the status moves, nothing else
        first = re.search(r"(?ms)^  - date: .*?(?=^  - date: |^aliases:)", text).group(0)
        entry = re.sub(r"date: \S+", f"date: 2026-11-{10 + number % 18}", first, count=1)
        entry = re.sub(r"(?m)^    status: \S+", f"    status: {('in_progress', 'done', 'partial')[number % 3]}", entry, count=1)
        text = text.replace("\naliases:", f"\n{entry.rstrip()}\naliases:", 1)
        text = re.sub(r"(?m)^status: \S+", f"status: {('in_progress', 'done', 'partial')[number % 3]}", text, count=1)
    elif operation == "title":
        text = text.replace("title: ", f"title: ({number}) ", 1)
    elif operation == "territory":
        text = re.sub(r"(?m)^territory: .*$", f"territory: {TERRITORIES[number % len(TERRITORIES)]}", text, count=1)
    elif operation == "theme":
        text = re.sub(r"(?m)^theme: .*$", f"theme: {THEMES[number % len(THEMES)]}", text, count=1)
    elif operation == "new":
        path = content / "promises" / f"{path.stem[:40]}-{number}.md"
        text = re.sub(r"(?m)^aliases:\n(- .*\n)+", "aliases: []\n", text)
    elif operation == "delete":
        path.unlink()
        return
    elif operation == "rename":
        new = content / "promises" / f"{path.stem[:40]}-r{number}.md"
        path.unlink()
        path, text = new, re.sub(r"(?m)^aliases: \[\]$", f"aliases:\n- {path.stem}", text)
    path.write_text(text, encoding="utf-8")


def pages(content) -> list[str]:
    promises = [f"/promesses/{path.stem}" for path in sorted((content / "promises").glob("*.md"))]
    return ["/", "/promesses", "/promesses?territory=Lille", *promises]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=OPERATIONS)
def test_after_any_changes_every_kept_page_is_the_page_drawn_anew(tmp_path_factory, operations):
    here = tmp_path_factory.mktemp("freshness")
    content = shutil.copytree(DEMO_CONTENT, here / "content")
    keeping, drawing = worker(content, here / "keeping"), worker(content, here / "drawing")
    keeper = keeping.test_client()
    for path in pages(content):
        keeper.get(path)  # every page kept before the changes
    for operation, number in operations:
        change(content, operation, number)
        for path in pages(content):
            drawing.extensions["kb.pages"].invalidate({EVERYTHING})
            drawing.extensions["kb.shared_pages"].clear()
            expected = drawing.test_client().get(path)
            got = keeper.get(path)
            assert (got.status_code, got.get_data(as_text=True)) == (expected.status_code, expected.get_data(as_text=True)), (operation, path)
