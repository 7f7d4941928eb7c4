"""One watcher: the order of steps in an interval, the full scans, and stopping.

Each interval: read every watched scope's audit log over its overlapping window; keep the
events not handled before; re-read, per scope, every object they name (one call per scope);
put the answers in the working snapshot; compare the touched accounts with the baseline; emit
the new drift items the gate lets through; then save the snapshot and the advanced checkpoints
in one store transaction, and acknowledge queue messages. Alerts are emitted before the save: a
crash in between repeats an alert after the restart rather than losing it.

A full scan every ``full_every`` catches what no log recorded; the first interval starts from
the latest stored snapshot when a full scan is recent enough, else from a new full scan.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from providers.watching import AuditEvent, Reread, WatchSource
from scanner.collect import new_snapshot_id
from scanner.errors import StoreError
from scanner.model import CollectionError, Scope, Snapshot
from scanner.store import Store
from scanner.watch.alerts import Alerts
from scanner.watch.events import fresh, window
from scanner.watch.judge import Judge, attribute
from scanner.watch.state import WatchState, scope_key, state_key
from scanner.watch.working import Working

FULL_SCAN_REASON = "found by the full scan: no audit event read by this watch made it"
NO_EVENT_REASON = "no audit event of this interval names this resource or operation"


@dataclass(frozen=True, slots=True)
class WatchSettings:
    baseline: str
    interval: float = 30.0  # seconds between audit-log reads
    overlap: float = 900.0  # seconds each window reaches back before the checkpoint
    full_every: float = 6 * 3600.0
    max_workers: int = 8


@dataclass(frozen=True, slots=True)
class IntervalStatus:
    """What one interval (or one queue batch) did: the status line."""

    events: int = 0
    new: int = 0
    failed: int = 0
    reread: int = 0
    scopes: int = 0
    drift: int = 0
    unread: int = 0
    lag: float | None = None  # seconds from the newest handled call to its alert
    full_scan: bool = False
    source: str = "logs"

    def line(self) -> str:
        lag = f"{self.lag:.1f}s" if self.lag is not None else "-"
        full = "; full scan" if self.full_scan else ""
        return (f"watch ({self.source}): {self.events} event(s) read, {self.new} new "
                f"({self.failed} failed calls); {self.reread} object(s) re-read in "
                f"{self.scopes} scope(s); {self.drift} drift alert(s); {self.unread} unread; "
                f"lag {lag}{full}")


class EventFeed:
    """What the loop needs of a pushed event source (``providers.aws.watch_queue``)."""

    provider: str

    def receive(self, wait: float) -> Any: ...  # .events, .problems, .receipts

    def acknowledge(self, receipts: Sequence[str]) -> list[str]: ...


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class Watcher:
    settings: WatchSettings
    store: Store
    baseline: Snapshot
    sources: Mapping[str, WatchSource]  # provider name -> its adapter
    full_scan: Callable[[], Snapshot]
    alerts: Alerts
    status: Callable[[str], None]
    feed: EventFeed | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    clock: Callable[[], datetime] = _now

    def __post_init__(self) -> None:
        self.judge = Judge(self.baseline)
        self.state = WatchState()
        self.working: Working | None = None
        self.saved_id = ""
        self.scopes: dict[str, Scope] = {}

    # --- starting and full scans ----------------------------------------------------------

    @property
    def _key(self) -> str:
        return state_key(self.settings.baseline)

    def start(self) -> None:
        """Pick up where the last run left off, or start from a full scan."""
        self.state = WatchState.from_json(self.store.state(self._key))
        latest = self._latest()
        full_at = None
        if latest is not None:
            full_id = latest.partial_of or latest.snapshot_id
            if self.state.full_snapshot_id == full_id:
                full_at = self.state.full_at
            elif latest.partial_of is None:
                full_at = latest.taken_at
            self.judge.learn(self.judge.drift(latest))
            self._use(latest)
        if full_at is None or self._due(full_at):
            self.run_full_scan(alert=latest is not None)
        else:
            self.state = WatchState(latest.partial_of or latest.snapshot_id, full_at,
                                    self.state.checkpoints, self.state.seen)
            self.status(f"watch: starting from snapshot {latest.snapshot_id} (full scan "
                        f"{_ago(self.clock() - full_at)} ago), {len(self.scopes)} scope(s), "
                        f"{sum(len(k) for k in self.judge.known.values())} known drift item(s)")

    def _latest(self) -> Snapshot | None:
        try:
            latest = self.store.load("latest")
        except StoreError:
            return None
        if not set(self.sources) <= set(latest.providers):
            return None  # taken with other providers: not this watch's estate
        return latest

    def _use(self, snapshot: Snapshot) -> None:
        self.working = Working(snapshot)
        self.saved_id = snapshot.snapshot_id  # the stored snapshot alerts refer to
        self.scopes = {scope_key(*s.key): s for s in snapshot.scopes
                       if s.provider in self.sources}

    def _due(self, full_at: datetime) -> bool:
        return (self.clock() - full_at).total_seconds() >= self.settings.full_every

    def run_full_scan(self, alert: bool = True) -> IntervalStatus:
        snapshot = self.full_scan()
        items = self.judge.drift(snapshot)
        new = self.judge.learn(items)
        alerted = attribute(self.alerts.alerted(new), (), FULL_SCAN_REASON) if alert else []
        self.alerts.emit(alerted, snapshot.errors, snapshot, ())
        self.state = WatchState(snapshot.snapshot_id, snapshot.taken_at,
                                self.state.checkpoints, self.state.seen)
        self.store.save(snapshot, {self._key: self.state.to_json()})
        self._use(snapshot)
        status = IntervalStatus(drift=len(alerted), unread=len(snapshot.errors),
                                full_scan=True, source="full scan")
        self.status(status.line() + ("" if alert else
                    f" ({len(items)} drift item(s) already present are not alerted)"))
        return status

    # --- intervals ------------------------------------------------------------------------

    def run(self) -> None:
        """Intervals until ``stop`` is set; a stop ends the loop after the current batch."""
        while not self.stop.is_set():
            began = time.monotonic()
            self.interval()
            self._wait(began + self.settings.interval)

    def _wait(self, until: float) -> None:
        """Until the next interval; a pushed feed is read meanwhile and handled at once."""
        while not self.stop.is_set():
            left = until - time.monotonic()
            if left <= 0:
                return
            if self.feed is None:
                self.stop.wait(left)
                continue
            received = self.feed.receive(min(left, 5.0))
            if received.events or received.problems or received.receipts:
                self.handle(received.events, [], {}, receipts=received.receipts,
                            notes=received.problems, source="queue")
            if received.problems and not received.receipts:
                # The queue itself could not be read: said once per pause, not in a busy loop.
                self.stop.wait(min(max(0.0, until - time.monotonic()), 5.0))

    def _log_scopes(self) -> list[tuple[str, Scope]]:
        pushed = self.feed.provider if self.feed is not None else None
        return [(k, s) for k, s in sorted(self.scopes.items()) if s.provider != pushed]

    def interval(self) -> IntervalStatus:
        if self.working is None or self.state.full_at is None or self._due(self.state.full_at):
            self.run_full_scan()
        now = self.clock()
        overlap = timedelta(seconds=self.settings.overlap)
        assert self.state.full_at is not None
        events: list[AuditEvent] = []
        errors: list[CollectionError] = []
        checkpoints: dict[str, datetime] = {}

        def read(key: str, scope: Scope) -> tuple[str, list, list]:
            span = window(self.state.checkpoints.get(key), self.state.full_at, overlap, now)
            found, failed = [], []
            try:
                for entry in self.sources[scope.provider].audit_events(scope, span.start,
                                                                       span.end):
                    (failed if isinstance(entry, CollectionError) else found).append(entry)
            except Exception as exc:  # an adapter's bug or a lost account: said, not fatal
                failed.append(_error(scope, f"audit log not read: {type(exc).__name__}: {exc}"))
            return key, found, failed

        scopes = self._log_scopes()
        if scopes:
            with ThreadPoolExecutor(max_workers=max(1, min(self.settings.max_workers,
                                                           len(scopes)))) as pool:
                for key, found, failed in pool.map(lambda ks: read(*ks), scopes):
                    events += found
                    errors += failed
                    if not failed:  # a log not read completely is read again from here
                        checkpoints[key] = now
        return self.handle(events, errors, checkpoints)

    def handle(self, events: Sequence[AuditEvent], errors: Sequence[CollectionError],
               checkpoints: Mapping[str, datetime], receipts: Sequence[str] = (),
               notes: Sequence[str] = (), source: str = "logs") -> IntervalStatus:
        """One batch: dedupe, re-read, judge, emit, save, acknowledge."""
        assert self.working is not None
        new = fresh(events, self.state.seen)
        # A call made before the full scan began is in that scan already; a failed call
        # changed nothing.
        since = self.state.full_at or self.working.full.taken_at
        useful = [e for e in new if not e.failed and e.time >= since]
        notes = list(notes)
        batches: dict[str, set[str]] = {}
        for event in useful:
            key = scope_key(event.provider, event.account, event.region)
            if key not in self.scopes:
                notes.append(f"{event.operation} event {event.event_id} is in "
                             f"{key}, which this watch does not cover")
            elif not event.targets:
                notes.append(f"{event.operation} event {event.event_id} in {key} names no "
                             "object to re-read; the next full scan covers it")
            else:
                batches.setdefault(key, set()).update(event.targets)
        results = self._reread(batches)
        reread, unread = 0, list(errors)
        for result, targets in results.values():
            count, failed = self.working.apply(result, targets)
            reread += count
            unread += failed
        now = self.clock()
        # Nothing re-read: nothing new to store, and lines name the last stored snapshot.
        snapshot_id = new_snapshot_id(now.replace(microsecond=0)) if results else self.saved_id
        snapshot = self.working.snapshot(snapshot_id, now.replace(microsecond=0))
        alerted = []
        if results:
            touched = {(s.provider, s.account) for s in (self.scopes[k] for k in results)}
            fresh_items = self.judge.learn(self.judge.drift(snapshot, touched), touched)
            alerted = attribute(self.alerts.alerted(fresh_items), useful, NO_EVENT_REASON)
        self.alerts.emit(alerted, unread, snapshot, [e.event_id for e in useful], notes)
        self.state = WatchState(
            self.state.full_snapshot_id, self.state.full_at,
            {**self.state.checkpoints, **checkpoints},
            {**self.state.seen, **{e.event_id: (scope_key(e.provider, e.account, e.region),
                                                e.time) for e in new}},
        ).pruned(timedelta(seconds=self.settings.overlap), now)
        if results:
            self.store.save(snapshot, {self._key: self.state.to_json()})
            self.saved_id = snapshot.snapshot_id
        else:
            self.store.put_state(self._key, self.state.to_json())
        if receipts and self.feed is not None:
            for problem in self.feed.acknowledge(receipts):
                self.status(f"warning: {problem}")
        lag = max(((self.clock() - e.time).total_seconds() for e in useful), default=None)
        status = IntervalStatus(len(events), len(new), sum(e.failed for e in new), reread,
                                len(results), len(alerted), len(unread) + len(notes), lag,
                                source=source)
        self.status(status.line())
        return status

    def _reread(self, batches: Mapping[str, set[str]]
                ) -> dict[str, tuple[Reread, tuple[str, ...]]]:
        def one(key: str) -> tuple[str, Reread, tuple[str, ...]]:
            scope, targets = self.scopes[key], tuple(sorted(batches[key]))
            try:
                return key, self.sources[scope.provider].reread(scope, targets), targets
            except Exception as exc:  # reported as unread, never dropped
                error = _error(scope, f"{', '.join(targets)} not re-read: "
                                      f"{type(exc).__name__}: {exc}")
                return key, Reread(scope, (error,)), targets

        if not batches:
            return {}
        with ThreadPoolExecutor(max_workers=max(1, min(self.settings.max_workers,
                                                       len(batches)))) as pool:
            return {key: (result, targets)
                    for key, result, targets in pool.map(one, sorted(batches))}


def _error(scope: Scope, reason: str) -> CollectionError:
    return CollectionError(provider=scope.provider, account=scope.account, region=scope.region,
                           reason=reason, resource_type="audit", code="Error")


def _ago(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h"


def watchable(providers: Iterable[Any]) -> tuple[dict[str, WatchSource], list[str]]:
    """(name -> source) for the adapters that can be watched, and the names of those that
    cannot."""
    sources, refused = {}, []
    for provider in providers:
        if isinstance(provider, WatchSource):
            sources[provider.name] = provider
        else:
            refused.append(provider.name)
    return sources, refused
