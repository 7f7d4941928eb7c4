"""Tables for people: findings and drift grouped by severity, then errors and a summary."""

from __future__ import annotations

from tabulate import tabulate

from reports.summary import summary_line
from reports.text import printable
from scanner.model import Finding, Rule, ScanReport


def _rule_text(rule: Rule | None) -> str:
    if rule is None:
        return ""
    peers = ",".join(p.value for p in rule.peers) or "any"
    ports = "all" if rule.ports.is_all() else str(rule.ports)
    return f"{rule.direction.value} {rule.action.value} {rule.protocol}:{ports} {peers}"


def _finding_rows(findings: list[Finding]) -> list[list[str]]:
    ordered = sorted(findings, key=lambda f: (-f.severity.rank, f.provider, f.policy_id,
                                              f.resource_id))
    return [
        [f.severity.value.upper(), f.provider, f.policy_id, printable(f.title, 60),
         printable(f.resource_name or f.resource_id, 40), printable(_rule_text(f.rule), 60)]
        for f in ordered
    ]


def render(report: ScanReport) -> str:
    parts: list[str] = []
    snapshot = report.snapshot
    active = [f for f in report.findings if not f.suppressed]
    if active:
        parts.append("Findings")
        parts.append(tabulate(_finding_rows(active),
                              headers=["severity", "cloud", "policy", "title", "resource",
                                       "rule"]))
    if report.drift:
        title = "Drift"
        if report.baseline_name:
            title += f" since baseline {printable(report.baseline_name)}"
        parts.append(title + f" ({report.baseline_snapshot_id})")
        rows = [
            [d.severity.value.upper(), d.provider, d.effect.value, d.change.value,
             printable(d.summary, 110), ",".join(d.attack)]
            for d in sorted(report.drift, key=lambda d: (-d.severity.rank, d.provider))
        ]
        parts.append(tabulate(rows, headers=["severity", "cloud", "effect", "change", "what",
                                             "ATT&CK"]))
    elif report.baseline_snapshot_id:
        parts.append(f"No drift since baseline {printable(report.baseline_name or '')}.")
    if report.exposures:
        parts.append("Exposed to the internet")
        rows = [
            [e.provider, printable(e.asset_id, 50), e.source, e.family, e.protocol,
             str(e.ports), ",".join(e.services)]
            for e in report.exposures
        ]
        parts.append(tabulate(rows, headers=["cloud", "asset", "from", "family", "protocol",
                                             "ports", "services"]))
    if snapshot.errors:
        parts.append("Not collected (these scopes are unknown, not clean)")
        rows = [[e.scope_label(), e.code, printable(e.reason, 80), printable(e.hint, 60)]
                for e in snapshot.errors]
        parts.append(tabulate(rows, headers=["scope", "code", "reason", "what to do"]))
    parts.append(summary_line(report))
    return "\n\n".join(parts) + "\n"
