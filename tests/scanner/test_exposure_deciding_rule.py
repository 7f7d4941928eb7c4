"""Exposure evidence names the rules whose match decided, layer by layer, and lists concrete
protocols."""

from __future__ import annotations

import json

from scanner.exposure import analyze_exposure
from scanner.model import Exposure
from scanner.netmath import PortSet
from scanner.traffic import ALL_PROTOCOL_SET, ProtocolSet
from tests.scanner.exposure_builders import (
    ALLOW,
    DENY,
    NEXT,
    OPEN_ACL,
    acl,
    aws_subnet,
    eni,
    gcp_network,
    instance,
    policy,
    rule,
    sg,
    snapshot,
    vpc_rules,
)

IAP = "35.235.240.0/20"
ASSET_ID = instance().asset_id


def fw(action, ports, priority, name, protocol="tcp", sources=("0.0.0.0/0",), **kw):
    return rule(action, protocol, ports, sources, priority, native_id=f"{name}/{protocol}",
                name=name, **kw)


def gcp(*rule_sets):
    return snapshot(*rule_sets, gcp_network(*rule_sets), instance())


def test_an_org_allow_for_a_small_range_is_not_credited_with_whole_internet_ssh():
    org = policy("org", fw(ALLOW, "22", 100, "allow-iap", sources=(IAP,)),
                 fw(NEXT, "*", 200, "to-vpc", "all"), hierarchical=True)
    vpc = vpc_rules(fw(ALLOW, "22", 1000, "allow-ssh-anywhere"))
    analysis = analyze_exposure(gcp(org, vpc))
    (ssh,) = [e for e in analysis.for_asset(ASSET_ID) if e.source == "internet"]
    assert ssh.ports == PortSet.of(22)
    assert [(r.rule_set_id, r.rule_id) for r in ssh.admitted_by] == [
        (vpc.resource_id, "allow-ssh-anywhere/tcp")]
    # The path says what each layer did with this traffic: the organization handed it on.
    assert [(s.layer, s.decision, s.rule_id) for s in ssh.path] == [
        ("gcp_hierarchical_policy", "goto_next", "to-vpc/all"),
        ("gcp_vpc_firewall", "allow", "allow-ssh-anywhere/tcp"),
    ]
    assert not analysis.is_live(org.resource_id, "allow-iap/tcp")
    assert not analysis.is_live(org.resource_id, "to-vpc/all")  # goto_next admits nothing
    assert analysis.is_live(vpc.resource_id, "allow-ssh-anywhere/tcp")
    assert ssh.to_dict()["admitted_by"][0]["rule_id"] == "allow-ssh-anywhere/tcp"
    assert Exposure.from_dict(json.loads(json.dumps(ssh.to_dict()))) == ssh


def test_no_match_at_a_level_is_a_step_not_an_admitter():
    org = policy("org", fw(ALLOW, "22", 100, "allow-iap", sources=(IAP,)), hierarchical=True)
    vpc = vpc_rules(fw(ALLOW, "22", 1000, "allow-ssh-anywhere"))
    (ssh,) = [e for e in analyze_exposure(gcp(org, vpc)).for_asset(ASSET_ID)
              if e.source == "internet"]
    assert [(s.layer, s.decision) for s in ssh.path] == [
        ("gcp_hierarchical_policy", "no_match"), ("gcp_vpc_firewall", "allow")]
    assert [r.rule_id for r in ssh.admitted_by] == ["allow-ssh-anywhere/tcp"]


def test_halves_in_two_rules_are_both_credited():
    vpc = vpc_rules(fw(ALLOW, "22", 1000, "half-a", sources=("0.0.0.0/1",)),
                    fw(ALLOW, "22", 1001, "half-b", sources=("128.0.0.0/1",)))
    analysis = analyze_exposure(gcp(vpc))
    (ssh,) = [e for e in analysis.for_asset(ASSET_ID) if e.source == "internet"]
    assert sorted(r.rule_id for r in ssh.admitted_by) == ["half-a/tcp", "half-b/tcp"]


def test_exposures_list_concrete_protocols_never_all_except():
    group = sg("sg-1", ("all", "*", ("0.0.0.0/0",)))
    ingress = ((90, DENY, "tcp", "*", "0.0.0.0/0"),) + OPEN_ACL[0]
    estate = snapshot(acl("acl-1", ingress, OPEN_ACL[1]), aws_subnet(), group, eni())
    analysis = analyze_exposure(estate)
    assert analysis.exposures
    for exposure in analysis.exposures:
        data = exposure.to_dict()
        assert "except" not in data["protocol"]
        assert "tcp" not in data["protocols"]
        assert {"udp", "icmp", "icmpv6", "sctp", "gre", "5", "7-16"} <= set(data["protocols"])
    protocols = ProtocolSet.parse_concrete(analysis.exposures[0].to_dict()["protocols"])
    assert protocols == ALL_PROTOCOL_SET.difference(ProtocolSet.of("tcp"))


def test_concrete_protocol_lists_round_trip():
    for protocols in (ALL_PROTOCOL_SET, ProtocolSet.of("udp"),
                      ProtocolSet(((0, 5), (47, 47), (59, 200))),
                      ALL_PROTOCOL_SET.difference(ProtocolSet.of("tcp"))):
        tokens = protocols.concrete()
        assert "all" not in tokens
        assert ProtocolSet.parse_concrete(tokens) == protocols
