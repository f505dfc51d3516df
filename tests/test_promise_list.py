"""/promesses: filters that combine and stay in the URL, counts, sorting, unknown values."""

import re
from datetime import date

import pytest

from kb.content.listing import list_promises
from kb.content.tree import read_tree

from .conftest import DEMO_CONTENT


@pytest.fixture
def demo_client(tmp_path):
    from kb.web import create_app

    return create_app({"TESTING": True, "CONTENT_DIR": str(DEMO_CONTENT), "INSTANCE_DIR": str(tmp_path)}).test_client()


def shown_count(html: str) -> int:
    return int(re.search(r'<h2 id="liste">(\d+) promesse', html).group(1))


def test_every_filter_value_count_equals_the_list_once_filtered():
    tree = read_tree(DEMO_CONTENT)
    promises, today, final = list(tree.promises.values()), date(2026, 11, 23), tree.final_statuses
    listing = list_promises(promises, {}, "", today, final)
    for name, counts in listing.counts.items():
        for value, count in counts.items():
            assert len(list_promises(promises, {name: value}, "", today, final).promises) == count, (name, value)


def test_a_list_is_in_the_order_of_its_sort_whichever_filters_keep_it():
    """Lists filter an arrangement sorted once (kb.catalog.listed keeps it): sorting what is kept gives the same."""
    from kb.content.listing import sorted_promises

    tree = read_tree(DEMO_CONTENT)
    promises, today, final = list(tree.promises.values()), date(2026, 6, 1), tree.final_statuses
    for sort in ("", "maj", "titre", "echeance", "inconnu"):
        for filters in ({}, {"territory": "Métropole européenne de Lille"}, {"status": "in_progress"}, {"theme": "Énergie", "overdue": "non"}):
            listed = list_promises(promises, filters, sort, today, final).promises
            kept = [promise for promise in promises if promise in listed]
            assert listed == sorted_promises(kept, sort), (sort, filters)


def test_a_process_keeps_one_arrangement_per_sort_until_its_rows_change(tmp_path):
    from kb.catalog.listed import ListedCache
    from kb.catalog.update import Catalog
    from kb.store.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'kb.sqlite3'}")
    Catalog(engine, DEMO_CONTENT, tmp_path / "publish.lock").ensure()
    cache = ListedCache(engine)
    rows = cache.rows()
    first = cache.arranged(rows, "titre", date(2026, 6, 1), {"done"})
    assert cache.arranged(rows, "titre", date(2026, 6, 1), {"done"}) is first
    assert cache.arranged(rows, "n'importe quoi", date(2026, 6, 1), {"done"}) is cache.arranged(rows, "maj", date(2026, 6, 1), {"done"})
    assert len(cache._arranged) == 2  # an unknown ?tri= is the default sort, never an entry of its own
    assert cache.arranged(list(rows), "titre", date(2026, 6, 1), {"done"}) is not first  # other rows: arranged anew


def test_filters_combine(demo_client):
    everything = shown_count(demo_client.get("/promesses").get_data(as_text=True))
    planned = shown_count(demo_client.get("/promesses?status=planned").get_data(as_text=True))
    both = demo_client.get("/promesses?status=planned&territory=Métropole+européenne+de+Lille").get_data(as_text=True)
    assert everything > planned >= shown_count(both) > 0


def test_filter_links_keep_the_other_filters(demo_client):
    html = demo_client.get("/promesses?status=planned").get_data(as_text=True)
    assert 'href="/promesses?status=planned&amp;territory=M%C3%A9tropole+europ%C3%A9enne+de+Lille"' in html
    assert 'aria-current="true" href="/promesses"' in html  # the active filter removes itself


def test_filter_links_keep_the_arguments_in_their_order_less_the_page_and_the_ignored_ones(demo_client):
    html = demo_client.get("/promesses?tri=titre&status=planned&theme=Inconnu&page=2").get_data(as_text=True)
    assert 'href="/promesses?tri=titre&amp;status=planned&amp;territory=M%C3%A9tropole+europ%C3%A9enne+de+Lille"' in html
    assert 'aria-current="true" href="/promesses?tri=titre"' in html
    again = demo_client.get("/promesses?status=planned").get_data(as_text=True)  # another request: its own arguments
    assert 'href="/promesses?status=planned&amp;territory=M%C3%A9tropole+europ%C3%A9enne+de+Lille"' in again


def test_overdue_filter_lists_only_late_promises(demo_client):
    html = demo_client.get("/promesses?overdue=oui").get_data(as_text=True)
    assert shown_count(html) == html.count('<span class="late">en retard</span>') > 0


def test_unknown_filter_values_are_reported_and_ignored(demo_client):
    response = demo_client.get("/promesses?status=fini&couleur=bleu")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "« Statut : fini » ne correspond à aucune promesse" in html
    assert shown_count(html) == shown_count(demo_client.get("/promesses").get_data(as_text=True))


