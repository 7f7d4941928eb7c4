"""Tables for people: findings and drift grouped by severity, then errors and a summary."""

from __future__ import annotations

from tabulate import tabulate

from reports.summary import attribution_text, ordered_drift, ordered_findings, summary_line
from reports.text import printable
from scanner.drift.describe import short_id
from scanner.model import DriftItem, Finding, Rule, ScanReport, Severity


def _grid(rows: list[list[object]], headers: list[str]) -> str:
    """Every cell made printable (ids and codes come from the cloud or an imported file too);
    numparse off, so an id such as ``1e5`` or ``0123`` is shown as the cloud spelled it."""
    cells = [[printable(cell) for cell in row] for row in rows]
    return tabulate(cells, headers=headers, disable_numparse=True)


def _rule_text(rule: Rule | None) -> str:
    if rule is None:
        return ""
    peers = ",".join(p.value for p in rule.peers) or "any"
    ports = "all" if rule.ports.is_all() else str(rule.ports)
    text = f"{rule.direction.value} {rule.action.value} {rule.protocol}:{ports} {peers}"
    # The rule's own name or id is what a person searches the console for.
    return f"{rule.native_id}: {text}" if rule.native_id else text


def _finding_rows(findings: list[Finding]) -> list[list[str]]:
    return [
        [f.severity.value.upper(), f.provider, f.policy_id, printable(f.title, 60),
         printable(f.resource_name or f.resource_id, 40), printable(_rule_text(f.rule), 60)]
        for f in ordered_findings(findings)
    ]


def _drift_groups(drift) -> list[str]:
    """One table per (severity, cloud), most severe first."""
    groups: dict[tuple[Severity, str], list[DriftItem]] = {}
    for d in ordered_drift(drift):
        groups.setdefault((d.severity, d.provider), []).append(d)
    attributed = any(d.attribution for d in drift)
    headers = ["effect", "change", "what", "ATT&CK", "id"] + (["who"] if attributed else [])
    out = []
    for (level, cloud), items in groups.items():
        rows = [[d.effect.value, d.change.value, printable(d.summary, 110), ",".join(d.attack),
                 d.drift_id] + ([printable(attribution_text(d), 60)] if attributed else [])
                for d in items]
        out.append(f"{level.value.upper()} · {printable(cloud)} ({len(items)})\n"
                   + _grid(rows, headers=headers))
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


def render(report: ScanReport) -> str:
    parts: list[str] = []
    snapshot = report.snapshot
    active = [f for f in report.findings if not f.suppressed]
    if active:
        parts.append("Findings")
        parts.append(_grid(_finding_rows(active),
                           headers=["severity", "cloud", "policy", "title", "resource", "rule"]))
    if report.drift:
        title = "Drift"
        if report.baseline_name:
            title += f" since baseline {printable(report.baseline_name)}"
        parts.append(title + f" ({printable(report.baseline_snapshot_id)})")
        parts.extend(_drift_groups(report.drift))
    elif report.baseline_snapshot_id:
        parts.append(f"No drift since baseline {printable(report.baseline_name or '')}.")
    if report.exposures:
        parts.append("Exposed to the internet")
        names = {a.asset_id: a.name for a in snapshot.assets}
        rows = [
            [e.provider, printable(_asset_label(e.asset_id, names.get(e.asset_id, "")), 45),
             e.source, e.family, e.protocol, printable(e.ports, 30), _few(e.services),
             printable(_admitted_by(e), 50)]
            for e in sorted(report.exposures, key=lambda e: (e.provider, e.asset_id, e.family))
        ]
        parts.append(_grid(rows, headers=["cloud", "asset", "from", "family", "protocol",
                                          "ports", "services", "admitted by"]))
    if report.exposure_unknown:
        parts.append("Exposure unknown (could not be decided from the snapshot; not safe)")
        rows = [[printable(asset_id, 50), printable(reason, 100)]
                for asset_id, reason in sorted(report.exposure_unknown.items())]
        parts.append(_grid(rows, headers=["asset", "why"]))
    if snapshot.errors:
        parts.append("Not collected (these scopes are unknown, not clean)")
        rows = [[e.scope_label(), e.code, printable(e.reason, 80), printable(e.hint, 60)]
                for e in snapshot.errors]
        parts.append(_grid(rows, headers=["scope", "code", "reason", "what to do"]))
    parts.append(summary_line(report))
    return "\n\n".join(parts) + "\n"
