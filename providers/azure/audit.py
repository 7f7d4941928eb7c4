"""Who made a drift item, from the Azure Activity Log.

The lookup is one Activity Log query (``eventtypes/management/values``) per resource and
subscription, filtered to the change window; events are kept when their operation is one that
can make the change and their resource is the one changed. Turning an event into an
:class:`Attribution` is a pure function of the event's JSON, shared with the demo estate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from providers.azure.normalize import DEFAULT_RULE_PREFIX, arm_id
from providers.base import parse_timestamp
from scanner.model import Attribution, ChangeKind, DriftItem

# The Activity Log keeps 90 days of events.
RETENTION = timedelta(days=90)
_RULE_CHANGES = {
    ChangeKind.RULE_ADDED,
    ChangeKind.RULE_REMOVED,
    ChangeKind.RULE_MODIFIED,
    ChangeKind.RULE_ENABLED,
    ChangeKind.RULE_DISABLED,
    ChangeKind.PRIORITY_CHANGED,
}
_ATTACHMENT_CHANGES = {ChangeKind.ATTACHMENT_ADDED, ChangeKind.ATTACHMENT_REMOVED}

Json = Mapping[str, Any]
# (subscription id, OData filter) -> raw events; raises LookupFailed.
ListEvents = Callable[[str, str], list[dict[str, Any]]]


class LookupFailed(Exception):
    """The Activity Log could not be read (no permission, throttled, unreachable)."""


def name_value(field: Any) -> str | None:
    """Activity Log names are ``{"value": ..., "localizedValue": ...}``; some are plain."""
    if isinstance(field, Mapping):
        return field.get("value")
    return field if isinstance(field, str) else None


def event_attribution(event: Json) -> Attribution:
    """One raw Activity Log event (REST JSON) as an attribution."""
    http = event.get("httpRequest") or {}
    return Attribution(
        actor=event.get("caller") or None,
        time=parse_timestamp(event.get("eventTimestamp")),
        source_address=(http.get("clientIpAddress") if isinstance(http, Mapping) else None)
        or None,
        operation=name_value(event.get("operationName")),
        event_id=event.get("eventDataId") or None,
    )


def _subscription(resource_id: str) -> str:
    parts = resource_id.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "subscriptions" else ""


def changed_resources(item: DriftItem) -> tuple[str, ...]:
    """The resource ids whose events can explain ``item``, lower-cased.

    A rule is written either as its own child resource or inline through its NSG; attachments
    are written on the subnet or NIC side.
    """
    nsg = arm_id(item.resource_id)
    if item.change in _RULE_CHANGES and item.rule_key:
        if item.rule_key.startswith(DEFAULT_RULE_PREFIX):
            return (nsg,)
        return (f"{nsg}/securityrules/{item.rule_key.lower()}", nsg)
    if item.change in _ATTACHMENT_CHANGES:
        target = str(item.details.get("target", ""))
        _, _, target_id = target.partition(" ")
        if target_id:
            return (arm_id(target_id),)
    return (nsg,)


def lookup_filter(since: datetime, resource_id: str) -> str:
    stamp = since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"eventTimestamp ge '{stamp}' and resourceUri eq '{resource_id}'"


def matching_events(events: Iterable[Json], operations: Iterable[str],
                    resources: Iterable[str]) -> list[Json]:
    """Events of the given operations on the given resources, one per operation (correlation
    id), the completed event preferred; failed attempts changed nothing and are dropped."""
    wanted = {op.lower() for op in operations}
    where = set(resources)
    chosen: dict[str, Json] = {}
    for event in events:
        operation = (name_value(event.get("operationName")) or "").lower()
        if operation not in wanted or arm_id(event.get("resourceId")) not in where:
            continue
        status = (name_value(event.get("status")) or "").lower()
        if status == "failed":
            continue
        key = event.get("correlationId") or event.get("eventDataId") or str(len(chosen))
        current = chosen.get(key)
        current_status = (name_value(current.get("status")) or "").lower() if current else ""
        if current is None or (status == "succeeded" and current_status != "succeeded"):
            chosen[key] = event
    return sorted(chosen.values(), key=lambda e: str(e.get("eventTimestamp") or ""))


def _no_event(resources: Sequence[str], since: datetime | None) -> Attribution:
    window = f" since {since.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%SZ}" if since else ""
    return Attribution(
        unavailable_reason=f"no Activity Log event for {', '.join(resources)}{window}")


def attribute_events(events: Sequence[Json], items: Sequence[DriftItem],
                     since: datetime | None = None) -> dict[str, tuple[Attribution, ...]]:
    """``drift_id -> attributions`` from events already in hand (the demo estate's); pure."""
    out: dict[str, tuple[Attribution, ...]] = {}
    for item in items:
        resources = changed_resources(item)
        found = matching_events(events, item.operations, resources)
        out[item.drift_id] = (tuple(event_attribution(e) for e in found) if found
                              else (_no_event(resources, since),))
    return out


def attribute(list_events: ListEvents, items: Sequence[DriftItem], since: datetime,
              now: datetime | None = None) -> dict[str, tuple[Attribution, ...]]:
    """``drift_id -> attributions`` for Azure drift items; every item gets an answer."""
    now = now or datetime.now(timezone.utc)
    if now - since > RETENTION:
        reason = (f"the baseline is older than the Activity Log's {RETENTION.days}-day "
                  "retention; the change may predate every event still kept")
        return {i.drift_id: (Attribution(unavailable_reason=reason),) for i in items}
    fetched: dict[str, list[dict[str, Any]] | LookupFailed] = {}

    def events_of(resource_id: str) -> list[dict[str, Any]] | LookupFailed:
        if resource_id not in fetched:
            try:
                fetched[resource_id] = list_events(_subscription(resource_id),
                                                   lookup_filter(since, resource_id))
            except LookupFailed as exc:
                fetched[resource_id] = exc
        return fetched[resource_id]

    out: dict[str, tuple[Attribution, ...]] = {}
    for item in items:
        resources = changed_resources(item)
        events: list[Json] = []
        failure: LookupFailed | None = None
        for resource_id in resources:
            got = events_of(resource_id)
            if isinstance(got, LookupFailed):
                failure = failure or got
            else:
                events.extend(got)
        found = matching_events(events, item.operations, resources)
        if found:
            out[item.drift_id] = tuple(event_attribution(e) for e in found)
        elif failure is not None:
            out[item.drift_id] = (Attribution(
                unavailable_reason=f"Activity Log not readable: {failure}"),)
        else:
            out[item.drift_id] = (_no_event(resources, since),)
    return out
