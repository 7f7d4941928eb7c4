"""A Markdown report a responder can paste into a ticket, titled for what it contains.

The scope and a summary first; with a baseline, every widening with what it opened, before and
after, the ATT&CK technique, the control-plane operations, who did it and the command that
accepts it into that baseline; then the other changes and what could not be compared; then
the exposure (each machine the internet reaches, on which ports, through which rules), the
findings of the current snapshot, the suppressed findings (counted always, listed when the
report holds them) and the scopes that were not collected.

Every string that came from a cloud (names, ids, rule text, actors) is shown as literal code: a
code span (or a fenced block) whose backtick fence is longer than any run of backticks inside,
so no Markdown, HTML or link in it is ever interpreted; in table cells pipes are escaped too.
"""

from __future__ import annotations

import re
import shlex
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from reports.exposure_report import path_text, service_names
from reports.summary import baseline_is_file, ordered_drift, ordered_findings, summary
from reports.text import printable
from scanner import attack
from scanner.drift.describe import (
    describe_rule,
    entry_service_names,
    family_label,
    services_text,
    short_id,
)
from scanner.model import DriftItem, Effect, Rule, ScanReport, Severity, utc_timestamp

_TICKS = re.compile(r"`+")


def code(value: object, cell: bool = False) -> str:
    """``value`` as a literal code span (``cell``: safe inside a table cell)."""
    text = printable(value)
    if not text:
        return "—"
    longest = max((len(m) for m in _TICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith(("`", " ")) or text.endswith(("`", " ")):
        text = f" {text} "
    if cell:
        text = text.replace("|", "\\|")
    return f"{fence}{text}{fence}"


def block(lines: Iterable[str]) -> str:
    """A fenced ``text`` block that no line inside can close."""
    body = [printable(line) for line in lines]
    longest = max((len(m) for line in body for m in _TICKS.findall(line)), default=0)
    fence = "`" * max(3, longest + 1)
    return "\n".join([fence + "text", *body, fence])


def _row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    return [_row(headers), _row(["---"] * len(headers)), *(_row(r) for r in rows)]


def _reachable(entries: Iterable[Mapping[str, Any]]) -> list[str]:
    rows = []
    for e in entries:
        sources = "the whole internet" if e["internet"] else ", ".join(
            code(s, cell=True) for s in e["sources"])
        rows.append([e["direction"], family_label(e["family"]), code(e["what"], cell=True),
                     sources, services_text(entry_service_names(e), 8) or "—"])
    if not rows:
        return []
    return _table(["direction", "family", "traffic", "from / to", "services"], rows)


def _actors(item: DriftItem) -> list[str]:
    if not item.attribution:
        return ["- **Actor:** not looked up (run with `--attribute`)"]
    known = [a for a in item.attribution if not a.unavailable_reason]
    lines = []
    if known:
        lines.append("- **Actor:**")
        lines.append("")
        lines += _table(["actor", "time", "source address", "operation"], [
            [code(a.actor, True), utc_timestamp(a.time) if a.time else "—",
             code(a.source_address or "", True), code(a.operation or "", True)] for a in known])
        lines.append("")
    for a in item.attribution:
        if a.unavailable_reason:
            lines.append(f"- **Actor:** not available: {code(a.unavailable_reason)}")
    return lines


def accept_hint(report: ScanReport, drift_id: str) -> str:
    """The command that accepts one drift item into the baseline this report compared with."""
    name = report.baseline_name or ""
    # The snapshot that holds the change: `latest` may be a later one.
    where = f"--accept {drift_id} --from-snapshot {report.snapshot.snapshot_id}"
    if name and not baseline_is_file(name):
        command = f"cloudwall baseline set {shlex.quote(printable(name))} {where}"
        return f"accept it with {code(command)}"
    command = f"cloudwall baseline set NAME {where}"
    return (f"the baseline was the file {code(name)}: import it (`cloudwall snapshots import`), "
            f"make it a baseline, then accept it with {code(command)}")


def _widening(n: int, item: DriftItem, report: ScanReport) -> list[str]:
    name = code(item.resource_name or item.resource_id)
    out = [f"### {n}. {item.severity.value.upper()} · {item.provider} · "
           f"{item.change.value.replace('_', ' ')} · {name}",
           "",
           f"- **What:** {code(item.summary)}",
           f"- **Resource:** {code(item.resource_id)} (account {code(item.account)}, "
           f"region {code(item.region or 'global')})"]
    if item.details.get("target"):
        out.append(f"- **Attachment:** {code(item.details['target'])}")
    opened = item.details.get("opened") or []
    if opened:
        out += ["- **Now reachable:**", "", *_reachable(opened), ""]
    if item.before is not None or item.after is not None:
        out.append("- **Before / after:**")
        out.append("")
        out.append(block([f"before: {describe_rule(item.before) if item.before else '(none)'}",
                          f"after:  {describe_rule(item.after) if item.after else '(none)'}"]))
        out.append("")
    elif item.details.get("before") is not None or item.details.get("after") is not None:
        out.append("- **Before / after:**")
        out.append("")
        out.append(block([f"before: {item.details.get('before')}",
                          f"after:  {item.details.get('after')}"]))
        out.append("")
    out.append(f"- **Technique:** {attack.TECHNIQUE} {attack.TECHNIQUE_NAME} "
               f"(tactic {attack.TACTIC} Defense Evasion); detection: "
               f"{item.detection or attack.RULE_MODIFICATION}")
    if item.operations:
        out.append("- **Operations that make this change:** "
                   + ", ".join(code(op) for op in item.operations))
    if item.newly_exposed:
        machines = sorted({str(e.get("asset_id")) for e in item.newly_exposed})
        out.append("- **Newly exposed machines:** " + ", ".join(code(m) for m in machines))
    out += _actors(item)
    out.append(f"- **Drift id:** {code(item.drift_id)} ({accept_hint(report, item.drift_id)})")
    return out + [""]


def rule_text(rule: Rule | None) -> str:
    """``sgr-1: allow ingress tcp 22 from 0.0.0.0/0``: the rule's id and what it says."""
    if rule is None:
        return ""
    text = describe_rule(rule)
    return f"{rule.native_id}: {text}" if rule.native_id else text


def title(report: ScanReport) -> str:
    """What the report holds: drift only when there was a baseline to compare with."""
    if report.baseline_snapshot_id:
        return (f"Drift since baseline {code(report.baseline_name or '')}, exposure and "
                "findings")
    return f"Exposure and findings of snapshot {code(report.snapshot.snapshot_id)}"


def _summary(report: ScanReport, drift: list[DriftItem]) -> list[str]:
    s = summary(report)
    scopes = s["scopes"]
    findings = ", ".join(f"{n} {k}" for k, n in s["findings"].items() if n) or "none"
    suppressed = s["suppressed"]
    lines = ["## Summary", "",
             f"- **Scopes:** {scopes['total']} ({scopes['ok']} read, "
             f"{scopes['partial']} partly, {scopes['failed']} not read)",
             f"- **Findings:** {findings}; {suppressed} suppressed "
             f"(accepted exceptions, not counted)",
             f"- **Machines exposed to the internet or a broad range:** {s['exposed_assets']}"
             + (f"; {len(report.exposure_unknown)} undecided (not safe)"
                if report.exposure_unknown else "")]
    if report.baseline_snapshot_id:
        lines.append("- **Drift:** " + (", ".join(f"{n} {k}" for k, n in s["drift"].items())
                                        or "none"))
    lines.append("")
    if drift:
        counts = Counter((d.severity, d.provider, d.effect) for d in drift)
        groups = sorted({(sv, p) for sv, p, _ in counts}, key=lambda g: (-g[0].rank, g[1]))
        lines += _table(["severity", "cloud", *[e.value for e in Effect]], [
            [sv.value.upper(), p, *[str(counts.get((sv, p, e), 0)) for e in Effect]]
            for sv, p in groups])
        lines.append("")
        widenings = [d for d in drift if d.attack]
        lines.append(f"{len(widenings)} of {len(drift)} changes widen what the firewalls admit "
                     f"or could not be judged, and map to MITRE ATT&CK {attack.TECHNIQUE} "
                     f"({attack.TECHNIQUE_NAME}).")
        lines.append("")
    return lines


def _exposure(report: ScanReport) -> list[str]:
    names = {a.asset_id: a.name for a in report.snapshot.assets}
    set_names = {rs.resource_id: rs.name or rs.resource_id for rs in report.snapshot.rule_sets}
    lines = ["## Exposure", ""]
    if report.exposures:
        ordered = sorted(report.exposures, key=lambda e: (
            e.provider, e.asset_id, e.source != "internet", e.family, e.protocol,
            e.ports.intervals))
        lines += _table(["machine", "cloud", "account", "region", "from", "traffic",
                         "services", "admitted by"], [
            [code(names.get(e.asset_id) or short_id(e.asset_id), True), e.provider,
             code(e.account, True), code(e.region or "global", True),
             "the whole internet" if e.source == "internet" else "a broad public range",
             code(f"{e.family} {e.protocol} {e.ports}", True),
             printable(", ".join(service_names(e))).replace("|", "\\|") or "—",
             code(path_text(e.path, set_names), True)] for e in ordered])
    else:
        lines.append("No machine is reachable from the internet or a broad public range.")
    lines.append("")
    if report.exposure_unknown:
        lines += ["Undecided (the snapshot cannot say; not safe):", ""]
        lines += [f"- {code(names.get(a) or a)}: {code(why)}"
                  for a, why in sorted(report.exposure_unknown.items())]
        lines.append("")
    return lines


def _findings(report: ScanReport) -> list[str]:
    findings = ordered_findings(f for f in report.findings if not f.suppressed)
    if not findings:
        return ["## Findings in the current snapshot", "", "None.", ""]
    lines = ["## Findings in the current snapshot", ""]
    lines += _table(["severity", "cloud", "policy", "title", "account", "region", "resource",
                     "rule", "remediation"], [
        [f.severity.value.upper(), f.provider, code(f.policy_id, True), code(f.title, True),
         code(f.account, True), code(f.region or "global", True),
         code(f.resource_name or f.resource_id, True), code(rule_text(f.rule), True),
         code(f.remediation, True)] for f in findings])
    lines.append("")
    return lines


def _suppressed(report: ScanReport) -> list[str]:
    count = summary(report)["suppressed"]
    listed = ordered_findings(f for f in report.findings if f.suppressed)
    lines = [f"## Suppressed findings ({count})", ""]
    if not count:
        return []
    if not listed:
        return lines + [f"{count} findings match a suppression and are not listed (run with "
                        "`--include-suppressed` to list them).", ""]
    lines += _table(["severity", "cloud", "policy", "resource", "reason", "owner", "expires",
                     "id"], [
        [f.severity.value.upper(), f.provider, code(f.policy_id, True),
         code(f.resource_name or f.resource_id, True),
         code((f.suppression or {}).get("reason", ""), True),
         code((f.suppression or {}).get("owner", ""), True),
         code((f.suppression or {}).get("expires", ""), True), code(f.finding_id, True)]
        for f in listed])
    return lines + [""]


def render(report: ScanReport) -> str:
    snap = report.snapshot
    taken_at = utc_timestamp(snap.taken_at)
    drift = ordered_drift(report.drift)
    lines = [f"# {title(report)}", ""]
    if report.baseline_snapshot_id:
        lines.append(f"Baseline {code(report.baseline_name or '')} (snapshot "
                     f"{code(report.baseline_snapshot_id)}) compared with snapshot "
                     f"{code(snap.snapshot_id)} taken {taken_at}.")
    else:
        lines.append(f"Snapshot {code(snap.snapshot_id)} taken {taken_at}; no baseline was "
                     "given, so there is no drift to report.")
    lines.append("")
    lines += _summary(report, drift)
    widenings = [d for d in drift if d.attack]
    if widenings:
        lines += [f"## Widenings ({attack.TECHNIQUE})", ""]
        for n, item in enumerate(widenings, start=1):
            lines += _widening(n, item, report)
    others = [d for d in drift if not d.attack and d.change.value != "scope_unknown"]
    if others:
        lines += ["## Other changes (narrowed or neutral)", ""]
        lines += _table(["severity", "cloud", "effect", "change", "resource", "what", "id"], [
            [d.severity.value.upper(), d.provider, d.effect.value, d.change.value,
             code(d.resource_name or d.resource_id, True), code(d.summary, True),
             code(d.drift_id, True)] for d in others])
        lines.append("")
    unknown = [d for d in drift if d.change.value == "scope_unknown"]
    if unknown:
        lines += ["## Not compared (unknown, not clean)", ""]
        for d in unknown:
            lines.append(f"- {d.severity.value.upper()} {code(d.summary)}")
        lines.append("")
    lines += _exposure(report)
    lines += _findings(report)
    lines += _suppressed(report)
    if snap.errors:
        lines += ["## Not collected (these scopes are unknown, not clean)", ""]
        lines += _table(["scope", "code", "reason", "what to do"], [
            [code(e.scope_label(), True), code(e.code, True), code(e.reason, True),
             code(e.hint, True)] for e in snap.errors])
        lines.append("")
    lines.append(f"_Generated by cloudwall {printable(report.tool_version)}; severities: "
                 + ", ".join(s.value for s in reversed(Severity)) + "._")
    return "\n".join(lines) + "\n"
