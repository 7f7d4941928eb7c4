"""What an adapter offers ``cloudwall watch``: the firewall-changing calls in its audit log, and a
re-read of just the objects such a call touched.

An adapter that can be watched implements ``WatchSource`` next to ``Provider``; the watch loop
finds it with ``isinstance(provider, WatchSource)``, so a provider without it is reported as not
watchable rather than silently skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol, runtime_checkable

from providers.guard import guarded
from scanner.model import Attribution, CollectedItem, CollectionError, Scope


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One call from the audit log that can change a firewall, its attachments or an IP list.

    ``targets`` are the provider's own ids of the objects the call touched, as the adapter's
    ``reread`` takes them (a security group id, an NSG's ARM id, a GCP firewall rule or firewall
    policy resource name). ``failed`` calls (an error code in the log) changed nothing; they are
    kept so the loop can count them, never re-read.
    """

    provider: str
    account: str
    region: str
    event_id: str
    operation: str
    time: datetime  # when the call was made, UTC
    targets: tuple[str, ...]
    attribution: Attribution
    failed: bool = False

    @property
    def scope(self) -> Scope:
        return Scope(self.provider, self.account, self.region)


@dataclass(frozen=True, slots=True)
class Reread:
    """Fresh state of some objects of one scope.

    ``items`` are normalised exactly as a full collection would produce them: the rule sets the
    targets name, and the assets, subnets or networks attached to them, so the loop can replace
    those objects in the latest snapshot. ``gone`` lists targets that no longer exist (deleted
    since the call). A target that could not be read (denied, throttled) is a CollectionError in
    ``items`` naming it, never a silent omission.
    """

    scope: Scope
    items: tuple[CollectedItem, ...]
    gone: tuple[str, ...] = ()


@runtime_checkable
class WatchSource(Protocol):
    def audit_events(self, scope: Scope, start: datetime,
                     end: datetime) -> Iterator[AuditEvent | CollectionError]:
        """Firewall-changing calls in ``scope`` made in [start, end), oldest first as the log
        allows; a log that cannot be read yields a CollectionError for the scope."""
        ...

    def reread(self, scope: Scope, targets: Sequence[str]) -> Reread:
        """The current state of ``targets`` in ``scope`` and what is attached to them."""
        ...


def window_events(scope: Scope, records: Iterable[Mapping[str, Any]], start: datetime,
                  end: datetime, build: Callable[[Scope, Mapping[str, Any]], AuditEvent | None],
                  resource_type: str, what: str) -> list[AuditEvent | CollectionError]:
    """The events ``build`` makes of audit-log ``records`` (None: not a watched call) that were
    made in [start, end), oldest first, each event id once; a record that cannot be read is a
    CollectionError naming it (``what``: "an audit log entry")."""
    found: dict[str, AuditEvent] = {}
    errors: list[CollectionError] = []
    for record in records:
        built = guarded(scope, resource_type, what, lambda r=record: build(scope, r))
        if isinstance(built, CollectionError):
            errors.append(built)
        elif built is not None and start <= built.time < end:
            found.setdefault(built.event_id, built)
    return [*sorted(found.values(), key=lambda e: (e.time, e.event_id)), *errors]


def log_time(when: datetime) -> str:
    """A time as the audit-log filters of Azure and GCP take it: UTC, microseconds, ``Z``."""
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
