"""An ATT&CK Navigator layer (layer format 4.5, enterprise-attack): where the estate was impaired.

Each technique a drift item or an active finding carries is scored by how much evidence it has
(drift items plus findings); T1562.007, which every widening carries, normally leads. The
comment says what the evidence is, the technique's metadata lists each drift id and finding id,
and a link opens the technique on attack.mitre.org. Scopes that could not be read are listed in
the layer's metadata: an empty layer over an unread estate is not a clean one.
"""

from __future__ import annotations

from typing import Any

from reports.json_report import dumps, streamed
from reports.summary import attribution_text, ordered_drift, ordered_findings
from scanner import TOOL_NAME
from scanner.attack import (
    TACTIC_NAMES,
    TECHNIQUE,
    TECHNIQUE_NAMES,
    TECHNIQUE_TACTICS,
    technique_url,
)
from scanner.jsonenc import Streamed
from scanner.model import DriftItem, Finding, ScanReport, utc_timestamp

LAYER_VERSION = "4.5"
NAVIGATOR_VERSION = "5.2.0"
ATTACK_VERSION = "18"
DOMAIN = "enterprise-attack"
# Items listed per technique in its metadata; the comment and score count every one.
MAX_LISTED = 200
LOW_COLOR, HIGH_COLOR = "#ffe766", "#ff6666"


def _drift_line(item: DriftItem) -> str:
    line = (f"{item.severity.value} {item.effect.value} {item.change.value} {item.provider} "
            f"{item.resource_name or item.resource_id}: {item.summary}")
    who = attribution_text(item)
    return f"{line} (actor: {who})" if who else line


def _finding_line(finding: Finding) -> str:
    rule = finding.rule
    subject = f" rule {rule.name or rule.native_id or rule.identity()}" if rule else ""
    return (f"{finding.severity.value} {finding.policy_id} {finding.provider} "
            f"{finding.resource_name or finding.resource_id}{subject} ({finding.finding_id})")


def _comment(drift: list[DriftItem], findings: list[Finding]) -> str:
    parts = []
    if drift:
        kinds: dict[str, int] = {}
        for item in drift:
            key = f"{item.effect.value} {item.change.value}"
            kinds[key] = kinds.get(key, 0) + 1
        actors = sorted({a.actor for item in drift for a in item.attribution if a.actor})
        text = f"{len(drift)} drift item(s): " + ", ".join(f"{n} {k}" for k, n in kinds.items())
        if actors:
            text += "; actors: " + ", ".join(actors)
        parts.append(text)
    if findings:
        policies: dict[str, int] = {}
        for finding in findings:
            policies[finding.policy_id] = policies.get(finding.policy_id, 0) + 1
        parts.append(f"{len(findings)} finding(s): "
                     + ", ".join(f"{pid} x{n}" for pid, n in sorted(policies.items())))
    return ". ".join(parts) + "."


