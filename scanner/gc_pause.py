"""The cyclic garbage collector paused while an analysis builds its answer.

An analysis over a large snapshot allocates millions of small tuples that all stay alive until
it returns, with the snapshot's millions of objects already in memory. Every full collection
the allocations trigger walks all of them and frees nothing: the analysis builds no reference
cycles (its values are tuples, dicts and frozen dataclasses), and reference counting frees what
it drops. Pausing the collector for the duration removes that work (a quarter of the exposure
analysis's CPU time at 100,000 assets); it runs again, as before, on the way out.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disable the cyclic collector inside the block and enable it again afterwards (also on
    an exception); a caller that had it disabled already keeps it disabled."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
