"""JUnit XML for CI test tabs.

One test suite per policy that ran, with one test case per resource the policy judged: a
failure carries the findings (severity, rule, evidence, remediation, finding id); a resource
whose findings are all suppressed is skipped with the reason. Drift is its own suite (widened
and unknown changes fail), and so is collection: a scope that could not be read is an error,
never a pass.

Cloud strings are data: ElementTree escapes markup, characters XML 1.0 forbids are dropped, and
invisible or terminal-control characters (C1, bidi, zero-width) are written as character
references, so the value survives and nothing raw reaches a log viewer.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

from reports.summary import attribution_text, ordered_drift, scope_rows
from scanner import TOOL_NAME
from scanner.model import DriftItem, Effect, Finding, PolicyInfo, ScanReport, utc_timestamp

# Not allowed anywhere in an XML 1.0 document, not even as a character reference.
_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Allowed by XML but invisible or terminal-driving: written as references, never raw.
_INVISIBLE = {c: f"&#x{c:x};" for c in [*range(0x7F, 0xA0), *range(0x200B, 0x2010),
                                         *range(0x2028, 0x202F), *range(0x2066, 0x206A),
                                         0xFEFF]}

Resource = tuple[str, str, str, str, str]  # provider, account, region, id, name


def xml_text(value: object) -> str:
    return _XML_FORBIDDEN.sub("", "" if value is None else str(value))


def _el(parent: ET.Element, tag: str, text: str | None = None, **attrs: object) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: xml_text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = xml_text(text)
    return element


def _case_name(resource: Resource) -> str:
    provider, account, region, resource_id, name = resource
    path = "/".join((provider, account, region or "global", resource_id))
    return f"{path} [{name}]" if name and name != resource_id else path


def _finding_text(finding: Finding) -> str:
    rule = finding.rule
    lines = [f"{finding.severity.value.upper()} {finding.policy_id} {finding.title}",
             f"finding: {finding.finding_id}",
             f"resource: {finding.resource_name or finding.resource_id} ({finding.resource_id})"]
    if rule:
        lines.append(f"rule: {rule.name or rule.native_id or rule.identity()} "
                     f"{rule.direction.value} {rule.action.value} {rule.protocol} "
                     f"{','.join(rule.ports.to_list())} from "
                     f"{', '.join(p.value for p in rule.peers) or '-'}")
        if rule.description:
            lines.append(f"description: {rule.description}")
    if finding.asset_id:
        lines.append(f"asset: {finding.asset_id}")
    services = finding.evidence.get("services")
    if services:
        lines.append(f"services: {', '.join(map(str, services))}")
    if finding.compliance:
        lines.append("controls: " + "; ".join(f"{k}: {', '.join(v)}"
                                               for k, v in sorted(finding.compliance.items())))
    if finding.attack:
        lines.append(f"attack: {', '.join(finding.attack)}")
    if finding.remediation:
        lines.append(f"remediation: {finding.remediation}")
    return "\n".join(lines)


def _policy_case(suite: ET.Element, policy_id: str, resource: Resource,
                 findings: list[Finding], counts: dict[str, int]) -> None:
    case = _el(suite, "testcase", classname=f"{TOOL_NAME}.{policy_id}",
               name=_case_name(resource), time="0")
    counts["tests"] += 1
    active = [f for f in findings if not f.suppressed]
    quiet = [f for f in findings if f.suppressed]
    if active:
        worst = max(active, key=lambda f: f.severity.rank)
        message = f"{worst.severity.value}: {worst.title}"
        if len(active) > 1:
            message += f" ({len(active)} findings)"
        text = "\n\n".join(_finding_text(f) for f in active)
        if quiet:
            text += f"\n\n{len(quiet)} more suppressed: " + ", ".join(f.finding_id for f in quiet)
        _el(case, "failure", text, type=worst.severity.value, message=message)
        counts["failures"] += 1
    elif quiet:
        reasons = sorted({str((f.suppression or {}).get("reason", "")) for f in quiet})
        _el(case, "skipped", message="suppressed: " + "; ".join(r for r in reasons if r))
        counts["skipped"] += 1


def _suite(root: ET.Element, name: str, timestamp: str,
           properties: Iterable[tuple[str, str]] = ()) -> tuple[ET.Element, dict[str, int]]:
    suite = _el(root, "testsuite", name=name, timestamp=timestamp)
    props = list(properties)
    if props:
        holder = _el(suite, "properties")
        for key, value in props:
            _el(holder, "property", name=key, value=value)
    return suite, {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}


def _close(suite: ET.Element, counts: dict[str, int], totals: dict[str, int]) -> None:
    for key in ("tests", "failures", "errors", "skipped"):
        suite.set(key, str(counts[key]))
        totals[key] += counts[key]
    suite.set("time", "0")


def _policy_properties(info: PolicyInfo) -> list[tuple[str, str]]:
    props = [("severity", info.severity.value)]
    if info.rationale:
        props.append(("rationale", info.rationale))
    if info.remediation.get("summary"):
        props.append(("remediation", info.remediation["summary"]))
    if info.attack:
        props.append(("attack", ", ".join(info.attack)))
    props += [(f"compliance:{fw}", ", ".join(c)) for fw, c in info.compliance.items()]
    return props


def _drift_case(suite: ET.Element, item: DriftItem, counts: dict[str, int]) -> None:
    where = _case_name((item.provider, item.account, item.region, item.resource_id,
                        item.resource_name))
    case = _el(suite, "testcase", classname=f"{TOOL_NAME}.drift.{item.change.value}",
               name=f"{item.drift_id} {where}", time="0")
    counts["tests"] += 1
    lines = [f"{item.severity.value.upper()} {item.effect.value} {item.change.value}",
             f"drift: {item.drift_id}", item.summary]
    if item.rule_key:
        lines.append(f"rule: {item.rule_key}")
    if item.attack:
        lines.append(f"attack: {', '.join(item.attack)} ({item.tactic or 'defense-evasion'})")
    if item.operations:
        lines.append(f"operations: {', '.join(item.operations)}")
    who = attribution_text(item)
    if who:
        lines.append(f"actor: {who}")
    text = "\n".join(line for line in lines if line)
    if item.effect in (Effect.WIDENED, Effect.UNKNOWN):
        _el(case, "failure", text, type=item.severity.value,
            message=f"{item.severity.value}: {item.effect.value} {item.change.value}")
        counts["failures"] += 1
    else:
        _el(case, "system-out", text)


def to_element(report: ScanReport) -> ET.Element:
    snapshot = report.snapshot
    timestamp = utc_timestamp(snapshot.taken_at)
    root = ET.Element("testsuites", {"name": xml_text(f"{TOOL_NAME} {snapshot.snapshot_id}")})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}

    by_case: dict[str, dict[tuple[str, str], list[Finding]]] = {}
    names: dict[tuple[str, str], Resource] = {}
    # Suppressed findings a view leaves out still make their case skipped, not passed.
    shown = {f.finding_id for f in report.findings}
    hidden = [f for f in report.suppressed_findings if f.finding_id not in shown]
    for f in (*report.findings, *hidden):
        key = (f.provider, f.resource_id)
        by_case.setdefault(f.policy_id, {}).setdefault(key, []).append(f)
        names.setdefault(key, (f.provider, f.account, f.region, f.resource_id, f.resource_name))
    infos = {p.policy_id: p for p in report.policies}
    for policy_id in sorted(set(infos) | set(by_case)):
        info = infos.get(policy_id)
        title = info.title if info else by_case[policy_id][next(iter(by_case[policy_id]))][0].title
        suite, counts = _suite(root, f"{policy_id} {title}", timestamp,
                               _policy_properties(info) if info else ())
        failing = by_case.get(policy_id, {})
        seen = set()
        for resource in info.judged if info else ():
            key = (resource[0], resource[3])
            seen.add(key)
            _policy_case(suite, policy_id, resource, failing.get(key, []), counts)
        for key, findings in failing.items():  # findings on resources outside the judged list
            if key not in seen:
                _policy_case(suite, policy_id, names[key], findings, counts)
        _close(suite, counts, totals)

    if report.baseline_snapshot_id or report.drift:
        suite, counts = _suite(root, "drift", timestamp, [
            ("baseline", report.baseline_name or ""),
            ("baseline_snapshot", report.baseline_snapshot_id or "")])
        for item in ordered_drift(report.drift):
            _drift_case(suite, item, counts)
        _close(suite, counts, totals)

    suite, counts = _suite(root, "collection", timestamp)
    for row in scope_rows(report):
        label = "/".join(p for p in (row["provider"], row["account"], row["region"]) if p)
        case = _el(suite, "testcase", classname=f"{TOOL_NAME}.collection", name=label, time="0")
        counts["tests"] += 1
        if row["status"] != "ok":
            _el(case, "error", _scope_errors(report, row), type=row["status"],
                message=f"scope {row['status']}: {row['error'] or ''}")
            counts["errors"] += 1
    _close(suite, counts, totals)
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", "0")
    return root


def _scope_errors(report: ScanReport, row: dict[str, Any]) -> str:
    lines = []
    for e in report.snapshot.errors:
        if (e.provider, e.account) == (row["provider"], row["account"]) and \
                e.region in ("", row["region"]):
            lines.append(f"{e.scope_label()}: {e.code} {e.reason}".strip()
                         + (f"\nhint: {e.hint}" if e.hint else ""))
    return "\n".join(lines)


def render(report: ScanReport) -> str:
    root = to_element(report)
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode", xml_declaration=False)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + text.translate(_INVISIBLE) + "\n"
