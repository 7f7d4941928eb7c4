"""Run providers over their scopes with bounded concurrency and gather one snapshot.

Stopping is part of the job. An interrupt (Ctrl-C, SIGTERM) cancels every queued scope and
returns at once without waiting for requests already in flight; a deadline turns whatever is
unfinished when it passes into CollectionErrors, so the snapshot says what was not collected
instead of looking clean. Abandoned worker threads finish (or time out) on their own; nothing
they return is used.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from concurrent.futures import TimeoutError as FuturesTimeout
from datetime import datetime, timezone

from providers.base import ProgressCallback, Provider
from scanner.model import CollectedItem, CollectionError, Scope, Snapshot

DEADLINE_CODE = "DeadlineExceeded"
DEADLINE_REASON = "not collected: deadline reached"
DEADLINE_HINT = "raise --deadline, or scan fewer accounts, regions or projects per run"


def new_snapshot_id(taken_at: datetime) -> str:
    return taken_at.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(4)


def _collect_scope(provider: Provider, scope: Scope) -> list[CollectedItem]:
    try:
        return list(provider.collect(scope))
    except Exception as exc:  # an adapter bug must not make the scope look clean
        return [
            CollectionError(
                provider=scope.provider,
                account=scope.account,
                region=scope.region,
                reason=f"unexpected error while collecting: {type(exc).__name__}: {exc}",
                hint="rerun with --debug and report this as a bug",
                code="InternalError",
            )
        ]


def _not_collected(scope: Scope) -> CollectionError:
    return CollectionError(provider=scope.provider, account=scope.account, region=scope.region,
                           reason=DEADLINE_REASON, hint=DEADLINE_HINT, code=DEADLINE_CODE)


def _remaining(deadline: float | None) -> float | None:
    """Seconds left before ``deadline`` (a time.monotonic() instant); None: no limit."""
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def collect_snapshot(
    providers: Iterable[Provider],
    max_workers: int = 8,
    progress: ProgressCallback | None = None,
    taken_at: datetime | None = None,
    deadline: float | None = None,
) -> Snapshot:
    """Discover every provider's scopes, collect them concurrently, return one snapshot.

    ``deadline`` is a ``time.monotonic()`` instant: discovery and collection still running then
    are recorded as not collected (code ``DeadlineExceeded``) and the snapshot is returned.
    """
    taken_at = taken_at or datetime.now(timezone.utc).replace(microsecond=0)
    providers = list(providers)
    scopes: list[Scope] = []
    items: list[CollectedItem] = []
    pool = ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="cloudwall")
    finished = False  # every job (listings included) ran to its end: nothing left to abandon
    try:
        jobs, listed = _discover(pool, providers, deadline, scopes, items)
        futures = {pool.submit(_collect_scope, p, s): s for p, s in jobs}
        taken: set[Future] = set()
        try:
            for done, future in enumerate(as_completed(futures, _remaining(deadline)), start=1):
                taken.add(future)
                items.extend(future.result())
                if progress:
                    progress(futures[future].label(), done, len(futures))
        except FuturesTimeout:
            for future, scope in futures.items():
                if future in taken:
                    continue
                if future.done() and not future.cancelled():
                    items.extend(future.result())  # finished just as the deadline passed
                else:
                    future.cancel()
                    items.append(_not_collected(scope))
        else:
            finished = listed
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
    wait(listings, timeout=_remaining(deadline))
    jobs: list[tuple[Provider, Scope]] = []
    listed = True
    for provider, listing in zip(providers, listings, strict=True):
        if not listing.done():  # only the deadline leaves a listing unfinished
            listing.cancel()
            listed = False
            scope = Scope(provider.name, "")
            scopes.append(scope)
            items.append(_not_collected(scope))
            continue
        for entry in listing.result():
            if isinstance(entry, CollectionError):
                scopes.append(entry.scope)
                items.append(entry)
            else:
                scopes.append(entry)
                jobs.append((provider, entry))
    return jobs, listed
