"""Build a ``TrendReport`` from the snapshots in a store.

Each snapshot is judged as ``cloudwall snapshots show`` would judge it (the same policies,
suppressions and exposure analysis), and compared with its reference (the previous snapshot of
the same clouds, or a named baseline). Packs and suppressions are read once for the whole run;
each snapshot's exposure is computed once and reused as the next one's reference.

A point depends only on the snapshot, its reference, the policy settings and cloudwall's
version, so points are kept in a ``PointCache`` (``scanner.trend_cache``) and a trend over
hundreds of snapshots costs one load and one judgement per new snapshot.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Protocol

from policies import PolicySettings, evaluate, select_policies
from policies.reuse import RuleSetMemo
from policies.suppressions import apply_suppressions, load_suppressions
from scanner import __version__
from scanner.drift.comparison import compare
from scanner.exposure import ExposureAnalysis, analyze_exposure
from scanner.model import Snapshot, utc_timestamp
from scanner.store import SnapshotInfo, Store
from scanner.trend import EFFECTS, SEVERITIES, TrendPoint, TrendReport, parse_time


class PointCache(Protocol):
    def get(self, key: str) -> TrendPoint | None: ...

    def put(self, key: str, point: TrendPoint) -> None: ...


@dataclass(frozen=True, slots=True)
class _Judged:
    snapshot: Snapshot
    exposure: ExposureAnalysis


class _Judge:
    """Policies, suppressions and exposure settings, prepared once for every snapshot."""

    def __init__(self, settings: PolicySettings, today: date) -> None:
        self.settings = settings
        self.policies = select_policies(settings)
        self.suppressions = load_suppressions(settings.suppressions) \
            if settings.suppressions else []
        self.today = today
        # Points are judged oldest first and neighbouring snapshots share most rule sets:
        # only rule set content new since the previous point is judged again.
        self.memo = RuleSetMemo()

    def exposure(self, snapshot: Snapshot) -> ExposureAnalysis:
        s = self.settings
        return analyze_exposure(snapshot, s.trusted_cidrs, s.broad_prefix, s.broad_prefix_v6)

    def point(self, judged: _Judged, reference: _Judged | None) -> TrendPoint:
        snapshot, exposure = judged.snapshot, judged.exposure
        findings = evaluate(snapshot, self.policies, self.settings, exposure, memo=self.memo)
        findings, _notices = apply_suppressions(findings, self.suppressions, self.today)
        active = Counter(f.severity.value for f in findings if not f.suppressed)
        drift = widened = None
        if reference is not None:
            items = compare(reference.snapshot, snapshot, reference.exposure, exposure)
            by_effect = Counter(d.effect.value for d in items)
            drift = {e: by_effect.get(e, 0) for e in EFFECTS}
            widened = sum(1 for d in items if d.attack)
        statuses = [snapshot.scope_status(s) for s in snapshot.scopes]
        return TrendPoint(
            snapshot_id=snapshot.snapshot_id,
            taken_at=snapshot.taken_at,
            providers=tuple(snapshot.providers),
            findings={s: active.get(s, 0) for s in SEVERITIES},
            suppressed=sum(1 for f in findings if f.suppressed),
            exposed_assets=len({e.asset_id for e in exposure.exposures}),
            internet_exposed_assets=len({e.asset_id for e in exposure.exposures
                                         if e.source == "internet"}),
            unknown_assets=len(exposure.unknown_assets),
            scopes=len(statuses),
            scopes_not_read=sum(1 for s in statuses if s != "ok"),
            compared_with=reference.snapshot.snapshot_id if reference else None,
            drift=drift,
            widened_attack=widened,
        )


def settings_fingerprint(settings: PolicySettings, today: date) -> str:
    """Everything besides the two snapshots that a point depends on: cloudwall's version, the
    policy settings, the contents of the user's packs and suppressions file (and, with
    suppressions, the day: an entry expires)."""
    import hashlib
    from pathlib import Path

    digest = hashlib.sha256()
    for part in (__version__, repr(settings)):
        digest.update(part.encode() + b"\0")
    for path in (*settings.extra_packs, *([settings.suppressions] if settings.suppressions
                                          else [])):
        digest.update(Path(path).read_bytes() + b"\0")
    if settings.suppressions:
        digest.update(today.isoformat().encode())
    return digest.hexdigest()[:32]


def _identity(info: SnapshotInfo | None) -> str:
    """A stored snapshot as the listing describes it: its id and the figures stored with it."""
    if info is None:
        return "-"
    return (f"{info.snapshot_id}/{info.taken_at}/{info.providers}/{info.scope_count}/"
            f"{info.rule_set_count}/{info.rule_count}/{info.error_count}")


def point_key(fingerprint: str, snapshot: SnapshotInfo, reference: SnapshotInfo | None) -> str:
    return f"{fingerprint}|{_identity(snapshot)}|{_identity(reference)}"


def _plan(store: Store, since: datetime | None, baseline_id: str | None
          ) -> Iterator[tuple[SnapshotInfo, SnapshotInfo | None]]:
    """(snapshot, reference) for every snapshot in the window, oldest first."""
    infos = store.list()
    by_id = {info.snapshot_id: info for info in infos}
    last_of: dict[str, SnapshotInfo] = {}  # the clouds of a snapshot -> their latest snapshot
    for info in infos:
        reference = by_id.get(baseline_id) if baseline_id else last_of.get(info.providers)
        last_of[info.providers] = info
        if since is None or parse_time(info.taken_at) >= since:
            yield info, reference


def build_trend(store: Store, *, since: datetime | None = None, baseline: str | None = None,
                settings: PolicySettings | None = None, cache: PointCache | None = None,
                progress: Callable[[str, int, int], None] | None = None,
                now: datetime | None = None) -> TrendReport:
    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    settings = settings or PolicySettings()
    today = now.date()
    judge = _Judge(settings, today)
    fingerprint = settings_fingerprint(settings, today)
    baseline_id = store.baseline(baseline).snapshot_id if baseline else None
    plan = list(_plan(store, since, baseline_id))
    loaded: dict[str, _Judged] = {}  # only what a later point still compares with

    still_needed = Counter(ref.snapshot_id for _, ref in plan if ref)

    def judged(snapshot_id: str) -> _Judged:
        found = loaded.get(snapshot_id)
        if found is None:
            snapshot = store.load(snapshot_id)
            found = _Judged(snapshot, judge.exposure(snapshot))
            if still_needed.get(snapshot_id):  # a later point compares with it
                loaded[snapshot_id] = found
        return found

    points = []
    for done, (info, reference_info) in enumerate(plan, start=1):
        snapshot_id = info.snapshot_id
        reference_id = reference_info.snapshot_id if reference_info else None
        key = point_key(fingerprint, info, reference_info)
        point = cache.get(key) if cache else None
        if point is None:
            current = judged(snapshot_id)
            reference = judged(reference_id) if reference_id else None
            point = judge.point(current, reference)
            if cache:
                cache.put(key, point)
        if reference_id:
            still_needed[reference_id] -= 1
            if still_needed[reference_id] <= 0:
                loaded.pop(reference_id, None)
        points.append(point)
        if progress:
            progress(utc_timestamp(point.taken_at), done, len(plan))
    return TrendReport(
        points=tuple(points),
        reference="baseline" if baseline else "previous",
        baseline_name=baseline,
        baseline_snapshot_id=baseline_id,
        since=since,
        generated_at=now,
        tool_version=__version__,
    )
