"""Rule outlines: the quick overlap and cover tests agree with the interval algebra."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from policies.outline import Outline, could_cover
from scanner.model import Action, Direction, Peer, Rule
from scanner.netmath import (
    IPV4,
    IPV6,
    PortSet,
    intervals_overlap,
    merge_intervals,
    subtract_intervals,
)

CIDRS = ["8.8.8.0/24", "8.8.0.0/16", "0.0.0.0/0", "0.0.0.0/1", "128.0.0.0/1", "10.0.0.0/8",
         "::/0", "2600::/16", "8.8.9.0/24"]
PORTS = ["22", "20-25", "*", "80,443", "23", "26-79", "0-21", "444-65535", "81-442", "1,3,5",
         "443", "2", "20,24"]

rules = st.builds(
    lambda protocol, ports, cidrs: Rule(Direction.INGRESS, Action.ALLOW, protocol,
                                        PortSet.parse(ports) if ports != "none" else PortSet(),
                                        tuple(Peer.cidr(c) for c in cidrs)),
    st.sampled_from(["tcp", "udp", "all", "icmp", "sctp", "47"]),
    st.sampled_from([*PORTS, "none"]),
    st.lists(st.sampled_from(CIDRS), max_size=3, unique=True),
)


def _overlaps(a: Outline, b: Outline, family: int | None) -> bool:
    """The definition: a common protocol, a common port and a common address of the family."""
    return (intervals_overlap(a.protocols, b.protocols) and intervals_overlap(a.ports, b.ports)
            and ((family in (None, IPV4) and intervals_overlap(a.v4, b.v4))
                 or (family in (None, IPV6) and intervals_overlap(a.v6, b.v6))))


def _could_cover(target: Outline, others: list[Outline]) -> bool:
    """The definition: every dimension of ``target`` inside the union of the others'."""
    if not others:
        return False
    return all(not subtract_intervals(getattr(target, name),
                                      merge_intervals([s for o in others
                                                       for s in getattr(o, name)]))
               for name in ("protocols", "ports", "v4", "v6"))


def test_overlaps_is_a_common_protocol_port_and_address():
    # Every pair of a grid of protocols, ports and sources (the quick test's shortcuts hinge
    # on first and last ports and on which side has one interval: try them all).
    outlines = [Outline.of(Rule(Direction.INGRESS, Action.ALLOW, protocol,
                                PortSet.parse(ports) if ports != "none" else PortSet(),
                                tuple(Peer.cidr(c) for c in cidrs)))
                for protocol in ("tcp", "udp", "all", "icmp")
                for ports in (*PORTS, "none")
                for cidrs in (("8.8.8.0/24",), ("0.0.0.0/1", "2600::/16"), ("::/0",), ())]
    for first in outlines:
        for second in outlines:
            for family in (None, IPV4, IPV6):
                assert first.overlaps(second, family) == _overlaps(first, second, family)


@settings(max_examples=500, deadline=None)
@given(rules, st.lists(rules, max_size=5))
def test_could_cover_is_every_dimension_inside_the_others(target, others):
    outlines = [Outline.of(r) for r in others]
    assert could_cover(Outline.of(target), outlines) == _could_cover(Outline.of(target), outlines)


def test_examples():
    ssh = Outline.of(Rule(Direction.INGRESS, Action.ALLOW, "tcp", PortSet.of(22),
                          (Peer.cidr("0.0.0.0/0"),)))
    web = Outline.of(Rule(Direction.INGRESS, Action.ALLOW, "tcp", PortSet.parse("80,443"),
                          (Peer.cidr("0.0.0.0/0"),)))
    low = Outline.of(Rule(Direction.INGRESS, Action.ALLOW, "tcp", PortSet.parse("0-21"),
                          (Peer.cidr("0.0.0.0/0"),)))
    high = Outline.of(Rule(Direction.INGRESS, Action.ALLOW, "tcp", PortSet.parse("23-65535"),
                           (Peer.cidr("0.0.0.0/0"),)))
    every = Outline.of(Rule(Direction.INGRESS, Action.ALLOW, "all", PortSet.all(),
                            (Peer.cidr("0.0.0.0/0"),)))
    # 80,443 spans 22 by its first and last port, yet does not contain it.
    assert not web.overlaps(ssh) and web.overlaps(every) and not web.overlaps(ssh, IPV4)
    assert not could_cover(ssh, [low, high]) and could_cover(web, [low, high])
    assert could_cover(ssh, [every]) and not could_cover(every, [ssh, web, low, high])
