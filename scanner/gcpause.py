"""Pausing Python's cyclic garbage collector around a stage that allocates by the million.

A full collection walks every tracked object alive: with a 1M-rule snapshot loaded that is
millions of rules, peers, port sets and tuples, and the collector starts one each time the
objects allocated since the last one outnumber a quarter of those already alive. Judging a
templated estate allocates several hundred thousand findings that all stay alive, which set off
about five full collections at 1M rules: a quarter of the evaluation's CPU time, spent finding
no garbage (the findings, the rule set views and the verdicts form no reference cycles).

Reference counting still frees everything that is not in a cycle while the collector is
paused. What the block allocated and kept is still in the youngest generation when it ends:
the first collection after it would walk all of it (0.8 s CPU at 1M rules), so it is moved to
the oldest generation at once, as older objects are (``gc.freeze`` then ``gc.unfreeze``, which
splices the lists; skipped when something else froze objects, whose freeze must hold). Cycles
made meanwhile are collected by a later full collection. Nested and concurrent pauses are
safe: only the outermost one that paused it resumes the collector, and one that finds it
already off (paused elsewhere, or off for the whole process) leaves it alone.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0  # pauses in progress that this module started the collector's pause for


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector is off inside the block (unless it was off already)."""
    global _holders
    with _lock:
        if _holders == 0 and not gc.isenabled():
            owned = False  # off for other reasons: not ours to turn back on
        else:
            owned = True
            _holders += 1
            gc.disable()
    try:
        yield
    finally:
        if owned:
            with _lock:
                _holders -= 1
                if _holders == 0:
                    if gc.get_freeze_count() == 0:
                        gc.freeze()
                        gc.unfreeze()  # into the oldest generation
                    gc.enable()
