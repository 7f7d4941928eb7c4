"""The shadowing analysis agrees with scanner.traffic.effective_rules, rule by rule."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from policies.outline import Outlines
from policies.shadow import _effective, _Spaces
from scanner.model import Action, Direction, Peer, PeerKind, Rule, RuleSet, RuleSetKind
from scanner.netmath import IPV4, IPV6, PortSet
from scanner.traffic import effective_rules, evaluation_order

CIDRS = ["8.8.8.0/24", "8.8.0.0/16", "0.0.0.0/0", "10.0.0.0/8", "::/0", "2600::/16"]


def _rule(action, protocol, ports, cidrs, priority, tagged):
    targets = (Peer(PeerKind.NETWORK_TAG, "db"),) if tagged else ()
    return Rule(Direction.INGRESS, action, protocol, PortSet.parse(ports),
                tuple(Peer.cidr(c) for c in cidrs), priority, targets=targets,
                native_id=f"{action.value}-{protocol}-{ports}-{priority}-{tagged}-{cidrs}")


rules = st.lists(st.builds(
    _rule,
    st.sampled_from([Action.ALLOW, Action.DENY]),
    st.sampled_from(["tcp", "udp", "all", "icmp"]),
    st.sampled_from(["22", "20-25", "*", "80,443"]),
    st.lists(st.sampled_from(CIDRS), min_size=1, max_size=2, unique=True),
    st.integers(1, 20),
    st.booleans(),
), max_size=7)


@settings(max_examples=120, deadline=None)
@given(rules, st.sampled_from([RuleSetKind.AWS_NETWORK_ACL, RuleSetKind.GCP_VPC_FIREWALL]))
def test_effective_traffic_matches_effective_rules(items, kind):
    rule_set = RuleSet("x", "a", "r", kind, "rs", "rs", tuple(items))
    ordered = evaluation_order(rule_set)
    spaces = _Spaces(Outlines())
    for family in (IPV4, IPV6):
        oracle = effective_rules(rule_set, family)
        for index, rule in enumerate(ordered):
            earlier = [r for r in ordered[:index] if spaces.overlap(r, rule)]
            mine = _effective(spaces, rule, earlier, family)
            expected = oracle[index]
            assert mine.effective.covers(expected.effective)
            assert expected.effective.covers(mine.effective)
            assert mine.shadowed == expected.shadowed
