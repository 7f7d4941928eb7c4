"""Watching Azure: Activity Log events as AuditEvents (pure), read over HTTPS for a window, and
re-reads of single NSGs, NICs and subnets equal to what a full collection reports."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from providers.azure.watch import activity_filter, audit_event, audit_events
from providers.watching import WatchSource
from scanner.model import Asset, CollectionError, RuleSet, Scope, Subnet
from tests.providers.azure.azure_estate import (
    NIC_API,
    NIC_APP,
    NSG_SHARED,
    NSG_WEB,
    SUB,
    SUBNET_APP,
    SUBNET_WEB,
    VNET,
    make_provider,
)
from tests.servers.azure_arm import RULE_WRITE, activity_event

SCOPE = Scope("azure", SUB, "")
T0 = datetime(2026, 12, 6, 18, 0, tzinfo=timezone.utc)
NIC_WRITE = "Microsoft.Network/networkInterfaces/write"
SUBNET_WRITE = "Microsoft.Network/virtualNetworks/subnets/write"


def _event(resource_id, operation=RULE_WRITE, when=T0, status="Succeeded", **kw):
    return activity_event(resource_id, operation, "eve@contoso.com", when, "198.51.100.9",
                          status, **kw)


# --- pure: events ------------------------------------------------------------------------------


def test_a_finished_rule_write_is_an_event_on_its_nsg():
    rule = f"{NSG_SHARED}/securityRules/allow-ssh-bastion"
    event = _event(rule)
    found = audit_event(SCOPE, event)
    assert found is not None
    assert found.targets == (NSG_SHARED.lower(),)
    assert found.event_id == event["eventDataId"]
    assert found.operation == RULE_WRITE and not found.failed
    assert found.time == T0
    assert found.attribution.actor == "eve@contoso.com"
    assert found.attribution.source_address == "198.51.100.9"
    assert found.scope == SCOPE


def test_only_the_last_phase_of_a_call_is_an_event_and_a_failure_is_flagged():
    rule = f"{NSG_WEB}/securityRules/allow-https"
    started = _event(rule, status="Started")
    accepted = _event(rule, status="Accepted", correlation_id=started["correlationId"])
    failed = _event(rule, status="Failed", when=T0 + timedelta(seconds=3),
                    correlation_id=started["correlationId"])
    assert audit_event(SCOPE, started) is None
    assert audit_event(SCOPE, accepted) is None
    flagged = audit_event(SCOPE, failed)
    assert flagged is not None and flagged.failed
    assert flagged.event_id == failed["eventDataId"] != started["eventDataId"]


def test_attachment_writes_target_the_nic_or_subnet_and_reads_are_not_events():
    assert audit_event(SCOPE, _event(NIC_APP, NIC_WRITE)).targets == (NIC_APP.lower(),)
    assert audit_event(SCOPE, _event(SUBNET_APP, SUBNET_WRITE)).targets == (SUBNET_APP.lower(),)
    assert audit_event(SCOPE, _event(NSG_WEB, "Microsoft.Network/networkSecurityGroups/read")) \
        is None
    assert audit_event(SCOPE, _event(NSG_WEB, "Microsoft.Compute/virtualMachines/write")) is None


def test_window_is_start_inclusive_end_exclusive_oldest_first_each_entry_once():
    rule = f"{NSG_SHARED}/securityRules/allow-mgmt"
    at_start = _event(rule, when=T0)
    later = _event(NSG_WEB, "Microsoft.Network/networkSecurityGroups/delete",
                   when=T0 + timedelta(seconds=30))
    at_end = _event(rule, when=T0 + timedelta(minutes=1))
    before = _event(rule, when=T0 - timedelta(microseconds=1))
    found = audit_events(SCOPE, [later, at_end, at_start, before, later], T0,
                         T0 + timedelta(minutes=1))
    assert [e.event_id for e in found] == [at_start["eventDataId"], later["eventDataId"]]


def test_an_event_without_a_time_is_an_error_not_dropped():
    broken = _event(NSG_WEB)
    broken["eventTimestamp"] = None
    (error,) = audit_events(SCOPE, [broken], T0, T0 + timedelta(hours=1))
    assert isinstance(error, CollectionError) and error.resource_type == "activityLog"
    assert broken["eventDataId"] in error.reason


def test_filter_names_the_window_and_the_resource_provider():
    text = activity_filter(T0, T0 + timedelta(minutes=1))
    assert text == ("eventTimestamp ge '2026-12-06T18:00:00.000000Z' and eventTimestamp le "
                    "'2026-12-06T18:01:00.000000Z' and resourceProvider eq 'Microsoft.Network'")


# --- over HTTPS -----------------------------------------------------------------------------------


def test_the_provider_is_a_watch_source(arm):
    assert isinstance(make_provider(arm), WatchSource)


def _write_rule(arm, nsg: str, name: str, source: str) -> None:
    """A rule written with the real SDK; the server logs the call in the Activity Log."""
    from azure.mgmt.network import NetworkManagementClient
    from azure.mgmt.network.models import SecurityRule

    from providers.azure.auth import StaticTokenCredential

    client = NetworkManagementClient(StaticTokenCredential(arm.token), SUB, base_url=arm.url,
                                     retry_total=0)
    with client:
        client.security_rules.begin_create_or_update(
            "rg-web", nsg, name,
            SecurityRule(protocol="Tcp", source_address_prefix=source, source_port_range="*",
                         destination_address_prefix="*", destination_port_range="22",
                         access="Allow", priority=310, direction="Inbound"),
            polling_interval=0).result()


def test_sdk_writes_are_read_back_as_one_event_each_across_pages(arm):
    arm.estate.page_size = 2
    start = datetime.now(timezone.utc) - timedelta(seconds=1)
    for n in range(3):
        _write_rule(arm, "nsg-web", f"allow-ssh-{n}", "Internet")
    provider = make_provider(arm)
    end = datetime.now(timezone.utc) + timedelta(seconds=1)
    found = list(provider.audit_events(SCOPE, start, end))
    assert [(e.operation, e.targets, e.failed) for e in found] == \
        [(RULE_WRITE, (NSG_WEB.lower(),), False)] * 3
    assert len({e.event_id for e in found}) == 3
    assert all(e.attribution.actor == "ops@contoso.com" for e in found)
    pages = arm.estate.requests_for("eventtypes/management/values")
    assert len(pages) == 3  # six entries (Started and Succeeded per call), two a page
    assert "resourceProvider eq 'Microsoft.Network'" in pages[0][1]["$filter"][0]


def test_events_outside_the_window_are_not_returned(arm):
    arm.estate.events[SUB] += [_event(NSG_WEB, "Microsoft.Network/networkSecurityGroups/write",
                                      when=T0 + timedelta(minutes=m)) for m in (0, 5, 10)]
    provider = make_provider(arm)
    found = list(provider.audit_events(SCOPE, T0 + timedelta(minutes=1),
                                       T0 + timedelta(minutes=10)))
    assert [e.time for e in found] == [T0 + timedelta(minutes=5)]


def test_an_unreadable_activity_log_is_an_error_for_the_scope(arm):
    arm.estate.forbidden_types.add((SUB, "events"))
    (error,) = make_provider(arm).audit_events(SCOPE, T0, T0 + timedelta(minutes=1))
    assert isinstance(error, CollectionError)
    assert error.code == "AuthorizationFailed" and error.resource_type == "activityLog"
    assert "Microsoft.Insights/eventtypes/values/read" in error.hint


# --- re-reads -------------------------------------------------------------------------------------


def _full(arm):
    items = list(make_provider(arm).collect(SCOPE))
    return {getattr(i, "resource_id", None) or getattr(i, "asset_id", None)
            or getattr(i, "subnet_id", None): i for i in items
            if isinstance(i, (RuleSet, Asset, Subnet))}


def _by_id(items):
    return {getattr(i, "resource_id", None) or getattr(i, "asset_id", None)
            or getattr(i, "subnet_id", None): i for i in items}


def test_reread_of_an_nsg_equals_the_full_collection_with_its_nics_and_subnets(arm):
    full = _full(arm)
    got = make_provider(arm).reread(SCOPE, [NSG_SHARED])
    assert got.gone == () and got.scope == SCOPE
    items = _by_id(got.items)
    assert set(items) == {NSG_SHARED.lower(), NIC_APP.lower(), SUBNET_APP.lower()}
    for key, item in items.items():
        assert item == full[key]


def test_reread_of_a_rule_reads_its_nsg_after_an_sdk_write(arm):
    _write_rule(arm, "nsg-web", "allow-ssh-anywhere", "*")
    full = _full(arm)
    got = make_provider(arm).reread(SCOPE, [f"{NSG_WEB}/securityRules/allow-ssh-anywhere"])
    items = _by_id(got.items)
    assert set(items) == {NSG_WEB.lower(), SUBNET_WEB.lower()}
    assert items[NSG_WEB.lower()] == full[NSG_WEB.lower()]
    assert "allow-ssh-anywhere" in {r.name for r in items[NSG_WEB.lower()].rules}


def test_reread_of_a_nic_behind_a_load_balancer_resolves_its_front_end(arm):
    full = _full(arm)
    got = make_provider(arm).reread(SCOPE, [NIC_API])
    (nic,) = got.items
    assert nic == full[NIC_API.lower()]
    assert nic.extra["load_balancer_public_addresses"] == ["20.61.0.20"]


def test_reread_of_a_subnet_gives_the_subnet_and_the_nsg_it_names(arm):
    full = _full(arm)
    items = _by_id(make_provider(arm).reread(SCOPE, [SUBNET_WEB]).items)
    assert set(items) == {SUBNET_WEB.lower(), NSG_WEB.lower()}
    assert all(item == full[key] for key, item in items.items())


def test_reread_of_a_virtual_network_gives_it_with_its_subnets(arm):
    items = make_provider(arm).reread(SCOPE, [VNET]).items
    kinds = sorted(type(i).__name__ for i in items)
    assert kinds == ["Network", "RuleSet", "RuleSet", "Subnet", "Subnet", "Subnet"]


def test_a_deleted_nsg_is_gone(arm):
    arm.estate.remove(SUB, "networkSecurityGroups", "nsg-shared")
    got = make_provider(arm).reread(SCOPE, [NSG_SHARED, f"{VNET}/subnets/nowhere"])
    assert set(got.gone) == {NSG_SHARED.lower(), f"{VNET}/subnets/nowhere".lower()}
    assert not [i for i in got.items if isinstance(i, RuleSet)]


@pytest.mark.parametrize("kind", ["networkSecurityGroups", "networkInterfaces"])
def test_a_denied_reread_is_an_error_naming_the_target(arm, kind):
    arm.estate.forbidden_types.add((SUB, kind))
    target = NSG_SHARED if kind == "networkSecurityGroups" else NIC_APP
    got = make_provider(arm).reread(SCOPE, [target])
    errors = [i for i in got.items if isinstance(i, CollectionError)]
    assert [(e.code, e.resource_type) for e in errors] == [("AuthorizationFailed", kind)]
    assert target.lower() in errors[0].reason
    assert f"Microsoft.Network/{kind}/read" in errors[0].hint
    assert target.lower() not in got.gone
