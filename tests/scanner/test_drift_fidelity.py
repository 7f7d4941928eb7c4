"""Drift says exactly what a change did: goto_next is delegation judged across the chain, and
every widening names the machines it made reachable, on every cloud."""

from __future__ import annotations

from dataclasses import replace

from scanner.drift.comparison import compare
from scanner.exposure import analyze_exposure
from scanner.model import Effect, Severity
from tests.scanner.exposure_builders import (
    ALLOW,
    DENY,
    NEXT,
    OPEN_ACL,
    acl,
    aws_subnet,
    azure_subnet,
    eni,
    gcp_network,
    instance,
    nic,
    nsg,
    policy,
    rule,
    sg,
    snapshot,
    vpc_rules,
)


def fw(action, ports, priority, name, protocol="tcp", sources=("0.0.0.0/0",)):
    return rule(action, protocol, ports, sources, priority, native_id=f"{name}/{protocol}",
                name=name)


def _drift(before, after):
    return compare(before, after, analyze_exposure(before), analyze_exposure(after))


def _gcp(org_action, *vpc_allows):
    org = policy("org", fw(org_action, "22", 100, "org-ssh"), hierarchical=True)
    vpc = vpc_rules(*vpc_allows)
    return snapshot(org, vpc, gcp_network(org, vpc), instance())


def test_deny_to_goto_next_onto_an_implied_deny_changes_nothing_admitted():
    (item,) = _drift(_gcp(DENY), _gcp(NEXT))
    assert item.effect is Effect.NEUTRAL and item.severity is Severity.LOW
    assert item.attack == ()
    assert "delegates tcp 22 (SSH) from the whole internet" in item.summary
    assert "the VPC firewall rules" in item.summary
    assert "no change in what is admitted" in item.summary
    assert "now admits" not in item.summary
    assert item.details["delegation"]["now_delegates"] is True
    assert item.details["delegation"]["to"][0]["levels"] == ["the VPC firewall rules"]


def test_deny_to_goto_next_onto_a_vpc_allow_admits_and_names_the_machine():
    allow = fw(ALLOW, "22", 1000, "allow-ssh")
    (item,) = _drift(_gcp(DENY, allow), _gcp(NEXT, allow))
    assert item.effect is Effect.WIDENED and item.severity is Severity.CRITICAL
    assert "which admit tcp 22 (SSH) from the whole internet" in item.summary
    assert item.details["newly_reachable"] == [instance().asset_id]
    assert item.attack == ("T1562.007",)


def test_goto_next_back_to_deny_says_the_level_decides_itself():
    allow = fw(ALLOW, "22", 1000, "allow-ssh")
    (item,) = _drift(_gcp(NEXT, allow), _gcp(DENY, allow))
    assert item.effect is Effect.NARROWED
    assert "now decides itself" in item.summary and "no longer admits tcp 22" in item.summary


def test_gcp_hierarchical_deny_removed_names_the_instance_it_exposed():
    org_before = policy("org", fw(DENY, "3306", 100, "deny-mysql"), hierarchical=True)
    org_after = replace(org_before, rules=())
    vpc = vpc_rules(fw(ALLOW, "3306", 1000, "allow-mysql"))
    before = snapshot(org_before, vpc, gcp_network(org_before, vpc), instance())
    after = snapshot(org_after, vpc, gcp_network(org_after, vpc), instance())
    (item,) = _drift(before, after)
    assert item.effect is Effect.WIDENED
    assert [e["asset_id"] for e in item.newly_exposed] == [instance().asset_id]
    assert item.details["newly_reachable"] == [instance().asset_id]


def test_gcp_widening_on_an_instance_without_external_ip_names_none_and_says_so():
    before = snapshot(vpc_rules(), gcp_network(vpc_rules()), instance(public=()))
    vpc = vpc_rules(fw(ALLOW, "22", 1000, "allow-ssh"))
    after = snapshot(vpc, gcp_network(vpc), instance(public=()))
    (item,) = _drift(before, after)
    assert item.effect is Effect.WIDENED and item.details["newly_reachable"] == []


def test_aws_nacl_deny_removed_names_the_interface():
    ingress = ((90, DENY, "tcp", "22", "0.0.0.0/0"),) + OPEN_ACL[0]
    group = sg("sg-1", ("tcp", "22", ("0.0.0.0/0",)))
    before = snapshot(acl("acl-1", ingress, OPEN_ACL[1]), aws_subnet(), group, eni())
    after = snapshot(acl("acl-1", *OPEN_ACL), aws_subnet(), group, eni())
    (item,) = [i for i in _drift(before, after) if i.effect is Effect.WIDENED]
    assert item.details["newly_reachable"] == ["eni-1"]


def test_azure_subnet_nsg_deny_removed_names_the_nic():
    subnet_before = nsg("nsg-subnet", rule(DENY, "tcp", "3389", ("0.0.0.0/0",), 100,
                                           native_id="deny-rdp"),
                       rule(ALLOW, "tcp", "3389", ("0.0.0.0/0",), 200, native_id="allow-rdp"))
    subnet_after = replace(subnet_before, rules=subnet_before.rules[1:])
    card = nsg("nsg-nic", rule(ALLOW, "tcp", "3389", ("0.0.0.0/0",), 100, native_id="rdp"))

    def estate(subnet_nsg):
        return snapshot(subnet_nsg, card, azure_subnet(nsg_set=subnet_nsg), nic(nsg_set=card))

    (item,) = [i for i in _drift(estate(subnet_before), estate(subnet_after))
               if i.effect is Effect.WIDENED]
    assert item.details["newly_reachable"] == [nic().asset_id]


def test_delegation_from_a_policy_no_network_shows_is_unknown_not_a_widening():
    def estate(action):
        org = policy("org", fw(action, "22", 100, "org-ssh"), hierarchical=True)
        return snapshot(org, instance())

    (item,) = compare(estate(DENY), estate(NEXT))
    assert item.effect is Effect.UNKNOWN and item.severity is Severity.MEDIUM
    assert "no network in the snapshot shows" in item.summary
    assert "now admits" not in item.summary
