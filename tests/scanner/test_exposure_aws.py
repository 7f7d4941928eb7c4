"""AWS exposure: internet route, NACL inbound and reply, security group union."""

from __future__ import annotations

from scanner.exposure import analyze_exposure
from scanner.model import Peer, PeerKind
from scanner.netmath import PortSet
from tests.scanner.exposure_builders import (
    ALLOW,
    AWS_ACCOUNT,
    AWS_REGION,
    DENY,
    OPEN_ACL,
    acl,
    aws_subnet,
    eni,
    scope_error,
    sg,
    snapshot,
)

ANY4 = ("0.0.0.0/0",)


def estate(*groups, ingress=OPEN_ACL[0], egress=OPEN_ACL[1], asset=None, subnet=None):
    return snapshot(acl("acl-1", ingress, egress), subnet or aws_subnet(), *groups,
                    asset or eni(groups=tuple(g.resource_id for g in groups)))


def ports(*items) -> PortSet:
    return PortSet.of(*items)


def test_open_acl_and_group_expose_exactly_the_group_ports_with_the_full_path():
    analysis = analyze_exposure(estate(sg("sg-1", ("tcp", "22", ANY4), ("tcp", "443", ANY4))))
    assert analysis.reachable("eni-1") == {"tcp": ports(22, 443)}
    by_port = {str(e.ports): e for e in analysis.for_asset("eni-1")}
    ssh = by_port["22"]
    assert (ssh.source, ssh.family, ssh.via, ssh.services) == ("internet", "ipv4", "public_ip",
                                                              ("ssh",))
    assert [(s.layer, s.decision, s.rule_set_id, s.rule_id) for s in ssh.path] == [
        ("route", "allow", None, None),
        ("aws_network_acl", "allow", "acl-1", "ingress:100"),
        ("aws_network_acl", "allow", "acl-1", "egress:100"),
        ("aws_security_group", "allow", "sg-1", "sg-1-r0"),
    ]
    assert "1024-65535" in ssh.path[2].note
    assert analysis.live_rules[("sg-1", "sg-1-r0")] == frozenset({"eni-1"})
    assert analysis.live_rules[("acl-1", "ingress:100")] == frozenset({"eni-1"})


def test_nacl_deny_before_the_group_allow_wins():
    ingress = ((90, DENY, "tcp", "22", "0.0.0.0/0"),) + OPEN_ACL[0]
    analysis = analyze_exposure(estate(sg("sg-1", ("tcp", "22", ANY4), ("tcp", "80", ANY4)),
                                       ingress=ingress))
    assert analysis.reachable("eni-1") == {"tcp": ports(80)}
    assert not analysis.is_live("sg-1", "sg-1-r0")
    assert analysis.is_live("sg-1", "sg-1-r1")


def test_nacl_deny_of_part_of_the_internet_leaves_a_broad_exposure():
    ingress = ((90, DENY, "tcp", "22", "8.0.0.0/8"),) + OPEN_ACL[0]
    analysis = analyze_exposure(estate(sg("sg-1", ("tcp", "22", ANY4)), ingress=ingress))
    assert analysis.reachable("eni-1") == {}
    assert analysis.reachable("eni-1", "broad") == {"tcp": ports(22)}
    # The same estate, with 8.0.0.0/8 a known range of the user's: the rest is the internet.
    trusted = analyze_exposure(estate(sg("sg-1", ("tcp", "22", ANY4)), ingress=ingress),
                               trusted_cidrs=["8.0.0.0/8"])
    assert trusted.reachable("eni-1") == {"tcp": ports(22)}


def test_nacl_missing_the_reply_path_blocks_and_says_why():
    egress = ((100, ALLOW, "tcp", "443", "0.0.0.0/0"),)
    analysis = analyze_exposure(estate(sg("sg-1", ("tcp", "22", ANY4)), egress=egress))
    assert analysis.for_asset("eni-1") == ()
    assert any("reply" in n and "not reachable" in n for n in analysis.notes["eni-1"])


def test_reply_on_ephemeral_tcp_ports_serves_tcp_but_not_udp():
    egress = ((100, ALLOW, "tcp", "1024-65535", "0.0.0.0/0"),)
    analysis = analyze_exposure(estate(sg("sg-1", ("tcp", "22", ANY4), ("udp", "53", ANY4)),
                                       egress=egress))
    assert analysis.reachable("eni-1") == {"tcp": ports(22)}


def test_reply_to_only_some_client_ports_is_reachable_with_a_note():
    egress = ((100, ALLOW, "tcp", "32768-65535", "0.0.0.0/0"),)
    analysis = analyze_exposure(estate(sg("sg-1", ("tcp", "22", ANY4)), egress=egress))
    assert analysis.reachable("eni-1") == {"tcp": ports(22)}
    assert any("only some client ports" in n for n in analysis.notes["eni-1"])


def test_icmp_reply_needs_no_ports_but_needs_icmp_out():
    analysis = analyze_exposure(estate(sg("sg-1", ("icmp", "*", ANY4)),
                                       egress=((100, ALLOW, "icmp", "*", "0.0.0.0/0"),)))
    assert analysis.reachable("eni-1") == {"icmp": PortSet.all()}
    blocked = analyze_exposure(estate(sg("sg-1", ("icmp", "*", ANY4)),
                                      egress=((100, ALLOW, "tcp", "*", "0.0.0.0/0"),)))
    assert blocked.for_asset("eni-1") == ()


def test_group_allow_without_public_address_or_route_reaches_nothing():
    group = sg("sg-1", ("tcp", "22", ANY4))
    private = analyze_exposure(estate(group, asset=eni(public=())))
    assert private.exposures == () and private.unknown_assets == ()
    no_route = analyze_exposure(estate(group, subnet=aws_subnet(routes=())))
    assert no_route.exposures == ()


