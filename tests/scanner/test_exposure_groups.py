"""Grouping what got through into exposures, against a brute force over every protocol number
and every stretch of ports: the sources, protocols, ports and credited paths must be exactly
those of counting the addresses of each piece protocol by protocol, port range by port range."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.exposure import _groups
from scanner.model import Action, Direction, PathStep, Peer, Rule
from scanner.netmath import IPV4, PortSet
from scanner.reach.base import Piece, Reach, merge_paths, public_offer
from scanner.reach.fast import first_match, prepare

BLOCKS = ["8.8.8.0/26", "8.8.8.64/26", "8.8.8.128/25", "1.1.1.0/24", "0.0.0.0/0",
          "1.0.0.0/8", "0.0.0.0/1", "128.0.0.0/1", "100.0.0.0/6"]
OFFER = public_offer(IPV4, None)
WHOLE = sum(hi - lo + 1 for _, _, a in OFFER for lo, hi in a)


def rule(action, protocol, ports, cidrs, priority):
    return Rule(Direction.INGRESS, action, protocol, PortSet.parse(ports),
                tuple(Peer.cidr(c) for c in cidrs), priority, native_id=f"r{priority}")


rules = st.lists(st.builds(
    rule,
    st.sampled_from([Action.ALLOW, Action.DENY, Action.GOTO_NEXT]),
    st.sampled_from(["tcp", "udp", "icmp", "47", "all"]),
    st.sampled_from(["22", "20-25", "*", "80,443", "0-1000", "1024-65535", "23"]),
    st.lists(st.sampled_from(BLOCKS), min_size=1, max_size=2),
    st.integers(1, 60),
), max_size=9, unique_by=lambda r: r.priority)


def pieces_of(rule_list) -> tuple[Piece, ...]:
    """Disjoint pieces, as a walk gives them: what each rule decided first-match, with a path
    naming it (two layers, so merged paths have something to merge)."""
    ordered = sorted(rule_list, key=lambda r: r.priority)
    found = first_match(prepare(ordered, IPV4), list(OFFER))
    return tuple(Piece(boxes, (PathStep("route", "allow", None, None, "r"),
                               PathStep("layer", "allow", "rs-1", r.native_id)))
                 for r, boxes in found.decisions)


def brute_force(pieces, whole, broad) -> set[tuple]:
    port_edges = sorted({0, 65536} | {e for piece in pieces for _, q, _ in piece.boxes
                                      for lo, hi in q for e in (lo, hi + 1)})
    stretches = list(zip(port_edges, port_edges[1:], strict=False))
    # (protocol, source, holders) -> ports; (source, holders) -> piece -> largest count
    ports: dict[tuple, list[tuple[int, int]]] = {}
    shares: dict[tuple, dict[int, int]] = {}
    for protocol in range(256):
        for lo, nxt in stretches:
            held = {}
            for i, piece in enumerate(pieces):
                n = sum(hi - lo_a + 1 for p, q, a in piece.boxes
                        if any(x <= protocol <= y for x, y in p)
                        and any(x <= lo <= y for x, y in q) for lo_a, hi in a)
                if n:
                    held[i] = n
            total = sum(held.values())
            source = "internet" if total >= whole else "broad" if total >= broad else None
            if source is None:
                continue
            label = (source, frozenset(held))
            ports.setdefault((protocol, *label), []).append((lo, nxt - 1))
            mine = shares.setdefault(label, {})
            for i, n in held.items():
                mine[i] = max(mine.get(i, 0), n)
    protocols: dict[tuple, list[tuple[int, int]]] = {}
    for (protocol, source, holders), spans in ports.items():
        key = (source, PortSet(tuple(spans)).intervals, holders)
        protocols.setdefault(key, []).append((protocol, protocol))
    out = set()
    for (source, port_intervals, holders), numbers in protocols.items():
        counts = shares[(source, holders)]
        credited = sorted([i for i, n in counts.items() if n >= broad] or counts)
        paths = [pieces[i].path for i in credited]
        rules_credited = frozenset(("rs-1", pieces[i].path[1].rule_id) for i in credited)
        out.add((source, PortSet(tuple(numbers)).intervals, port_intervals, merge_paths(paths),
                 rules_credited))
    return out


@settings(max_examples=120, deadline=None)
@given(rules, st.sampled_from([64, 256, 2**24, 2**31]))
def test_groups_are_the_brute_force_count(rule_list, broad):
    pieces = pieces_of(rule_list)
    groups = _groups(Reach(IPV4, "public_ip", pieces), WHOLE, broad)
    found = {(g.source, g.protocols.intervals, g.ports.intervals, g.path, g.admitted_by)
             for g in groups}
    assert len(found) == len(groups)
    assert found == brute_force(pieces, WHOLE, broad)
    for g in groups:
        assert g.label == g.protocols.exact_label()
