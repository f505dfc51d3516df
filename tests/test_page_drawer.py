"""The machine's page drawer: right after a change, the pages readers asked for are drawn again outside the workers."""

import json
import time
from pathlib import Path

import pytest
from sqlalchemy import update

from kb.catalog import tables

from kb.web.page_drawer import PageDrawer

from .test_shared_pages import _mark_copies
from .test_shared_pages import _worker as _process

AUBRY = "aubry-mutualisation-lille-lomme-hellemmes"


@pytest.fixture
def machine(demo_copy, tmp_path, database_url):
    """A worker of a machine, and a maker of its page drawer (at most `most` pages a change), started."""
    worker = _process(demo_copy, tmp_path / "instance", database_url)

    def drawer(most: int = 100, least_ms: float = 0.0) -> PageDrawer:
        # least_ms 0: the demo's pages are all quick to draw, which would leave every one to the workers.
        made = PageDrawer(_process(demo_copy, tmp_path / "instance", database_url), most=most, least_ms=least_ms)
        made.round()
        return made

    return worker, drawer


def _edit_by_hand(content: Path, mark: str, worker) -> None:
    """A promise's title changed on disk; the worker's scan logs the change (and the worker follows it)."""
    path = content / "promises" / f"{AUBRY}.md"
    path.write_text(path.read_text(encoding="utf-8").replace("title: ", f"title: ({mark}) ", 1), encoding="utf-8")
    worker.extensions["kb.content"].scan()


def _copy_times(instance: Path) -> dict[str, int]:
    return {path.name: path.stat().st_mtime_ns for path in (instance / "index.pages").iterdir() if not path.name.startswith(".")}


def test_a_list_a_reader_asked_for_is_drawn_again_by_the_drawer_and_taken_by_the_worker(machine, demo_copy, tmp_path):
    worker, start_drawer = machine
    drawer = start_drawer()
    worker.test_client().get("/promesses")
    _edit_by_hand(demo_copy, "zqredessin", worker)
    assert drawer.round() == 1
    assert _mark_copies(tmp_path / "instance", b"<h1>", b"<h6>") == 1
    page = worker.test_client().get("/promesses").get_data(as_text=True)
    assert "(zqredessin)" in page and "<h6>" in page  # the drawer's copy, taken: not drawn by the worker


def test_the_drawer_reads_what_lists_read_before_the_first_change(machine):
    _worker, start_drawer = machine
    store = start_drawer().app.extensions["kb.content"]
    with store.engine.begin() as connection:  # changed without a change logged: rows read before do not show it
        connection.execute(update(tables.items).where(tables.items.c.key == f"promise:{AUBRY}").values(title="Zq renommée"))
    assert "Zq renommée" not in {row.title for row in store.listed.rows()}


def test_a_copy_records_the_processor_time_its_drawing_took(machine, demo_copy, tmp_path):
    worker, _start_drawer = machine
    worker.test_client().get("/promesses")
    (copy,) = [path for path in (tmp_path / "instance" / "index.pages").iterdir() if not path.name.startswith(".")]
    cost = json.loads(copy.read_bytes().partition(b"\n")[0])["cost_ms"]
    assert 0 < cost < 60_000


def test_a_page_quicker_to_draw_than_the_drawer_s_least_is_left_to_the_workers(machine, demo_copy, tmp_path):
    worker, start_drawer = machine
    drawer = start_drawer(least_ms=60_000.0)  # every page of the demo is quicker than a minute
    worker.test_client().get("/promesses")
    _edit_by_hand(demo_copy, "zqbonmarche", worker)
    assert drawer.round() == 0
    assert _mark_copies(tmp_path / "instance", b"<h1>", b"<h6>") == 1  # the worker's copy, left as it was
    page = worker.test_client().get("/promesses").get_data(as_text=True)
    assert "(zqbonmarche)" in page and "<h6>" not in page  # drawn by the worker itself


def test_a_page_nobody_asked_for_since_the_last_change_is_not_drawn_again(machine, demo_copy, tmp_path):
    worker, start_drawer = machine
    drawer = start_drawer()
    worker.test_client().get("/promesses")
    _edit_by_hand(demo_copy, "zqun", worker)
    assert drawer.round() == 1
    _edit_by_hand(demo_copy, "zqdeux", worker)
    assert drawer.round() == 0
    worker.test_client().get("/promesses")  # a reader asks again: the worker takes the copy
    _edit_by_hand(demo_copy, "zqtrois", worker)
    assert drawer.round() == 1


def test_a_page_the_change_did_not_touch_is_not_drawn_again(machine, demo_copy, tmp_path):
    worker, start_drawer = machine
    drawer = start_drawer()
    worker.test_client().get("/sources")  # lists sources: a promise's title is not on it
    _edit_by_hand(demo_copy, "zqailleurs", worker)
    assert drawer.round() == 0


