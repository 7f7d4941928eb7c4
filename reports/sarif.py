"""SARIF 2.1.0 for GitHub code scanning and any SARIF viewer.

One ``rule`` per policy that ran (help = rationale and remediation, ATT&CK and compliance as
tags), one ``result`` per finding with the finding id as its partial fingerprint, so an alert
keeps its identity from run to run. Drift items are results of the ``drift/<change>`` rules.

Where a result is: SARIF viewers and GitHub code scanning want a physical location (a file), and
a cloud resource has none. Each result therefore names a pseudo-file
``cloud/<provider>/<account>/<region>/<resource id>`` (each part percent-encoded, line 1): it
groups alerts per resource, never collides with a real source file, and the logical location
(cloud > account > region > resource > rule) carries the real identity.

Every string from the cloud is data: JSON escaping by the serialiser, and ``[`` ``]`` escaped in
message text so a rule name cannot become a SARIF embedded link.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from reports.json_report import dumps, streamed
from reports.summary import ordered_drift, ordered_findings
from scanner import TOOL_NAME
from scanner.attack import TECHNIQUE, TECHNIQUE_NAMES, technique_url
from scanner.jsonenc import Streamed
from scanner.model import (
    ChangeKind,
    DriftItem,
    Effect,
    Finding,
    PolicyInfo,
    ScanReport,
    Severity,
    utc_timestamp,
)

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
ATTACK_TAXONOMY = "MITRE ATT&CK"
FINDING_FINGERPRINT = "cloudwallFindingId/v1"
DRIFT_FINGERPRINT = "cloudwallDriftId/v1"

# GitHub ranks alerts by the rule's security-severity: 9.0+ critical, 7.0-8.9 high,
# 4.0-6.9 medium, 0.1-3.9 low.
SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5",
                     Severity.LOW: "3.0", Severity.INFO: "0.0"}
LEVEL = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
         Severity.LOW: "note", Severity.INFO: "note"}


def message_text(text: object) -> str:
    """Plain SARIF message text: ``[`` and ``]`` escaped so nothing becomes an embedded link."""
    return str(text).replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]")


def region_part(region: str) -> str:
    return region or "global"


def resource_uri(provider: str, account: str, region: str, resource_id: str) -> str:
    parts = (provider, account, region_part(region), resource_id)
    return "cloud/" + "/".join(quote(p, safe="") for p in parts)


def drift_rule_id(change: ChangeKind) -> str:
    return f"drift/{change.value}"


# GitHub rejects an upload with more than 20 tags on a rule and shows 10; the full control list
# is in the rule's properties.
MAX_TAGS = 10
# GitHub's documented bound on description and message text.
MAX_TEXT = 1024


def _tags(attack: tuple[str, ...], compliance: dict[str, tuple[str, ...]],
          providers: tuple[str, ...]) -> list[str]:
    tags = ["security", "cloud-firewall"]
    tags += [f"external/mitre-attack/{t}" for t in attack]
    tags += [f"compliance/{fw}" for fw in sorted(compliance)]
    tags += list(providers)
    return list(dict.fromkeys(tags))[:MAX_TAGS]


def _text(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _relationships(attack: tuple[str, ...]) -> list[dict[str, Any]]:
    return [{"target": {"id": t, "toolComponent": {"name": ATTACK_TAXONOMY}},
             "kinds": ["relevant"]} for t in attack]


def _help(info: PolicyInfo) -> dict[str, str]:
    remediation = info.remediation
    text = [info.rationale] if info.rationale else []
    markdown = [f"**Why it matters.** {info.rationale}"] if info.rationale else []
    if remediation.get("summary"):
        text.append(f"Remediation: {remediation['summary']}")
        markdown.append(f"**Remediation.** {remediation['summary']}")
    steps = [(label, remediation.get(key, "")) for key, label in
             (("console", "Console"), ("cli", "CLI/Terraform"))]
    for label, step in steps:
        if step:
            text.append(f"{label}: {step}")
            markdown.append(f"- {label}: `{step.replace('`', chr(39))}`")
    if info.compliance:
        controls = "; ".join(f"{fw}: {', '.join(c)}" for fw, c in info.compliance.items())
        text.append(f"Controls: {controls}")
        markdown.append(f"**Controls.** {controls}")
    if info.attack:
        text.append("MITRE ATT&CK: " + ", ".join(info.attack))
        markdown.append("**MITRE ATT&CK.** " + ", ".join(
            f"[{t}]({technique_url(t)})" for t in info.attack))
    return {"text": "\n\n".join(text) or info.title, "markdown": "\n\n".join(markdown)
            or info.title}


def policy_rule(info: PolicyInfo) -> dict[str, Any]:
    return {
        "id": info.policy_id,
        "name": info.policy_id.replace("-", ""),
        "shortDescription": {"text": _text(info.title)},
        "fullDescription": {"text": _text(info.rationale or info.title)},
        "help": _help(info),
        "defaultConfiguration": {"level": LEVEL[info.severity]},
        "relationships": _relationships(info.attack),
        "properties": {
            "severity": info.severity.value,
            "security-severity": SECURITY_SEVERITY[info.severity],
            "precision": "high",
            "problem.severity": "error" if info.severity.rank >= Severity.HIGH.rank
            else "warning",
            "tags": _tags(info.attack, dict(info.compliance), info.providers),
            "compliance": {fw: list(c) for fw, c in info.compliance.items()},
            "attack": list(info.attack),
            "source": info.source,
        },
    }


def _finding_info(finding: Finding) -> PolicyInfo:
    """A rule for a finding whose policy the report does not describe (built without policy
    information): what the finding itself says."""
    return PolicyInfo(finding.policy_id, finding.title, finding.severity,
                      remediation={"summary": finding.remediation}, attack=finding.attack,
                      providers=(finding.provider,))


_DRIFT_HELP = (
    "A change between the baseline and this snapshot, classified by what it admits: widened "
    "(admits traffic the baseline did not), narrowed, neutral or unknown. Widened and unknown "
    f"changes carry MITRE ATT&CK {TECHNIQUE} ({TECHNIQUE_NAMES[TECHNIQUE]}, tactic Defense "
    "Evasion)."
)


def drift_rule(change: ChangeKind) -> dict[str, Any]:
    # No security-severity: one kind of change spans every severity (a widening to the internet
    # is critical, a narrowing informational), so each result carries its own level.
    title = f"Firewall drift: {change.value.replace('_', ' ')}"
    remediation = ("If the change was not planned, revert it and find who made it "
                   "(`--attribute`); if it was, accept it into the baseline with "
                   "`cloudwall baseline set NAME --accept ID`.")
    return {
        "id": drift_rule_id(change),
        "name": "Drift" + "".join(w.capitalize() for w in change.value.split("_")),
        "shortDescription": {"text": title},
        "fullDescription": {"text": _DRIFT_HELP},
        "help": {"text": f"{_DRIFT_HELP}\n\n{remediation}",
                 "markdown": f"{_DRIFT_HELP}\n\n**Remediation.** {remediation}"},
        "defaultConfiguration": {"level": "warning"},
        "relationships": _relationships((TECHNIQUE,)),
        "properties": {"tags": ["security", "cloud-firewall", "drift",
                                f"external/mitre-attack/{TECHNIQUE}"]},
    }


class _LogicalLocations:
    """The run's logical locations as a tree: cloud > account > region > resource > rule."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.index: dict[str, int] = {}

    def _node(self, fqn: str, name: str, kind: str, parent: int | None) -> int:
        if fqn not in self.index:
            entry: dict[str, Any] = {"name": name, "fullyQualifiedName": fqn, "kind": kind,
                                     "index": len(self.entries)}
            if parent is not None:
                entry["parentIndex"] = parent
            self.index[fqn] = len(self.entries)
            self.entries.append(entry)
        return self.index[fqn]

    def add(self, provider: str, account: str, region: str, resource_id: str,
            rule: str | None) -> dict[str, Any]:
        parts = [provider, account, region_part(region), resource_id]
        kinds = ["namespace", "namespace", "namespace", "resource"]
        if rule:
            parts.append(rule)
            kinds.append("member")
        parent = None
        for depth, (name, kind) in enumerate(zip(parts, kinds, strict=True)):
            parent = self._node("/".join(parts[: depth + 1]), name, kind, parent)
        assert parent is not None
        return {"index": parent, "fullyQualifiedName": self.entries[parent]["fullyQualifiedName"]}


