"""The compliance report as tables for people: per framework every control with its status,
then the failing (and suppressed) rules under each failing control, then the totals."""

from __future__ import annotations

from reports.grid import PLAIN, SEVERITY_STYLES, STATUS_STYLES, Style, grid
from reports.text import printable
from scanner.compliance_model import (
    FAIL,
    NOT_ASSESSED,
    PASS,
    SUPPRESSED,
    ComplianceReport,
    FrameworkResult,
)


def _rule(finding) -> str:
    rule = finding.rule
    if rule is None:
        return finding.asset_id or ""
    ports = "all" if rule.ports.is_all() else str(rule.ports)
    peers = ",".join(p.value for p in rule.peers) or "any"
    text = f"{rule.direction.value} {rule.action.value} {rule.protocol}:{ports} {peers}"
    return f"{rule.native_id}: {text}" if rule.native_id else text


def _controls(fw: FrameworkResult, style: Style) -> str:
    rows = []
    for r in fw.results:
        judged = len(r.resources)
        failing = sum(1 for x in r.resources if x.status == FAIL)
        rows.append([r.control.control_id, r.status.replace("_", " "), r.control.title,
                     f"{failing}/{judged}" if judged else "", r.reason])
    return grid(["control", "status", "title", "failing", "notes"], rows, style,
                paint={1: STATUS_STYLES}, keep=(0, 1, 3))


def _failing(fw: FrameworkResult, style: Style) -> str | None:
    rows = []
    for r in fw.results:
        for f in r.findings:
            rows.append([r.control.control_id, f.severity.value.upper(), f.policy_id,
                         f.provider, f.account, f.region,
                         f.resource_name or f.resource_id, _rule(f), f.finding_id])
        for f in r.suppressed:
            entry = f.suppression or {}
            rows.append([r.control.control_id, SUPPRESSED, f.policy_id, f.provider, f.account,
                         f.region, f.resource_name or f.resource_id,
                         f"{entry.get('reason', '')} (owner {entry.get('owner', '')}, until "
                         f"{entry.get('expires', '')})", f.finding_id])
    if not rows:
        return None
    return grid(["control", "severity", "policy", "cloud", "account", "region", "resource",
                 "rule", "finding"], rows, style,
                paint={1: {**SEVERITY_STYLES, **STATUS_STYLES}}, keep=(0, 1, 2, 3))


def summary_line(report: ComplianceReport) -> str:
    s = report.summary()
    frameworks = ", ".join(f"{fw.framework.framework_id}" for fw in report.frameworks)
    line = (f"{frameworks}: {s[PASS]} pass, {s[FAIL]} fail, {s[NOT_ASSESSED]} not assessed "
            f"of {s['controls']} controls; {s['suppressed']} suppressed")
    if not report.complete:
        line += " -- INCOMPLETE: some scopes could not be read, their controls are not assessed"
    return line


def render(report: ComplianceReport, style: Style = PLAIN) -> str:
    parts = [style.fill(f"Compliance of snapshot {printable(report.snapshot_id)} taken "
                        f"{report.taken_at}")]
    for fw in report.frameworks:
        f, s = fw.framework, fw.summary()
        version = f" {f.version}" if f.version else ""
        parts.append(style.fill(f"{printable(f.name)} ({printable(f.framework_id + version)}): "
                                f"{s[PASS]} pass, {s[FAIL]} fail, {s[NOT_ASSESSED]} not "
                                f"assessed of {s['controls']} controls"))
        parts.append(_controls(fw, style))
        failing = _failing(fw, style)
        if failing:
            parts.append(f"Failing and suppressed in {printable(f.framework_id)}")
            parts.append(failing)
    unread = [s for s in report.scopes if s.get("status") != "ok"]
    if unread:
        parts.append("Not read completely (controls on these clouds are not assessed)")
        parts.append(grid(["scope", "status"], [[
            "/".join(x for x in (s["provider"], s["account"], s["region"]) if x), s["status"]]
            for s in unread], style))
    parts.append(style.fill(summary_line(report)))
    return "\n\n".join(parts) + "\n"
