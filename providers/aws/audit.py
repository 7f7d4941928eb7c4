"""Who made a drift change: CloudTrail event history (``lookup_events``), per account/region.

The pure half (``attribution_from_event``, ``match_events``) turns raw LookupEvents items into
Attributions; the demo estate uses it on recorded events. The lookup half makes one paginated
``lookup_events`` call per resource name, at most two a second per region as CloudTrail allows
(adaptive retries absorb the rest).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from typing import Any

from providers.aws.fetch import PROVIDER, aws_pages, classify
from scanner.model import Attribution, ChangeKind, DriftItem

# CloudTrail event history keeps 90 days of management events.
EVENT_HISTORY = timedelta(days=90)
_IP_LIST_CHANGES = {ChangeKind.IP_LIST_ADDED, ChangeKind.IP_LIST_CHANGED,
                    ChangeKind.IP_LIST_REMOVED}
_ATTACHMENT_CHANGES = {ChangeKind.ATTACHMENT_ADDED, ChangeKind.ATTACHMENT_REMOVED}


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, timezone.utc)
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    return None


def event_detail(event: Mapping[str, Any]) -> dict[str, Any]:
    """The ``CloudTrailEvent`` JSON string of a LookupEvents item, parsed (never evaluated)."""
    try:
        detail = json.loads(event.get("CloudTrailEvent") or "{}")
    except ValueError:
        return {}
    return detail if isinstance(detail, dict) else {}


def attribution_from_event(event: Mapping[str, Any]) -> Attribution:
    """One LookupEvents ``Events[]`` item -> who, when, from where, what."""
    return attribution_from_detail(event_detail(event), event)


def attribution_from_detail(detail: Mapping[str, Any],
                            event: Mapping[str, Any] | None = None) -> Attribution:
    """One CloudTrail record (parsed) -> who, when, from where, what; ``event``, the
    LookupEvents item around it where there is one, fills in what the record lacks."""
    event = event or {}
    identity = detail.get("userIdentity") or {}
    actor = identity.get("arn") or identity.get("principalId") or event.get("Username")
    return Attribution(
        actor=actor or None,
        time=_parse_time(detail.get("eventTime")) or _parse_time(event.get("EventTime")),
        source_address=detail.get("sourceIPAddress"),
        operation=detail.get("eventName") or event.get("EventName"),
        event_id=detail.get("eventID") or event.get("EventId"),
    )


def _mentions(event: Mapping[str, Any], names: set[str]) -> bool:
    """Whether the event is about one of ``names``: listed in its resources, or named in its
    request or response (GuardDuty events list no resources)."""
    listed = {r.get("ResourceName") for r in event.get("Resources") or ()}
    if names & listed:
        return True
    text = event.get("CloudTrailEvent") or ""
    return any(re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", text) for n in names)


def match_events(item: DriftItem, events: Iterable[Mapping[str, Any]]) -> tuple[Attribution, ...]:
    """The events that can have made ``item``: one of its operations, on its resource, in its
    account and region, and not a failed call. Works on any LookupEvents items, filtered by
    a lookup or not (the demo hands it a whole recorded log)."""
    names = {value for key, value in lookups_for(item) if key == "ResourceName"}
    seen: dict[str, Attribution] = {}
    for event in events:
        detail = event_detail(event)
        name = detail.get("eventName") or event.get("EventName")
        if name not in item.operations or detail.get("errorCode"):
            continue
        if detail.get("awsRegion", item.region) != item.region or \
                detail.get("recipientAccountId", item.account) != item.account:
            continue
        if not _mentions(event, names):
            continue
        attribution = attribution_from_event(event)
        seen[attribution.event_id or str(len(seen))] = attribution
    return tuple(sorted(seen.values(), key=lambda a: (a.time or datetime.min.replace(
        tzinfo=timezone.utc), a.event_id or "")))


def lookups_for(item: DriftItem) -> list[tuple[str, str]]:
    """(AttributeKey, AttributeValue) lookups whose events may explain ``item``."""
    keys = [("ResourceName", item.resource_id)]
    target = str(item.details.get("target", ""))
    if item.change in _ATTACHMENT_CHANGES and " " in target:
        # Interface and subnet changes are logged against the interface or subnet.
        keys.append(("ResourceName", target.split(" ", 1)[1]))
    if item.change in _IP_LIST_CHANGES:
        # GuardDuty events name the detector, not the list: find them by name instead.
        keys += [("EventName", op) for op in item.operations]
    return keys


def _lookup(client: Any, key: tuple[str, str], start: datetime, end: datetime) -> list[dict]:
    events: list[dict] = []
    pages = aws_pages(
        client, "lookup_events", "Events", 50, None,
        LookupAttributes=[{"AttributeKey": key[0], "AttributeValue": key[1]}],
        StartTime=start, EndTime=end)
    for page in pages:
        events.extend(page.get("Events") or ())
    return events


def _attribute_region(clients: Any, region: str, items: Sequence[DriftItem], since: datetime,
                      now: datetime) -> dict[str, tuple[Attribution, ...]]:
    start = max(since, now - EVENT_HISTORY)
    clipped = since < now - EVENT_HISTORY
    cache: dict[tuple[str, str], list[dict] | Attribution] = {}
    out: dict[str, tuple[Attribution, ...]] = {}
    client = clients("cloudtrail", region) if clients is not None else None
    for item in items:
        if client is None:
            out[item.drift_id] = (Attribution(
                unavailable_reason=f"account {item.account} could not be entered"),)
            continue
        events: list[dict] = []
        failure: Attribution | None = None
        for key in lookups_for(item):
            if key not in cache:
                try:
                    cache[key] = _lookup(client, key, start, now)
                except Exception as exc:  # noqa: BLE001 - classify() re-raises non-SDK errors
                    code, reason = classify(exc)
                    cache[key] = Attribution(unavailable_reason=(
                        f"CloudTrail lookup failed ({code}): {reason}; "
                        "allow cloudtrail:LookupEvents" if code == "AccessDenied" else
                        f"CloudTrail lookup failed ({code}): {reason}"))
            found = cache[key]
            if isinstance(found, Attribution):
                failure = failure or found
            else:
                events.extend(found)
        matched = match_events(item, events)
        if matched:
            out[item.drift_id] = matched
        elif failure is not None:
            out[item.drift_id] = (failure,)
        else:
            reason = (f"no CloudTrail event for {', '.join(item.operations)} on "
                      f"{item.resource_id} since {start:%Y-%m-%dT%H:%M:%SZ}")
            if clipped:
                reason += " (event history keeps 90 days; the change may be older)"
            out[item.drift_id] = (Attribution(unavailable_reason=reason),)
    return out


def attribute_items(accounts: Mapping[str, Any], items: Sequence[DriftItem],
                    since: datetime, now: datetime | None = None,
                    max_workers: int = 4) -> dict[str, tuple[Attribution, ...]]:
    """drift_id -> attributions for every AWS item that names operations."""
    now = now or datetime.now(timezone.utc)
    since = since if since.tzinfo else since.replace(tzinfo=timezone.utc)
    groups: dict[tuple[str, str], list[DriftItem]] = {}
    for item in items:
        if item.provider == PROVIDER and item.operations and \
                item.change is not ChangeKind.SCOPE_UNKNOWN:
            groups.setdefault((item.account, item.region), []).append(item)
    out: dict[str, tuple[Attribution, ...]] = {}
    with ThreadPoolExecutor(max_workers=max_workers) as pool:
        jobs = [pool.submit(_attribute_region,
                            getattr(accounts.get(account), "clients", None), region,
                            group, since, now)
                for (account, region), group in sorted(groups.items())]
        for job in jobs:
            out.update(job.result())
    return out
