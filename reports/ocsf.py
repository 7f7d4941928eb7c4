"""OCSF 1.5 events, built and validated with ``py-ocsf-models``, as one JSON array.

- A policy finding is a **Compliance Finding** (class 2003): the policy is the check, the
  controls it fails are the compliance requirements, status Fail (suppressed findings keep
  Fail and carry the finding status Suppressed with the reason). Security Lake maps Security Hub
  control results to this class.
- A drift item is a **Detection Finding** (class 2004) carrying MITRE ATT&CK (T1562.007 as the
  sub-technique of T1562, tactic TA0005 Defense Evasion), the control-plane operations that make
  such a change, and, from attribution, the actor, the source address and the operation as
  evidence.
- A scope that could not be read is a Compliance Finding with compliance status Warning ("did
  not yield a result due to missing information"), so a SIEM sees the blind spot.

Every event has the cloud profile (provider, account, region). The output is one JSON array
(as Prowler writes ``.ocsf.json``); ``jq -c '.[]'`` turns it into NDJSON for streaming
pipelines. Cloud strings are data: the serialiser escapes them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from py_ocsf_models import OCSF_VERSION
from py_ocsf_models.events.findings.activity_id import ActivityID
from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding
from py_ocsf_models.events.findings.compliance_finding_type_id import ComplianceFindingTypeID
from py_ocsf_models.events.findings.detection_finding import DetectionFinding
from py_ocsf_models.events.findings.detection_finding_type_id import DetectionFindingTypeID
from py_ocsf_models.events.findings.severity_id import SeverityID
from py_ocsf_models.events.findings.status_id import StatusID
from py_ocsf_models.objects.account import Account, TypeID
from py_ocsf_models.objects.analytic import Analytic
from py_ocsf_models.objects.api import API
from py_ocsf_models.objects.check import Check
from py_ocsf_models.objects.cloud import Cloud
from py_ocsf_models.objects.compliance import Compliance
from py_ocsf_models.objects.compliance_status import StatusID as ComplianceStatusID
from py_ocsf_models.objects.evidence_artifacts import EvidenceArtifacts
from py_ocsf_models.objects.finding_info import FindingInformation
from py_ocsf_models.objects.metadata import Metadata
from py_ocsf_models.objects.mitre_attack import MITREAttack, SubTechnique, Tactic, Technique
from py_ocsf_models.objects.product import Product
from py_ocsf_models.objects.remediation import Remediation
from py_ocsf_models.objects.resource_details import ResourceDetails
from py_ocsf_models.objects.user import User
from pydantic import BaseModel, ConfigDict

from reports.json_report import dumps_array, streamed_array
from reports.summary import ordered_drift, ordered_findings
from scanner import TOOL_NAME
from scanner.attack import TACTIC_NAMES, TECHNIQUE_NAMES, TECHNIQUE_TACTICS, technique_url
from scanner.jsonenc import Streamed
from scanner.model import (
    CollectionError,
    DriftItem,
    Effect,
    Finding,
    PolicyInfo,
    ScanReport,
    Severity,
    Snapshot,
    fingerprint,
)

SEVERITY_ID = {Severity.INFO: SeverityID.Informational, Severity.LOW: SeverityID.Low,
               Severity.MEDIUM: SeverityID.Medium, Severity.HIGH: SeverityID.High,
               Severity.CRITICAL: SeverityID.Critical}
CLOUD_NAMES = {"aws": "AWS", "azure": "Azure", "gcp": "GCP"}
# The cloud's unit of tenancy: an AWS account, an Azure subscription, a GCP project.
ACCOUNT_TYPES = {"aws": (TypeID.AWS_Account, "AWS Account"),
                 "azure": (TypeID.Other, "Azure Subscription"),
                 "gcp": (TypeID.Other, "GCP Project")}
# OCSF user type_id: the audit log names a principal without saying whether it is a person,
# an administrator or a system, so: Unknown.
USER_TYPE_UNKNOWN = 0
ANALYTIC_RULE = 1  # OCSF analytic type_id: Rule


# py-ocsf-models leaves the evidence actor and source endpoint out; these follow OCSF 1.5's
# actor and network endpoint objects for the part cloudwall fills.
class Actor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user: User


class NetworkEndpoint(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ip: str


class Evidence(EvidenceArtifacts):
    model_config = ConfigDict(extra="forbid")
    actor: Actor | None = None
    src_endpoint: NetworkEndpoint | None = None


class CloudComplianceFinding(ComplianceFinding):
    """A Compliance Finding with the cloud profile (py-ocsf-models has it on Detection only)."""

    model_config = ConfigDict(extra="forbid")
    class_name: str | None = "Compliance Finding"
    cloud: Cloud


class DriftDetectionFinding(DetectionFinding):
    """A Detection Finding whose evidence carries the actor (declared here, not only on the
    evidence model, so serialisation keeps it)."""

    model_config = ConfigDict(extra="forbid")
    evidences: list[Evidence] | None = None


def _time(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def _product(report: ScanReport) -> Product:
    return Product(name=TOOL_NAME, vendor_name=TOOL_NAME, uid=TOOL_NAME,
                   version=report.tool_version or None)


def _metadata(report: ScanReport, uid: str, event_code: str, labels: list[str]) -> Metadata:
    return Metadata(product=_product(report), version=OCSF_VERSION, profiles=["cloud"],
                    uid=f"{report.snapshot.snapshot_id}/{uid}", event_code=event_code,
                    labels=labels)


def _account(provider: str, account: str, name: str = "") -> Account:
    type_id, type_name = ACCOUNT_TYPES.get(provider, (TypeID.Other, provider))
    return Account(uid=account, name=name or account, type_id=type_id, type=type_name)


def _cloud(snapshot: Snapshot, provider: str, account: str, region: str) -> Cloud:
    names = {(s.provider, s.account): s.name for s in snapshot.scopes if s.name}
    return Cloud(provider=CLOUD_NAMES.get(provider, provider), region=region or None,
                 account=_account(provider, account, names.get((provider, account), "")))



def _attacks(techniques: tuple[str, ...]) -> list[MITREAttack]:
    attacks = []
    for technique in dict.fromkeys(techniques):
        parent = technique.split(".")[0]
        if parent != technique:
            top = Technique(uid=parent, name=TECHNIQUE_NAMES.get(parent, parent),
                            src_url=technique_url(parent))
            full = TECHNIQUE_NAMES.get(technique, technique)
            sub = SubTechnique(uid=technique, name=full.split(": ", 1)[-1],
                               src_url=technique_url(technique))
        else:
            top = Technique(uid=technique, name=TECHNIQUE_NAMES.get(technique, technique),
                            src_url=technique_url(technique))
            sub = None
        for tactic in TECHNIQUE_TACTICS.get(technique, (None,)):
            attacks.append(MITREAttack(
                technique=top, sub_technique=sub,
                tactic=Tactic(uid=tactic, name=TACTIC_NAMES[tactic][1]) if tactic else None))
    return attacks


def _finding_event(report: ScanReport, finding: Finding, info: PolicyInfo | None,
                   kinds: dict[tuple[str, str], str]) -> CloudComplianceFinding:
    snapshot = report.snapshot
    requirements = [f"{fw} {c}" for fw, controls in sorted(finding.compliance.items())
                    for c in controls]
    standards = sorted(finding.compliance)
    data: dict[str, Any] = {"evidence": dict(finding.evidence)}
    if finding.rule:
        data["rule"] = finding.rule.to_dict()
    if finding.asset_id:
        data["asset_id"] = finding.asset_id
    suppression = finding.suppression or {}
    return CloudComplianceFinding(
        metadata=_metadata(report, finding.finding_id, finding.policy_id, ["policy"]),
        activity_id=ActivityID.Create,
        activity_name="Create",
        type_uid=ComplianceFindingTypeID.Create,
        type_name="Compliance Finding: Create",
        time=_time(snapshot.taken_at),
        time_dt=snapshot.taken_at,
        severity_id=SEVERITY_ID[finding.severity],
        severity=SEVERITY_ID[finding.severity].name,
        status_id=StatusID.Suppressed if finding.suppressed else StatusID.New,
        status="Suppressed" if finding.suppressed else "New",
        status_detail=str(suppression.get("reason", "")) or None,
        message=finding.title,
        finding_info=FindingInformation(
            uid=finding.finding_id, title=finding.title,
            desc=(info.rationale if info and info.rationale else finding.title),
            types=["Policy finding"], attacks=_attacks(finding.attack) or None,
            analytic=Analytic(uid=finding.policy_id, name=finding.policy_id,
                              type_id=ANALYTIC_RULE, type="Rule", desc=finding.title)),
        compliance=Compliance(
            control=finding.policy_id, standards=standards or None,
            requirements=requirements or None, status_id=ComplianceStatusID.Fail,
            desc=info.rationale if info and info.rationale else None,
            checks=[Check(uid=finding.policy_id, name=finding.title,
                          severity=finding.severity.value,
                          severity_id=SEVERITY_ID[finding.severity], status="Fail",
                          status_id=ComplianceStatusID.Fail, standards=standards or None)]),
        remediation=Remediation(desc=finding.remediation or finding.title),
        resources=[ResourceDetails(
            uid=finding.resource_id, name=finding.resource_name or None,
            type=kinds.get((finding.provider, finding.resource_id)),
            region=finding.region or None, data=data)],
        cloud=_cloud(snapshot, finding.provider, finding.account, finding.region),
        unmapped={"cloudwall": {"suppression": dict(suppression) if suppression else None}},
    )


def _evidences(item: DriftItem) -> list[Evidence]:
    out = []
    for who in item.attribution:
        if not who.actor and not who.operation:
            continue
        evidence = Evidence(
            name="audit log event",
            actor=Actor(user=User(name=who.actor, uid=who.actor,
                                  type_id=USER_TYPE_UNKNOWN,
                                  account=_account(item.provider, item.account)))
            if who.actor else None,
            src_endpoint=NetworkEndpoint(ip=who.source_address)
            if who.source_address else None,
            api=API(operation=who.operation) if who.operation else None,
            data={"event_id": who.event_id, "time": who.to_dict()["time"]},
        )
        out.append(evidence)
    return out


_DRIFT_REMEDIATION = ("If the change was not planned, revert it and find who made it; if it "
                      "was, accept it into the baseline (cloudwall baseline set NAME --accept "
                      "ID).")


def _drift_event(report: ScanReport, item: DriftItem, kinds: dict[tuple[str, str], str]
                 ) -> DriftDetectionFinding:
    snapshot = report.snapshot
    title = (f"Firewall drift: {item.effect.value} {item.change.value.replace('_', ' ')} on "
             f"{item.resource_name or item.resource_id}")
    unreachable = [a.unavailable_reason for a in item.attribution if a.unavailable_reason]
    return DriftDetectionFinding(
        metadata=_metadata(report, item.drift_id, item.change.value, ["drift"]),
        activity_id=ActivityID.Create,
        activity_name="Create",
        type_uid=DetectionFindingTypeID.Create,
        type_name="Detection Finding: Create",
        time=_time(snapshot.taken_at),
        time_dt=snapshot.taken_at,
        severity_id=SEVERITY_ID[item.severity],
        severity=SEVERITY_ID[item.severity].name,
        status_id=StatusID.New,
        status="New",
        message=item.summary or title,
        finding_info=FindingInformation(
            uid=item.drift_id, title=title, desc=item.summary or title,
            types=["Firewall drift", item.change.value, item.effect.value],
            attacks=_attacks(item.attack) or None,
            data_sources=["cloud firewall configuration", "cloud audit logs"]
            if item.attribution else ["cloud firewall configuration"],
            analytic=Analytic(uid=f"drift/{item.change.value}", name="baseline drift",
                              type_id=ANALYTIC_RULE, type="Rule",
                              desc=item.detection or None)),
        resources=[ResourceDetails(
            uid=item.resource_id, name=item.resource_name or None,
            type=kinds.get((item.provider, item.resource_id))
            or item.details.get("rule_set_kind"),
            region=item.region or None,
            data={"rule_key": item.rule_key,
                  "before": item.before.to_dict() if item.before else None,
                  "after": item.after.to_dict() if item.after else None,
                  "newly_exposed": [dict(n) for n in item.newly_exposed]})],
        evidences=_evidences(item) or None,
        remediation=Remediation(desc=_DRIFT_REMEDIATION),
        cloud=_cloud(snapshot, item.provider, item.account, item.region),
        unmapped={"cloudwall": {
            "effect": item.effect.value, "change": item.change.value,
            "detection": item.detection, "operations": list(item.operations),
            "baseline": {"name": report.baseline_name,
                         "snapshot_id": report.baseline_snapshot_id},
            "attribution_unavailable": unreachable or None,
            "review": item.effect in (Effect.WIDENED, Effect.UNKNOWN)}},
    )


def error_id(error: CollectionError) -> str:
    """A stable id for "this scope (or resource type) could not be read"."""
    return "CWE-" + fingerprint(error.provider, error.account, error.region,
                                error.resource_type or "")


def _error_event(report: ScanReport, error: CollectionError) -> CloudComplianceFinding:
    snapshot = report.snapshot
    title = f"Scope could not be read: {error.scope_label()}"
    detail = f"{error.code} {error.reason}".strip()
    return CloudComplianceFinding(
        metadata=_metadata(report, error_id(error), "collection_error", ["collection"]),
        activity_id=ActivityID.Create,
        activity_name="Create",
        type_uid=ComplianceFindingTypeID.Create,
        type_name="Compliance Finding: Create",
        time=_time(snapshot.taken_at),
        time_dt=snapshot.taken_at,
        # A blind spot, like the drift item an unreadable scope becomes.
        severity_id=SeverityID.Medium,
        severity=SeverityID.Medium.name,
        status_id=StatusID.New,
        status="New",
        status_code=error.code or None,
        status_detail=detail,
        message=title,
        finding_info=FindingInformation(uid=error_id(error), title=title, desc=detail,
                                        types=["Collection error"]),
        compliance=Compliance(status_id=ComplianceStatusID.Warning, desc=detail,
                              control="collection"),
        remediation=Remediation(desc=error.hint or "Grant read access to the scope."),
        resources=[ResourceDetails(uid=error.scope_label(), type=error.resource_type or "scope",
                                   region=error.region or None)],
        cloud=_cloud(snapshot, error.provider, error.account, error.region),
    )


def events(report: ScanReport) -> list[BaseModel]:
    kinds = report.snapshot.resource_kinds()
    infos = {p.policy_id: p for p in report.policies}
    out: list[BaseModel] = [_finding_event(report, f, infos.get(f.policy_id), kinds)
                            for f in ordered_findings(report.findings)]
    out += [_drift_event(report, d, kinds) for d in ordered_drift(report.drift)]
    out += [_error_event(report, e) for e in report.snapshot.errors]
    return out


def to_document(report: ScanReport) -> list[dict[str, Any]]:
    return [e.model_dump(mode="json", exclude_none=True) for e in events(report)]


def render(report: ScanReport) -> bytes:
    return dumps_array(to_document(report))


def stream(report: ScanReport) -> Streamed:
    return streamed_array(to_document(report))
