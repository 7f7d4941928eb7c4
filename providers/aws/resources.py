"""What cloudwall reads from AWS, and the read-only IAM actions each read needs.

The single table the fetch half, the collection-error hints and the README's IAM policy come
from, so a new call cannot be added without its permission being named.
"""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Resource:
    """One bulk, paginated read per scope: ``raw[name] = all pages of result_key``."""

    name: str  # key in the raw payload handed to the normalizer
    service: str
    operation: str  # boto3 method / paginator name
    result_key: str
    action: str  # the IAM action this call needs
    page_size: int


EC2_RESOURCES: tuple[Resource, ...] = (
    Resource("Vpcs", "ec2", "describe_vpcs", "Vpcs", "ec2:DescribeVpcs", 1000),
    Resource("Subnets", "ec2", "describe_subnets", "Subnets", "ec2:DescribeSubnets", 1000),
    Resource("RouteTables", "ec2", "describe_route_tables", "RouteTables",
             "ec2:DescribeRouteTables", 100),
    Resource("InternetGateways", "ec2", "describe_internet_gateways", "InternetGateways",
             "ec2:DescribeInternetGateways", 1000),
    Resource("SecurityGroups", "ec2", "describe_security_groups", "SecurityGroups",
             "ec2:DescribeSecurityGroups", 1000),
    Resource("SecurityGroupRules", "ec2", "describe_security_group_rules", "SecurityGroupRules",
             "ec2:DescribeSecurityGroupRules", 1000),
    Resource("NetworkAcls", "ec2", "describe_network_acls", "NetworkAcls",
             "ec2:DescribeNetworkAcls", 1000),
    Resource("NetworkInterfaces", "ec2", "describe_network_interfaces", "NetworkInterfaces",
             "ec2:DescribeNetworkInterfaces", 1000),
    # Reservations are flattened into their instances.
    Resource("Instances", "ec2", "describe_instances", "Reservations",
             "ec2:DescribeInstances", 1000),
    Resource("ManagedPrefixLists", "ec2", "describe_managed_prefix_lists", "PrefixLists",
             "ec2:DescribeManagedPrefixLists", 100),
)
PREFIX_LIST_ENTRIES = Resource("ManagedPrefixListEntries", "ec2",
                               "get_managed_prefix_list_entries", "Entries",
                               "ec2:GetManagedPrefixListEntries", 100)
GUARDDUTY_DETECTORS = Resource("GuardDutyDetectors", "guardduty", "list_detectors",
                               "DetectorIds", "guardduty:ListDetectors", 50)
GUARDDUTY_IP_SETS = Resource("GuardDutyIPSets", "guardduty", "list_ip_sets", "IpSetIds",
                             "guardduty:ListIPSets", 50)
GUARDDUTY_THREAT_SETS = Resource("GuardDutyThreatIntelSets", "guardduty",
                                 "list_threat_intel_sets", "ThreatIntelSetIds",
                                 "guardduty:ListThreatIntelSets", 50)

# The per-item reads that follow a list call, keyed by the list's raw name.
DETAIL_ACTIONS = {
    "GuardDutyDetectors": "guardduty:GetDetector",
    "GuardDutyIPSets": "guardduty:GetIPSet",
    "GuardDutyThreatIntelSets": "guardduty:GetThreatIntelSet",
}

# Scope discovery and attribution.
DISCOVERY_ACTIONS = (
    "sts:GetCallerIdentity",
    "ec2:DescribeRegions",
    "iam:ListAccountAliases",
    "sts:AssumeRole",  # --role-arn / --org-role, on the target roles
    "organizations:ListAccounts",  # --org-role, in the management or delegated admin account
)
AUDIT_ACTIONS = ("cloudtrail:LookupEvents",)


def all_actions() -> list[str]:
    actions = [r.action for r in EC2_RESOURCES]
    actions += [PREFIX_LIST_ENTRIES.action]
    for resource in (GUARDDUTY_DETECTORS, GUARDDUTY_IP_SETS, GUARDDUTY_THREAT_SETS):
        actions += [resource.action, DETAIL_ACTIONS[resource.name]]
    actions += list(DISCOVERY_ACTIONS) + list(AUDIT_ACTIONS)
    return sorted(dict.fromkeys(actions))


def iam_policy() -> str:
    """The read-only policy document a user can paste (the README prints this)."""
    document = {
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "CloudwallReadOnly",
            "Effect": "Allow",
            "Action": all_actions(),
            "Resource": "*",
        }],
    }
    return json.dumps(document, indent=2)
