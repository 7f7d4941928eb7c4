"""Tables for people: findings and drift grouped by severity, then errors and a summary."""

from __future__ import annotations

from reports.grid import PLAIN, SEVERITY_STYLES, Style, grid
from reports.summary import (
    attribution_text,
    ordered_drift,
    ordered_findings,
    summary,
    summary_line,
)
from reports.text import printable
from scanner.drift.describe import short_id
from scanner.model import DriftItem, Finding, Rule, ScanReport, Severity


def _rule_text(rule: Rule | None) -> str:
    if rule is None:
        return ""
    peers = ",".join(p.value for p in rule.peers) or "any"
    ports = "all" if rule.ports.is_all() else str(rule.ports)
    text = f"{rule.direction.value} {rule.action.value} {rule.protocol}:{ports} {peers}"
    # The rule's own name or id is what a person searches the console for.
    return f"{rule.native_id}: {text}" if rule.native_id else text


def _where(account: str, region: str) -> str:
    return "/".join(x for x in (account, region) if x)


def _finding_rows(findings: list[Finding]) -> list[list[str]]:
    return [
        [f.severity.value.upper(), f.provider, f.policy_id, f.title, _where(f.account, f.region),
         f.resource_name or f.resource_id, _rule_text(f.rule)]
        for f in ordered_findings(findings)
    ]


def _suppressed(report: ScanReport, style: Style) -> list[str]:
    """Counted always; listed when the report holds them (``--include-suppressed``)."""
    count = summary(report)["suppressed"]
    listed = ordered_findings(f for f in report.findings if f.suppressed)
    if not count:
        return []
    if not listed:
        return [style.fill(f"{count} suppressed findings are not listed (accepted exceptions; "
                           "--include-suppressed lists them).")]
    rows = [[f.severity.value.upper(), f.provider, f.policy_id, f.resource_name or f.resource_id,
             (f.suppression or {}).get("reason", ""), (f.suppression or {}).get("owner", ""),
             str((f.suppression or {}).get("expires", "")), f.finding_id] for f in listed]
    return [f"Suppressed ({count}; accepted exceptions, not counted)",
            grid(["severity", "cloud", "policy", "resource", "reason", "owner", "expires", "id"],
                 rows, style, paint={0: SEVERITY_STYLES}, keep=(0, 1, 2, 6, 7))]


def _drift_groups(drift, style: Style) -> list[str]:
    """One table per (severity, cloud), most severe first."""
    groups: dict[tuple[Severity, str], list[DriftItem]] = {}
    for d in ordered_drift(drift):
        groups.setdefault((d.severity, d.provider), []).append(d)
    attributed = any(d.attribution for d in drift)
    headers = ["effect", "change", "what", "ATT&CK", "id"] + (["who"] if attributed else [])
    out = []
    for (level, cloud), items in groups.items():
        rows = [[d.effect.value, d.change.value, d.summary, ",".join(d.attack),
                 d.drift_id] + ([attribution_text(d)] if attributed else [])
                for d in items]
        out.append(style.paint(level.value.upper(), SEVERITY_STYLES)
                   + f" · {printable(cloud)} ({len(items)})\n"
                   + grid(headers, rows, style, keep=(0, 1, 3, 4)))
    return out


def _asset_label(asset_id: str, name: str) -> str:
    """A name people know, with the tail of the id that makes it unique."""
    tail = short_id(asset_id)
    return f"{name} ({tail})" if name and name != tail else tail


def _admitted_by(exposure) -> str:
    """The rules that let the traffic in, layer by layer; a layer with no rule set says so."""
    steps = [s.rule_id or f"no {s.layer}" for s in exposure.path
             if s.decision in ("allow", "absent") and (s.rule_id or s.decision == "absent")]
    return ", ".join(steps)


def _few(services: tuple[str, ...], shown: int = 5) -> str:
    if len(services) <= shown:
        return ",".join(services)
    return ",".join(services[:shown]) + f" and {len(services) - shown} more"


def render(report: ScanReport, style: Style = PLAIN) -> str:
    """``style``: the terminal's width and colour; the default never wraps nor colours."""
    parts: list[str] = []
    snapshot = report.snapshot
    active = [f for f in report.findings if not f.suppressed]
    if active:
        parts.append("Findings")
        parts.append(grid(["severity", "cloud", "policy", "title", "account/region",
                           "resource", "rule"],
                          _finding_rows(active), style, paint={0: SEVERITY_STYLES},
                          keep=(0, 1, 2)))
    parts.extend(_suppressed(report, style))
    if report.drift:
        title = "Drift"
        if report.baseline_name:
            title += f" since baseline {printable(report.baseline_name)}"
        parts.append(style.fill(title + f" ({printable(report.baseline_snapshot_id)})"))
        parts.extend(_drift_groups(report.drift, style))
    elif report.baseline_snapshot_id:
        name = printable(report.baseline_name or "")
        parts.append(style.fill(f"No drift since baseline {name}."))
    if report.exposures:
        parts.append("Exposed to the internet")
        names = {a.asset_id: a.name for a in snapshot.assets}
        rows = [
            [e.provider, _asset_label(e.asset_id, names.get(e.asset_id, "")),
             e.source, e.family, e.protocol, str(e.ports), _few(e.services), _admitted_by(e)]
            for e in sorted(report.exposures, key=lambda e: (e.provider, e.asset_id, e.family))
        ]
        parts.append(grid(["cloud", "asset", "from", "family", "protocol", "ports", "services",
                           "admitted by"], rows, style, keep=(0, 2, 3, 4)))
    if report.exposure_unknown:
        parts.append("Exposure unknown (could not be decided from the snapshot; not safe)")
        rows = [[asset_id, reason] for asset_id, reason in sorted(report.exposure_unknown.items())]
        parts.append(grid(["asset", "why"], rows, style))
    if snapshot.errors:
        parts.append("Not collected (these scopes are unknown, not clean)")
        rows = [[e.scope_label(), e.code, e.reason, e.hint] for e in snapshot.errors]
        parts.append(grid(["scope", "code", "reason", "what to do"], rows, style))
    parts.append(style.fill(summary_line(report)))
    return "\n\n".join(parts) + "\n"
