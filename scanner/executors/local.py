"""Scopes collected by the scan's pool of threads, in this process (the default)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from concurrent.futures import TimeoutError as FuturesTimeout

from providers.base import Provider
from scanner.executors import ExecutorSettings, ScopeDone, not_collected, remaining
from scanner.model import CollectedItem, CollectionError, Scope


def collect_scope(provider: Provider, scope: Scope) -> list[CollectedItem]:
    try:
        # Items several scopes may report are merged by collect_snapshot, in discovery order.
        return list(getattr(provider, "collect_unmerged", provider.collect)(scope))
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


class ThreadExecutor:
    def __init__(self, settings: ExecutorSettings | None = None) -> None:
        pass  # the threads are the scan's own pool (--concurrency)

    def run(self, jobs: Sequence[tuple[Provider, Scope]], deadline: float | None,
            done: ScopeDone, pool: ThreadPoolExecutor) -> bool:
        futures = {pool.submit(collect_scope, p, s): s for p, s in jobs}
        taken = set()
        try:
            for future in as_completed(futures, remaining(deadline)):
                taken.add(future)
                done(futures[future], future.result(), True)
        except FuturesTimeout:
            for future, scope in futures.items():
                if future in taken:
                    continue
                if future.done() and not future.cancelled():
                    done(scope, future.result(), False)  # finished just as the deadline passed
                else:
                    future.cancel()
                    done(scope, [not_collected(scope)], False)
            return False
        return True
