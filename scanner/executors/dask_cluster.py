"""Scopes collected as tasks on a Dask cluster's workers (``--executor dask``).

Only a *description* of each provider travels to the cluster: its registry name and its
``ProviderSettings`` (profile and role names, regions, endpoints, limits; nothing secret). The
worker builds the provider itself and authenticates with its own identity (instance role, IRSA,
workload identity, managed identity) or assumes the configured roles itself. What comes back is
the scope's normalised items; analysis, storage and reporting stay with the client.

A task that raises is retried by Dask (``retries``); a worker that dies takes its task with it
and the scheduler runs it elsewhere. Whatever still fails is a CollectionError for that scope.
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from providers import load_provider
from providers.base import Provider, ProviderSettings
from scanner import __version__
from scanner.errors import ConfigError
from scanner.executors import ExecutorSettings, ScopeDone, not_collected, remaining
from scanner.model import CollectedItem, CollectionError, Scope

DASK_HINT = "install it with: pip install 'cloudwall[dask]'"
_SCHEMES = ("tcp://", "tls://", "ws://", "wss://", "ucx://", "inproc://")


class TaskFailed(Exception):
    """A scope's collection raised on a worker; plain strings only, so it always pickles."""

    def __init__(self, reason: str, hint: str = "") -> None:
        super().__init__(reason, hint)
        self.reason = reason
        self.hint = hint


# --- on the worker -------------------------------------------------------------------------

# (scan id, provider name, settings) -> provider. One scan's scopes share a provider per worker,
# so an account's role is assumed once per worker, not once per region; only the few latest
# scans are kept, so a long-lived worker never reuses another night's expired session.
_PROVIDERS: OrderedDict[tuple[str, str, ProviderSettings], Provider] = OrderedDict()
_PROVIDERS_LOCK = threading.Lock()
_PROVIDERS_KEPT = 4


def _provider(scan_id: str, name: str, settings: ProviderSettings) -> Provider:
    key = (scan_id, name, settings)
    with _PROVIDERS_LOCK:
        provider = _PROVIDERS.get(key)
        if provider is None:
            provider = _PROVIDERS[key] = load_provider(name)(settings)
            while len(_PROVIDERS) > _PROVIDERS_KEPT:
                _PROVIDERS.popitem(last=False)
        return provider


def collect_on_worker(version: str, scan_id: str, name: str, settings: ProviderSettings,
                      scope: Scope) -> list[CollectedItem]:
    """One scope's items, collected with the worker's own credentials."""
    if version != __version__:
        # Items normalised by another release could differ from a local scan's: refuse.
        raise TaskFailed(f"the worker runs cloudwall {__version__}, the client {version}",
                         f"install cloudwall {version} on every Dask worker")
    try:
        provider = _provider(scan_id, name, settings)
        # Items another scope of the same scan may also report (a GCP hierarchical policy) are
        # merged on the client by collect_snapshot, which sees every scope's items.
        collect = getattr(provider, "collect_unmerged", provider.collect)
        return list(collect(scope))
    except Exception as exc:  # noqa: BLE001 - retried by Dask, then recorded for the scope
        raise TaskFailed(f"{type(exc).__name__}: {exc}", getattr(exc, "hint", "")) from None


# --- on the client -------------------------------------------------------------------------

def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise ConfigError("--executor dask needs the 'distributed' package", DASK_HINT) from exc
    return distributed


class DaskExecutor:
    def __init__(self, settings: ExecutorSettings) -> None:
        address = (settings.dask_scheduler or "").strip()
        if not address:
            raise ConfigError("--executor dask needs the scheduler's address",
                              "add --dask-scheduler tcp://HOST:8786 "
                              "(or set CLOUDWALL_DASK_SCHEDULER)")
        if "://" in address and not address.startswith(_SCHEMES):
            raise ConfigError(f"not a Dask scheduler address: {address!r}",
                              "expected tcp://HOST:8786 (or tls://HOST:8786)")
        _distributed()  # a missing extra fails before any cloud call
        self.settings = settings
        self.address = address

    def _connect(self, distributed: Any) -> Any:
        try:
            return distributed.Client(self.address, timeout=self.settings.dask_connect_timeout,
                                      set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ConfigError(f"cannot reach the Dask scheduler at {self.address}: {exc}",
                              "start it with `dask scheduler`, or check --dask-scheduler / "
                              "CLOUDWALL_DASK_SCHEDULER") from None

    def run(self, jobs: Sequence[tuple[Provider, Scope]], deadline: float | None,
            done: ScopeDone, pool: ThreadPoolExecutor) -> bool:
        if not jobs:
            return True
        distributed = _distributed()
        client = self._connect(distributed)
        scan_id = secrets.token_hex(8)
        futures: dict[Any, int] = {}
        try:
            for index, (provider, scope) in enumerate(jobs):
                future = client.submit(
                    collect_on_worker, __version__, scan_id, provider.name, provider.settings,
                    scope, key=f"cloudwall-collect-{scan_id}-{index}", pure=False,
                    retries=self.settings.dask_retries)
                futures[future] = index
            pending = set(futures)
            left = remaining(deadline)
            try:
                for future in distributed.as_completed(
                        futures, loop=client.loop,
                        timeout=None if left is None else max(left, 0.001)):
                    pending.discard(future)
                    scope = jobs[futures[future]][1]
                    done(scope, self._outcome(future, scope), True)
            except TimeoutError:  # the deadline passed
                for future in pending:
                    scope = jobs[futures[future]][1]
                    done(scope, [not_collected(scope)], False)
            return not pending
        finally:
            # Ctrl-C, SIGTERM or the deadline: nothing queued on the cluster runs any more.
            if futures:
                client.cancel(list(futures), force=True)
            client.close()

    def _outcome(self, future: Any, scope: Scope) -> list[CollectedItem]:
        attempts = self.settings.dask_retries + 1
        if future.status == "finished":
            try:
                items = future.result()
            except Exception as exc:  # noqa: BLE001 - an unreadable answer is not collected
                return [_failed(scope, f"its result could not be read: {exc}",
                                "install the same cloudwall version on the client and workers",
                                "WorkerFailed")]
            return list(items)
        if future.status == "cancelled":
            return [_failed(scope, "its task was cancelled on the Dask cluster",
                            "rerun the scan; check that nothing else cancels its tasks",
                            "WorkerFailed")]
        try:
            exc = future.exception()
        except Exception as error:  # noqa: BLE001 - the error itself could not be read
            exc = error
        if isinstance(exc, TaskFailed):
            return [_failed(scope, f"collection failed on the Dask workers after {attempts} "
                            f"attempts: {exc.reason}",
                            exc.hint or "check the workers' cloud credentials and logs",
                            "WorkerFailed")]
        if type(exc).__name__ == "KilledWorker":
            return [_failed(scope, "the Dask workers collecting it died repeatedly",
                            "check the workers' memory limits and logs", "WorkerLost")]
        return [_failed(scope, f"the Dask cluster could not run it: {type(exc).__name__}: "
                        f"{exc}", "install cloudwall[dask] of the client's version on every "
                        "Dask worker, and check their logs", "WorkerFailed")]


def _failed(scope: Scope, reason: str, hint: str, code: str) -> CollectionError:
    return CollectionError(provider=scope.provider, account=scope.account, region=scope.region,
                           reason=f"not collected: {reason}", hint=hint, code=code)