def test_the_drawer_s_copies_keep_the_time_readers_last_asked_for_the_page(machine, demo_copy, tmp_path):
    worker, start_drawer = machine
    drawer = start_drawer()
    worker.test_client().get("/promesses")
    asked = _copy_times(tmp_path / "instance")
    time.sleep(0.05)
    _edit_by_hand(demo_copy, "zqheure", worker)
    assert drawer.round() == 1
    assert _copy_times(tmp_path / "instance") == asked
    worker.test_client().get("/promesses")  # taken by the worker: asked for now
    assert all(_copy_times(tmp_path / "instance")[name] > when for name, when in asked.items())


def test_at_most_the_pages_it_is_allowed_are_drawn_again(machine, demo_copy, tmp_path):
    worker, start_drawer = machine
    drawer = start_drawer(most=2)
    client = worker.test_client()
    for path in ("/promesses", "/", "/flux.atom", "/promesses?status=done"):
        client.get(path)
    _edit_by_hand(demo_copy, "zqborne", worker)
    assert drawer.round() == 2


def _pages_showing(instance: Path, mark: str) -> list[str]:
    """The paths (with their query) of the drawn copies that show `mark`."""
    found = []
    for path in (instance / "index.pages").iterdir():
        if not path.name.startswith("."):
            head, _, body = path.read_bytes().partition(b"\n")
            if mark.encode() in body:
                page = json.loads(head)["page"]
                found.append(page[1] + (f"?{page[2]}" if page[2] else ""))
    return found


def _set_costs(instance: Path, costs: dict[str, float]) -> None:
    """Write in the drawn copies how long their drawing took (path with its query → ms)."""
    for path in (instance / "index.pages").iterdir():
        if not path.name.startswith("."):
            head, _, body = path.read_bytes().partition(b"\n")
            header = json.loads(head)
            page = header["page"][1] + (f"?{header['page'][2]}" if header["page"][2] else "")
            if page in costs:
                header["cost_ms"] = costs[page]
                path.write_bytes(json.dumps(header).encode() + b"\n" + body)


def test_the_home_page_is_drawn_first_then_the_quickest_to_draw(machine, demo_copy, tmp_path):
    worker, start_drawer = machine
    drawer = start_drawer(most=1)
    client = worker.test_client()
    asked = ("/promesses?status=partial", "/promesses", "/")  # the home page asked for last, and the slowest
    costs = {"/promesses?status=partial": 30.0, "/promesses": 40.0, "/": 90.0}  # a filtered list quicker than the whole
    for path in asked:
        client.get(path)
    _set_costs(tmp_path / "instance", costs)
    _edit_by_hand(demo_copy, "zqaccueil", worker)
    assert drawer.round() == 1
    assert _pages_showing(tmp_path / "instance", "(zqaccueil)") == ["/"]
    for path in asked:
        client.get(path)
    _set_costs(tmp_path / "instance", costs)
    _edit_by_hand(demo_copy, "zqlistes", worker)
    drawer.most = 2
    assert drawer.round() == 2
    assert sorted(_pages_showing(tmp_path / "instance", "(zqlistes)")) == ["/", "/promesses?status=partial"]


def test_the_drawer_claims_only_the_pages_it_can_expect_to_draw_within_its_budget():
    from kb.web.page_drawer import BUDGET_SECONDS, LOADED, _within_budget

    each = BUDGET_SECONDS * 1000 / LOADED / 4  # four of them fill the budget on a loaded machine
    assert _within_budget([(("page", n), each) for n in range(6)]) == [("page", n) for n in range(4)]
    assert _within_budget([(("slow",), 10 * BUDGET_SECONDS * 1000), (("next",), each)]) == [("slow",)]  # the first, whatever it costs


def test_the_home_page_in_another_language_is_still_the_home_page_for_the_drawer():
    from kb.web.page_drawer import _rank

    def rank(path: str, query: str) -> int:
        return _rank(("http://kb.example/", path, query, "en", "2026-12-03", "1"))

    assert [rank("/", ""), rank("/", "lang=en"), rank("/promesses", "lang=en"), rank("/promesses", "status=done")] == [0, 0, 1, 1]


def test_while_the_drawer_holds_a_page_s_lock_a_worker_gives_its_older_copy(demo_copy, tmp_path, database_url):
    worker = _process(demo_copy, tmp_path / "instance", database_url)
    drawer_app = _process(demo_copy, tmp_path / "instance", database_url)
    client = worker.test_client()
    before = client.get("/promesses").get_data(as_text=True)
    _edit_by_hand(demo_copy, "zqverrou", worker)
    key = next(iter(worker.extensions["kb.pages"]._pages))
    pages = drawer_app.extensions["kb.shared_pages"]
    with pages.holding(key) as held:
        assert held
        with pages.drawing(key) as alone:
            assert alone  # the drawer's own drawing, under the lock it holds
        stale = client.get("/promesses")
        assert stale.get_data(as_text=True) == before and stale.headers["Cache-Control"] == "no-cache"
    assert "(zqverrou)" in client.get("/promesses").get_data(as_text=True)


