"""The compliance report as Markdown: a summary, then every control with its status, the
failing rules, and why anything was not assessed.

Strings that came from a cloud (names, ids) are literal code spans (``reports.markdown.code``),
so nothing in them is interpreted as Markdown, HTML or a link.
"""

from __future__ import annotations

from policies.compliance import FAIL, NOT_ASSESSED, PASS, ComplianceReport, ControlResult
from reports.markdown import code
from reports.text import printable

_MARK = {PASS: "PASS", FAIL: "FAIL", NOT_ASSESSED: "NOT ASSESSED"}


def _cell(text: object) -> str:
    return printable(text).replace("|", "\\|")


def _failing(result: ControlResult) -> list[str]:
    lines = []
    for finding in result.findings:
        rule = finding.rule
        subject = rule.name or rule.native_id or rule.identity() if rule else finding.asset_id
        ports = finding.evidence.get("ports") or {}
        reach = "; ".join(f"{family} " + ", ".join(f"{p} {v}" for p, v in sorted(by.items()))
                          for family, by in sorted(ports.items()))
        services = ", ".join(finding.evidence.get("services") or ())
        detail = " — ".join(x for x in (reach, services) if x)
        lines.append(f"  - {finding.severity.value.upper()} {finding.policy_id} "
                     f"{finding.provider} {code(finding.resource_name or finding.resource_id)}"
                     + (f" rule {code(subject)}" if subject else "")
                     + (f": {printable(detail)}" if detail else "")
                     + f" ({code(finding.finding_id)})")
    for finding in result.suppressed:
        entry = finding.suppression or {}
        lines.append(f"  - suppressed: {finding.policy_id} "
                     f"{code(finding.resource_name or finding.resource_id)} — "
                     f"{printable(entry.get('reason', ''))} (owner "
                     f"{printable(entry.get('owner', ''))}, until "
                     f"{printable(entry.get('expires', ''))})")
    return lines


def render(report: ComplianceReport) -> str:
    fw = report.framework
    summary = report.summary()
    out = [
        f"# {printable(fw.name)} ({fw.framework_id} {fw.version})",
        "",
        f"Snapshot {code(report.snapshot_id)} taken {report.taken_at}."
        + (f" Generated {report.generated_at} by cloudwall {report.tool_version}."
           if report.generated_at else ""),
        "",
        f"**{summary[PASS]} pass, {summary[FAIL]} fail, {summary[NOT_ASSESSED]} not assessed** "
        f"of {summary['controls']} controls.",
        "",
        "| control | status | title | policies | notes |",
        "| --- | --- | --- | --- | --- |",
    ]
    for result in report.results:
        out.append(f"| {_cell(result.control.control_id)} | {_MARK[result.status]} | "
                   f"{_cell(result.control.title)} | {_cell(', '.join(result.policies)) or '—'} "
                   f"| {_cell(result.reason) or '—'} |")
    failing = [r for r in report.results if r.findings or r.suppressed]
    if failing:
        out += ["", "## Failing rules", ""]
        for result in failing:
            out.append(f"- **{printable(result.control.control_id)}** "
                       f"{printable(result.control.title)}")
            out += _failing(result)
    unassessed = [r for r in report.results if r.status == NOT_ASSESSED]
    if unassessed:
        out += ["", "## Not assessed", ""]
        out += [f"- **{printable(r.control.control_id)}**: {printable(r.reason)}"
                for r in unassessed]
    if report.scopes:
        out += ["", "## Scopes", ""]
        out += [f"- {code('/'.join(x for x in (s['provider'], s['account'], s['region']) if x))}"
                f": {s['status']}" for s in report.scopes]
    return "\n".join(out) + "\n"
