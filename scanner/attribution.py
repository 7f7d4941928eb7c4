"""``--attribute``: who made each drift item, from each cloud's audit log.

Drift items are grouped by the adapter that can read their cloud's log, and each adapter's
``attribute(items, since)`` runs concurrently (bounded), with ``since`` the baseline's
``taken_at``. The results are merged into the items. Attribution never fails the scan: an adapter
that raises, answers nothing for an item, or is not there at all leaves a reason on the item.

An adapter answers for its own cloud (``name``); one that speaks for several (the demo estate)
lists them in a ``clouds`` class attribute.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime

from providers import load_provider
from providers.base import Provider, ProviderSettings
from scanner.model import Attribution, ChangeKind, DriftItem

DEFAULT_WORKERS = 4


def clouds_of(provider: Provider) -> tuple[str, ...]:
    return tuple(getattr(provider, "clouds", None) or (provider.name,))


def providers_for(names: Iterable[str], settings: ProviderSettings) -> list[Provider]:
    """Adapters for the providers a snapshot was taken with (unknown names are skipped: their
    items then say no log was searched)."""
    out = []
    for name in dict.fromkeys(names):
        try:
            out.append(load_provider(name)(settings))
        except KeyError:
            continue
    return out


def _unavailable(reason: str) -> tuple[Attribution, ...]:
    return (Attribution(unavailable_reason=reason),)


def _lookup(provider: Provider, items: Sequence[DriftItem],
            since: datetime) -> dict[str, tuple[Attribution, ...]]:
    try:
        found = provider.attribute(items, since)
    except Exception as exc:  # attribution is advisory: a failing lookup is a reason, not a crash
        reason = f"{provider.name} audit log lookup failed: {type(exc).__name__}: {exc}"
        return {item.drift_id: _unavailable(reason) for item in items}
    out: dict[str, tuple[Attribution, ...]] = {}
    if not isinstance(found, Mapping):
        found = {}
    for item in items:
        got = tuple(a for a in found.get(item.drift_id) or () if isinstance(a, Attribution))
        out[item.drift_id] = got or _unavailable(
            f"the {item.provider} audit log gave no answer for this change")
    return out


def attribute_drift(items: Sequence[DriftItem], since: datetime, providers: Sequence[Provider],
                    max_workers: int = DEFAULT_WORKERS) -> tuple[DriftItem, ...]:
    """``items`` with ``attribution`` filled in; scope-unknown items are left as they are."""
    routes: dict[str, Provider] = {}
    for provider in providers:
        for cloud in clouds_of(provider):
            routes.setdefault(cloud, provider)
    groups: dict[int, tuple[Provider, list[DriftItem]]] = {}
    results: dict[str, tuple[Attribution, ...]] = {}
    for item in items:
        if item.change is ChangeKind.SCOPE_UNKNOWN:
            continue
        provider = routes.get(item.provider)
        if provider is None:
            results[item.drift_id] = _unavailable(
                f"the {item.provider} audit log was not searched: no {item.provider} provider "
                "in this run")
            continue
        groups.setdefault(id(provider), (provider, []))[1].append(item)
    if groups:
        with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(groups)))) as pool:
            jobs = [pool.submit(_lookup, provider, group, since)
                    for provider, group in groups.values()]
            for job in jobs:
                results.update(job.result())
    return tuple(replace(i, attribution=results[i.drift_id]) if i.drift_id in results else i
                 for i in items)
