"""The garbage collector of a production worker: its long-lived objects out of every full pass.

A web worker at 10,000 promises holds a few hundred thousand long-lived objects (each promise's
list row and history, the index's column values, decoded items, compiled templates). Python's
collector walks all of them at each full collection: 60–80 ms with the interpreter lock held,
every few page drawings under load, during which the worker's other threads serve nothing — a
stall that the client's 99th percentile saw after each publication.

So each worker, once warm, moves what it holds to the collector's permanent generation
(`gc.freeze()`): later full passes walk only what was made since. Frozen objects are still freed
by reference counting; only reference cycles among them would never be, so now and then
(`REFREEZE_SECONDS`) the worker thaws them, collects once (one full pass), and freezes again.
Until then, frozen objects in cycles that were dropped (an old searcher of the index and its
readers) stay in memory: at most what one period's publications leave, freed at the next pass.
"""

from __future__ import annotations

import gc
import logging
import threading
import time

log = logging.getLogger(__name__)

# After the worker starts: time to read what it keeps (list rows, columns, templates) at its first requests.
WARM_SECONDS = 30.0
# Between two full collections of everything (cycles among frozen objects freed), then frozen again.
REFREEZE_SECONDS = 600.0


def refreeze() -> int:
    """Collect everything once, then freeze what is left; the number of objects frozen."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def _keep_frozen(warm: float, every: float, stop: threading.Event) -> None:
    if stop.wait(warm):
        return
    while True:
        started = time.perf_counter()
        frozen = refreeze()
        log.debug("ramasse-miettes : %d objets gelés en %.0f ms", frozen, (time.perf_counter() - started) * 1000)
        if stop.wait(every):
            return


def start(warm: float = WARM_SECONDS, every: float = REFREEZE_SECONDS) -> threading.Event:
    """In a worker: freeze its objects once warm, then again every `every` seconds; set the event to stop."""
    stop = threading.Event()
    threading.Thread(target=_keep_frozen, args=(warm, every, stop), name="kb-gc-freeze", daemon=True).start()
    return stop
