"""Run providers over their scopes with bounded concurrency and gather one snapshot.

Stopping is part of the job. An interrupt (Ctrl-C, SIGTERM) cancels every queued scope and
returns at once without waiting for requests already in flight; a deadline turns whatever is
unfinished when it passes into CollectionErrors, so the snapshot says what was not collected
instead of looking clean. Abandoned worker threads finish (or time out) on their own; nothing
they return is used.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime, timezone

from providers.base import ProgressCallback, Provider
from scanner.executors import ScopeExecutor, not_collected, remaining
from scanner.executors.local import ThreadExecutor
from scanner.model import CollectedItem, CollectionError, Scope, Snapshot


def new_snapshot_id(taken_at: datetime) -> str:
    return taken_at.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(4)


def collect_snapshot(
    providers: Iterable[Provider],
    max_workers: int = 8,
    progress: ProgressCallback | None = None,
    taken_at: datetime | None = None,
    deadline: float | None = None,
    executor: ScopeExecutor | None = None,
) -> Snapshot:
    """Discover every provider's scopes, collect them concurrently, return one snapshot.

    ``deadline`` is a ``time.monotonic()`` instant: discovery and collection still running then
    are recorded as not collected (code ``DeadlineExceeded``) and the snapshot is returned.
    ``executor`` collects the scopes (scanner.executors); by default this process's threads.
    """
    taken_at = taken_at or datetime.now(timezone.utc).replace(microsecond=0)
    providers = list(providers)
    scopes: list[Scope] = []
    items: list[CollectedItem] = []
    pool = ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="cloudwall")
    runner = executor or ThreadExecutor()
    finished = False  # every job (listings included) ran to its end: nothing left to abandon
    collected = 0
    merging: dict[Scope, Provider] = {}

    # Scopes of a provider whose scopes may report the same item (a GCP hierarchical policy):
    # held until all are in, then merged in discovery order, so which scope keeps a shared item
    # does not depend on which scope finished first, whatever the executor.
    held: dict[Scope, list[CollectedItem]] = {}

    def done(scope: Scope, found: list[CollectedItem], completed: bool) -> None:
        nonlocal collected
        if scope in merging:
            held[scope] = found
        else:
            items.extend(found)
        if completed:
            collected += 1
            if progress:
                progress(scope.label(), collected, len(jobs))

    try:
        jobs, listed = _discover(pool, providers, deadline, scopes, items)
        merging = {scope: p for p, scope in jobs if hasattr(p, "merge_collected")}
        finished = runner.run(jobs, deadline, done, pool) and listed
        for scope, provider in merging.items():  # jobs, and so this dict, keep discovery order
            items.extend(provider.merge_collected(held.get(scope, [])))
    finally:
        # The implicit shutdown(wait=True) of a `with` block would sit out every queued scope
        # after Ctrl-C: cancel what has not started, and wait only when nothing is left to run.
        pool.shutdown(wait=finished, cancel_futures=True)
    return Snapshot.from_items(
        new_snapshot_id(taken_at), taken_at, scopes, items, providers=[p.name for p in providers]
    )


def _discover(
    pool: ThreadPoolExecutor,
    providers: list[Provider],
    deadline: float | None,
    scopes: list[Scope],
    items: list[CollectedItem],
) -> tuple[list[tuple[Provider, Scope]], bool]:
    """Every provider's scopes (listed concurrently, under the deadline), in provider order,
    and whether every listing finished."""
    listings = [pool.submit(lambda p=p: list(p.discover_scopes())) for p in providers]
    wait(listings, timeout=remaining(deadline))
    jobs: list[tuple[Provider, Scope]] = []
    listed = True
    for provider, listing in zip(providers, listings, strict=True):
        if not listing.done():  # only the deadline leaves a listing unfinished
            listing.cancel()
            listed = False
            scope = Scope(provider.name, "")
            scopes.append(scope)
            items.append(not_collected(scope))
            continue
        for entry in listing.result():
            if isinstance(entry, CollectionError):
                scopes.append(entry.scope)
                items.append(entry)
            else:
                scopes.append(entry)
                jobs.append((provider, entry))
    return jobs, listed
