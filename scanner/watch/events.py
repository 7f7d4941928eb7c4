"""The read window of one scope and the deduplication of what it returns.

Audit logs deliver late (CloudTrail's event history can lag many minutes), out of order and
more than once. Each interval re-reads from the scope's checkpoint minus ``overlap``, so a late
event inside the overlap is still found; every event id already handled is dropped, so the
overlap never repeats an alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from providers.watching import AuditEvent


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime


def window(checkpoint: datetime | None, since: datetime, overlap: timedelta,
           now: datetime) -> Window:
    """[checkpoint - overlap, now); a scope never read starts at ``since`` (the full
    snapshot's time) minus the overlap."""
    return Window((checkpoint or since) - overlap, now)


def fresh(events: Iterable[AuditEvent], seen: Mapping[str, object]) -> list[AuditEvent]:
    """Events not handled before, each once, oldest first."""
    out: dict[str, AuditEvent] = {}
    for event in events:
        if event.event_id not in seen and event.event_id not in out:
            out[event.event_id] = event
    return sorted(out.values(), key=lambda e: (e.time, e.event_id))
