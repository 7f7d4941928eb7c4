"""Attribution of Azure drift from the Activity Log: pure event parsing, and lookups over HTTPS."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from providers.azure import normalize_scope
from providers.azure.audit import attribute_events, event_attribution, matching_events
from providers.demo import azure as demo
from scanner.collect import collect_snapshot
from scanner.drift.comparison import compare
from scanner.model import ChangeKind, Snapshot
from tests.providers.azure.azure_estate import NSG_SHARED, NSG_WEB, SUB, SUBNET_WEB, make_provider
from tests.servers.azure_arm import activity_event

# The event of the Activity Logs REST reference example (GetActivityLogsFiltered), trimmed of
# claims; shapes as the API returns them.
SPEC_EVENT = {
    "authorization": {
        "action": "microsoft.support/supporttickets/write",
        "role": "Subscription Admin",
        "scope": "/subscriptions/089bd33f-d4ec-47fe-8ba5-0753aa5c5b33/resourceGroups/"
                 "MSSupportGroup/providers/microsoft.support/supporttickets/115012112305841",
    },
    "caller": "admin@contoso.com",
    "correlationId": "1e121103-0ba6-4300-ac9d-952bb5d0c80f",
    "description": "",
    "eventDataId": "44ade6b4-3813-45e6-ae27-7420a95fa2f8",
    "eventName": {"value": "EndRequest", "localizedValue": "End request"},
    "httpRequest": {"clientRequestId": "27003b25-91d3-418f-8eb1-29e537dcb249",
                    "clientIpAddress": "192.168.35.115", "method": "PUT"},
    "level": "Informational",
    "resourceGroupName": "MSSupportGroup",
    "operationId": "1e121103-0ba6-4300-ac9d-952bb5d0c80f",
    "operationName": {"value": "microsoft.support/supporttickets/write",
                      "localizedValue": "microsoft.support/supporttickets/write"},
    "properties": {"statusCode": "Created"},
    "status": {"value": "Succeeded", "localizedValue": "Succeeded"},
    "subStatus": {"value": "Created", "localizedValue": "Created (HTTP Status Code: 201)"},
    "eventTimestamp": "2015-01-21T22:14:26.9792776Z",
    "submissionTimestamp": "2015-01-21T22:14:39.9936304Z",
    "subscriptionId": "089bd33f-d4ec-47fe-8ba5-0753aa5c5b33",
}

WRITE = "Microsoft.Network/networkSecurityGroups/securityRules/write"
DELETE = "Microsoft.Network/networkSecurityGroups/securityRules/delete"
SUBNET_WRITE = "Microsoft.Network/virtualNetworks/subnets/write"


def test_event_attribution_reads_the_rest_shape():
    attribution = event_attribution(SPEC_EVENT)
    assert attribution.actor == "admin@contoso.com"
    assert attribution.time == datetime(2015, 1, 21, 22, 14, 26, 979277, tzinfo=timezone.utc)
    assert attribution.source_address == "192.168.35.115"
    assert attribution.operation == "microsoft.support/supporttickets/write"
    assert attribution.event_id == "44ade6b4-3813-45e6-ae27-7420a95fa2f8"
    assert attribution.unavailable_reason is None


def test_matching_keeps_one_completed_event_per_operation():
    rule = f"{NSG_SHARED}/securityRules/allow-ssh-bastion"
    when = datetime(2026, 12, 1, 20, 0, tzinfo=timezone.utc)
    started = activity_event(rule, WRITE, "eve@contoso.com", when, "198.51.100.9", "Started")
    done = activity_event(rule, WRITE, "eve@contoso.com", when + timedelta(seconds=9),
                          "198.51.100.9", "Succeeded", correlation_id=started["correlationId"])
    failed = activity_event(rule, WRITE.lower(), "bob@contoso.com", when, "192.0.2.1", "Failed")
    other_rule = activity_event(f"{NSG_SHARED}/securityRules/allow-mgmt", WRITE,
                                "carol@contoso.com", when, "192.0.2.2")
    read = activity_event(rule, "Microsoft.Network/networkSecurityGroups/read",
                          "dave@contoso.com", when, "192.0.2.3")
    found = matching_events([started, done, failed, other_rule, read], [WRITE],
                            [rule.lower(), NSG_SHARED.lower()])
    assert [e["eventDataId"] for e in found] == [done["eventDataId"]]


def _drift(arm):
    provider = make_provider(arm, subscriptions=(SUB,))
    baseline = collect_snapshot([provider], max_workers=1)
    with arm.estate.lock:
        web = arm.estate.get(SUB, "networkSecurityGroups", "nsg-web")["properties"]
        web["securityRules"] = [r for r in web["securityRules"]
                                if r["name"] != "deny-rdp-internet"]
        web.pop("subnets")
        for subnet in arm.estate.get(SUB, "virtualNetworks", "vnet-main")["properties"][
                "subnets"]:
            if subnet["name"] == "web":
                del subnet["properties"]["networkSecurityGroup"]
        shared = arm.estate.get(SUB, "networkSecurityGroups", "nsg-shared")["properties"]
        for rule in shared["securityRules"]:
            if rule["name"] == "allow-ssh-bastion":
                rule["properties"]["sourceAddressPrefix"] = "Internet"
    current = collect_snapshot([provider], max_workers=1)
    return provider, {i.change: i for i in compare(baseline, current)}


def test_attribution_over_https(arm):
    provider, items = _drift(arm)
    now = datetime.now(timezone.utc)
    since = now - timedelta(days=2)
    ssh_rule = f"{NSG_SHARED}/securityRules/allow-ssh-bastion"
    events = [
        activity_event(ssh_rule, WRITE, "eve@contoso.com", now - timedelta(hours=3),
                       "198.51.100.9"),
        activity_event(f"{NSG_WEB}/securityRules/deny-rdp-internet", DELETE, "eve@contoso.com",
                       now - timedelta(hours=2), "198.51.100.9"),
        activity_event(SUBNET_WEB, SUBNET_WRITE, "ops-pipeline", now - timedelta(hours=1),
                       "203.0.113.50"),
        # Before the baseline: outside the window asked for.
        activity_event(ssh_rule, WRITE, "old@contoso.com", now - timedelta(days=5),
                       "192.0.2.77"),
    ]
    arm.estate.events[SUB].extend(events)
    result = provider.attribute(list(items.values()), since)
    assert set(result) == {i.drift_id for i in items.values()}

    def who(change):
        return [(a.actor, a.source_address, a.operation) for a in result[items[change].drift_id]]

    assert who(ChangeKind.RULE_MODIFIED) == [("eve@contoso.com", "198.51.100.9", WRITE)]
    assert who(ChangeKind.RULE_REMOVED) == [("eve@contoso.com", "198.51.100.9", DELETE)]
    assert who(ChangeKind.ATTACHMENT_REMOVED) == [("ops-pipeline", "203.0.113.50", SUBNET_WRITE)]
    sent = [q["$filter"][0] for _, q in arm.estate.requests_for("eventtypes/management/values")]
    assert sent and all(f.startswith("eventTimestamp ge '") and "resourceUri eq '" in f
                        for f in sent)


def test_forbidden_activity_log_is_unavailable_with_the_permission(arm):
    provider, items = _drift(arm)
    arm.estate.forbidden_types.add((SUB, "events"))
    result = provider.attribute(list(items.values()),
                                datetime.now(timezone.utc) - timedelta(days=1))
    for attributions in result.values():
        assert len(attributions) == 1
        reason = attributions[0].unavailable_reason
        assert reason and "403" in reason and "Microsoft.Insights/eventtypes/values/read" in reason


def test_no_matching_event_is_said_so(arm):
    provider, items = _drift(arm)
    result = provider.attribute([items[ChangeKind.RULE_MODIFIED]],
                                datetime.now(timezone.utc) - timedelta(days=1))
    (only,) = result.values()
    assert only[0].actor is None and "no Activity Log event" in only[0].unavailable_reason


def test_baseline_older_than_retention_asks_nothing(arm):
    provider, items = _drift(arm)
    before = len(arm.estate.requests)
    result = provider.attribute(list(items.values()),
                                datetime.now(timezone.utc) - timedelta(days=120))
    assert len(arm.estate.requests) == before
    assert all("90-day" in a[0].unavailable_reason for a in result.values())


def test_other_providers_items_are_left_to_their_adapters(arm):
    provider, items = _drift(arm)
    from dataclasses import replace

    aws_item = replace(items[ChangeKind.RULE_MODIFIED], provider="aws")
    assert provider.attribute([aws_item], datetime.now(timezone.utc)) == {}


def _demo_snapshot(stage: str) -> Snapshot:
    (scope, raw), = demo.estate(stage)
    return Snapshot.from_items(stage, datetime.now(timezone.utc), [scope],
                               normalize_scope(scope, raw), ["demo"])


def test_demo_events_attribute_every_demo_change():
    items = compare(_demo_snapshot("baseline"), _demo_snapshot("changed"))
    assert {i.change for i in items} == {ChangeKind.RULE_REMOVED, ChangeKind.RULE_MODIFIED,
                                         ChangeKind.ATTACHMENT_REMOVED}
    assert demo.audit_events("baseline") == []
    result = attribute_events(demo.audit_events("changed"), items)
    for item in items:
        (attribution,) = result[item.drift_id]
        assert attribution.actor == "mallory@shop.example"
        assert attribution.source_address == "198.51.100.23"
        assert attribution.operation in item.operations
        assert attribution.time.year == 2026
