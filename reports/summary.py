"""Figures every reporter shows: counts by severity, scope status, drift by effect."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from reports.text import printable
from scanner.model import DriftItem, Finding, ScanReport, Severity, Snapshot, utc_timestamp


def ordered_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first, then by cloud, policy and resource: the order every reporter shows."""
    return sorted(findings, key=lambda f: (-f.severity.rank, f.provider, f.policy_id,
                                           f.resource_id))


def ordered_drift(drift: Iterable[DriftItem]) -> list[DriftItem]:
    """Most severe first, then by cloud and resource: the order every reporter shows."""
    return sorted(drift, key=lambda d: (-d.severity.rank, d.provider, d.resource_id, d.drift_id))


def scope_rows(source: ScanReport | Snapshot) -> list[dict[str, Any]]:
    """One row per scope with its status and the errors that explain it."""
    snapshot = source.snapshot if isinstance(source, ScanReport) else source
    rows = []
    for scope in snapshot.scopes:
        status = snapshot.scope_status(scope)
        errors = [
            e for e in snapshot.errors
            if (e.provider, e.account) == (scope.provider, scope.account)
            and e.region in ("", scope.region)
        ]
        rows.append({
            **scope.to_dict(),
            "status": status,
            "error": "; ".join(
                f"{e.resource_type + ': ' if e.resource_type else ''}{e.reason}" for e in errors
            ) or None,
        })
    return rows


def summary(report: ScanReport) -> dict[str, Any]:
    snapshot = report.snapshot
    active = report.active_findings
    by_severity = Counter(f.severity.value for f in active)
    statuses = Counter(row["status"] for row in scope_rows(report))
    return {
        "scopes": {"total": len(snapshot.scopes), **{k: statuses.get(k, 0)
                                                     for k in ("ok", "partial", "failed")}},
        "rule_sets": len(snapshot.rule_sets),
        "rules": snapshot.rule_count(),
        "assets": len(snapshot.assets),
        "findings": {s.value: by_severity.get(s.value, 0) for s in reversed(Severity)},
        "suppressed": report.suppressed_count,
        "drift": dict(sorted(Counter(d.effect.value for d in report.drift).items())),
        "exposed_assets": len({e.asset_id for e in report.exposures}),
        "internet_exposed_assets": len({e.asset_id for e in report.exposures
                                        if e.source == "internet"}),
        "unknown_assets": len(report.exposure_unknown),
        "complete": snapshot.complete,
    }


def summary_line(report: ScanReport) -> str:
    s = summary(report)
    findings = ", ".join(f"{n} {k}" for k, n in s["findings"].items() if n) or "none"
    drift = ", ".join(f"{n} {k}" for k, n in s["drift"].items()) or "none"
    scopes = s["scopes"]
    not_read = scopes["failed"] + scopes["partial"]
    line = (
        f"{scopes['total']} scopes ({scopes['ok']} ok, {not_read} not fully read), "
        f"{s['rule_sets']} rule sets, {s['rules']} rules, {s['assets']} assets; "
        f"findings: {findings}; {s['suppressed']} suppressed; drift: {drift}"
    )
    if report.filters:
        line += f" (filtered: {filter_text(report.filters)})"
    if not_read:
        line += " -- INCOMPLETE: some scopes could not be read, see errors"
    return line


def filter_text(filters: Mapping[str, Any]) -> str:
    """``provider=aws, severity=high|critical``: the filters a view was narrowed by."""
    parts = []
    for key, value in filters.items():
        if value is True:
            parts.append(key.replace("_", "-"))
        else:
            parts.append(f"{key}={'|'.join(printable(v, 60) for v in value)}")
    return ", ".join(parts)


def attribution_text(item: DriftItem) -> str:
    """Who made a drift item as its audit log says, else why it could not say ("" when
    attribution was not asked for)."""
    names = [f"{a.actor} from {a.source_address or '?'} ({a.operation or '?'}"
             + (f", {utc_timestamp(a.time)})" if a.time else ")")
             for a in item.attribution if a.actor]
    if names:
        return "; ".join(names)
    reasons = [a.unavailable_reason for a in item.attribution if a.unavailable_reason]
    return f"unknown: {reasons[0]}" if reasons else ""


def baseline_is_file(name: str | None) -> bool:
    """Whether a report's baseline was an exported snapshot file (``--baseline prod.json``)
    rather than a stored name, by the engine's rule (scanner.engine.is_snapshot_file) as far as
    a report can apply it. A stored name may contain slashes (``team/prod``), so a slash proves
    nothing."""
    return bool(name) and name.lower().endswith(".json")
