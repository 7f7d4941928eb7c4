"""Security group rules are parsed once: from DescribeSecurityGroupRules (the rows carry the rule
ids drift keys rules by), while DescribeSecurityGroups answers lose their IpPermissions before
boto3 parses them. Real boto3 over HTTP against moto and the stub."""

from __future__ import annotations

import boto3
import pytest

from providers.aws import AwsProvider, normalize_scope
from providers.aws.fetch import _PERMISSIONS, fetch_scope
from providers.base import ProviderSettings
from scanner.model import RuleSet

REGION = "us-east-1"


def _read(region: str = REGION):
    provider = AwsProvider(ProviderSettings(regions=(region,), max_retries=0))
    scope = next(iter(provider.discover_scopes()))
    clients = provider.accounts()[scope.account].clients
    raw, errors = fetch_scope(clients, scope)
    return scope, raw, errors, clients


def _rule_sets(scope, raw) -> dict[str, RuleSet]:
    return {item.resource_id: item for item in normalize_scope(scope, raw)
            if isinstance(item, RuleSet)}


def _estate() -> dict[str, str]:
    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    web = ec2.create_security_group(GroupName="web", Description="d <ipPermissions>",
                                    VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=web, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "</ipPermissions> odd"}]},
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "UserIdGroupPairs": [{"GroupId": web}]}])
    # A group with no rules at all: no row names it.
    empty = ec2.create_security_group(GroupName="empty", Description="none",
                                      VpcId=vpc)["GroupId"]
    ec2.revoke_security_group_egress(GroupId=empty, IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    return {"vpc": vpc, "web": web, "empty": empty}


def test_rules_come_from_the_rows_and_the_groups_keep_everything_else(aws):
    ids = _estate()
    scope, raw, errors, clients = _read()
    assert errors == []
    groups = {g["GroupId"]: g for g in raw["SecurityGroups"]}
    web = groups[ids["web"]]
    assert "IpPermissions" not in web and "IpPermissionsEgress" not in web
    assert (web["GroupName"], web["Description"], web["VpcId"]) == ("web", "d <ipPermissions>",
                                                                    ids["vpc"])
    # the group no row names was read again whole (a trimmed answer has no IpPermissions)
    assert groups[ids["empty"]]["IpPermissions"] == []
    sets = _rule_sets(scope, raw)
    rules = sets[ids["web"]].rules
    assert len(rules) == 3 and all(r.native_id.startswith("sgr-") for r in rules)
    assert {r.description for r in rules} >= {"</ipPermissions> odd"}
    assert sets[ids["empty"]].rules == ()
    # the trimming ends with the read: the client answers whole again
    again = clients("ec2", REGION).describe_security_groups(GroupIds=[ids["web"]])
    assert len(again["SecurityGroups"][0]["IpPermissions"]) == 2


def test_same_model_as_reading_the_groups_whole(aws):
    ids = _estate()
    scope, raw, _, clients = _read()
    whole = dict(raw)
    pages = clients("ec2", REGION).get_paginator("describe_security_groups").paginate()
    whole["SecurityGroups"] = [g for page in pages for g in page["SecurityGroups"]]
    assert "IpPermissions" in {k for g in whole["SecurityGroups"] for k in g}
    assert _rule_sets(scope, raw) == _rule_sets(scope, whole)
    assert ids["web"] in _rule_sets(scope, raw)


def test_without_the_rows_the_groups_are_read_whole(aws):
    ids = _estate()
    aws.fail("ec2", "UnauthorizedOperation", action="DescribeSecurityGroupRules")
    scope, raw, errors, _ = _read()
    assert [e.resource_type for e in errors] == ["SecurityGroupRules"]
    web = {g["GroupId"]: g for g in raw["SecurityGroups"]}[ids["web"]]
    assert len(web["IpPermissions"]) == 2
    rules = _rule_sets(scope, raw)[ids["web"]].rules
    assert len(rules) == 3 and all(r.native_id is None for r in rules)


def test_a_group_missing_from_the_rows_keeps_its_rules(aws):
    """A group created between the two reads has rules but no rows: read again whole."""
    aws.ec2_estate[("123456789012", REGION)] = {
        "SecurityGroups": [
            {"GroupId": "sg-1", "GroupName": "a", "VpcId": "vpc-1", "OwnerId": "123456789012",
             "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
             "IpPermissionsEgress": []},
            {"GroupId": "sg-2", "GroupName": "late", "VpcId": "vpc-1",
             "OwnerId": "123456789012",
             "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389,
                                "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
             "IpPermissionsEgress": []}],
        "SecurityGroupRules": [
            {"SecurityGroupRuleId": "sgr-1", "GroupId": "sg-1", "GroupOwnerId": "123456789012",
             "IsEgress": False, "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
             "CidrIpv4": "0.0.0.0/0"}],
    }
    scope, raw, errors, _ = _read()
    assert errors == []
    sets = _rule_sets(scope, raw)
    assert [(r.native_id, str(r.ports)) for r in sets["sg-1"].rules] == [("sgr-1", "22")]
    late = sets["sg-2"].rules
    assert [(r.native_id, str(r.ports), r.peers[0].value) for r in late] == [
        (None, "3389", "0.0.0.0/0")]


@pytest.mark.parametrize(("body", "expected"), [
    (b"<item><groupId>sg-1</groupId><ipPermissions><item><a>1</a></item></ipPermissions>"
     b"<ipPermissionsEgress><item/></ipPermissionsEgress><tagSet/></item>",
     b"<item><groupId>sg-1</groupId><tagSet/></item>"),
    (b"<item><ipPermissions/><ipPermissionsEgress /><x>&lt;ipPermissions&gt;</x></item>",
     b"<item><x>&lt;ipPermissions&gt;</x></item>"),
    (b"<item><ipPermissionsEgress><item><b/></item></ipPermissionsEgress>"
     b"<ipPermissions>\n<item/>\n</ipPermissions></item>", b"<item></item>"),
])
def test_the_trim_removes_exactly_the_two_rule_lists(body, expected):
    assert _PERMISSIONS.sub(b"", body) == expected