def _claimed_list(demo_copy, tmp_path, database_url, mark: str):
    """A worker whose copy of /promesses a hand edit made stale; the drawer's shared pages; the key; the copy before."""
    worker = _process(demo_copy, tmp_path / "instance", database_url)
    drawer_pages = _process(demo_copy, tmp_path / "instance", database_url).extensions["kb.shared_pages"]
    before = worker.test_client().get("/promesses").get_data(as_text=True)
    _edit_by_hand(demo_copy, mark, worker)
    key = next(iter(worker.extensions["kb.pages"]._pages))
    return worker, drawer_pages, key, before


def test_while_the_drawer_claims_a_list_a_worker_gives_its_older_copy_then_draws_it_once_the_claim_is_over(demo_copy, tmp_path, database_url):
    worker, drawer_pages, key, before = _claimed_list(demo_copy, tmp_path, database_url, "zqannonce")
    position = worker.extensions["kb.follower"].position
    drawer_pages.claim([key], position)
    stale = worker.test_client().get("/promesses")
    assert stale.get_data(as_text=True) == before and stale.headers["Cache-Control"] == "no-cache"
    drawer_pages.claim([], position)  # the drawer's round is over
    assert "(zqannonce)" in worker.test_client().get("/promesses").get_data(as_text=True)


def test_a_claim_made_knowing_fewer_changes_than_the_worker_is_not_waited_for(demo_copy, tmp_path, database_url):
    worker, drawer_pages, key, _before = _claimed_list(demo_copy, tmp_path, database_url, "zqancienne")
    drawer_pages.claim([key], worker.extensions["kb.follower"].position - 1)
    assert "(zqancienne)" in worker.test_client().get("/promesses").get_data(as_text=True)


def test_a_claim_the_drawer_did_not_end_is_over_after_a_while(demo_copy, tmp_path, database_url, monkeypatch):
    from kb.web import shared_pages

    worker, drawer_pages, key, _before = _claimed_list(demo_copy, tmp_path, database_url, "zqoubliee")
    drawer_pages.claim([key], worker.extensions["kb.follower"].position)  # and the drawer died
    monkeypatch.setattr(shared_pages, "CLAIM_SECONDS", 0.0)
    assert "(zqoubliee)" in worker.test_client().get("/promesses").get_data(as_text=True)


def test_the_drawer_claims_the_lists_it_draws_and_ends_its_claim_after_them(machine, demo_copy, tmp_path, monkeypatch):
    worker, start_drawer = machine
    drawer = start_drawer()
    client = worker.test_client()
    for path in ("/promesses", f"/promesses/{AUBRY}", "/api/promises"):
        client.get(path)
    claims = []
    monkeypatch.setattr(drawer.pages, "claim", lambda keys, cursor: claims.append([key[1] for key in keys]))
    _edit_by_hand(demo_copy, "zqliste", worker)
    assert drawer.round() == 3
    # The promise's own page is not a list, the list's JSON not a page for readers: left to the first worker asked.
    assert claims == [["/promesses"], []]


def test_the_drawer_leaves_a_page_a_worker_is_drawing(demo_copy, tmp_path, database_url):
    worker = _process(demo_copy, tmp_path / "instance", database_url)
    drawer_app = _process(demo_copy, tmp_path / "instance", database_url)
    worker.test_client().get("/promesses")
    key = next(iter(worker.extensions["kb.pages"]._pages))
    with worker.extensions["kb.shared_pages"].drawing(key) as alone:
        assert alone
        with drawer_app.extensions["kb.shared_pages"].holding(key) as held:
            assert not held
    with drawer_app.extensions["kb.shared_pages"].holding(key) as held:
        assert held


def test_a_page_served_under_a_prefix_is_drawn_again_under_it(machine, demo_copy, tmp_path):
    worker, start_drawer = machine
    drawer = start_drawer()
    worker.test_client().get("/promesses", base_url="https://promesses.example.org/suivi/")
    _edit_by_hand(demo_copy, "zqprefixe", worker)
    assert drawer.round() == 1
    _mark_copies(tmp_path / "instance", b"<h1>", b"<h6>")
    page = worker.test_client().get("/promesses", base_url="https://promesses.example.org/suivi/").get_data(as_text=True)
    assert "<h6>" in page and 'href="/suivi/promesses/' in page


def test_the_drawer_leaves_the_indexing_of_a_change_to_the_processes_that_serve_searches(demo_copy, tmp_path, database_url):
    worker = _process(demo_copy, tmp_path / "instance", database_url)
    worker.test_client().get("/")
    drawer = PageDrawer(_process(demo_copy, tmp_path / "instance", database_url), most=100)
    drawer.round()
    index = worker.extensions["kb.search"].index
    generation = index.open().latest_generation()
    path = demo_copy / "promises" / f"{AUBRY}.md"
    path.write_text(path.read_text(encoding="utf-8").replace("title: ", "title: (zqindex) ", 1), encoding="utf-8")
    assert worker.extensions["kb.content"].catalog.scan().changed  # logged, followed by no process yet
    drawer.round()
    assert index.open().latest_generation() == generation
    worker.test_client().get("/")  # a worker follows the change log at a request's start, and indexes
    assert index.open().latest_generation() > generation

