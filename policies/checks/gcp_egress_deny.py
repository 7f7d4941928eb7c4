"""GCP: a VPC network without an egress deny-all rule (SCC EGRESS_DENY_RULE_NOT_SET)."""

from __future__ import annotations

from policies.findings import network_finding
from policies.registry import check
from scanner.model import Action, Direction
from scanner.netmath import IPV4, PUBLIC_SIZE
from scanner.traffic import rule_space


def _denies_all_egress(rule) -> bool:
    if not (rule.enabled and rule.direction is Direction.EGRESS and rule.action is Action.DENY):
        return False
    if rule.protocol != "all":
        return False
    space = rule_space(rule, IPV4, for_blocking=True)
    grouped = space.grouped(PUBLIC_SIZE[IPV4])
    return any(protocols.is_all() and ports.is_all() for protocols, ports in grouped)


@check(
    id="CW-GCP-002",
    subject="network",
    title="Network has no egress deny rule",
    severity="low",
    providers=["gcp"],
    rationale="GCP allows all egress by an implied rule. Without an explicit low-priority "
              "egress deny for 0.0.0.0/0, any instance can reach any destination, and "
              "exfiltration needs no firewall change at all.",
    remediation={"summary": "Add an egress deny-all rule at a low priority and allow only the "
                            "destinations instances need above it.",
                 "cli": "gcloud compute firewall-rules create deny-all-egress --network=NET "
                        "--direction=EGRESS --action=DENY --rules=all "
                        "--destination-ranges=0.0.0.0/0 --priority=65000"},
    compliance={"gcp-scc": ["EGRESS_DENY_RULE_NOT_SET"], "nist-800-53": ["SC-7(5)"],
                "pci-dss-4.0": ["1.3.2"]},
)
def gcp_egress_deny(ctx, meta):
    rule_sets = ctx.rule_sets_by_id
    for network in ctx.snapshot.networks:
        if network.provider != "gcp":
            continue
        vpc = rule_sets.get(f"{network.network_id}/firewalls")
        if vpc is None:
            continue  # the network's firewall rules were not read: unknown, not clean
        if any(_denies_all_egress(rule) for rule in vpc.rules if not rule.is_default):
            continue
        yield network_finding(meta, network, {"rule_set": vpc.resource_id,
                                              "egress_rules": sum(
                                                  1 for r in vpc.rules
                                                  if r.direction is Direction.EGRESS
                                                  and not r.is_default)})
