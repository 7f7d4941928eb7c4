"""Attribution for the demo estate: each cloud's recorded audit-log events, matched to drift
items by that cloud's own pure functions (the ones the live lookups use on API responses)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from scanner.model import Attribution, DriftItem

Json = Mapping[str, Any]
Matcher = Callable[[DriftItem, Sequence[Json]], tuple[Attribution, ...]]


def _aws(item: DriftItem, events: Sequence[Json]) -> tuple[Attribution, ...]:
    from providers.aws.audit import match_events

    return match_events(item, events)


def _azure(item: DriftItem, events: Sequence[Json]) -> tuple[Attribution, ...]:
    from providers.azure.audit import changed_resources, event_attribution, matching_events

    found = matching_events(events, item.operations, changed_resources(item))
    return tuple(event_attribution(e) for e in found)


def _gcp(item: DriftItem, events: Sequence[Json]) -> tuple[Attribution, ...]:
    from providers.gcp.audit import attribution_from_entry, resource_names

    _, resource = resource_names(item, {})
    found = []
    for entry in events:
        payload = entry.get("protoPayload") or {}
        if payload.get("methodName") not in item.operations:
            continue
        name = str(payload.get("resourceName") or "")
        if resource is None or name == resource or name.endswith("/" + resource):
            found.append(attribution_from_entry(entry))
    return tuple(sorted(found, key=lambda a: (a.time is None, a.time, a.event_id or "")))


MATCHERS: dict[str, Matcher] = {"aws": _aws, "azure": _azure, "gcp": _gcp}


def demo_attribution(cloud: str, items: Sequence[DriftItem], stages: Sequence[str],
                     since: datetime | None = None) -> dict[str, tuple[Attribution, ...]]:
    """The demo's audit log is its whole history: the events of every stage, dated just
    after ``since`` (the baseline's time) so they follow the baseline they change."""
    module = importlib.import_module(f"providers.demo.{cloud}")
    events = [e for stage in stages for e in module.audit_events(stage, since)]
    match = MATCHERS[cloud]
    out: dict[str, tuple[Attribution, ...]] = {}
    for item in items:
        found = match(item, events) if item.operations else ()
        out[item.drift_id] = found or (Attribution(
            unavailable_reason=f"no event in the demo's {cloud} audit log for "
                               f"{', '.join(item.operations) or 'this change'} on "
                               f"{item.resource_id}"),)
    return out
