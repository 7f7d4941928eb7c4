"""Property-based fuzzing of every cloud's normalizer with payloads derived from the real API
shapes: fields dropped, wrong types, nulls, huge lists and hostile strings, anywhere in the
tree. The only outcomes are model objects and CollectionErrors, never an exception; and a rule
set that comes out has every rule that went in (an item that lost rules is an error instead).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers.aws import normalize_scope as aws_normalize
from providers.azure.normalize import arm_id
from providers.azure.normalize import normalize_scope as azure_normalize
from providers.gcp.common import canonical
from providers.gcp.normalize import normalize_scope as gcp_normalize
from scanner.model import Asset, CollectionError, IpList, Network, RuleSet, Scope, Subnet

HOSTILE = ["\u202e=cmd|' /C calc'!A0", "\x1b[2J\x1b]0;pwned\x07", "", " ", "0.0.0.0/0",
           "-1", "99999", "*", "\x00", "ｆｕｌｌ", "a" * 5000, "../../etc/passwd"]
WRONG = [None, 0, -1, 2**70, 3.5, True, False, "", "x", [], {}, [None], {"": None}]
MODEL = (RuleSet, Asset, Subnet, Network, IpList, CollectionError)
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _children(node: Any) -> list[tuple[Any, Any]]:
    if isinstance(node, dict):
        return [(node, key) for key in node]
    if isinstance(node, list):
        return [(node, index) for index in range(len(node))]
    return []


@st.composite
def mutated(draw, base: dict) -> dict:
    """``base`` with one to three mutations at places drawn anywhere in the tree."""
    payload = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        parent, key, node = None, None, payload
        while True:
            children = _children(node)
            if not children or (parent is not None and draw(st.integers(0, 3)) == 0):
                break
            parent, key = draw(st.sampled_from(children))
            node = parent[key]
        if parent is None:
            continue
        kind = draw(st.sampled_from(["drop", "wrong", "hostile", "huge", "nest"]))
        if kind == "drop" and isinstance(parent, dict):
            del parent[key]
        elif kind == "drop":
            parent.pop(key)
        elif kind == "wrong":
            parent[key] = copy.deepcopy(draw(st.sampled_from(WRONG)))
        elif kind == "hostile":
            parent[key] = draw(st.sampled_from(HOSTILE))
        elif kind == "huge":
            parent[key] = [copy.deepcopy(node)] * 300 if not isinstance(node, list) else \
                node * 50
        else:
            parent[key] = {"properties": node} if draw(st.booleans()) else [node]
    return payload


def _outcome(items: Iterable[Any]) -> list[Any]:
    out = list(items)  # no exception may escape
    for item in out:
        assert isinstance(item, MODEL), type(item)
    return out


def _list(raw: dict, key: str) -> list:
    value = raw.get(key)
    return value if isinstance(value, list) else []


def _rule_sets(out: list[Any]) -> dict[str, RuleSet]:
    return {rs.resource_id: rs for rs in out if isinstance(rs, RuleSet)}


# --- AWS ----------------------------------------------------------------------------------------

AWS_SCOPE = Scope("aws", "123456789012", "us-east-1")
AWS_BASE = {
    "Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16", "IsDefault": False,
              "State": "available", "OwnerId": "123456789012"}],
    "Subnets": [{"SubnetId": "subnet-1", "VpcId": "vpc-1", "CidrBlock": "10.0.1.0/24",
                 "AvailabilityZone": "us-east-1a", "MapPublicIpOnLaunch": True}],
    "RouteTables": [{"RouteTableId": "rtb-1", "VpcId": "vpc-1",
                     "Associations": [{"Main": True}, {"SubnetId": "subnet-1"}],
                     "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1",
                                 "State": "active"}]}],
    "InternetGateways": [{"InternetGatewayId": "igw-1",
                          "Attachments": [{"State": "available", "VpcId": "vpc-1"}]}],
    "SecurityGroups": [{"GroupId": "sg-1", "GroupName": "web", "VpcId": "vpc-1",
                        "Description": "web", "OwnerId": "123456789012",
                        "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                           "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
                        "IpPermissionsEgress": []}],
    "SecurityGroupRules": [
        {"SecurityGroupRuleId": "sgr-1", "GroupId": "sg-1", "IsEgress": False,
         "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIpv4": "0.0.0.0/0"},
        {"SecurityGroupRuleId": "sgr-2", "GroupId": "sg-1", "IsEgress": True,
         "IpProtocol": "-1", "FromPort": -1, "ToPort": -1, "CidrIpv6": "::/0"},
        {"SecurityGroupRuleId": "sgr-3", "GroupId": "sg-1", "IsEgress": False,
         "IpProtocol": "6", "FromPort": 443, "ToPort": 443,
         "ReferencedGroupInfo": {"GroupId": "sg-1", "UserId": "123456789012"}}],
    "NetworkAcls": [{"NetworkAclId": "acl-1", "VpcId": "vpc-1", "IsDefault": True,
                     "Associations": [{"SubnetId": "subnet-1"}],
                     "Entries": [{"RuleNumber": 100, "Protocol": "6", "RuleAction": "allow",
                                  "Egress": False, "CidrBlock": "0.0.0.0/0",
                                  "PortRange": {"From": 22, "To": 22}},
                                 {"RuleNumber": 32767, "Protocol": "-1", "RuleAction": "deny",
                                  "Egress": False, "CidrBlock": "0.0.0.0/0"}]}],
    "NetworkInterfaces": [{"NetworkInterfaceId": "eni-1", "SubnetId": "subnet-1",
                           "VpcId": "vpc-1", "Status": "in-use", "InterfaceType": "interface",
                           "Groups": [{"GroupId": "sg-1"}], "PrivateIpAddress": "10.0.1.5",
                           "Association": {"PublicIp": "203.0.113.5"},
                           "Attachment": {"InstanceId": "i-1", "DeviceIndex": 0},
                           "PrivateIpAddresses": [{"PrivateIpAddress": "10.0.1.5"}]}],
    "Instances": [{"InstanceId": "i-1", "State": {"Name": "running"},
                   "Tags": [{"Key": "Name", "Value": "web-1"}]}],
    "GuardDutyDetectors": {"d1": {"Status": "ENABLED"}},
    "GuardDutyIPSets": {"d1": {"ip1": {"Name": "trusted", "Status": "ACTIVE",
                                       "Location": "s3://b/k", "Format": "TXT"}}},
}


@FUZZ
@given(mutated(AWS_BASE))
def test_aws_normalizer_outcomes(raw):
    out = _outcome(aws_normalize(AWS_SCOPE, raw))
    sets = _rule_sets(out)
    acls = raw.get("NetworkAcls")
    if isinstance(acls, list) and acls and isinstance(acls[0], dict) and "acl-1" in sets:
        assert len(sets["acl-1"].rules) == len(_list(acls[0], "Entries"))
    rows = raw.get("SecurityGroupRules")
    if isinstance(rows, list) and "sg-1" in sets:
        mine = [r for r in rows if isinstance(r, dict) and r.get("GroupId") == "sg-1"]
        if mine:
            assert len(sets["sg-1"].rules) == len(mine)


# --- Azure --------------------------------------------------------------------------------------


def _azure_base() -> dict:
    from tests.providers.azure.azure_estate import SUB, build_estate

    estate = build_estate()
    return copy.deepcopy(estate.resources[SUB])


AZURE_BASE = _azure_base()
AZURE_SCOPE = Scope("azure", "11111111-1111-4111-8111-111111111111", "")


@FUZZ
@given(mutated(AZURE_BASE))
def test_azure_normalizer_outcomes(raw):
    out = _outcome(azure_normalize(AZURE_SCOPE, raw))
    sets = _rule_sets(out)
    for nsg in _list(raw, "networkSecurityGroups"):
        if not isinstance(nsg, dict) or not isinstance(nsg.get("id"), str):
            continue
        rule_set = sets.get(arm_id(nsg["id"]))
        if rule_set is None:
            continue
        props = nsg["properties"]
        assert "securityRules" in props or "defaultSecurityRules" in props
        expected = len(props.get("securityRules") or ()) + \
            len(props.get("defaultSecurityRules") or ())
        assert len(rule_set.rules) == expected  # every rule, or an error for the NSG


# --- GCP ----------------------------------------------------------------------------------------


def _gcp_base() -> dict:
    from tests.servers.gcp_estate import FOLDER_PROD, FOLDER_TEAM, ORG, sample_estate

    estate = sample_estate()
    project = estate.projects["alpha"]
    policies = copy.deepcopy(project.network_policies)
    return {
        "networks": copy.deepcopy(project.networks),
        "firewalls": copy.deepcopy(project.firewalls),
        "networkFirewallPolicies": [p for p in policies if not p.get("region")],
        "regionNetworkFirewallPolicies": [p for p in policies if p.get("region")],
        "hierarchicalFirewallPolicies": copy.deepcopy(estate.hierarchical_policies),
        "ancestry": [ORG, FOLDER_TEAM, FOLDER_PROD],
        "instances": {f"zones/{zone}": {"instances": copy.deepcopy(found)}
                      for zone, found in project.instances.items()},
    }


GCP_BASE = _gcp_base()
GCP_SCOPE = Scope("gcp", "alpha", "")


@FUZZ
@given(mutated(GCP_BASE))
def test_gcp_normalizer_outcomes(raw):
    out = _outcome(gcp_normalize(GCP_SCOPE, raw))
    sets = _rule_sets(out)
    for firewall_set in (rs for rs in sets.values() if rs.resource_id.endswith("/firewalls")):
        network = firewall_set.network
        firewalls = [f for f in _list(raw, "firewalls")
                     if isinstance(f, dict) and isinstance(f.get("network"), str)
                     and canonical(f["network"]) == network]
        named = {r.name for r in firewall_set.rules if not r.is_default}
        assert {f["name"] for f in firewalls} <= named  # every firewall is in its rule set
    for key in ("networkFirewallPolicies", "regionNetworkFirewallPolicies"):
        for policy in _list(raw, key):
            if not isinstance(policy, dict):
                continue
            matching = [rs for rs in sets.values() if rs.name and rs.name in (
                policy.get("shortName"), policy.get("name")) and rs.kind.value ==
                "gcp_network_policy"]
            for rule_set in matching:
                assert len({r.priority for r in rule_set.rules}) == len(
                    {r.get("priority") for r in _list(policy, "rules")})


def test_the_base_payloads_normalize_cleanly():
    for normalize, scope, raw in ((aws_normalize, AWS_SCOPE, AWS_BASE),
                                  (azure_normalize, AZURE_SCOPE, AZURE_BASE),
                                  (gcp_normalize, GCP_SCOPE, GCP_BASE)):
        out = _outcome(normalize(scope, copy.deepcopy(raw)))
        assert not [e for e in out if isinstance(e, CollectionError)], out
        assert _rule_sets(out)