def test_sorting_by_deadline_puts_promises_without_one_last(demo_client):
    tree = read_tree(DEMO_CONTENT)
    listing = list_promises(list(tree.promises.values()), {}, "echeance", date(2026, 11, 23), tree.final_statuses)
    dues = [promise.due for promise in listing.promises]
    with_due = [due for due in dues if due]
    assert with_due == sorted(with_due) and dues[: len(with_due)] == with_due


def test_sorting_by_title_is_alphabetical(demo_client):
    html = demo_client.get("/promesses?tri=titre").get_data(as_text=True)
    titles = re.findall(r'<h3><a href="/promesses/[^"]+">([^<]+)</a></h3>', html)
    assert titles == sorted(titles, key=str.casefold)


def test_a_long_list_is_paginated_and_filters_start_again_at_page_one(tmp_path):
    import shutil

    from kb.web import create_app

    content = shutil.copytree(DEMO_CONTENT, tmp_path / "content")
    source = (content / "promises" / "mel-carrieres-catiches.md").read_text(encoding="utf-8")
    for number in range(30):
        (content / "promises" / f"copie-{number}.md").write_text(source, encoding="utf-8")
    client = create_app({"TESTING": True, "CONTENT_DIR": str(content), "INSTANCE_DIR": str(tmp_path)}).test_client()
    first = client.get("/promesses").get_data(as_text=True)
    second = client.get("/promesses?page=2").get_data(as_text=True)
    assert first.count('<h3><a href="/promesses/') == 50 and second.count('<h3><a href="/promesses/') == 25
    assert 'rel="next" href="/promesses?page=2"' in first
    assert 'href="/promesses?page=2&amp;status=' not in second  # choosing a filter goes back to page 1


def test_the_api_list_is_paginated(demo_client):
    data = demo_client.get("/api/promises?per_page=10&page=5").get_json()
    assert (data["page"], data["pages"], data["per_page"], data["total"]) == (5, 5, 10, 45)
    assert len(data["promises"]) == 5


def test_status_filters_follow_the_life_of_a_promise_not_their_counts(tmp_path):
    import re

    from kb.content.tree import read_tree
    from kb.web import create_app

    from .conftest import DEMO_CONTENT

    client = create_app({"TESTING": True, "CONTENT_DIR": str(DEMO_CONTENT), "INSTANCE_DIR": str(tmp_path)}).test_client()
    html = client.get("/promesses").get_data(as_text=True)
    shown = re.findall(r'<a href="/promesses\?status=([a-z_]+)"', html)
    vocabulary = list(read_tree(DEMO_CONTENT).statuses)
    assert shown and shown == [key for key in vocabulary if key in shown]


def test_an_arrangement_moved_row_by_row_equals_one_made_anew():
    """After a publication each process moves the changed rows in its kept arrangements
    (listing.rearranged) instead of sorting every promise again: it must give what sorting gives,
    ties of title, deadline and date included."""
    import random
    from dataclasses import replace

    from kb.catalog.listed import Listed
    from kb.content.listing import arranged, rearranged

    rng = random.Random(14)
    today, final = date(2026, 6, 1), {"done", "abandoned"}
    titles, days = ["Piscine", "piscine", "Métro", "Écoles", "Vélo"], [date(2025, 1, day) for day in (1, 2, 3)]

    def row(number: int) -> Listed:
        return Listed(
            id=f"p-{number:04d}", key=f"promise:p-{number:04d}", title=rng.choice(titles), status=rng.choice(["planned", "done", "in_progress"]),
            made_by=tuple(rng.sample(["aubry", "baly"], rng.randint(0, 2))), party=rng.choice([None, "PS"]), list_name=None,
            territory=rng.choice(["Lille", "Lomme"]), territory_slug=None, theme=rng.choice([None, "Eau"]), tracker="mel",
            updated_on=rng.choice(days), due=rng.choice([None, date(2026, 1, 1), date(2027, 1, 1)]),
        )  # fmt: skip

    for sort in ("maj", "titre", "echeance", "inconnu"):
        rows = sorted((row(number) for number in range(300)), key=lambda found: found.id)
        prepared = arranged(rows, sort, today, final)
        for step in range(40):
            removed = rng.sample(rows, rng.randint(0, 3))
            changed = [replace(row(0), id=old.id, key=old.key) for old in removed[: rng.randint(0, len(removed))]]
            added = changed + [row(1000 + step * 10 + extra) for extra in range(rng.randint(0, 2))]
            gone = {old.id for old in removed}
            rows = sorted([kept for kept in rows if kept.id not in gone] + added, key=lambda found: found.id)
            prepared = rearranged(prepared, removed, added, sort, today, final)
            assert prepared == arranged(rows, sort, today, final), (sort, step)
            for filters in ({}, {"status": "done"}):  # the counts of the kept columns follow them
                kept = list_promises(rows, filters, sort, today, final, prepared=prepared)
                assert kept.counts == list_promises(rows, filters, sort, today, final).counts, (sort, step, filters)
