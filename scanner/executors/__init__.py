"""Where scopes are collected: in this process's threads, or on a Dask cluster's workers.

Discovery, analysis, storage and reporting always run here; an executor only takes the list of
(provider, scope) jobs and hands back each scope's normalised items as it finishes. Every
executor keeps the same promises: progress as scopes complete, a scope that cannot be collected
is a CollectionError (never missing), an interrupt cancels what has not run, and the deadline
turns what is unfinished into CollectionErrors.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Protocol

from providers.base import Provider
from scanner.model import CollectedItem, CollectionError, Scope

DEADLINE_CODE = "DeadlineExceeded"
DEADLINE_REASON = "not collected: deadline reached"
DEADLINE_HINT = "raise --deadline, or scan fewer accounts, regions or projects per run"

# Called with a scope and items collected for it. The flag is True exactly once per scope that
# ran to its end (progress counts it); False adds items without counting: a scope cut off by the
# deadline, or items an executor hands over later (merged in a stable order).
ScopeDone = Callable[[Scope, list[CollectedItem], bool], None]


def not_collected(scope: Scope) -> CollectionError:
    return CollectionError(provider=scope.provider, account=scope.account, region=scope.region,
                           reason=DEADLINE_REASON, hint=DEADLINE_HINT, code=DEADLINE_CODE)


def remaining(deadline: float | None) -> float | None:
    """Seconds left before ``deadline`` (a time.monotonic() instant); None: no limit."""
    return None if deadline is None else max(0.0, deadline - time.monotonic())


@dataclass(frozen=True, slots=True)
class ExecutorSettings:
    """Which executor, and its options (none of them secret)."""

    name: str = "local"
    dask_scheduler: str | None = None  # tcp://HOST:8786
    dask_retries: int = 2  # attempts after the first, for a task that fails or loses its worker
    dask_connect_timeout: float = 30.0  # seconds to reach the scheduler


class ScopeExecutor(Protocol):
    def run(self, jobs: Sequence[tuple[Provider, Scope]], deadline: float | None,
            done: ScopeDone, pool: ThreadPoolExecutor) -> bool:
        """Collect every job, calling ``done`` as each scope finishes (a scope not finished by
        ``deadline``, a ``time.monotonic()`` instant, is reported through ``done`` as not
        collected). ``pool`` is the scan's bounded thread pool, which discovery used too.
        Returns whether every job ran to its end (nothing left in flight)."""
        ...


# name -> "module:Class"; each class is built from ExecutorSettings.
REGISTRY: dict[str, str] = {
    "local": "scanner.executors.local:ThreadExecutor",
    "dask": "scanner.executors.dask_cluster:DaskExecutor",
}


def executor_names() -> list[str]:
    return list(REGISTRY)


def make_executor(settings: ExecutorSettings) -> ScopeExecutor:
    module_name, _, class_name = REGISTRY[settings.name].partition(":")
    return getattr(importlib.import_module(module_name), class_name)(settings)
