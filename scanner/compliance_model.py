"""The compliance report as data: frameworks, their controls, and each control judged.

``policies.compliance.assess`` computes a ``ComplianceReport``; reporters render it and depend on
this module only. One report holds any number of frameworks (``--framework all`` or a list),
all judged on the same snapshot with the same policies.

A control is ``pass``, ``fail`` or ``not_assessed`` (with why). Below each assessed control sits
one ``ResourceResult`` per resource it was judged on (the rows auditors import): ``pass``,
``fail``, ``suppressed`` (failing, but an accepted exception) or ``not_assessed`` (the resource
lies in a scope that could not be read completely).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scanner.model import Finding

PASS, FAIL, NOT_ASSESSED, SUPPRESSED = "pass", "fail", "not_assessed", "suppressed"
CONTROL_STATUSES = (PASS, FAIL, NOT_ASSESSED)
RESOURCE_STATUSES = (PASS, FAIL, SUPPRESSED, NOT_ASSESSED)

COMPLIANCE_SCHEMA_VERSION = 2


def _tuple(items: Iterable[Any] | None) -> tuple:
    return tuple(items or ())


@dataclass(frozen=True, slots=True)
class Control:
    control_id: str
    title: str
    collected: bool = True
    reason: str = ""  # why not assessed, for controls whose data is not collected

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.control_id, "title": self.title, "collected": self.collected,
                "reason": self.reason or None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Control:
        return cls(data["id"], data.get("title", ""), data.get("collected", True),
                   data.get("reason") or "")


@dataclass(frozen=True, slots=True)
class Framework:
    """A framework's controls. ``custom``: an ``x-`` framework of a user's pack, whose controls
    are the ids its policies name (no titles are known for them)."""

    framework_id: str
    name: str
    version: str
    providers: tuple[str, ...]
    controls: tuple[Control, ...]
    custom: bool = False

    @property
    def key(self) -> str:
        """How findings name the framework: ``cis-aws@3.0.0``."""
        return f"{self.framework_id}@{self.version}"

    def control(self, control_id: str) -> Control | None:
        return next((c for c in self.controls if c.control_id == control_id), None)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.framework_id, "name": self.name, "version": self.version,
                "key": self.key, "providers": list(self.providers), "custom": self.custom}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any],
                  controls: Iterable[Control] = ()) -> Framework:
        return cls(data["id"], data.get("name", data["id"]), data.get("version", ""),
                   _tuple(data.get("providers")), tuple(controls), data.get("custom", False))


def failing_item(finding: Finding) -> dict[str, Any]:
    """A finding as a compliance report lists it: exactly the keys of a finding in the scan
    document (``id``, ``rule`` as the rule itself, ...), plus ``rule_key`` (the rule's identity,
    as drift items name it), ``rule_name``, ``ports`` and ``services`` for auditors."""
    rule = finding.rule
    return {
        **finding.to_dict(),
        "rule_key": rule.identity() if rule else None,
        "rule_name": (rule.name or rule.native_id or "") if rule else None,
        "ports": finding.evidence.get("ports"),
        "services": finding.evidence.get("services"),
    }


def finding_from_item(data: Mapping[str, Any]) -> Finding:
    return Finding.from_dict(data)


@dataclass(frozen=True, slots=True)
class ResourceResult:
    """One control judged on one resource (a rule set, machine, subnet, network or IP list)."""

    provider: str
    account: str
    region: str
    resource_id: str
    resource_name: str
    kind: str
    status: str  # pass | fail | suppressed | not_assessed
    reason: str = ""
    finding_ids: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"provider": self.provider, "account": self.account, "region": self.region,
                "resource_id": self.resource_id, "resource_name": self.resource_name,
                "kind": self.kind, "status": self.status, "reason": self.reason or None,
                "finding_ids": list(self.finding_ids)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResourceResult:
        return cls(data["provider"], data["account"], data.get("region", ""),
                   data["resource_id"], data.get("resource_name", ""), data.get("kind", ""),
                   data["status"], data.get("reason") or "", _tuple(data.get("finding_ids")))


@dataclass(frozen=True, slots=True)
class ControlResult:
    control: Control
    status: str  # pass | fail | not_assessed
    reason: str = ""
    policies: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()  # failing, not suppressed
    suppressed: tuple[Finding, ...] = ()
    resources: tuple[ResourceResult, ...] = ()  # every resource the control was judged on
    # Scopes of the control's clouds not read completely: {provider, account, region, status}.
    unread_scopes: tuple[Mapping[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "control": self.control.control_id,
            "title": self.control.title,
            "collected": self.control.collected,
            "control_reason": self.control.reason or None,
            "status": self.status,
            "reason": self.reason or None,
            "policies": list(self.policies),
            "failing": [failing_item(f) for f in self.findings],
            "suppressed": [failing_item(f) for f in self.suppressed],
            "resources": [r.to_dict() for r in self.resources],
            "unread_scopes": [dict(s) for s in self.unread_scopes],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ControlResult:
        control = Control(data["control"], data.get("title", ""), data.get("collected", True),
                          data.get("control_reason") or "")
        return cls(
            control=control,
            status=data["status"],
            reason=data.get("reason") or "",
            policies=_tuple(data.get("policies")),
            findings=tuple(finding_from_item(f) for f in data.get("failing", ())),
            suppressed=tuple(finding_from_item(f) for f in data.get("suppressed", ())),
            resources=tuple(ResourceResult.from_dict(r) for r in data.get("resources", ())),
            unread_scopes=tuple(dict(s) for s in data.get("unread_scopes", ())),
        )


def _counts(results: Iterable[ControlResult]) -> dict[str, int]:
    results = list(results)
    counts = Counter(r.status for r in results)
    return {"controls": len(results), **{s: counts.get(s, 0) for s in CONTROL_STATUSES}}


@dataclass(frozen=True, slots=True)
class FrameworkResult:
    """One framework's controls, each judged."""

    framework: Framework
    results: tuple[ControlResult, ...]

    def summary(self) -> dict[str, int]:
        return _counts(self.results)

    def to_dict(self) -> dict[str, Any]:
        return {**self.framework.to_dict(), "summary": self.summary(),
                "controls": [r.to_dict() for r in self.results]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FrameworkResult:
        results = tuple(ControlResult.from_dict(c) for c in data.get("controls", ()))
        return cls(Framework.from_dict(data, (r.control for r in results)), results)


@dataclass(frozen=True, slots=True)
class ComplianceReport:
    """Every framework asked for, judged on one snapshot."""

    snapshot_id: str
    taken_at: str  # ISO 8601 UTC, as every report writes it
    frameworks: tuple[FrameworkResult, ...]
    generated_at: str = ""
    tool_version: str = ""
    scopes: tuple[Mapping[str, Any], ...] = ()  # each scope with its status (ok|partial|failed)
    # The filters the listed findings were narrowed by (scanner.filters); empty for none.
    filters: Mapping[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return all(s.get("status") == "ok" for s in self.scopes)

    def suppressed_findings(self) -> list[Finding]:
        """Every suppressed finding the report lists, once (one may map to many controls)."""
        seen: dict[str, Finding] = {}
        for fw in self.frameworks:
            for result in fw.results:
                for finding in result.suppressed:
                    seen.setdefault(finding.finding_id, finding)
        return list(seen.values())

    def summary(self) -> dict[str, int]:
        counts = _counts(r for fw in self.frameworks for r in fw.results)
        return {"frameworks": len(self.frameworks), **counts,
                "suppressed": len(self.suppressed_findings())}

    def to_dict(self) -> dict[str, Any]:
        from scanner import TOOL_NAME

        return {
            "schema_version": COMPLIANCE_SCHEMA_VERSION,
            "kind": "compliance",
            "tool": {"name": TOOL_NAME, "version": self.tool_version or None},
            "generated_at": self.generated_at or None,
            "snapshot": {"id": self.snapshot_id, "taken_at": self.taken_at,
                         "scopes": [dict(s) for s in self.scopes]},
            "filters": dict(self.filters),
            "frameworks": [fw.to_dict() for fw in self.frameworks],
            "summary": self.summary(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ComplianceReport:
        snapshot = data["snapshot"]
        return cls(
            snapshot_id=snapshot["id"],
            taken_at=snapshot.get("taken_at", ""),
            frameworks=tuple(FrameworkResult.from_dict(f) for f in data.get("frameworks", ())),
            generated_at=data.get("generated_at") or "",
            tool_version=(data.get("tool") or {}).get("version") or "",
            scopes=tuple(dict(s) for s in snapshot.get("scopes", ())),
            filters=dict(data.get("filters") or {}),
        )