def _location(where: _LogicalLocations, provider: str, account: str, region: str,
              resource_id: str, rule: str | None) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": {"uri": resource_uri(provider, account, region, resource_id)},
            "region": {"startLine": 1},
        },
        "logicalLocations": [where.add(provider, account, region, resource_id, rule)],
    }


def _finding_result(finding: Finding, rule_index: int, where: _LogicalLocations
                    ) -> dict[str, Any]:
    rule = finding.rule
    subject = rule.identity() if rule else finding.asset_id
    name = finding.resource_name or finding.resource_id
    text = f"{finding.title}: {finding.provider} {name}"
    if rule:
        text += f" rule {rule.name or rule.native_id or rule.identity()}"
    services = finding.evidence.get("services")
    if services:
        text += f" (reaches {', '.join(map(str, services))})"
    result: dict[str, Any] = {
        "ruleId": finding.policy_id,
        "ruleIndex": rule_index,
        "kind": "fail",
        "level": LEVEL[finding.severity],
        "message": {"text": _text(message_text(text))},
        "locations": [_location(where, finding.provider, finding.account, finding.region,
                                finding.resource_id, subject)],
        "partialFingerprints": {FINDING_FINGERPRINT: finding.finding_id},
        "properties": {
            "severity": finding.severity.value,
            "security-severity": SECURITY_SEVERITY[finding.severity],
            "finding": finding.to_dict(),
        },
    }
    if finding.suppressed:
        entry = finding.suppression or {}
        result["suppressions"] = [{"kind": "external", "status": "accepted",
                                   "justification": str(entry.get("reason", ""))}]
    return result


