"""Traffic spaces and first-match evaluation, checked packet by packet against a brute force."""

from __future__ import annotations

import ipaddress

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.model import Action, Direction, Peer, PeerKind, Rule, RuleSet, RuleSetKind
from scanner.netmath import IPV4, IPV6, PUBLIC_SIZE, PortSet
from scanner.traffic import (
    TrafficSpace,
    effective_rules,
    evaluate_first_match,
    evaluate_union,
    evaluation_order,
    rule_space,
    whole_space,
)

PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1, "47": 47}
# A few public /26 blocks and the addresses inside them the brute force probes.
BLOCKS = ["8.8.8.0/26", "8.8.8.64/26", "8.8.8.128/25", "1.1.1.0/24"]
PROBE_ADDRESSES = [int(ipaddress.ip_address(a)) for a in
                   ("8.8.8.1", "8.8.8.70", "8.8.8.200", "1.1.1.1", "9.9.9.9")]
PROBE_PORTS = [0, 21, 22, 23, 80, 443, 1000, 65535]


def rule(action, protocol, ports, cidrs, priority=None, **kw) -> Rule:
    return Rule(Direction.INGRESS, action, protocol, PortSet.parse(ports),
                tuple(Peer.cidr(c) for c in cidrs), priority, **kw)


rules_strategy = st.lists(
    st.builds(
        rule,
        st.sampled_from([Action.ALLOW, Action.DENY]),
        st.sampled_from(["tcp", "udp", "icmp", "47", "all"]),
        st.sampled_from(["22", "20-25", "*", "80,443", "0-1000"]),
        st.lists(st.sampled_from(BLOCKS + ["0.0.0.0/0"]), min_size=1, max_size=2),
        st.integers(1, 50),
    ),
    max_size=6,
)


def _matches(r: Rule, protocol: int, port: int, address: int) -> bool:
    if r.protocol != "all" and PROTOCOLS[r.protocol] != protocol:
        return False
    if r.protocol in ("tcp", "udp", "all") and port not in r.ports:
        return False
    return any(address in range(int(n.network_address), int(n.broadcast_address) + 1)
               for p in r.peers for n in [ipaddress.ip_network(p.value)])


@settings(max_examples=150, deadline=None)
@given(rules_strategy)
def test_first_match_agrees_with_brute_force(rules):
    ordered = sorted(rules, key=lambda r: r.priority)
    evaluation = evaluate_first_match(ordered, TrafficSpace.everything(IPV4))
    admitted = evaluation.admitted()
    for protocol in PROTOCOLS.values():
        for port in PROBE_PORTS:
            for address in PROBE_ADDRESSES:
                first = next((r for r in ordered if _matches(r, protocol, port, address)), None)
                expected = first is not None and first.action is Action.ALLOW
                assert admitted.contains(protocol, port, address) == expected
                assert evaluation.unmatched.contains(protocol, port, address) == (first is None)


@settings(max_examples=100, deadline=None)
@given(rules_strategy)
def test_union_admits_what_any_allow_matches(rules):
    admitted = evaluate_union(rules, TrafficSpace.everything(IPV4)).admitted()
    for protocol in PROTOCOLS.values():
        for port in PROBE_PORTS:
            for address in PROBE_ADDRESSES:
                expected = any(r.action is Action.ALLOW and _matches(r, protocol, port, address)
                               for r in rules)
                assert admitted.contains(protocol, port, address) == expected


@settings(max_examples=100, deadline=None)
@given(rules_strategy, rules_strategy)
def test_space_algebra_is_consistent(a_rules, b_rules):
    a = evaluate_union(a_rules, TrafficSpace.everything(IPV4)).admitted()
    b = evaluate_union(b_rules, TrafficSpace.everything(IPV4)).admitted()
    union, inter, diff = a.union(b), a.intersection(b), a.difference(b)
    assert union.covers(a) and union.covers(b)
    for protocol in PROTOCOLS.values():
        for port in PROBE_PORTS:
            for address in PROBE_ADDRESSES:
                in_a = a.contains(protocol, port, address)
                in_b = b.contains(protocol, port, address)
                assert union.contains(protocol, port, address) == (in_a or in_b)
                assert inter.contains(protocol, port, address) == (in_a and in_b)
                assert diff.contains(protocol, port, address) == (in_a and not in_b)


