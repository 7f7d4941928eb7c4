"""CloudTrail events -> Attributions (pure), and the demo estate's AWS part end to end."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone

from providers.aws import normalize_scope
from providers.aws.audit import attribution_from_event, lookups_for, match_events
from providers.demo import aws as demo
from scanner.drift.comparison import compare
from scanner.model import ChangeKind, CollectionError, DriftItem, Effect, Severity, Snapshot

ROLE = "arn:aws:sts::123456789012:assumed-role/deploy/session-1"


def event(name="AuthorizeSecurityGroupIngress", resource="sg-0a1b2c3d4e5f60718",
          region="us-east-1", error=None, event_id="11111111-2222-3333-4444-555555555555",
          resources=True, extra=None):
    detail = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:session-1",
                         "arn": ROLE, "accountId": "123456789012"},
        "eventTime": "2026-11-30T02:15:31Z", "eventSource": "ec2.amazonaws.com",
        "eventName": name, "awsRegion": region, "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15.30", "requestParameters": {"groupId": resource,
                                                              **(extra or {})},
        "responseElements": {"_return": True}, "eventID": event_id,
        "recipientAccountId": "123456789012", "readOnly": False,
    }
    if error:
        detail["errorCode"] = error
        detail["errorMessage"] = "You are not authorized to perform this operation."
    return {
        "EventId": event_id, "EventName": name, "ReadOnly": "false",
        "AccessKeyId": "ASIAEXAMPLE", "EventTime": datetime(2026, 11, 30, 2, 15, 31,
                                                            tzinfo=timezone.utc),
        "EventSource": "ec2.amazonaws.com", "Username": "session-1",
        "Resources": [{"ResourceType": "AWS::EC2::SecurityGroup", "ResourceName": resource}]
        if resources else [],
        "CloudTrailEvent": json.dumps(detail),
    }


def item(change=ChangeKind.RULE_ADDED, resource="sg-0a1b2c3d4e5f60718", region="us-east-1",
         operations=("AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress"),
         details=None):
    return DriftItem(drift_id="CWD-1", change=change, effect=Effect.WIDENED,
                     severity=Severity.HIGH, provider="aws", account="123456789012",
                     region=region, resource_id=resource, resource_name="web",
                     operations=operations, details=details or {})


def test_attribution_from_event_reads_the_cloudtrail_json():
    attribution = attribution_from_event(event())
    assert attribution.actor == ROLE
    assert attribution.time == datetime(2026, 11, 30, 2, 15, 31, tzinfo=timezone.utc)
    assert attribution.source_address == "198.51.100.7"
    assert attribution.operation == "AuthorizeSecurityGroupIngress"
    assert attribution.event_id == "11111111-2222-3333-4444-555555555555"


def test_attribution_from_an_unparseable_event_falls_back_to_the_summary():
    raw = event()
    raw["CloudTrailEvent"] = "{not json"
    attribution = attribution_from_event(raw)
    assert attribution.actor == "session-1" and attribution.operation == raw["EventName"]
    assert attribution.time == raw["EventTime"]


def test_match_keeps_only_this_resource_operation_region_and_successes():
    events = [
        event(event_id="a"),
        event(event_id="b", name="CreateTags"),
        event(event_id="c", resource="sg-0fffffffffffffff0"),
        event(event_id="d", region="eu-west-1"),
        event(event_id="e", error="Client.UnauthorizedOperation"),
        event(event_id="a"),  # the same event from two lookups counts once
    ]
    assert [a.event_id for a in match_events(item(), events)] == ["a"]


def test_attachment_changes_are_looked_up_by_the_interface_too():
    moved = item(change=ChangeKind.ATTACHMENT_ADDED,
                 operations=("ModifyNetworkInterfaceAttribute",),
                 details={"target": "network_interface eni-0123456789abcdef0"})
    assert lookups_for(moved) == [("ResourceName", "sg-0a1b2c3d4e5f60718"),
                                  ("ResourceName", "eni-0123456789abcdef0")]
    modify = event(name="ModifyNetworkInterfaceAttribute", resource="eni-0123456789abcdef0")
    assert [a.operation for a in match_events(moved, [modify])] == [
        "ModifyNetworkInterfaceAttribute"]


def test_guardduty_events_are_found_by_name_and_matched_by_the_list_id():
    added = item(change=ChangeKind.IP_LIST_ADDED, resource="7eb2d31a9f0e4c6b8d5a1f2e3c4b5a69",
                 operations=("CreateIPSet", "UpdateIPSet", "DeleteIPSet"))
    assert ("EventName", "CreateIPSet") in lookups_for(added)
    ours = event(name="CreateIPSet", resource="d1", resources=False,
                 extra={"note": "ipSetId 7eb2d31a9f0e4c6b8d5a1f2e3c4b5a69"})
    other = event(name="CreateIPSet", resource="d1", resources=False, event_id="x",
                  extra={"note": "ipSetId 7eb2d31a9f0e4c6b8d5a1f2e3c4b5a6"})
    assert [a.event_id for a in match_events(added, [ours, other])] == [
        "11111111-2222-3333-4444-555555555555"]


def _snapshot(stage: str) -> Snapshot:
    scopes, items = [], []
    for scope, raw in demo.estate(stage):
        scopes.append(scope)
        items.extend(normalize_scope(scope, raw))
    return Snapshot.from_items(stage, datetime(2026, 12, 1, tzinfo=timezone.utc), scopes, items,
                               ["aws"])


def test_demo_estate_normalizes_cleanly_and_its_changes_widen():
    baseline, changed = _snapshot("baseline"), _snapshot("changed")
    assert not [i for i in baseline.errors + changed.errors if isinstance(i, CollectionError)]
    assert {s.region for s in baseline.scopes} == {"us-east-1", "eu-west-1"}
    assert any(rs.is_default and rs.kind.value == "aws_security_group"
               for rs in baseline.rule_sets)
    public = next(s for s in baseline.subnets if s.subnet_id == demo.SUBNET_PUBLIC)
    assert public.internet_routes == ("0.0.0.0/0",) and public.rule_set_ids == (demo.ACL_PUBLIC,)
    drift = compare(baseline, changed)
    kinds = {(i.change, i.resource_id): i.effect for i in drift}
    assert kinds == {
        (ChangeKind.RULE_ADDED, demo.SG_WEB): Effect.WIDENED,
        (ChangeKind.RULE_ADDED, demo.SG_DB): Effect.WIDENED,
        (ChangeKind.RULE_REMOVED, demo.ACL_PUBLIC): Effect.WIDENED,
        (ChangeKind.RULE_MODIFIED, demo.SG_REPORTING): Effect.WIDENED,
        (ChangeKind.IP_LIST_ADDED, demo.TRUSTED_SET): Effect.WIDENED,
    }
    events = demo.audit_events("changed")
    assert demo.audit_events("baseline") == []
    for drift_item in drift:
        (attribution,) = match_events(drift_item, events)
        assert attribution.actor == demo.ATTACKER_ROLE
        assert attribution.source_address == demo.ATTACKER_ADDRESS
        assert attribution.operation in drift_item.operations


def test_attribution_without_usable_credentials_says_why_on_every_item():
    from providers.aws import AwsProvider
    from providers.base import ProviderSettings

    items = [item(), replace(item(change=ChangeKind.RULE_REMOVED), drift_id="CWD-2")]
    out = AwsProvider(ProviderSettings(profile="no-such-profile")).attribute(
        items, datetime(2026, 11, 1, tzinfo=timezone.utc))
    assert set(out) == {"CWD-1", "CWD-2"}
    for (attribution,) in out.values():
        assert attribution.actor is None and "no-such-profile" in attribution.unavailable_reason
