"""``cloudwall watch`` on AWS: real boto3 over real HTTP against moto, with the local stub
serving CloudTrail event history (it records every EC2 and GuardDuty write it forwards) and
moto serving SQS for the queue path.

The watcher is driven one interval at a time (``Watcher.interval``) so each test says exactly
which calls the log holds when; the CLI tests (test_aws_watch_cli.py) run it as a service.
"""

from __future__ import annotations

import io
import json
import time

import boto3
import pytest

from providers.aws.provider import AwsProvider
from providers.aws.watch_queue import EventQueue
from providers.base import ProviderSettings
from scanner.collect import collect_snapshot
from scanner.gates import DriftGate
from scanner.model import DriftItem
from scanner.store import Store
from scanner.watch.alerts import Alerts
from scanner.watch.loop import Watcher, WatchSettings

REGION = "us-east-1"


def _estate() -> dict[str, str]:
    ec2 = boto3.client("ec2", region_name=REGION)
    ids: dict[str, str] = {}
    ids["vpc"] = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    ids["subnet"] = ec2.create_subnet(VpcId=ids["vpc"], CidrBlock="10.9.1.0/24")[
        "Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=ids["vpc"])
    rtb = ec2.create_route_table(VpcId=ids["vpc"])["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=rtb, SubnetId=ids["subnet"])
    ids["web"] = ec2.create_security_group(GroupName="web", Description="web",
                                           VpcId=ids["vpc"])["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=ids["web"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ids["spare"] = ec2.create_security_group(GroupName="spare", Description="spare",
                                             VpcId=ids["vpc"])["GroupId"]
    answer = ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro",
        NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": ids["subnet"],
                            "Groups": [ids["web"]], "AssociatePublicIpAddress": True}])
    ids["eni"] = answer["Instances"][0]["NetworkInterfaces"][0]["NetworkInterfaceId"]
    return ids


class Run:
    """A store with a baseline of the estate, and watchers on it."""

    def __init__(self, tmp_path, gate: str = "widened") -> None:
        self.store = Store(tmp_path / "store.db")
        self.provider = AwsProvider(ProviderSettings(regions=(REGION,), max_retries=0))
        # The log keeps whole seconds: the calls that built the estate fall strictly before
        # the full scan's second, so the watch starts with none of them to re-read.
        time.sleep(1.1)
        full = collect_snapshot([self.provider])
        assert not full.errors, full.errors
        self.store.save(full)
        self.store.set_baseline("prod", full.snapshot_id)
        self.full = full
        self.gate = gate
        self.out = io.StringIO()
        self.status: list[str] = []

    def watcher(self, **settings) -> Watcher:
        alerts = Alerts(DriftGate.parse(self.gate), "prod", self.full.snapshot_id, out=self.out)
        watcher = Watcher(WatchSettings("prod", **settings), self.store,
                          self.store.load_baseline("prod"), {"aws": self.provider},
                          lambda: collect_snapshot([self.provider]), alerts,
                          self.status.append)
        watcher.start()
        return watcher

    def lines(self, kind: str | None = None) -> list[dict]:
        found = [json.loads(line) for line in self.out.getvalue().splitlines()]
        return [line for line in found if kind is None or line["type"] == kind]


@pytest.fixture
def estate(aws):
    return _estate()