def _drift_result(item: DriftItem, rule_index: int, where: _LogicalLocations
                  ) -> dict[str, Any]:
    actors = [a.actor for a in item.attribution if a.actor]
    text = item.summary or f"{item.change.value} on {item.resource_name or item.resource_id}"
    text = f"{item.effect.value.capitalize()} {item.change.value.replace('_', ' ')}: {text}"
    if actors:
        text += " (by " + ", ".join(actors) + ")"
    return {
        "ruleId": drift_rule_id(item.change),
        "ruleIndex": rule_index,
        "kind": "fail" if item.effect in (Effect.WIDENED, Effect.UNKNOWN) else "informational",
        "level": LEVEL[item.severity],
        "message": {"text": _text(message_text(text))},
        "locations": [_location(where, item.provider, item.account, item.region,
                                item.resource_id, item.rule_key)],
        "partialFingerprints": {DRIFT_FINGERPRINT: item.drift_id},
        "properties": {
            "severity": item.severity.value,
            "security-severity": SECURITY_SEVERITY[item.severity],
            "drift": item.to_dict(),
        },
    }


def _taxonomy(techniques: set[str]) -> dict[str, Any]:
    taxa = []
    for technique in sorted(techniques):
        taxon: dict[str, Any] = {"id": technique, "helpUri": technique_url(technique)}
        if technique in TECHNIQUE_NAMES:
            taxon["name"] = TECHNIQUE_NAMES[technique]
            taxon["shortDescription"] = {"text": TECHNIQUE_NAMES[technique]}
        taxa.append(taxon)
    return {"name": ATTACK_TAXONOMY, "organization": "MITRE",
            "informationUri": "https://attack.mitre.org/", "taxa": taxa}


def _notifications(report: ScanReport) -> list[dict[str, Any]]:
    out = []
    for error in report.snapshot.errors:
        text = f"{error.scope_label()} could not be read: {error.code} {error.reason}".strip()
        if error.hint:
            text += f" (hint: {error.hint})"
        out.append({"level": "error", "message": {"text": message_text(text)},
                    "properties": {"collectionError": error.to_dict()}})
    return out


def to_document(report: ScanReport) -> dict[str, Any]:
    infos = {p.policy_id: p for p in report.policies}
    findings = ordered_findings(report.findings)
    for finding in findings:
        infos.setdefault(finding.policy_id, _finding_info(finding))
    rules = [policy_rule(infos[pid]) for pid in sorted(infos)]
    rules += [drift_rule(change) for change in ChangeKind]
    rule_index = {rule["id"]: i for i, rule in enumerate(rules)}
    where = _LogicalLocations()
    results = [_finding_result(f, rule_index[f.policy_id], where) for f in findings]
    results += [_drift_result(d, rule_index[drift_rule_id(d.change)], where)
                for d in ordered_drift(report.drift)]
    techniques = {t for info in infos.values() for t in info.attack} | {TECHNIQUE}
    snapshot = report.snapshot
    invocation: dict[str, Any] = {
        # The analysis ran and its results stand; scopes it could not read are error
        # notifications. (GitHub treats an unsuccessful execution as an upload with no results,
        # which would hide every finding of the scopes that were read.)
        "executionSuccessful": True,
        "toolExecutionNotifications": _notifications(report),
    }
    if report.generated_at:
        invocation["endTimeUtc"] = utc_timestamp(report.generated_at)
    version = report.tool_version or None
    driver: dict[str, Any] = {"name": TOOL_NAME, "rules": rules}
    if version:
        driver.update(version=version, semanticVersion=version)
    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            # GitHub takes the part before the last "/" as the analysis category.
            "automationDetails": {"id": f"{TOOL_NAME}/{snapshot.snapshot_id}"},
            "taxonomies": [_taxonomy(techniques)],
            "invocations": [invocation],
            "logicalLocations": where.entries,
            "results": results,
            "columnKind": "unicodeCodePoints",
            "properties": {
                "snapshot": {"id": snapshot.snapshot_id,
                             "taken_at": utc_timestamp(snapshot.taken_at)},
                "baseline": {"name": report.baseline_name,
                             "snapshot_id": report.baseline_snapshot_id}
                if report.baseline_snapshot_id else None,
            },
        }],
    }


def render(report: ScanReport) -> bytes:
    return dumps(to_document(report))


def stream(report: ScanReport) -> Streamed:
    return streamed(to_document(report))
