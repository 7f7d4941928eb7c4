"""The exposure walk's raw evaluators agree with scanner.traffic's, and the walk agrees with a
packet-by-packet brute force of the AWS layers."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.exposure import analyze_exposure
from scanner.model import Action, Direction, PathStep, Peer, Rule
from scanner.netmath import IPV4, IPV6, PortSet, intersect_intervals
from scanner.reach import reacher
from scanner.reach.base import Piece, SnapshotIndex, combine, public_offer
from scanner.reach.fast import (
    _and,
    compact,
    cooked,
    first_match,
    intersect_boxes,
    prepare,
    raw,
    union,
)
from scanner.traffic import TrafficSpace, evaluate_first_match, evaluate_union, rule_space
from tests.scanner.exposure_builders import acl, aws_subnet, eni, sg, snapshot

BLOCKS = ["8.8.8.0/26", "8.8.8.64/26", "8.8.8.128/25", "1.1.1.0/24", "0.0.0.0/0", "10.0.0.0/8"]
PROBES = [int(ipaddress.ip_address(a)) for a in ("8.8.8.1", "8.8.8.70", "8.8.8.200", "1.1.1.1",
                                                 "9.9.9.9")]
PORTS = [0, 22, 23, 80, 443, 1000, 1024, 40000, 65535]
PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1, "47": 47}


def rule(action, protocol, ports, cidrs, priority, direction=Direction.INGRESS, icmp_type=None):
    return Rule(direction, action, protocol, PortSet.parse(ports),
                tuple(Peer.cidr(c) for c in cidrs), priority, native_id=f"r{priority}",
                icmp_type=icmp_type)


rules = st.lists(st.builds(
    rule,
    st.sampled_from([Action.ALLOW, Action.DENY, Action.GOTO_NEXT]),
    st.sampled_from(["tcp", "udp", "icmp", "47", "all"]),
    st.sampled_from(["22", "20-25", "*", "80,443", "0-1000", "1024-65535"]),
    st.lists(st.sampled_from(BLOCKS), min_size=1, max_size=2),
    st.integers(1, 50),
    st.just(Direction.INGRESS),
    st.sampled_from([None, None, 8]),
), max_size=7)

intervals = st.lists(st.tuples(st.integers(0, 400), st.integers(0, 8)), max_size=40).map(
    lambda xs: PortSet(tuple((lo, lo + n) for lo, n in xs)).intervals)


@settings(max_examples=300)
@given(intervals, intervals)
def test_fast_intersection_is_the_intersection(a, b):
    if a and b:
        assert _and(a, b) == intersect_intervals(a, b)


def _same(family, raw_boxes, space: TrafficSpace) -> bool:
    mine = cooked(family, raw_boxes)
    return mine.covers(space) and space.covers(mine)


@settings(max_examples=150, deadline=None)
@given(rules)
def test_raw_first_match_and_union_agree_with_traffic(rule_list):
    ordered = sorted(rule_list, key=lambda r: r.priority)
    offered = TrafficSpace.everything(IPV4)
    reference = evaluate_first_match(ordered, offered)
    mine = first_match(prepare(ordered, IPV4), raw(offered))
    assert [r for r, _ in mine.decisions] == [
        d.rule for d in sorted(reference.allowed + reference.denied + reference.passed,
                               key=lambda d: ordered.index(d.rule))]
    decided = {id(d.rule): d.traffic for d in
               reference.allowed + reference.denied + reference.passed}
    for r, boxes in mine.decisions:
        assert _same(IPV4, boxes, decided[id(r)])
    assert _same(IPV4, mine.unmatched, reference.unmatched)
    allows = [r for r in ordered if r.action is Action.ALLOW]
    reference_union = evaluate_union(allows, offered)
    mine_union = union(prepare(allows, IPV4), raw(offered))
    assert len(mine_union.decisions) == len(reference_union.allowed)
    for (r, boxes), d in zip(mine_union.decisions, reference_union.allowed, strict=True):
        assert r is d.rule and _same(IPV4, boxes, d.traffic)


def _hits(r: Rule, protocol: int, port: int, address: int, *, blocking: bool) -> bool:
    """As scanner.traffic models a rule: a port list applies to tcp, udp and "all" rules."""
    if r.protocol != "all" and PROTOCOLS[r.protocol] != protocol:
        return False
    if blocking and r.protocol == "icmp" and r.icmp_type is not None:
        return False  # an ICMP-type deny is taken as matching nothing (never hides exposure)
    if r.protocol in ("tcp", "udp", "all") and port not in r.ports:
        return False
    return any(address in range(int(net.network_address), int(net.broadcast_address) + 1)
               for net in (ipaddress.ip_network(p.value) for p in r.peers))


def _first(rules_in_order, protocol, port, address) -> Action | None:
    for r in rules_in_order:
        if _hits(r, protocol, port, address, blocking=r.action is not Action.ALLOW):
            return r.action
    return None


acl_entries = st.lists(st.tuples(
    st.integers(1, 40), st.sampled_from([Action.ALLOW, Action.DENY]),
    st.sampled_from(["tcp", "udp", "icmp", "all"]),
    st.sampled_from(["22", "*", "1024-65535", "80,443", "32768-65535"]),
    st.sampled_from(BLOCKS)), max_size=4, unique_by=lambda e: e[0])
group_rules = st.lists(st.tuples(st.sampled_from(["tcp", "udp", "icmp", "all"]),
                                 st.sampled_from(["22", "*", "80,443", "20-25"]),
                                 st.lists(st.sampled_from(BLOCKS), min_size=1, max_size=2)
                                 .map(tuple)), max_size=4)


@settings(max_examples=120, deadline=None)
@given(acl_entries, acl_entries, group_rules)
def test_aws_walk_agrees_with_a_packet_brute_force(ingress, egress, group):
    """A packet reaches the interface iff the ACL's first inbound match allows it, some client
    port of its reply (1024-65535 for TCP/UDP; none for others) is allowed out first-match, and
    a security group rule allows it."""
    network_acl = acl("acl-1", ingress, egress)
    groups = sg("sg-1", *group)
    snap = snapshot(network_acl, aws_subnet(routes=("0.0.0.0/0",)), groups, eni())
    index = SnapshotIndex(snap)
    walks = reacher("aws")(snap.assets[0], index, {IPV4: public_offer(IPV4, None)}, {})
    reaches = [walk.run() for walk in walks]
    admitted = cooked(IPV4, [b for reach in reaches for p in reach.pieces for b in p.boxes])
    inbound = index.ordered(network_acl, Direction.INGRESS)
    outbound = index.ordered(network_acl, Direction.EGRESS)
    group_in = [r for r in groups.rules if r.direction is Direction.INGRESS]
    for protocol in PROTOCOLS.values():
        for port in PORTS:
            for address in PROBES:
                expected = (
                    _first(inbound, protocol, port, address) is Action.ALLOW
                    and any(_first(outbound, protocol, client, address) is Action.ALLOW
                            for client in ((1024, 30000, 40000, 65535) if protocol in (6, 17)
                                           else PORTS))
                    and any(_hits(r, protocol, port, address, blocking=False) for r in group_in)
                )
                assert admitted.contains(protocol, port, address) == expected, (
                    protocol, port, address)


def test_the_whole_analysis_uses_the_same_walk():
    snap = snapshot(acl("acl-1", [(10, Action.ALLOW, "all", "*", "0.0.0.0/0")],
                        [(10, Action.ALLOW, "all", "*", "0.0.0.0/0")]),
                    aws_subnet(), sg("sg-1", ("tcp", "22", ("0.0.0.0/0",))), eni())
    assert analyze_exposure(snap).reachable("eni-1") == {"tcp": PortSet.of(22)}


many_rules = st.lists(st.builds(
    rule,
    st.sampled_from([Action.ALLOW, Action.DENY]),
    st.sampled_from(["tcp", "udp", "all"]),
    st.sampled_from(["22", "20-25", "*", "80,443", "0-1000", "1024-65535", "8000-8100"]),
    st.lists(st.sampled_from(BLOCKS + ["8.8.0.0/16", "1.0.0.0/8", "100.0.0.0/6"]),
             min_size=1, max_size=2),
    st.integers(1, 500),
), min_size=40, max_size=90)


@settings(max_examples=25, deadline=None)
@given(many_rules)
def test_long_rule_lists_compact_what_is_left_without_changing_it(rule_list):
    ordered = sorted(rule_list, key=lambda r: r.priority)
    offered = TrafficSpace.everything(IPV4)
    reference = evaluate_first_match(ordered, offered)
    mine = first_match(prepare(ordered, IPV4), raw(offered))
    assert _same(IPV4, mine.unmatched, reference.unmatched)
    allowed = [b for r, boxes in mine.decisions if r.action is Action.ALLOW for b in boxes]
    assert _same(IPV4, allowed, reference.admitted())
    assert _same(IPV4, compact(list(mine.unmatched) + allowed),
                 reference.unmatched.union(reference.admitted()))


mixed_rules = st.lists(st.builds(
    rule,
    st.sampled_from([Action.ALLOW, Action.DENY, Action.GOTO_NEXT]),
    st.sampled_from(["tcp", "udp", "icmp", "icmpv6", "47", "all"]),
    st.sampled_from(["22", "20-25", "*", "80,443", "1024-65535"]),
    st.lists(st.sampled_from(BLOCKS + ["::/0", "2600::/16", "2001:db8::/32", "fe80::/10",
                                       "192.168.0.0/16", "8.8.0.0/16"]),
             min_size=0, max_size=3),
    st.integers(1, 50),
    st.just(Direction.INGRESS),
    st.sampled_from([None, None, 8]),
), max_size=8)


@settings(max_examples=150, deadline=None)
@given(mixed_rules, mixed_rules)
def test_prepared_matches_are_rule_space_on_the_public_space(first, second):
    """Each rule's prepared box is its rule_space (as a block where it takes traffic away)
    less what is not public, on either family; rules matching no public address are left out.
    The CIDR lists seen are shared across calls and families, as the analysis shares them."""
    seen: dict[int, dict] = {IPV4: {}, IPV6: {}}
    for rule_list in (first, second):
        for family in (IPV4, IPV6):
            prepared = prepare(rule_list, family, seen[family])
            expected = []
            for r in rule_list:
                space = rule_space(r, family, r.action is not Action.ALLOW)
                public = space.intersection(TrafficSpace.everything(family))
                if public:
                    expected.append((r, raw(public)[0]))
            assert [(r, box) for r, box in prepared] == expected


@settings(max_examples=100, deadline=None)
@given(rules, rules)
def test_combining_layers_is_every_pairs_intersection(left_rules, right_rules):
    """combine (boxes taken by protocols) against the plain pairwise intersection: the same
    pieces in the same order, with the same traffic and joined paths."""
    def pieces(rule_list, layer):
        ordered = sorted(rule_list, key=lambda r: r.priority)
        found = first_match(prepare(ordered, IPV4), raw(TrafficSpace.everything(IPV4)))
        return [Piece(boxes, (PathStep(layer, "allow", layer, r.native_id),))
                for r, boxes in found.decisions]

    left, right = pieces(left_rules, "left"), pieces(right_rules, "right")
    expected = [(a.path + b.path, intersect_boxes(a.boxes, b.boxes))
                for a in left for b in right]
    expected = [(path, boxes) for path, boxes in expected if boxes]
    found = combine(left, right)
    assert [p.path for p in found] == [path for path, _ in expected]
    for piece, (_, boxes) in zip(found, expected, strict=True):
        assert sorted(piece.boxes) == sorted(boxes)