def _metadata(drift: list[DriftItem], findings: list[Finding]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = []
    for item in drift[:MAX_LISTED]:
        entries.append({"name": item.drift_id, "value": _drift_line(item)})
    if len(drift) > MAX_LISTED:
        entries.append({"name": "more drift", "value": str(len(drift) - MAX_LISTED)})
    if drift and findings:
        entries.append({"divider": True})
    for finding in findings[:MAX_LISTED]:
        entries.append({"name": finding.finding_id, "value": _finding_line(finding)})
    if len(findings) > MAX_LISTED:
        entries.append({"name": "more findings", "value": str(len(findings) - MAX_LISTED)})
    return entries


def _evidence(report: ScanReport) -> dict[str, tuple[list[DriftItem], list[Finding]]]:
    by_technique: dict[str, tuple[list[DriftItem], list[Finding]]] = {}
    for item in ordered_drift(report.drift):
        for technique in dict.fromkeys(item.attack):
            by_technique.setdefault(technique, ([], []))[0].append(item)
    for finding in ordered_findings(f for f in report.findings if not f.suppressed):
        for technique in dict.fromkeys(finding.attack):
            by_technique.setdefault(technique, ([], []))[1].append(finding)
    return by_technique


def techniques(report: ScanReport) -> list[dict[str, Any]]:
    entries = []
    evidence = _evidence(report)
    # Most evidence first; T1562.007 ahead of a tie.
    order = sorted(evidence, key=lambda t: (-sum(map(len, evidence[t])), t != TECHNIQUE, t))
    for technique in order:
        drift, findings = evidence[technique]
        base = {
            "techniqueID": technique,
            "score": len(drift) + len(findings),
            "comment": _comment(drift, findings),
            "enabled": True,
            "metadata": _metadata(drift, findings),
            "links": [{"label": f"ATT&CK {technique} "
                       f"{TECHNIQUE_NAMES.get(technique, '')}".strip(),
                       "url": technique_url(technique)}],
            "showSubtechniques": False,
        }
        tactics = TECHNIQUE_TACTICS.get(technique)
        if not tactics:  # unknown here: the Navigator shows it under every tactic it has
            entries.append(base)
            continue
        for tactic in tactics:
            entries.append({**base, "tactic": TACTIC_NAMES[tactic][0]})
    return entries


def to_document(report: ScanReport) -> dict[str, Any]:
    snapshot = report.snapshot
    entries = techniques(report)
    top = max((e["score"] for e in entries), default=0)
    drift_count = sum(1 for d in report.drift if d.attack)
    finding_count = sum(1 for f in report.findings if not f.suppressed and f.attack)
    description = (f"{TOOL_NAME}: ATT&CK techniques evidenced by {drift_count} drift item(s)"
                   + (f" against baseline {report.baseline_name}" if report.baseline_name else "")
                   + f" and {finding_count} finding(s) in snapshot {snapshot.snapshot_id} "
                   f"taken {utc_timestamp(snapshot.taken_at)}; a score counts the evidence.")
    if snapshot.errors:
        description += (f" INCOMPLETE: {len(snapshot.errors)} scope(s) could not be read; "
                        "see the layer metadata.")
    metadata: list[dict[str, Any]] = [
        {"name": "snapshot", "value": snapshot.snapshot_id},
        {"name": "taken_at", "value": utc_timestamp(snapshot.taken_at)},
    ]
    if report.baseline_snapshot_id:
        metadata += [{"name": "baseline", "value": report.baseline_name or ""},
                     {"name": "baseline_snapshot", "value": report.baseline_snapshot_id}]
    if report.generated_at:
        metadata.append({"name": "generated_at", "value": utc_timestamp(report.generated_at)})
    if snapshot.errors:
        metadata.append({"divider": True})
        for error in snapshot.errors:
            metadata.append({"name": "not read",
                             "value": f"{error.scope_label()}: {error.code} {error.reason}"
                             .strip()})
    return {
        "name": f"{TOOL_NAME} {snapshot.snapshot_id}",
        "versions": {"attack": ATTACK_VERSION, "navigator": NAVIGATOR_VERSION,
                     "layer": LAYER_VERSION},
        "domain": DOMAIN,
        "description": description,
        "sorting": 3,
        "layout": {"layout": "side", "showID": True, "showName": True,
                   "showAggregateScores": True, "countUnscored": False,
                   "aggregateFunction": "max", "expandedSubtechniques": "annotated"},
        "hideDisabled": False,
        "techniques": entries,
        "gradient": {"colors": [LOW_COLOR, HIGH_COLOR], "minValue": 0,
                     "maxValue": max(top, 1)},
        "legendItems": [{"label": "some evidence", "color": LOW_COLOR},
                        {"label": "most evidence", "color": HIGH_COLOR}],
        "showTacticRowBackground": False,
        "tacticRowBackground": "#dddddd",
        "selectTechniquesAcrossTactics": True,
        "selectSubtechniquesWithParent": False,
        "selectVisibleTechniques": False,
        "metadata": metadata,
        "links": [{"label": f"ATT&CK {TECHNIQUE} {TECHNIQUE_NAMES[TECHNIQUE]}",
                   "url": technique_url(TECHNIQUE)}],
    }


def render(report: ScanReport) -> bytes:
    return dumps(to_document(report))


def stream(report: ScanReport) -> Streamed:
    return streamed(to_document(report))