def _open_ssh(group: str) -> None:
    boto3.client("ec2", region_name=REGION).authorize_security_group_ingress(
        GroupId=group, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
                                       "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])


def test_a_widening_call_is_alerted_once_with_who_made_it(aws, estate, tmp_path):
    run = Run(tmp_path)
    watcher = run.watcher()
    assert run.lines() == []  # the drift present at the start is known, not news
    aws.clear_faults()
    _open_ssh(estate["web"])
    status = watcher.interval()
    (line,) = run.lines("drift")
    item = line["item"]
    assert (item["change"], item["effect"], item["resource_id"]) == (
        "rule_added", "widened", estate["web"])
    assert item["attack"] == ["T1562.007"]
    assert item["details"]["newly_reachable"] == [estate["eni"]]
    (who,) = item["attribution"]
    assert who["operation"] == "AuthorizeSecurityGroupIngress"
    (call,) = [e for events in aws.events.values() for e in events
               if e["EventName"] == "AuthorizeSecurityGroupIngress"
               and '"IpPermissions.1.FromPort": "22"' in e["CloudTrailEvent"]]
    assert who["event_id"] == call["EventId"] and call["EventId"] in line["events"]
    assert who["actor"].startswith("arn:aws:iam::")
    assert (status.drift, status.unread) == (1, 0)
    # Only the touched group, its rules and its interfaces were read: no full collection.
    reads = {action for service, _, action in aws.calls if service == "ec2"}
    assert {"DescribeSecurityGroups", "DescribeSecurityGroupRules",
            "DescribeNetworkInterfaces"} <= reads
    assert not reads & {"DescribeVpcs", "DescribeSubnets", "DescribeRouteTables"}
    stored = run.store.load(line["snapshot_id"])
    assert stored.partial_of == run.full.snapshot_id
    # The overlapping window returns the same event again: it is not alerted again.
    watcher.interval()
    watcher.interval()
    assert len(run.lines("drift")) == 1


def test_late_duplicated_and_out_of_order_events_alert_once(aws, estate, tmp_path):
    run = Run(tmp_path)
    watcher = run.watcher()
    aws.hold()
    _open_ssh(estate["web"])
    _open_ssh(estate["spare"])
    watcher.interval()  # the log has not delivered them yet
    assert run.lines("drift") == []
    aws.release(duplicate=True)  # late (before the checkpoint), newest first, each twice
    status = watcher.interval()
    assert status.new == 2  # four deliveries of two calls
    drift = run.lines("drift")
    assert sorted(line["item"]["resource_id"] for line in drift) == sorted(
        [estate["web"], estate["spare"]])
    watcher.interval()
    assert len(run.lines("drift")) == 2


def test_a_restart_neither_repeats_nor_misses_an_alert(aws, estate, tmp_path):
    run = Run(tmp_path)
    first = run.watcher()
    _open_ssh(estate["web"])
    first.interval()
    assert len(run.lines("drift")) == 1
    # Stopped; meanwhile another group is opened; a new process starts from the store.
    _open_ssh(estate["spare"])
    second = run.watcher()
    second.interval()
    second.interval()
    drift = run.lines("drift")
    assert [line["item"]["resource_id"] for line in drift] == [estate["web"], estate["spare"]]


def test_a_deleted_group_is_removed_and_reported_as_drift(aws, estate, tmp_path):
    run = Run(tmp_path, gate="any")
    watcher = run.watcher()
    boto3.client("ec2", region_name=REGION).delete_security_group(GroupId=estate["spare"])
    watcher.interval()
    (line,) = run.lines("drift")
    assert (line["item"]["change"], line["item"]["resource_id"]) == (
        "rule_set_deleted", estate["spare"])
    stored = run.store.load(line["snapshot_id"])
    assert estate["spare"] not in {r.resource_id for r in stored.rule_sets}
    assert run.lines("unread") == []


def test_a_denied_reread_is_reported_never_dropped(aws, estate, tmp_path):
    run = Run(tmp_path)
    watcher = run.watcher()
    aws.fail("ec2", "UnauthorizedOperation", action="DescribeSecurityGroups")
    _open_ssh(estate["web"])
    watcher.interval()
    (unread,) = run.lines("unread")
    assert unread["code"] == "AccessDenied" and estate["web"] in unread["reason"]
    assert "ec2:DescribeSecurityGroups" in unread["hint"]
    # The group cannot be judged: drift says its kind is unknown there, never "no change".
    kinds = [(line["item"]["change"], line["item"]["effect"]) for line in run.lines("drift")]
    assert kinds == [("scope_unknown", "unknown")]
    stored = run.store.load("latest")
    assert any(e.resource_type == "SecurityGroups" for e in stored.errors)
    # Allowed again: the next call on the group re-reads it and the widening is alerted.
    aws.clear_faults()
    boto3.client("ec2", region_name=REGION).authorize_security_group_ingress(
        GroupId=estate["web"], IpPermissions=[{"IpProtocol": "tcp", "FromPort": 3389,
                                               "ToPort": 3389,
                                               "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    watcher.interval()
    rules = {(line["item"]["after"] or {}).get("ports", [None])[0]
             for line in run.lines("drift") if line["item"]["change"] == "rule_added"}
    assert rules == {"22", "3389"}
    assert not any(e.resource_type == "SecurityGroups"
                   for e in run.store.load("latest").errors)


def test_a_narrowing_call_is_not_alerted_as_widening(aws, estate, tmp_path):
    run = Run(tmp_path, gate="any")  # every change shown, to see what it was called
    watcher = run.watcher()
    boto3.client("ec2", region_name=REGION).revoke_security_group_ingress(
        GroupId=estate["web"], IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443,
                                               "ToPort": 443,
                                               "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    watcher.interval()
    (line,) = run.lines("drift")
    assert (line["item"]["change"], line["item"]["effect"]) == ("rule_removed", "narrowed")
    assert line["item"]["attack"] == []
    # The default gate (widened) does not alert it.
    assert not DriftGate.parse("widened").trips(DriftItem.from_dict(line["item"]))


def test_the_queue_path_alerts_once_and_deletes_handled_messages(aws, estate, tmp_path):
    run = Run(tmp_path)
    watcher = run.watcher()
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="cloudwall-watch")["QueueUrl"]
    account = run.full.scopes[0].account
    watcher.feed = EventQueue(url, run.provider.accounts()[account].clients,
                              list(watcher.scopes.values()), REGION)
    _open_ssh(estate["web"])
    (event,) = [e for events in aws.events.values() for e in events
                if e["EventName"] == "AuthorizeSecurityGroupIngress"
                and estate["web"] in e["CloudTrailEvent"]
                and "\"22\"" in e["CloudTrailEvent"]]
    record = json.loads(event["CloudTrailEvent"])
    message = {"version": "0", "id": "eb-1", "detail-type": "AWS API Call via CloudTrail",
               "source": "aws.ec2", "account": record["recipientAccountId"],
               "region": REGION, "time": record["eventTime"], "detail": record}
    for _ in range(2):  # delivered twice, as SQS may
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message))
    sqs.send_message(QueueUrl=url, MessageBody="not json")
    for _ in range(3):
        received = watcher.feed.receive(1)
        if received.receipts:
            watcher.handle(received.events, [], {}, receipts=received.receipts,
                           notes=received.problems, source="queue")
    (line,) = run.lines("drift")
    assert line["item"]["resource_id"] == estate["web"]
    assert any("not JSON" in u["reason"] for u in run.lines("unread"))
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


# --- pure: CloudTrail records shaped as CloudTrail writes them -------------------------------


def _record(name: str, request: dict, response: dict | None = None, **extra) -> dict:
    return {"eventVersion": "1.09", "eventTime": "2026-12-06T12:00:05Z",
            "eventSource": extra.pop("source", "ec2.amazonaws.com"), "eventName": name,
            "awsRegion": REGION, "sourceIPAddress": "198.51.100.7",
            "userIdentity": {"type": "AssumedRole",
                             "arn": "arn:aws:sts::123456789012:assumed-role/ops/eve"},
            "requestParameters": request, "responseElements": response,
            "eventID": "5d7c0f36-3c4e-4f0e-9a38-0d5f4c7b1a11", "recipientAccountId":
            "123456789012", **extra}


def test_records_name_their_targets_as_cloudtrail_writes_them():
    from providers.aws.watch import audit_event
    from scanner.model import Scope

    scope = Scope("aws", "123456789012", REGION)
    authorize = _record("AuthorizeSecurityGroupIngress", {
        "groupId": "sg-0123456789abcdef0",
        "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
                                     "groups": {}, "ipRanges": {"items": [
                                         {"cidrIp": "0.0.0.0/0"}]}}]}},
        {"requestId": "8f4b9c1e-0000-4000-8000-000000000001", "_return": True,
         "securityGroupRuleSet": {"items": [{"groupId": "sg-0123456789abcdef0",
                                             "securityGroupRuleId": "sgr-0fedcba9876543210",
                                             "cidrIpv4": "0.0.0.0/0"}]}})
    event = audit_event(scope, authorize)
    assert event is not None and event.targets == ("sg-0123456789abcdef0",)
    assert (event.operation, event.failed, event.attribution.actor) == (
        "AuthorizeSecurityGroupIngress", False, "arn:aws:sts::123456789012:assumed-role/ops/eve")
    assert event.event_id == "5d7c0f36-3c4e-4f0e-9a38-0d5f4c7b1a11"
    modify = _record("ModifySecurityGroupRules", {"ModifySecurityGroupRulesRequest": {
        "GroupId": "sg-0aaaaaaaaaaaaaaaa", "SecurityGroupRule": {
            "SecurityGroupRuleId": "sgr-0bbbbbbbbbbbbbbbb",
            "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": 3389, "ToPort": 3389,
                                  "CidrIpv4": "0.0.0.0/0"}}}})
    assert audit_event(scope, modify).targets == ("sg-0aaaaaaaaaaaaaaaa",)
    moved = _record("ModifyNetworkInterfaceAttribute", {
        "networkInterfaceId": "eni-0ccccccccccccccc0",
        "groupSet": {"items": [{"groupId": "sg-0ddddddddddddddd0"}]}})
    assert audit_event(scope, moved).targets == ("eni-0ccccccccccccccc0", "sg-0ddddddddddddddd0")
    ipset = _record("CreateIPSet", {"detectorId": "12abc34d567e8fa901bc2d34e56789f0",
                                    "name": "trusted", "format": "TXT", "activate": True,
                                    "location": "https://s3.amazonaws.com/b/trusted.txt"},
                    {"ipSetId": "0cb0141ab9fbde177613ab9436212e90"},
                    source="guardduty.amazonaws.com")
    assert audit_event(scope, ipset).targets == (
        "ipset/12abc34d567e8fa901bc2d34e56789f0/0cb0141ab9fbde177613ab9436212e90",)
    denied = _record("AuthorizeSecurityGroupIngress", {"groupId": "sg-0123456789abcdef0"},
                     errorCode="Client.UnauthorizedOperation")
    assert audit_event(scope, denied).failed
    assert audit_event(scope, _record("DescribeSecurityGroups", {})) is None


