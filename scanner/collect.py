"""Run providers over their scopes with bounded concurrency and gather one snapshot."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime, timezone

from providers.base import ProgressCallback, Provider
from scanner.model import CollectedItem, CollectionError, Scope, Snapshot


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


def collect_snapshot(
    providers: Iterable[Provider],
    max_workers: int = 8,
    progress: ProgressCallback | None = None,
    taken_at: datetime | None = None,
) -> Snapshot:
    """Discover every provider's scopes, collect them concurrently, return one snapshot."""
    taken_at = taken_at or datetime.now(timezone.utc).replace(microsecond=0)
    providers = list(providers)
    scopes: list[Scope] = []
    items: list[CollectedItem] = []
    jobs: list[tuple[Provider, Scope]] = []
    for provider in providers:
        for entry in provider.discover_scopes():
            if isinstance(entry, CollectionError):
                scopes.append(entry.scope)
                items.append(entry)
            else:
                scopes.append(entry)
                jobs.append((provider, entry))
    with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
        futures = {pool.submit(_collect_scope, p, s): s for p, s in jobs}
        for done, future in enumerate(as_completed(futures), start=1):
            items.extend(future.result())
            if progress:
                progress(futures[future].label(), done, len(futures))
    return Snapshot.from_items(
        new_snapshot_id(taken_at), taken_at, scopes, items, providers=[p.name for p in providers]
    )
