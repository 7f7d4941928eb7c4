"""``report compliance --format html``: every framework asked for, each control pass, fail or
not assessed, and behind each control the failing rules and every resource it was judged on.

A pure function of ``scanner.compliance_model.ComplianceReport``.
"""

from __future__ import annotations

from typing import Any

from reports.charts import bar_chart
from reports.html_page import render_page
from reports.html_view import cloud_name, humanize, scope_header, value_text
from scanner.compliance_model import (
    FAIL,
    NOT_ASSESSED,
    PASS,
    SUPPRESSED,
    ComplianceReport,
    ControlResult,
    FrameworkResult,
)
from scanner.drift.describe import describe_rule

STATUS_NAMES = {PASS: "pass", FAIL: "fail", NOT_ASSESSED: "not assessed",
                SUPPRESSED: "suppressed"}


def _finding(f) -> dict[str, str]:
    return {
        "severity": f.severity.value,
        "policy_id": f.policy_id,
        "title": f.title,
        "cloud": cloud_name(f.provider),
        "resource": f.resource_name or f.resource_id,
        "resource_id": f.resource_id,
        "account": f.account,
        "region": f.region or "global",
        "rule": (f.rule.native_id or "") if f.rule else (f.asset_id or ""),
        "rule_text": describe_rule(f.rule) if f.rule else "",
        "evidence": value_text({k: v for k, v in f.evidence.items()
                                if k in ("ports", "services", "exposure")}) if f.evidence else "",
        "remediation": f.remediation,
        "why": value_text(dict(f.suppression)) if f.suppression else "",
        "id": f.finding_id,
    }


def _control(result: ControlResult) -> dict[str, Any]:
    judged = len(result.resources)
    failing = sum(1 for r in result.resources if r.status == FAIL)
    return {
        "id": result.control.control_id,
        "title": result.control.title,
        "status": result.status,
        "status_name": STATUS_NAMES.get(result.status, humanize(result.status)),
        "reason": result.reason or result.control.reason,
        "policies": ", ".join(result.policies),
        "judged": judged,
        "failing": failing,
        "findings": [_finding(f) for f in result.findings],
        "suppressed": [_finding(f) for f in result.suppressed],
        "resources": [{
            "status": r.status,
            "status_name": STATUS_NAMES.get(r.status, humanize(r.status)),
            "cloud": cloud_name(r.provider),
            "account": r.account,
            "region": r.region or "global",
            "name": r.resource_name or r.resource_id,
            "resource_id": r.resource_id,
            "kind": humanize(r.kind),
            "reason": r.reason,
        } for r in sorted(result.resources, key=lambda r: (
            [FAIL, SUPPRESSED, NOT_ASSESSED, PASS].index(r.status)
            if r.status in (FAIL, SUPPRESSED, NOT_ASSESSED, PASS) else 4,
            r.provider, r.resource_name, r.resource_id))],
        "unread": ["/".join(str(s.get(k) or "") for k in ("provider", "account", "region")
                            if s.get(k)) + f" ({s.get('status', '')})"
                   for s in result.unread_scopes],
    }


def _framework(fw: FrameworkResult, index: int) -> dict[str, Any]:
    f = fw.framework
    summary = fw.summary()
    return {
        "anchor": f"framework-{index}",
        "id": f.framework_id,
        "name": f.name,
        "version": f.version,
        "custom": f.custom,
        "clouds": ", ".join(cloud_name(p) for p in f.providers),
        "summary": summary,
        "controls": [_control(r) for r in fw.results],
    }


def compliance_context(report: ComplianceReport) -> dict[str, Any]:
    summary = report.summary()
    frameworks = [_framework(fw, i) for i, fw in enumerate(report.frameworks, start=1)]
    chart = bar_chart("Controls by framework", [
        (fw["id"], [("pass", fw["summary"][PASS], f"{fw['summary'][PASS]} pass"),
                    ("fail", fw["summary"][FAIL], f"{fw['summary'][FAIL]} fail"),
                    ("not-assessed", fw["summary"][NOT_ASSESSED],
                     f"{fw['summary'][NOT_ASSESSED]} not assessed")])
        for fw in frameworks], width=720, label_width=150)
    rows = [{"provider": s.get("provider", ""), "account": s.get("account", ""),
             "region": s.get("region", ""), "name": s.get("name", ""),
             "status": s.get("status", "ok"), "error": s.get("error", "")}
            for s in report.scopes]
    title = (f"Compliance: {frameworks[0]['name']}" if len(frameworks) == 1
             else f"Compliance: {len(frameworks)} frameworks")
    headline = [f"Of {summary['controls']} controls"
                + (f" in {len(frameworks)} frameworks" if len(frameworks) > 1 else "")
                + f": {summary[PASS]} pass, {summary[FAIL]} fail, "
                f"{summary[NOT_ASSESSED]} not assessed."]
    if summary["suppressed"]:
        headline.append(f"{summary['suppressed']} failing findings are suppressed as accepted "
                        "exceptions (listed under their controls).")
    if not report.complete:
        headline.append("Some scopes could not be read completely: their controls are not "
                        "assessed, never passed.")
    return {
        "header": scope_header(rows, title=title, snapshot_id=report.snapshot_id,
                               taken_at=report.taken_at, generated_at=report.generated_at,
                               tool_version=report.tool_version),
        "summary": summary,
        "headline": headline,
        "frameworks": frameworks,
        "chart": chart,
    }


def render(report: ComplianceReport) -> str:
    return render_page("compliance.html.j2", **compliance_context(report))