def test_deny_of_part_of_the_internet_leaves_broad_not_whole():
    rules = [rule(Action.DENY, "tcp", "22", ["8.8.8.0/24"], 100),
             rule(Action.ALLOW, "all", "*", ["0.0.0.0/0"], 200)]
    admitted = evaluate_first_match(rules, TrafficSpace.everything(IPV4)).admitted()
    whole = {p.label(): str(ports) for p, ports in admitted.grouped(PUBLIC_SIZE[IPV4])}
    assert whole == {"all except tcp": "all", "tcp": "0-21,23-65535"}
    broad = {p.label(): str(ports) for p, ports in admitted.grouped(2**24)}
    assert broad == {"all": "all"}


def test_split_halves_of_the_internet_are_the_whole_internet():
    rules = [rule(Action.ALLOW, "tcp", "3389", ["0.0.0.0/1"]),
             rule(Action.ALLOW, "tcp", "3389", ["128.0.0.0/1"])]
    admitted = evaluate_union(rules, TrafficSpace.everything(IPV4)).admitted()
    assert str(admitted.ports_for(6, PUBLIC_SIZE[IPV4])) == "3389"


def test_non_address_peers_admit_no_internet():
    by_group = Rule(Direction.INGRESS, Action.ALLOW, "tcp", PortSet.of(22),
                    (Peer(PeerKind.SECURITY_GROUP, "sg-1"), Peer(PeerKind.NETWORK_TAG, "web")))
    assert rule_space(by_group, IPV4).is_empty()


def test_icmp_type_limited_deny_never_hides_exposure():
    deny_echo = rule(Action.DENY, "icmp", "*", ["0.0.0.0/0"], 10, icmp_type=8)
    allow_all = rule(Action.ALLOW, "all", "*", ["0.0.0.0/0"], 20)
    admitted = evaluate_first_match([deny_echo, allow_all], TrafficSpace.everything(IPV4))
    assert admitted.admitted().contains(1, 0, int(ipaddress.ip_address("8.8.8.8")))


def test_ipv6_family_is_separate():
    rules = [rule(Action.ALLOW, "tcp", "22", ["::/0"])]
    v4 = evaluate_union(rules, TrafficSpace.everything(IPV4)).admitted()
    v6 = evaluate_union(rules, TrafficSpace.everything(IPV6)).admitted()
    assert v4.is_empty()
    assert str(v6.ports_for(6, PUBLIC_SIZE[IPV6])) == "22"


def _rule_set(kind, rules):
    return RuleSet("x", "acct", "r", kind, "rs-1", "rs", tuple(rules))


def test_gcp_deny_wins_an_equal_priority_tie_and_disabled_rules_do_not_apply():
    allow = rule(Action.ALLOW, "tcp", "22", ["0.0.0.0/0"], 1000)
    deny = rule(Action.DENY, "tcp", "22", ["0.0.0.0/0"], 1000)
    off = rule(Action.DENY, "all", "*", ["0.0.0.0/0"], 1, enabled=False)
    ordered = evaluation_order(_rule_set(RuleSetKind.GCP_VPC_FIREWALL, [allow, off, deny]))
    assert ordered == [deny, allow]
    admitted = evaluate_first_match(ordered, TrafficSpace.everything(IPV4)).admitted()
    assert admitted.is_empty()


