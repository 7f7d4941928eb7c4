"""AWS Security Finding Format (ASFF) for AWS Security Hub.

One finding per active policy finding, drift item and scope that could not be read, each with a
stable ``Id`` (the finding, drift or error id), so importing the next run's findings updates
them instead of adding duplicates. ``GeneratorId`` says what made it: ``cloudwall/policy/<id>``,
``cloudwall/drift/<change>``, ``cloudwall/collection``; ``ProductFields`` carry the cloud, account
and region the finding is about, which is what ``--export security-hub`` uses to tell a finding
that went away (archived) from one in a scope this run did not read (left alone).

Where a finding lives: Security Hub takes findings through the account's default product
(``arn:aws:securityhub:REGION:ACCOUNT:product/ACCOUNT/default``) and only from the account named
in ``AwsAccountId``. The file form (``--format asff``) puts a finding on an AWS resource in that
resource's own account and region, and a finding on Azure or GCP in the first AWS account and
region of the report; ``--export security-hub`` puts every finding in the importing account.
Suppressed findings are left out (one exported earlier is archived by the next export).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reports.json_report import dumps_array, streamed_array
from reports.summary import attribution_text, ordered_drift, ordered_findings
from scanner import TOOL_NAME
from scanner.attack import TECHNIQUE
from scanner.errors import ConfigError
from scanner.jsonenc import Streamed
from scanner.model import (
    CollectionError,
    DriftItem,
    Finding,
    PolicyInfo,
    ScanReport,
    Severity,
    Snapshot,
    fingerprint,
    utc_timestamp,
)

SCHEMA_VERSION = "2018-10-08"
GENERATOR_PREFIX = f"{TOOL_NAME}/"
LABELS = {Severity.INFO: "INFORMATIONAL", Severity.LOW: "LOW", Severity.MEDIUM: "MEDIUM",
          Severity.HIGH: "HIGH", Severity.CRITICAL: "CRITICAL"}
# Security Hub limits (BatchImportFindings rejects a finding beyond them).
MAX_TITLE = 256
MAX_DESCRIPTION = 1024
MAX_FIELD = 1024  # a ProductFields or Details.Other value
MAX_REQUIREMENTS = 32
STANDARDS_TYPE = "Software and Configuration Checks/Industry and Regulatory Standards"
DRIFT_TYPE = f"TTPs/Defense Evasion/{TECHNIQUE}"
# cloudwall resource kinds -> ASFF resource type and the ARN path of an EC2 resource
_AWS_TYPES = {
    "aws_security_group": ("AwsEc2SecurityGroup", "security-group"),
    "aws_network_acl": ("AwsEc2NetworkAcl", "network-acl"),
    "network_interface": ("AwsEc2NetworkInterface", "network-interface"),
    "subnet": ("AwsEc2Subnet", "subnet"),
    "network": ("AwsEc2Vpc", "vpc"),
}


@dataclass(frozen=True, slots=True)
class Home:
    """The Security Hub a finding goes to: the importing account, its region and partition."""

    account: str
    region: str

    @property
    def partition(self) -> str:
        return partition_of(self.region)

    @property
    def product_arn(self) -> str:
        return (f"arn:{self.partition}:securityhub:{self.region}:{self.account}:"
                f"product/{self.account}/default")


def partition_of(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _cut(text: object, limit: int) -> str:
    value = "" if text is None else str(text)
    return value if len(value) <= limit else value[: limit - 1] + "…"



def _resource(provider: str, account: str, region: str, resource_id: str, name: str,
              kind: str | None, details: Mapping[str, object]) -> dict[str, Any]:
    other = {k: _cut(v, MAX_FIELD) for k, v in details.items() if v not in (None, "")}
    other.update(provider=provider, account=account, name=_cut(name, MAX_FIELD))
    other = {k: v for k, v in other.items() if v}
    aws_type = _AWS_TYPES.get(kind or "") if provider == "aws" else None
    if aws_type and region:
        resource_type, path = aws_type
        resource_id = (f"arn:{partition_of(region)}:ec2:{region}:{account}:{path}/"
                       f"{resource_id}")
    else:
        resource_type = "Other"
    resource: dict[str, Any] = {"Type": resource_type, "Id": _cut(resource_id, 512),
                                "Details": {"Other": other}}
    if provider == "aws" and region:
        resource.update(Partition=partition_of(region), Region=region)
    return resource


def _product_fields(kind: str, provider: str, account: str, region: str,
                    snapshot: Snapshot, **extra: object) -> dict[str, str]:
    fields = {"cloudwall/kind": kind, "cloudwall/provider": provider,
              "cloudwall/account": account, "cloudwall/region": region,
              "cloudwall/snapshot": snapshot.snapshot_id}
    fields.update({f"cloudwall/{k}": _cut(v, MAX_FIELD) for k, v in extra.items()
                   if v not in (None, "")})
    return {k: v for k, v in fields.items() if v}


def _base(home: Home, finding_id: str, generator: str, severity: Severity, title: str,
          description: str, types: list[str], observed_at: str, updated_at: str
          ) -> dict[str, Any]:
    label = {"Label": LABELS[severity], "Original": severity.value}
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id,
        "ProductArn": home.product_arn,
        "ProductName": TOOL_NAME,
        "CompanyName": TOOL_NAME,
        "GeneratorId": generator,
        "AwsAccountId": home.account,
        "Region": home.region,
        "Types": types,
        "CreatedAt": observed_at,
        "UpdatedAt": updated_at,
        "FirstObservedAt": observed_at,
        "LastObservedAt": observed_at,
        "Severity": label,
        # Updates change severity and types through these (Security Hub ignores the top-level
        # fields on an update).
        "FindingProviderFields": {"Severity": label, "Types": types},
        "Title": _cut(title, MAX_TITLE),
        "Description": _cut(description or title, MAX_DESCRIPTION),
        "RecordState": "ACTIVE",
    }


def finding_asff(finding: Finding, info: PolicyInfo | None, home: Home, snapshot: Snapshot,
                 kinds: Mapping[tuple[str, str], str], observed_at: str, updated_at: str
                 ) -> dict[str, Any]:
    rule = finding.rule
    description = info.rationale if info and info.rationale else finding.title
    out = _base(home, finding.finding_id, f"{GENERATOR_PREFIX}policy/{finding.policy_id}",
                finding.severity, finding.title, description, [STANDARDS_TYPE], observed_at,
                updated_at)
    details: dict[str, object] = {"rule": rule.identity() if rule else None,
                                  "ruleName": rule.name if rule else None,
                                  "asset": finding.asset_id}
    if rule:
        details["ruleSummary"] = (f"{rule.direction.value} {rule.action.value} {rule.protocol} "
                                  f"{','.join(rule.ports.to_list())} "
                                  f"{' '.join(p.value for p in rule.peers)}")
    out["Resources"] = [_resource(finding.provider, finding.account, finding.region,
                                  finding.resource_id, finding.resource_name,
                                  kinds.get((finding.provider, finding.resource_id)), details)]
    requirements = [f"{fw} {c}" for fw, controls in sorted(finding.compliance.items())
                    for c in controls][:MAX_REQUIREMENTS]
    out["Compliance"] = {"Status": "FAILED"}
    if requirements:
        out["Compliance"]["RelatedRequirements"] = requirements
    if finding.remediation:
        out["Remediation"] = {"Recommendation": {"Text": _cut(finding.remediation,
                                                              MAX_DESCRIPTION)}}
    out["ProductFields"] = _product_fields(
        "finding", finding.provider, finding.account, finding.region, snapshot,
        policy=finding.policy_id, attack=",".join(finding.attack),
        services=",".join(map(str, finding.evidence.get("services") or ())))
    return out


def drift_asff(item: DriftItem, home: Home, report: ScanReport,
               kinds: Mapping[tuple[str, str], str], observed_at: str, updated_at: str
               ) -> dict[str, Any]:
    snapshot = report.snapshot
    title = (f"Firewall drift: {item.effect.value} {item.change.value.replace('_', ' ')} on "
             f"{item.resource_name or item.resource_id}")
    types = [DRIFT_TYPE] if item.attack else [STANDARDS_TYPE]
    out = _base(home, item.drift_id, f"{GENERATOR_PREFIX}drift/{item.change.value}",
                item.severity, title, item.summary, types, observed_at, updated_at)
    out["Resources"] = [_resource(item.provider, item.account, item.region, item.resource_id,
                                  item.resource_name,
                                  kinds.get((item.provider, item.resource_id))
                                  or str(item.details.get("rule_set_kind") or ""),
                                  {"rule": item.rule_key})]
    out["Remediation"] = {"Recommendation": {"Text": (
        "If the change was not planned, revert it and find who made it; if it was, accept it "
        f"into the baseline: cloudwall baseline set NAME --accept {item.drift_id}")}}
    actor = next((a for a in item.attribution if a.actor), None)
    if actor is not None and item.provider == "aws" and actor.operation:
        action: dict[str, Any] = {"Api": actor.operation, "CallerType": "remoteip",
                                  "ServiceName": "ec2.amazonaws.com"}
        if actor.time:
            action["FirstSeen"] = action["LastSeen"] = utc_timestamp(actor.time)
        address = actor.source_address or ""
        if _is_ipv4(address):
            action["RemoteIpDetails"] = {"IpAddressV4": address}
        elif address and not _is_ip(address):  # an AWS service calling on the user's behalf
            action.update(CallerType="domain", DomainDetails={"Domain": address})
        out["Action"] = {"ActionType": "AWS_API_CALL", "AwsApiCallAction": action}
    out["ProductFields"] = _product_fields(
        "drift", item.provider, item.account, item.region, snapshot,
        change=item.change.value, effect=item.effect.value, attack=",".join(item.attack),
        operations=",".join(item.operations), actor=attribution_text(item),
        baseline=report.baseline_name, baselineSnapshot=report.baseline_snapshot_id)
    return out


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_ipv4(text: str) -> bool:
    return _is_ip(text) and ":" not in text


def error_id(error: CollectionError) -> str:
    return "CWE-" + fingerprint(error.provider, error.account, error.region,
                                error.resource_type or "")


def error_asff(error: CollectionError, home: Home, snapshot: Snapshot, observed_at: str,
               updated_at: str) -> dict[str, Any]:
    title = f"Scope could not be read: {error.scope_label()}"
    out = _base(home, error_id(error), f"{GENERATOR_PREFIX}collection", Severity.MEDIUM,
                title, f"{error.code} {error.reason}".strip(), [STANDARDS_TYPE], observed_at,
                updated_at)
    out["Resources"] = [_resource(error.provider, error.account, error.region,
                                  error.scope_label(), "", None,
                                  {"resourceType": error.resource_type, "code": error.code})]
    # NOT_AVAILABLE: the check could not be performed (not a pass).
    out["Compliance"] = {"Status": "NOT_AVAILABLE"}
    if error.hint:
        out["Remediation"] = {"Recommendation": {"Text": _cut(error.hint, MAX_DESCRIPTION)}}
    out["ProductFields"] = _product_fields("collection", error.provider, error.account,
                                           error.region, snapshot,
                                           resourceType=error.resource_type)
    return out


@dataclass(frozen=True, slots=True)
class Item:
    """One thing to send: its id, where it is (provider, account, region) and its ASFF."""

    item_id: str
    provider: str
    account: str
    region: str
    build: Any  # (home, updated_at) -> ASFF dict


def items(report: ScanReport) -> list[Item]:
    """Everything ASFF carries, in report order, each still to be given its home."""
    snapshot = report.snapshot
    kinds = snapshot.resource_kinds()
    infos = {p.policy_id: p for p in report.policies}
    observed = utc_timestamp(snapshot.taken_at)
    out = []
    for f in ordered_findings(report.findings):
        if f.suppressed:
            continue
        out.append(Item(f.finding_id, f.provider, f.account, f.region,
                        lambda home, now, f=f: finding_asff(f, infos.get(f.policy_id), home,
                                                            snapshot, kinds, observed, now)))
    for d in ordered_drift(report.drift):
        out.append(Item(d.drift_id, d.provider, d.account, d.region,
                        lambda home, now, d=d: drift_asff(d, home, report, kinds, observed,
                                                          now)))
    for e in snapshot.errors:
        out.append(Item(error_id(e), e.provider, e.account, e.region,
                        lambda home, now, e=e: error_asff(e, home, snapshot, observed, now)))
    return out


def file_home(report: ScanReport, item: Item) -> Home:
    """Where the file form puts an item: an AWS item in its own account and region, anything
    else in the report's first AWS scope."""
    if item.provider == "aws" and item.region:
        return Home(item.account, item.region)
    aws = sorted((s.account, s.region) for s in report.snapshot.scopes
                 if s.provider == "aws" and s.region)
    if item.provider == "aws":
        same = [scope for scope in aws if scope[0] == item.account]
        if same:
            return Home(*same[0])
    if not aws:
        raise ConfigError(
            "ASFF needs an AWS account and region for findings outside AWS, and this report "
            "has no AWS scope",
            "send them with --export security-hub --security-hub-region REGION (they go to "
            "the importing account)")
    return Home(*aws[0])


def to_document(report: ScanReport) -> list[dict[str, Any]]:
    updated = utc_timestamp(report.generated_at or report.snapshot.taken_at)
    return [item.build(file_home(report, item), updated) for item in items(report)]


def render(report: ScanReport) -> bytes:
    return dumps_array(to_document(report))


def stream(report: ScanReport) -> Streamed:
    return streamed_array(to_document(report))
