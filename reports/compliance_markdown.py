"""The compliance report as Markdown: a summary of every framework, then per framework every
control with its status, the failing rules, the suppressed ones and why anything was not
assessed.

Strings that came from a cloud (names, ids) are literal code spans (``reports.markdown.code``),
so nothing in them is interpreted as Markdown, HTML or a link.
"""

from __future__ import annotations

from reports.markdown import code
from reports.text import printable
from scanner.compliance_model import (
    FAIL,
    NOT_ASSESSED,
    PASS,
    ComplianceReport,
    ControlResult,
    FrameworkResult,
)

_MARK = {PASS: "PASS", FAIL: "FAIL", NOT_ASSESSED: "NOT ASSESSED"}


def _cell(text: object) -> str:
    return printable(text).replace("|", "\\|")


def _subject(finding) -> str:
    rule = finding.rule
    if rule is not None:
        return rule.name or rule.native_id or rule.identity()
    return finding.asset_id or ""


def _failing(result: ControlResult) -> list[str]:
    lines = []
    for finding in result.findings:
        subject = _subject(finding)
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


def _title(fw: FrameworkResult) -> str:
    f = fw.framework
    version = f" {f.version}" if f.version else ""
    return f"{printable(f.name)} ({printable(f.framework_id)}{printable(version)})"


def _framework(fw: FrameworkResult, heading: bool) -> list[str]:
    summary = fw.summary()
    out = [f"## {_title(fw)}", ""] if heading else []
    out += [
        f"**{summary[PASS]} pass, {summary[FAIL]} fail, {summary[NOT_ASSESSED]} not assessed** "
        f"of {summary['controls']} controls.",
        "",
        "| control | status | title | policies | resources | notes |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for result in fw.results:
        judged = len(result.resources)
        failing = sum(1 for r in result.resources if r.status == FAIL)
        resources = f"{failing} of {judged} failing" if judged else "—"
        out.append(f"| {_cell(result.control.control_id)} | {_MARK[result.status]} | "
                   f"{_cell(result.control.title) or '—'} | "
                   f"{_cell(', '.join(result.policies)) or '—'} | {resources} "
                   f"| {_cell(result.reason) or '—'} |")
    sub = "###" if heading else "##"
    failing = [r for r in fw.results if r.findings or r.suppressed]
    if failing:
        out += ["", f"{sub} Failing and suppressed rules", ""]
        for result in failing:
            out.append(f"- **{printable(result.control.control_id)}** "
                       f"{printable(result.control.title)}")
            out += _failing(result)
    unassessed = [r for r in fw.results if r.status == NOT_ASSESSED]
    if unassessed:
        out += ["", f"{sub} Not assessed", ""]
        out += [f"- **{printable(r.control.control_id)}**: {printable(r.reason)}"
                for r in unassessed]
    return out


def render(report: ComplianceReport) -> str:
    summary = report.summary()
    several = len(report.frameworks) > 1
    if several:
        heading = f"# Compliance: {summary['frameworks']} frameworks"
    elif report.frameworks:
        heading = f"# {_title(report.frameworks[0])}"
    else:
        heading = "# Compliance"
    out = [
        heading,
        "",
        f"Snapshot {code(report.snapshot_id)} taken {report.taken_at}."
        + (f" Generated {report.generated_at} by cloudwall {printable(report.tool_version)}."
           if report.generated_at else ""),
        "",
    ]
    suppressed = summary["suppressed"]
    if several:
        out += ["| framework | version | pass | fail | not assessed | controls |",
                "| --- | --- | --- | --- | --- | --- |"]
        for fw in report.frameworks:
            s = fw.summary()
            out.append(f"| {_cell(fw.framework.name)} ({_cell(fw.framework.framework_id)}) | "
                       f"{_cell(fw.framework.version) or '—'} | {s[PASS]} | {s[FAIL]} | "
                       f"{s[NOT_ASSESSED]} | {s['controls']} |")
        out.append("")
    out.append(f"In all: {summary[PASS]} pass, {summary[FAIL]} fail, {summary[NOT_ASSESSED]} "
               f"not assessed of {summary['controls']} controls; {suppressed} suppressed "
               f"finding{'' if suppressed == 1 else 's'} (listed under the controls they map "
               "to; they do not fail them).")
    if not report.complete:
        out += ["", "**Incomplete:** some scopes could not be read completely; controls on "
                    "their clouds are not assessed, never passed."]
    out.append("")
    for fw in report.frameworks:
        out += _framework(fw, heading=several)
        out.append("")
    if report.scopes:
        out += ["## Scopes", ""]
        out += [f"- {code('/'.join(x for x in (s['provider'], s['account'], s['region']) if x))}"
                f": {s['status']}" for s in report.scopes]
    return "\n".join(out).rstrip("\n") + "\n"