def test_a_queue_that_cannot_be_read_is_reported(aws):
    provider = AwsProvider(ProviderSettings(regions=(REGION,), max_retries=0))
    account = next(iter(provider.accounts().values()))
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.create_queue(QueueName="gone-soon")["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    feed = EventQueue(url, account.clients, [], REGION)
    received = feed.receive(0)
    assert received.events == () and received.receipts == ()
    (problem,) = received.problems
    assert problem.startswith("cannot read the queue (") and "NonExistentQueue" in problem


def test_an_unreadable_cloudtrail_record_is_an_error_naming_it_and_the_rest_is_read(aws, estate):
    """One record CloudTrail answers with an unreadable time neither hides the region's other
    calls (log path) nor stops the watcher (queue path)."""
    from datetime import datetime, timedelta, timezone

    from providers.aws.watch_queue import parse_message
    from scanner.model import CollectionError, Scope

    provider = AwsProvider(ProviderSettings(regions=(REGION,), max_retries=0))
    account = next(iter(provider.accounts()))
    start = datetime.now(timezone.utc) - timedelta(minutes=5)
    _open_ssh(estate["spare"])
    good = aws.events[(account, REGION)][-1]
    detail = {**json.loads(good["CloudTrailEvent"]), "eventTime": "yesterday-ish",
              "eventID": "0e0e0e0e-0000-4000-8000-00000000bad1"}
    aws.events[(account, REGION)].append(
        {**good, "EventId": detail["eventID"],
         "CloudTrailEvent": json.dumps(detail)})
    scope = Scope("aws", account, REGION)
    read = list(provider.audit_events(scope, start, datetime.now(timezone.utc)
                                      + timedelta(minutes=1)))
    errors = [r for r in read if isinstance(r, CollectionError)]
    events = [r for r in read if not isinstance(r, CollectionError)]
    assert (estate["spare"],) in [e.targets for e in events
                                  if e.operation == "AuthorizeSecurityGroupIngress"]
    (error,) = errors
    assert error.code == "UnreadablePayload" and "a CloudTrail event" in error.reason
    message = json.dumps({"detail-type": "AWS API Call via CloudTrail", "id": "m-1",
                          "detail": detail})
    reason = parse_message(message, {(account, REGION): scope})
    assert isinstance(reason, str) and "a queue message could not be read" in reason
