"""What a drift item says it opened: ``traffic_entries`` against the straightforward form (the
generic traffic space algebra, every CIDR spelt, the catalogue asked per list), on random
traffic that reaches the whole internet, parts of it and private ranges."""

from __future__ import annotations

from hypothesis import example, given, settings
from hypothesis import strategies as st

from scanner.drift import describe
from scanner.model import Direction
from scanner.netmath import IPV4, IPV6, PUBLIC_SIZE, PUBLIC_SPACE, AddressSet, PortSet
from scanner.traffic import Box, ProtocolSet, TrafficSpace


def _reference_ports(boxes, protocol, least):
    change: dict[int, int] = {}
    for b in boxes:
        if protocol in b.protocols:
            for lo, hi in b.ports.intervals:
                change[lo] = change.get(lo, 0) + b.addresses.count()
                change[hi + 1] = change.get(hi + 1, 0) - b.addresses.count()
    edges = sorted(change)
    hits, total = [], 0
    for lo, nxt in zip(edges, edges[1:], strict=False):
        total += change[lo]
        if total >= least:
            hits.append((lo, nxt - 1))
    return PortSet(tuple(hits))


def _reference_grouped(space, least=1):
    by_ports: dict[PortSet, list] = {}
    for protocol in range(256):
        ports = _reference_ports(space.boxes, protocol, least)
        if ports:
            by_ports.setdefault(ports, []).append((protocol, protocol))
    return sorted(((ProtocolSet(tuple(s)), p) for p, s in by_ports.items()),
                  key=lambda g: g[0].intervals)


def _reference_entry(direction, family, protocols, ports, internet, broad, sources):
    return {
        "direction": direction.value, "family": describe.FAMILY_NAMES[family].lower(),
        "protocols": protocols.label(), "ports": ports.to_list(),
        "what": protocols.label() + describe._port_words(protocols, ports),
        "internet": internet, "broad": broad, "sources": sources,
        "services": describe.service_keys(protocols, ports),
        "service_names": describe.service_names(protocols, ports),
    }


def _reference_entries(direction, family, space):
    public = space.intersection(TrafficSpace.everything(family))
    whole = _reference_grouped(public, PUBLIC_SIZE[family])
    entries = [_reference_entry(direction, family, p, q, True, True, ["internet"])
               for p, q in whole]
    rest = space.difference(TrafficSpace(family, tuple(
        Box(p, q, PUBLIC_SPACE[family]) for p, q in whole)))
    if rest.is_empty():
        return entries
    addresses = AddressSet(family, tuple(i for b in rest.boxes for i in b.addresses.intervals))
    cidrs = addresses.to_cidrs()
    limit = describe.MAX_SOURCES
    sources = cidrs[:limit] + ([f"{len(cidrs) - limit} more"] if len(cidrs) > limit else [])
    public_count = addresses.intersection(PUBLIC_SPACE[family]).count()
    if entries and public_count == 0:
        return entries
    broad = public_count >= describe._BROAD[family]
    return entries + [_reference_entry(direction, family, p, q, False, broad, sources)
                      for p, q in _reference_grouped(rest)]


def _spans(top, specials):
    pair = st.tuples(st.integers(0, top), st.integers(0, top)).map(sorted).map(tuple)
    return st.lists(st.one_of(st.sampled_from(specials), pair), min_size=1, max_size=3)


_V4 = 2**32 - 1
_PROTOCOLS = _spans(255, [(6, 6), (17, 17), (1, 1), (132, 132), (0, 255), (0, 5), (7, 255)])
_PORTS = _spans(65535, [(22, 22), (0, 65535), (3389, 3389), (20, 25), (80, 80), (1, 1024)])
_V4_ADDRESSES = _spans(_V4, [(0, _V4), (0, 2**31 - 1), (2**31, _V4), (10 << 24, (11 << 24) - 1),
                             (8 << 24, (9 << 24) - 1), (134744072, 134744072)])
_V6_ADDRESSES = _spans(2**128 - 1, [(0, 2**128 - 1), (2**125, 2**126 - 1), (0, 2**64)])


def _space(family, addresses):
    box = st.tuples(_PROTOCOLS, _PORTS, addresses).map(
        lambda b: Box(ProtocolSet(tuple(b[0])), PortSet(tuple(b[1])),
                      AddressSet(family, tuple(b[2]))))

    def build(boxes):
        space = TrafficSpace(family)
        for b in boxes:  # union keeps the boxes disjoint, as the classification's are
            space = space.union(TrafficSpace(family, (b,)))
        return space

    return st.lists(box, min_size=1, max_size=5).map(build)


_ALL_V4 = Box(ProtocolSet(((0, 255),)), PortSet(((0, 65535),)), AddressSet(IPV4, ((0, _V4),)))


@settings(max_examples=300, deadline=None)
@given(_space(IPV4, _V4_ADDRESSES), _space(IPV6, _V6_ADDRESSES))
@example(TrafficSpace(IPV4, (_ALL_V4,)), TrafficSpace(IPV6))
@example(TrafficSpace(IPV4, (Box(ProtocolSet(((6, 6),)), PortSet(((22, 22),)),
                                 AddressSet(IPV4, ((0, _V4),))),
                             Box(ProtocolSet(((17, 17),)), PortSet(((53, 53),)),
                                 AddressSet(IPV4, ((1, 5),))))), TrafficSpace(IPV6))
@example(TrafficSpace(IPV4, (Box(ProtocolSet(((6, 6),)), PortSet(()),
                                 AddressSet(IPV4, ((0, _V4),))),)), TrafficSpace(IPV6))
def test_traffic_entries_match_the_straightforward_form(v4, v6):
    spaces = {(Direction.INGRESS, IPV4): v4, (Direction.EGRESS, IPV6): v6,
              (Direction.EGRESS, IPV4): v4}
    expected = [e for (direction, family), space in sorted(
        spaces.items(), key=lambda kv: (kv[0][0].value != "ingress", kv[0][1]))
        if not space.is_empty() for e in _reference_entries(direction, family, space)]
    assert describe.traffic_entries(spaces) == expected


def test_entries_hold_lists_of_their_own():
    """The words of a (protocols, ports) are worked out once and reused: an entry's lists are
    its own, so changing one item's entries never changes another's."""
    space = TrafficSpace(IPV4, (Box(ProtocolSet(((6, 6),)), PortSet(((22, 22),)),
                                    AddressSet(IPV4, ((8 << 24, (9 << 24) - 1),))),))
    first = describe.traffic_entries({(Direction.INGRESS, IPV4): space})
    first[0]["services"].append("changed")
    first[0]["service_names"].append("changed")
    first[0]["ports"].append("changed")
    again = describe.traffic_entries({(Direction.INGRESS, IPV4): space})
    assert again[0]["services"] == ["ssh"]
    assert again[0]["service_names"] == ["SSH"]
    assert again[0]["ports"] == ["22"]
    assert again[0]["sources"] == ["8.0.0.0/8"]