def test_route_limits_the_offered_sources():
    # Only 0.0.0.0/1 is routed to the internet gateway: half the internet, a broad range.
    analysis = analyze_exposure(estate(sg("sg-1", ("tcp", "22", ANY4)),
                                       subnet=aws_subnet(routes=("0.0.0.0/1",))))
    assert analysis.reachable("eni-1") == {}
    assert analysis.reachable("eni-1", "broad") == {"tcp": ports(22)}


def test_groups_are_a_union_and_split_sources_add_up_to_the_internet():
    one = sg("sg-1", ("tcp", "22", ("0.0.0.0/1",)))
    two = sg("sg-2", ("tcp", "22", ("128.0.0.0/1",)), ("tcp", "8080", ("198.51.99.0/24",)))
    analysis = analyze_exposure(estate(one, two))
    assert analysis.reachable("eni-1") == {"tcp": ports(22)}
    assert analysis.reachable("eni-1", "broad") == {}  # a /24 is neither
    (ssh,) = analysis.for_asset("eni-1")
    assert {(s.rule_set_id, s.rule_id) for s in ssh.path if s.layer == "aws_security_group"} == {
        ("sg-1", "sg-1-r0"), ("sg-2", "sg-2-r0")}
    assert not analysis.is_live("sg-2", "sg-2-r1")


def test_ipv6_needs_an_ipv6_address_and_an_ipv6_route():
    group = sg("sg-1", ("tcp", "443", ("::/0",)), ("tcp", "22", ANY4))
    analysis = analyze_exposure(estate(group, asset=eni(public=(), ipv6=("2a05:d018::10",))))
    (https,) = analysis.for_asset("eni-1")
    assert (https.family, https.via, https.protocol, https.ports) == ("ipv6", "ipv6", "tcp",
                                                                      ports(443))
    no_route = analyze_exposure(estate(group, asset=eni(public=(), ipv6=("2a05:d018::10",)),
                                       subnet=aws_subnet(routes=("0.0.0.0/0",))))
    assert no_route.exposures == ()


def test_all_traffic_group_exposes_every_protocol_and_names_services():
    analysis = analyze_exposure(estate(sg("sg-1", ("all", "*", ANY4))))
    assert analysis.reachable("eni-1") == {"all": PortSet.all()}
    (everything,) = analysis.for_asset("eni-1")
    assert {"ssh", "rdp", "mysql"} <= set(everything.services)


def test_missing_data_or_failed_scope_is_unknown_not_safe():
    group = sg("sg-1", ("tcp", "22", ANY4))
    missing_group = analyze_exposure(snapshot(acl("acl-1", *OPEN_ACL), aws_subnet(),
                                              eni(groups=("sg-404",))))
    assert missing_group.unknown_assets == ("eni-1",)
    assert "sg-404" in missing_group.unknown_reasons["eni-1"]
    missing_subnet = analyze_exposure(snapshot(acl("acl-1", *OPEN_ACL), group, eni()))
    assert missing_subnet.unknown_assets == ("eni-1",)
    failed = analyze_exposure(snapshot(acl("acl-1", *OPEN_ACL), aws_subnet(), group, eni(),
                                       errors=[scope_error("aws", AWS_ACCOUNT, AWS_REGION)]))
    assert failed.unknown_assets == ("eni-1",) and failed.exposures == ()


def test_assets_with_the_same_layers_share_one_evaluation_but_get_their_own_exposures():
    group = sg("sg-1", ("tcp", "22", ANY4))
    assets = [eni(f"eni-{i}", public=(f"54.1.2.{i}",)) for i in range(5)]
    analysis = analyze_exposure(snapshot(acl("acl-1", *OPEN_ACL), aws_subnet(), group, *assets))
    assert sorted(e.asset_id for e in analysis.exposures) == [f"eni-{i}" for i in range(5)]
    assert analysis.live_rules[("sg-1", "sg-1-r0")] == frozenset(a.asset_id for a in assets)


def test_unread_prefix_list_is_noted_not_counted():
    unread = Peer(PeerKind.PREFIX_LIST, "pl-123")
    group = sg("sg-1", ("tcp", "22", (unread,)), ("tcp", "443", ANY4))
    analysis = analyze_exposure(estate(group))
    assert analysis.reachable("eni-1") == {"tcp": ports(443)}
    assert any("pl-123" in n and "not counted" in n for n in analysis.notes["eni-1"])
    resolved = Peer(PeerKind.PREFIX_LIST, "pl-456", ("0.0.0.0/0",))
    assert analyze_exposure(estate(sg("sg-1", ("tcp", "22", (resolved,))))).reachable(
        "eni-1") == {"tcp": ports(22)}


def test_an_unread_detection_list_leaves_exposure_decidable():
    group = sg("sg-1", ("tcp", "22", ANY4))
    errors = [scope_error("aws", AWS_ACCOUNT, AWS_REGION, resource_type="GuardDutyIPSets")]
    analysis = analyze_exposure(snapshot(acl("acl-1", *OPEN_ACL), aws_subnet(), group, eni(),
                                         errors=errors))
    assert analysis.unknown_assets == () and analysis.reachable("eni-1") == {"tcp": ports(22)}
    errors = [scope_error("aws", AWS_ACCOUNT, AWS_REGION, resource_type="RouteTables")]
    analysis = analyze_exposure(snapshot(acl("acl-1", *OPEN_ACL), aws_subnet(), group, eni(),
                                         errors=errors))
    assert analysis.unknown_assets == ("eni-1",)