def test_shadowed_allow_and_targets():
    deny = rule(Action.DENY, "tcp", "0-1000", ["0.0.0.0/0"], 100)
    allow = rule(Action.ALLOW, "tcp", "22", ["8.8.8.0/24"], 200)
    tagged_deny = rule(Action.DENY, "tcp", "*", ["0.0.0.0/0"], 50,
                       targets=(Peer(PeerKind.NETWORK_TAG, "db"),))
    nacl = effective_rules(_rule_set(RuleSetKind.AWS_NETWORK_ACL, [deny, allow]), IPV4)
    assert [e.shadowed for e in nacl] == [False, True]
    # A deny that applies only to tagged machines shadows nothing that applies to all.
    gcp = effective_rules(_rule_set(RuleSetKind.GCP_VPC_FIREWALL, [tagged_deny, allow]), IPV4)
    assert [e.shadowed for e in gcp] == [False, False]
    assert whole_space(IPV4).covers(nacl[0].matched)


def test_a_rule_shadows_only_rules_of_its_own_direction():
    deny_in = rule(Action.DENY, "all", "*", ["0.0.0.0/0"], 100)
    allow_out = Rule(Direction.EGRESS, Action.ALLOW, "tcp", PortSet.of(443),
                     (Peer.cidr("0.0.0.0/0"),), 200)
    allow_in = rule(Action.ALLOW, "tcp", "22", ["0.0.0.0/0"], 300)
    nacl = effective_rules(_rule_set(RuleSetKind.AWS_NETWORK_ACL,
                                     [allow_in, allow_out, deny_in]), IPV4)
    assert [(e.rule.priority, e.shadowed) for e in nacl] == [(100, False), (200, False),
                                                             (300, True)]


_SPAN = st.tuples(st.integers(0, 12), st.integers(0, 12)).map(sorted).map(tuple)
_BOX = st.tuples(st.lists(_SPAN, min_size=1, max_size=2), st.lists(_SPAN, min_size=1, max_size=2),
                 st.lists(_SPAN, min_size=1, max_size=2))


@settings(max_examples=200)
@given(st.lists(_BOX, max_size=5), st.integers(0, 12), st.integers(0, 20))
def test_ports_for_counts_the_sources_of_each_port(boxes, protocol, least):
    from scanner.netmath import AddressSet
    from scanner.traffic import Box, ProtocolSet

    space = TrafficSpace(IPV4)
    for p, q, a in boxes:  # union keeps the boxes disjoint
        space = space.union(TrafficSpace(IPV4, (Box(ProtocolSet(tuple(p)), PortSet(tuple(q)),
                                                     AddressSet(IPV4, tuple(a))),)))
    expected = {port for port in range(13)
                if sum(b.addresses.count() for b in space.boxes
                       if protocol in b.protocols and port in b.ports) >= max(least, 1)}
    found = space.ports_for(protocol, max(least, 1))
    assert {port for port in range(13) if port in found} == expected
    assert all(hi <= 12 for _, hi in found.intervals)


@settings(max_examples=300)
@given(st.lists(_BOX, max_size=6), st.integers(0, 20))
def test_grouped_gives_each_protocol_the_ports_its_sources_reach(boxes, least):
    """Each protocol is in the group whose ports are exactly the ports reached from at least
    ``least`` sources (counted packet by packet), and in no group when there are none."""
    from scanner.netmath import AddressSet
    from scanner.traffic import Box, ProtocolSet

    space = TrafficSpace(IPV4)
    for p, q, a in boxes:  # union keeps the boxes disjoint
        space = space.union(TrafficSpace(IPV4, (Box(ProtocolSet(tuple(p)), PortSet(tuple(q)),
                                                     AddressSet(IPV4, tuple(a))),)))
    least = max(least, 1)
    groups = space.grouped(least)
    assert all(ports for _, ports in groups)
    assert len({ports for _, ports in groups}) == len(groups)  # one group per port set
    assert [g[0].intervals for g in groups] == sorted(g[0].intervals for g in groups)
    for protocol in range(14):
        expected = {port for port in range(14)
                    if sum(b.addresses.count() for b in space.boxes
                           if protocol in b.protocols and port in b.ports) >= least}
        found = [ports for protocols, ports in groups if protocol in protocols]
        assert len(found) == (1 if expected else 0)
        if found:
            assert {port for port in range(14) if port in found[0]} == expected
            assert all(hi <= 12 for _, hi in found[0].intervals)
