"""A production worker keeps its long-lived objects out of the garbage collector's full passes."""

import gc
import time
import weakref

import pytest

from kb.ops import collector


@pytest.fixture(autouse=True)
def thawed():
    yield
    gc.unfreeze()  # the rest of the suite runs with an ordinary collector


class Node:
    pass


def test_once_warm_a_worker_freezes_what_it_holds():
    stop = collector.start(warm=0.05, every=3600)
    try:
        deadline = time.monotonic() + 5
        while gc.get_freeze_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert gc.get_freeze_count() > 0
    finally:
        stop.set()


def dropped_frozen_cycle() -> weakref.ref:
    """A cycle frozen, then dropped: only a full pass that walks it frees it."""
    node = Node()
    node.itself = node
    gc.freeze()
    return weakref.ref(node)


def test_a_full_collection_no_longer_walks_frozen_objects():
    seen = dropped_frozen_cycle()
    gc.collect()
    assert seen() is not None  # a cycle among frozen objects: left alone by the full pass


def test_cycles_among_frozen_objects_are_freed_when_the_worker_freezes_again():
    seen = dropped_frozen_cycle()
    frozen = collector.refreeze()
    assert seen() is None and frozen == gc.get_freeze_count() > 0


def test_the_production_server_starts_it_in_each_worker(monkeypatch):
    from kb.ops import server

    started = []
    monkeypatch.setattr(collector, "start", lambda: started.append(True))
    options = server.gunicorn_options({"BIND": "127.0.0.1:0", "WORKERS": 1, "THREADS": 1, "TIMEOUT": 30, "LOG_LEVEL": "INFO", "KEEPALIVE_REQUESTS": 0})
    options["post_worker_init"](None)  # what gunicorn calls in each worker once it is ready
    assert started == [True]
