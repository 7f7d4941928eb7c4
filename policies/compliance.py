"""Compliance reports: every control of a framework with pass, fail or not assessed, and why.

A control passes only when every policy mapped to it ran, the snapshot covers its cloud, and
every scope of that cloud was read completely; a failed or partial scope makes it *not
assessed* (``scope failed``), never a pass. Suppressed findings do not fail a control but are
listed with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from policies.frameworks import Control, Framework
from policies.policy import Policy
from scanner.model import Finding, Snapshot, utc_timestamp

PASS, FAIL, NOT_ASSESSED = "pass", "fail", "not_assessed"


@dataclass(frozen=True, slots=True)
class ControlResult:
    control: Control
    status: str
    reason: str = ""
    policies: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    suppressed: tuple[Finding, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "control": self.control.control_id,
            "title": self.control.title,
            "status": self.status,
            "reason": self.reason or None,
            "policies": list(self.policies),
            "failing": [failing_item(f) for f in self.findings],
            "suppressed": [failing_item(f) for f in self.suppressed],
        }


def failing_item(finding: Finding) -> dict[str, Any]:
    rule = finding.rule
    # The same keys as a finding in the scan document (``id``); ``rule_key`` is the rule's
    # identity as drift items name it.
    return {
        "id": finding.finding_id,
        "policy_id": finding.policy_id,
        "severity": finding.severity.value,
        "provider": finding.provider,
        "account": finding.account,
        "region": finding.region,
        "resource_id": finding.resource_id,
        "resource_name": finding.resource_name,
        "rule_key": rule.identity() if rule else None,
        "rule_name": (rule.name or rule.native_id or "") if rule else None,
        "asset_id": finding.asset_id,
        "ports": finding.evidence.get("ports"),
        "services": finding.evidence.get("services"),
        "suppression": dict(finding.suppression) if finding.suppression else None,
    }


@dataclass(frozen=True, slots=True)
class ComplianceReport:
    framework: Framework
    snapshot_id: str
    taken_at: str
    results: tuple[ControlResult, ...]
    generated_at: str = ""
    tool_version: str = ""
    scopes: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    # The filters the listed findings were narrowed by (see scanner.filters).
    filters: Mapping[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, int]:
        counts = Counter(r.status for r in self.results)
        return {"controls": len(self.results), PASS: counts.get(PASS, 0),
                FAIL: counts.get(FAIL, 0), NOT_ASSESSED: counts.get(NOT_ASSESSED, 0)}

    def to_dict(self) -> dict[str, Any]:
        """The compliance document: the header every JSON document has, then the framework
        (``framework@version`` is how findings' ``compliance`` keys name it) and controls."""
        from reports.json_report import JSON_SCHEMA_VERSION
        from scanner import TOOL_NAME

        return {
            "schema_version": JSON_SCHEMA_VERSION,
            "kind": "compliance",
            "tool": {"name": TOOL_NAME, "version": self.tool_version},
            "generated_at": self.generated_at or None,
            "snapshot": {"id": self.snapshot_id, "taken_at": self.taken_at,
                         "scopes": list(self.scopes)},
            "filters": dict(self.filters),
            "framework": {"id": self.framework.framework_id, "name": self.framework.name,
                          "version": self.framework.version, "key": self.framework.key},
            "controls": [r.to_dict() for r in self.results],
            "summary": self.summary(),
        }


def _mapped(framework: Framework, control: Control, policies: Iterable[Policy]) -> list[Policy]:
    return [p for p in policies
            if any(ref.framework == framework.framework_id and ref.version == framework.version
                   and ref.control == control.control_id for ref in p.meta.compliance)]


def _scope_problems(snapshot: Snapshot, providers: set[str]) -> list[str]:
    problems = []
    for scope in snapshot.scopes:
        if scope.provider in providers:
            status = snapshot.scope_status(scope)
            if status != "ok":
                problems.append(f"{scope.label()} ({status})")
    return problems


def assess(framework: Framework, snapshot: Snapshot, findings: Sequence[Finding],
           available: Sequence[Policy], selected: Sequence[Policy], *,
           generated_at: str = "", tool_version: str = "") -> ComplianceReport:
    from reports.summary import scope_rows  # the scope rows every document shows

    selected_ids = {p.policy_id for p in selected}
    in_snapshot = {s.provider for s in snapshot.scopes}
    # Findings by the controls of this framework they fail, in one pass.
    by_control: dict[str, list[Finding]] = {}
    for finding in findings:
        for control_id in dict.fromkeys(finding.compliance.get(framework.key, ())):
            by_control.setdefault(control_id, []).append(finding)
    results = []
    for control in framework.controls:
        mapped = _mapped(framework, control, available)
        ids = tuple(p.policy_id for p in mapped)
        if not control.collected:
            results.append(ControlResult(control, NOT_ASSESSED,
                                         f"data not collected: {control.reason}", ids))
            continue
        if not mapped:
            results.append(ControlResult(control, NOT_ASSESSED,
                                         "out of scope: no policy assesses this control"))
            continue
        running = [p for p in mapped if p.policy_id in selected_ids]
        if len(running) < len(mapped):
            skipped = ", ".join(sorted(set(ids) - selected_ids))
            results.append(ControlResult(control, NOT_ASSESSED,
                                         f"out of scope: policies not run ({skipped})", ids))
            continue
        providers = set(framework.providers) & {pr for p in mapped for pr in p.meta.providers}
        if not providers & in_snapshot:
            results.append(ControlResult(
                control, NOT_ASSESSED,
                f"out of scope: the snapshot has no {'/'.join(sorted(providers))} scope", ids))
            continue
        hits = by_control.get(control.control_id, ())
        active = tuple(f for f in hits if not f.suppressed)
        quiet = tuple(f for f in hits if f.suppressed)
        if active:
            results.append(ControlResult(control, FAIL, f"{len(active)} failing", ids, active,
                                         quiet))
            continue
        problems = _scope_problems(snapshot, providers)
        if problems:
            results.append(ControlResult(
                control, NOT_ASSESSED, "scope failed: " + "; ".join(problems)
                + " could not be read completely", ids, (), quiet))
            continue
        reason = f"{len(quiet)} suppressed" if quiet else ""
        results.append(ControlResult(control, PASS, reason, ids, (), quiet))
    return ComplianceReport(
        framework=framework,
        snapshot_id=snapshot.snapshot_id,
        taken_at=utc_timestamp(snapshot.taken_at),
        results=tuple(results),
        generated_at=generated_at,
        tool_version=tool_version,
        scopes=tuple(scope_rows(snapshot)),
    )
