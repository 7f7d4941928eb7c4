"""Drift over moto: a baseline, T1562.007-style changes made with boto3, a rescan, compare().

Then CloudTrail attribution of the same changes, from the events the stub recorded as the
changes went through it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import boto3
from aws_estate import build

from providers.aws import AwsProvider
from providers.base import ProviderSettings
from scanner.collect import collect_snapshot
from scanner.drift.comparison import compare
from scanner.model import ChangeKind, Effect

REGIONS = ("us-east-1", "eu-west-1")


def snapshot(regions=REGIONS):
    return collect_snapshot([AwsProvider(ProviderSettings(regions=regions, max_retries=0))])


def index(items):
    return {(i.change, i.resource_id, i.rule_key or i.details.get("target")): i for i in items}


def make_changes(estate):
    ec2 = boto3.client("ec2", region_name="us-east-1")
    ec2.authorize_security_group_ingress(GroupId=estate["web_sg"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "temp debug"}]}])
    ec2.revoke_security_group_ingress(GroupId=estate["db_sg"], IpPermissions=[
        {"IpProtocol": "udp", "FromPort": 53, "ToPort": 53,
         "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}])
    ec2.replace_network_acl_entry(NetworkAclId=estate["public_acl"], RuleNumber=100,
                                  Protocol="6", RuleAction="allow", Egress=False,
                                  CidrBlock="0.0.0.0/0", PortRange={"From": 0, "To": 65535})
    ec2.delete_network_acl_entry(NetworkAclId=estate["public_acl"], RuleNumber=90, Egress=False)
    ec2.modify_network_interface_attribute(NetworkInterfaceId=estate["app_eni"],
                                           Groups=[estate["app_sg"], estate["web_sg"]])
    guardduty = boto3.client("guardduty", region_name="us-east-1")
    return guardduty.create_ip_set(DetectorId=estate["detector"], Name="allow-ops",
                                   Format="TXT", Location="https://s3.amazonaws.com/x/ops.txt",
                                   Activate=True)["IpSetId"]


def reverse_changes(estate, ip_set, ssh_rule_id):
    ec2 = boto3.client("ec2", region_name="us-east-1")
    ec2.revoke_security_group_ingress(GroupId=estate["web_sg"],
                                      SecurityGroupRuleIds=[ssh_rule_id])
    ec2.replace_network_acl_entry(NetworkAclId=estate["public_acl"], RuleNumber=100,
                                  Protocol="6", RuleAction="allow", Egress=False,
                                  CidrBlock="0.0.0.0/0", PortRange={"From": 443, "To": 443})
    ec2.create_network_acl_entry(NetworkAclId=estate["public_acl"], RuleNumber=90,
                                 Protocol="6", RuleAction="deny", Egress=False,
                                 CidrBlock="0.0.0.0/0", PortRange={"From": 22, "To": 22})
    ec2.modify_network_interface_attribute(NetworkInterfaceId=estate["app_eni"],
                                           Groups=[estate["app_sg"], estate["db_sg"]])
    boto3.client("guardduty", region_name="us-east-1").delete_ip_set(
        DetectorId=estate["detector"], IpSetId=ip_set)


def test_drift_kinds_effects_and_their_reversal(aws):
    aws.record_events = False
    estate = build(boto3.Session())
    baseline = snapshot()
    aws.record_events = True
    since = datetime.now(timezone.utc) - timedelta(seconds=1)
    ip_set = make_changes(estate)
    changed = snapshot()
    assert baseline.errors == () and changed.errors == ()
    drift = compare(baseline, changed)
    found = {(i.change, i.resource_id): i for i in drift}

    added = found[(ChangeKind.RULE_ADDED, estate["web_sg"])]
    assert added.effect is Effect.WIDENED and added.severity.value == "critical"
    assert added.after.ports.to_list() == ["22"] and added.attack == ("T1562.007",)
    assert "AuthorizeSecurityGroupIngress" in added.operations
    removed = found[(ChangeKind.RULE_REMOVED, estate["db_sg"])]
    assert removed.effect is Effect.NARROWED and removed.before.protocol == "udp"

    nacl = [i for i in drift if i.resource_id == estate["public_acl"]]
    by_rule = {(i.change, i.rule_key): i for i in nacl}
    widened_entry = by_rule[(ChangeKind.RULE_MODIFIED, "ingress:100")]
    assert widened_entry.effect is Effect.WIDENED
    assert widened_entry.after.ports.is_all() and widened_entry.before.ports.to_list() == ["443"]
    deleted_deny = by_rule[(ChangeKind.RULE_REMOVED, "ingress:90")]
    assert deleted_deny.effect is Effect.WIDENED and deleted_deny.before.action.value == "deny"
    assert len(nacl) == 2

    web_attach = found[(ChangeKind.ATTACHMENT_ADDED, estate["web_sg"])]
    assert web_attach.effect is Effect.WIDENED
    assert web_attach.details["target"] == f"network_interface {estate['app_eni']}"
    db_detach = found[(ChangeKind.ATTACHMENT_REMOVED, estate["db_sg"])]
    assert db_detach.effect is Effect.NARROWED

    trusted = found[(ChangeKind.IP_LIST_ADDED, ip_set)]
    assert trusted.effect is Effect.WIDENED and trusted.severity.value == "high"
    assert trusted.attack == ("T1562.007",)
    assert len(drift) == 7, [i.summary for i in drift]

    attributions = AwsProvider(ProviderSettings(max_retries=0)).attribute(drift, since)
    assert set(attributions) == {i.drift_id for i in drift}
    actor = "arn:aws:iam::123456789012:user/testing"
    expected = {
        added.drift_id: "AuthorizeSecurityGroupIngress",
        removed.drift_id: "RevokeSecurityGroupIngress",
        widened_entry.drift_id: "ReplaceNetworkAclEntry",
        deleted_deny.drift_id: "DeleteNetworkAclEntry",
        web_attach.drift_id: "ModifyNetworkInterfaceAttribute",
        db_detach.drift_id: "ModifyNetworkInterfaceAttribute",
        trusted.drift_id: "CreateIPSet",
    }
    for drift_id, operation in expected.items():
        found_ops = {a.operation for a in attributions[drift_id]}
        assert operation in found_ops, (operation, attributions[drift_id])
        for attribution in attributions[drift_id]:
            assert attribution.actor == actor and attribution.source_address == "127.0.0.1"
            assert attribution.event_id and attribution.time >= since.replace(microsecond=0)
            assert attribution.unavailable_reason is None
    # the NACL's two entries share a resource: each gets only events of its own operations
    assert {a.operation for a in attributions[deleted_deny.drift_id]} <= {
        "CreateNetworkAclEntry", "ReplaceNetworkAclEntry", "DeleteNetworkAclEntry"}

    ssh_rule = added.after.native_id
    reverse_changes(estate, ip_set, ssh_rule)
    reverted = snapshot()
    back = {(i.change, i.resource_id, i.rule_key): i for i in compare(changed, reverted)}
    assert back[(ChangeKind.RULE_REMOVED, estate["web_sg"], ssh_rule)].effect is Effect.NARROWED
    assert back[(ChangeKind.RULE_MODIFIED, estate["public_acl"], "ingress:100")].effect is \
        Effect.NARROWED
    assert back[(ChangeKind.RULE_ADDED, estate["public_acl"], "ingress:90")].effect is \
        Effect.NARROWED
    assert back[(ChangeKind.ATTACHMENT_REMOVED, estate["web_sg"], None)].effect is \
        Effect.NARROWED
    # an active trusted list taken away blinds detection no more
    assert back[(ChangeKind.IP_LIST_REMOVED, ip_set, None)].effect is Effect.NARROWED
    # Against the baseline only the revoked DNS rule is still missing.
    remaining = compare(baseline, reverted)
    assert [(i.change, i.resource_id) for i in remaining] == [
        (ChangeKind.RULE_REMOVED, estate["db_sg"])]


def test_a_failed_region_produces_no_removals(aws):
    # moto gives every region a default VPC with its default group, NACL and subnets
    baseline = snapshot()
    assert {rs.region for rs in baseline.rule_sets} == set(REGIONS)
    aws.fail("ec2", "UnauthorizedOperation", region="eu-west-1")
    current = snapshot()
    drift = compare(baseline, current)
    assert not [i for i in drift if i.change is ChangeKind.RULE_REMOVED]
    assert not [i for i in drift if i.change is ChangeKind.RULE_SET_DELETED]
    unknown = [i for i in drift if i.change is ChangeKind.SCOPE_UNKNOWN]
    assert unknown and {i.region for i in unknown} == {"eu-west-1"}
    assert all(i.effect is Effect.UNKNOWN for i in unknown)


def test_attribution_denied_and_outside_event_history(aws):
    ec2 = boto3.client("ec2", region_name="us-east-1")
    group = ec2.create_security_group(GroupName="app", Description="app")["GroupId"]
    baseline = snapshot(("us-east-1",))
    ec2.authorize_security_group_ingress(
        GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389,
             "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    drift = compare(baseline, snapshot(("us-east-1",)))
    (item,) = drift
    provider = AwsProvider(ProviderSettings(max_retries=0))

    aws.fail("cloudtrail", "AccessDeniedException", region="us-east-1")
    (denied,) = provider.attribute(drift, datetime.now(timezone.utc) - timedelta(hours=1))[
        item.drift_id]
    assert denied.actor is None and "cloudtrail:LookupEvents" in denied.unavailable_reason
    aws.clear_faults()

    aws.events.clear()  # an estate whose change predates the event history
    (old,) = provider.attribute(drift, datetime.now(timezone.utc) - timedelta(days=120))[
        item.drift_id]
    assert old.actor is None and "90 days" in old.unavailable_reason
