"""Pausing Python's cyclic garbage collector around a stage that allocates by the million.

A full collection walks every tracked object alive: with a 1M-rule snapshot loaded that is
millions of rules, peers, port sets and tuples, and the collector starts one each time the
objects allocated since the last one outnumber a quarter of those already alive. Judging a
templated estate allocates several hundred thousand findings that all stay alive, which set off
about five full collections at 1M rules: a quarter of the evaluation's CPU time, spent finding
no garbage (the findings, the rule set views and the verdicts form no reference cycles).

Reference counting still frees everything that is not in a cycle while the collector is
paused; cycles made meanwhile are collected at the next collection after it resumes. Nested
and concurrent pauses are safe: only the outermost one that paused it resumes the collector,
and one that finds it already off (paused elsewhere, or off for the whole process) leaves it
alone.
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
                    gc.enable()
