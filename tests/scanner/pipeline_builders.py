"""A small two-cloud report for filter and gate tests: findings, drift and exposures whose
clouds, accounts, regions, severities, policies, resources and tags are all known."""

from __future__ import annotations

from datetime import datetime, timezone

from scanner.model import (
    Action,
    Asset,
    ChangeKind,
    CollectionError,
    Direction,
    DriftItem,
    Effect,
    Exposure,
    Finding,
    Peer,
    Rule,
    RuleSet,
    RuleSetKind,
    ScanReport,
    Scope,
    Severity,
    Snapshot,
)
from scanner.netmath import PortSet

T0 = datetime(2026, 5, 1, tzinfo=timezone.utc)
AWS = Scope("aws", "111122223333", "us-east-1", "prod")
AWS_EU = Scope("aws", "111122223333", "eu-west-1", "prod")
AZURE = Scope("azure", "sub-1", "", "shop")
SSH = Rule(Direction.INGRESS, Action.ALLOW, "tcp", PortSet.of(22), (Peer.cidr("0.0.0.0/0"),),
           native_id="sgr-1")


def rule_set(scope: Scope, resource_id: str, region: str | None = None, **tags: str) -> RuleSet:
    kind = RuleSetKind.AWS_SECURITY_GROUP if scope.provider == "aws" else RuleSetKind.AZURE_NSG
    return RuleSet(scope.provider, scope.account, region or scope.region, kind, resource_id,
                   resource_id, (SSH,), tags=tags)


def finding(policy: str, severity: Severity, where: RuleSet, *, suppressed: bool = False,
            asset_id: str | None = None) -> Finding:
    return Finding(Finding.make_id(policy, where.resource_id, asset_id or ""), policy, policy,
                   severity, where.provider, where.account, where.region, where.resource_id,
                   where.name, SSH, asset_id=asset_id, suppressed=suppressed,
                   suppression={"reason": "accepted"} if suppressed else None)


def drift(drift_id: str, effect: Effect, severity: Severity, where: RuleSet) -> DriftItem:
    return DriftItem(drift_id, ChangeKind.RULE_ADDED, effect, severity, where.provider,
                     where.account, where.region, where.resource_id, where.name,
                     attack=("T1562.007",) if effect is Effect.WIDENED else ())


WEB = rule_set(AWS, "sg-web", env="prod", team="web")
DEV = rule_set(AWS, "sg-dev", env="dev")
REPORTING = rule_set(AWS_EU, "sg-reporting", env="prod")
NSG = rule_set(AZURE, "nsg-app", region="westeurope", Env="Prod")
GONE = rule_set(AWS, "sg-gone", env="prod")  # only in the baseline
ASSET = Asset("aws", "111122223333", "us-east-1", "aws_network_interface", "eni-web",
              name="web-1", rule_set_ids=("sg-web",), tags={"env": "prod"})
AZ_ASSET = Asset("azure", "sub-1", "westeurope", "azure_network_interface", "nic-app",
                 name="app-1", tags={"Env": "Prod"})


def snapshot(errors: tuple[CollectionError, ...] = ()) -> Snapshot:
    snap = Snapshot.from_items("snap-1", T0, [AWS, AWS_EU, AZURE],
                               [WEB, DEV, REPORTING, NSG, ASSET, AZ_ASSET], ["aws", "azure"])
    from dataclasses import replace

    return replace(snap, errors=errors)


def report(errors: tuple[CollectionError, ...] = ()) -> ScanReport:
    from scanner.filters import tag_index

    base = Snapshot.from_items("snap-0", T0, [AWS], [GONE], ["aws"])
    findings = (
        finding("CW-NET-001", Severity.HIGH, WEB),
        finding("CW-NET-003", Severity.CRITICAL, DEV),
        finding("CW-NET-006", Severity.LOW, REPORTING),
        finding("CW-AZ-002", Severity.MEDIUM, NSG),
        finding("CW-NET-001", Severity.CRITICAL, WEB, suppressed=True, asset_id="eni-web"),
    )
    items = (
        drift("CWD-1", Effect.WIDENED, Severity.CRITICAL, WEB),
        drift("CWD-2", Effect.NARROWED, Severity.INFO, DEV),
        drift("CWD-3", Effect.UNKNOWN, Severity.MEDIUM, NSG),
        drift("CWD-4", Effect.NEUTRAL, Severity.LOW, REPORTING),
        DriftItem("CWD-5", ChangeKind.RULE_SET_DELETED, Effect.WIDENED, Severity.HIGH, "aws",
                  GONE.account, GONE.region, GONE.resource_id, GONE.name),
    )
    exposures = (
        Exposure("eni-web", "aws", "111122223333", "us-east-1", "internet", "ipv4", "tcp",
                 PortSet.of(22), ("ssh",)),
        Exposure("nic-app", "azure", "sub-1", "westeurope", "internet", "ipv4", "tcp",
                 PortSet.of(3389), ("rdp",)),
    )
    snap = snapshot(errors)
    return ScanReport(snap, findings, items, exposures, baseline_name="prod",
                      baseline_snapshot_id="snap-0", tool_version="0.1.0", generated_at=T0,
                      exposure_unknown={"nic-app": "NSG not collected"},
                      suppressed_findings=tuple(f for f in findings if f.suppressed),
                      resource_tags=tag_index(base, snap))
