"""First-match and union evaluation on plain interval tuples, for the exposure walk's hot loop.

The same algorithm and answers as ``scanner.traffic.evaluate_first_match`` and
``evaluate_union`` (the tests check them against each other), without building a frozen
dataclass for every intermediate box: a box here is ``(protocols, ports, addresses)``, each a
tuple of merged inclusive intervals. Rule matches come from ``scanner.traffic.rule_space`` (so
ICMP-type and non-address peers are treated exactly as there), prepared once per rule set.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from scanner.model import Action, Direction, Peer, PeerKind, Rule
from scanner.netmath import (
    PUBLIC_SPACE,
    AddressSet,
    PortSet,
    cidr_span,
    intersect_intervals,
    merge_intervals,
    subtract_intervals,
    union_intervals,
)
from scanner.traffic import Box, ProtocolSet, TrafficSpace, rule_space

Intervals = tuple[tuple[int, int], ...]
RawBox = tuple[Intervals, Intervals, Intervals]


def raw(space: TrafficSpace) -> list[RawBox]:
    return [(b.protocols.intervals, b.ports.intervals, b.addresses.intervals)
            for b in space.boxes]


def cooked(family: int, boxes: Iterable[RawBox]) -> TrafficSpace:
    return TrafficSpace(family, tuple(
        Box(ProtocolSet(p), PortSet(q), AddressSet(family, a)) for p, q, a in boxes))


Prepared = tuple[tuple[Rule, RawBox], ...]


def prepare(rules: Iterable[Rule], family: int,
            addresses_seen: dict[tuple[str, ...], Intervals] | None = None) -> Prepared:
    """Each rule with what it matches of the family's public space, as one raw box.

    Every offer is public traffic, so a rule whose remote side holds no public address (private
    ranges, tags, other security groups) can never decide anything and is left out. The box is
    ``rule_space``'s (the one definition of what a rule matches), worked out in two parts that
    rules repeat: the protocols and ports, and the public addresses of the rule's CIDRs
    (``addresses_seen`` keeps the latter per list of CIDRs, for one family, across calls)."""
    if addresses_seen is None:
        addresses_seen = {}
    out = []
    for rule in rules:
        peers = rule.peers
        if len(peers) == 1:
            cidrs = peers[0].addresses
        else:
            cidrs = tuple(a for peer in peers for a in peer.addresses)
        if not cidrs:
            continue
        addresses = addresses_seen.get(cidrs)
        if addresses is None:
            addresses = addresses_seen[cidrs] = _public_addresses(cidrs, family)
        if not addresses:
            continue
        blocking = rule.action is not Action.ALLOW
        kinds = _kinds(rule.protocol, rule.ports, family, blocking and rule.icmp_type is not None)
        if kinds is not None:
            out.append((rule, (kinds[0], kinds[1], addresses)))
    return tuple(out)


def _public_addresses(cidrs: tuple[str, ...], family: int) -> Intervals:
    """The public addresses of ``family`` among ``cidrs``, as ``rule_addresses`` reads a rule's
    peers (CIDRs of the other family add none), less what is not public: the union of each
    CIDR's public part."""
    out: Intervals = ()
    for cidr in cidrs:
        out = union_intervals(out, _public_part(cidr, family))
    return out


@lru_cache(maxsize=65536)
def _public_part(cidr: str, family: int) -> Intervals:
    version, lo, hi = cidr_span(cidr)
    if version != family:
        return ()
    return _and(((lo, hi),), PUBLIC_SPACE[family].intervals)


_EVERYWHERE = (Peer(PeerKind.OTHER, "", ("0.0.0.0/0", "::/0")),)


@lru_cache(maxsize=4096)
def _kinds(protocol: str, ports: PortSet, family: int,
           icmp_filtered_block: bool) -> tuple[Intervals, Intervals] | None:
    """The protocols and ports ``rule_space`` gives a rule of this protocol and ports (None:
    it matches nothing, an ICMP-type rule taken away as a block), from a probe that names
    every address."""
    probe = Rule(Direction.INGRESS, Action.DENY if icmp_filtered_block else Action.ALLOW,
                 protocol, ports, _EVERYWHERE, icmp_type=0 if icmp_filtered_block else None)
    boxes = raw(rule_space(probe, family, icmp_filtered_block))
    if not boxes:
        return None
    p, q, _ = boxes[0]  # rule_space gives at most one box
    return p, q


_BEYOND = 1 << 130  # above every port, protocol and IPv6 address


def _and(a: Intervals, b: Intervals) -> Intervals:
    """``netmath.intersect_intervals``, faster when one side has few intervals and the other many (a
    few ports or sources against the public space with holes cut in it): each short interval
    finds its place in the long list by bisection."""
    if len(a) > len(b):
        a, b = b, a
    if len(a) == 1:
        lo, hi = a[0]
        if b[0][0] >= lo and b[-1][1] <= hi:
            return b
        if len(b) == 1:  # the commonest case: one span each (a port range, a protocol)
            x, y = b[0]
            if x <= lo and hi <= y:
                return a
            x = x if x > lo else lo
            y = y if y < hi else hi
            return ((x, y),) if x <= y else ()
        if len(b) <= 8:  # one span clipping a few: a plain scan beats the two-pointer walk
            out = []
            for x, y in b:
                if y < lo:
                    continue
                if x > hi:
                    break
                out.append((x if x > lo else lo, y if y < hi else hi))
            return tuple(out)
    if len(b) <= 8 or len(a) * 4 > len(b):
        return intersect_intervals(a, b)
    out: list[tuple[int, int]] = []
    n = len(b)
    for lo, hi in a:
        i = bisect_right(b, (lo, _BEYOND)) - 1
        if i < 0:
            i = 0
        while i < n:
            x, y = b[i]
            if x > hi:
                break
            if y >= lo:
                out.append((x if x > lo else lo, y if y < hi else hi))
            i += 1
    return tuple(out)


def bounds(boxes: Iterable[RawBox]) -> list[tuple[int, int, int, int, int, int]]:
    """Per box the lowest and highest protocol, port and address: a cheap overlap test."""
    return [(p[0][0], p[-1][1], q[0][0], q[-1][1], a[0][0], a[-1][1]) for p, q, a in boxes]


def intersect_boxes(a: Sequence[RawBox], b: Sequence[RawBox],
                    b_bounds: Sequence[tuple[int, int, int, int, int, int]] | None = None,
                    ) -> list[RawBox]:
    out: list[RawBox] = []
    if b_bounds is None:
        b_bounds = bounds(b)
    for ap, aq, aa in a:
        plo, phi, qlo, qhi, alo, ahi = ap[0][0], ap[-1][1], aq[0][0], aq[-1][1], aa[0][0], aa[-1][1]
        for (bp, bq, ba), (bplo, bphi, bqlo, bqhi, balo, bahi) in zip(b, b_bounds, strict=True):
            if bplo > phi or bphi < plo or bqlo > qhi or bqhi < qlo or balo > ahi or bahi < alo:
                continue
            p = _and(ap, bp)
            if not p:
                continue
            q = _and(aq, bq)
            if not q:
                continue
            addresses = _and(aa, ba)
            if addresses:
                out.append((p, q, addresses))
    return out


def _split(remaining: list[RawBox], match: RawBox) -> tuple[list[RawBox], list[RawBox]]:
    """(remaining ∩ match, remaining − match), the latter as disjoint boxes."""
    mp, mq, ma = match
    hit: list[RawBox] = []
    rest: list[RawBox] = []
    for box in remaining:
        bp, bq, ba = box
        p = _and(bp, mp)
        if not p:
            rest.append(box)
            continue
        q = _and(bq, mq)
        if not q:
            rest.append(box)
            continue
        a = _and(ba, ma)
        if not a:
            rest.append(box)
            continue
        hit.append((p, q, a))
        other_protocols = subtract_intervals(bp, mp)
        if other_protocols:
            rest.append((other_protocols, bq, ba))
        other_ports = subtract_intervals(bq, mq)
        if other_ports:
            rest.append((p, other_ports, ba))
        other_addresses = subtract_intervals(ba, ma)
        if other_addresses:
            rest.append((p, q, other_addresses))
    return hit, rest


COMPACT_AT = 48  # remaining traffic split into more boxes than this is compacted


def compact(boxes: Sequence[RawBox]) -> list[RawBox]:
    """The same traffic in fewer boxes: disjoint boxes with the same protocols and ports are
    one box with the union of their addresses (then the same for ports). Exact, and it keeps
    long rule lists from splitting what is left into ever more pieces."""
    by_ports: dict[tuple[Intervals, Intervals], list[tuple[int, int]]] = {}
    for p, q, a in boxes:
        by_ports.setdefault((p, q), []).extend(a)
    by_addresses: dict[tuple[Intervals, Intervals], list[tuple[int, int]]] = {}
    for (p, q), a in by_ports.items():
        by_addresses.setdefault((p, merge_intervals(a)), []).extend(q)
    return [(p, merge_intervals(q), a) for (p, a), q in by_addresses.items()]


@dataclass(frozen=True, slots=True)
class RawEvaluation:
    decisions: tuple[tuple[Rule, tuple[RawBox, ...]], ...]  # in rule order, disjoint
    unmatched: tuple[RawBox, ...]


def first_match(rules: Prepared, offered: list[RawBox]) -> RawEvaluation:
    """As ``traffic.evaluate_first_match``: the first rule that matches a packet decides it."""
    remaining = offered
    decisions = []
    for rule, match in rules:
        if not remaining:
            break
        hit, rest = _split(remaining, match)
        if hit:
            decisions.append((rule, tuple(hit)))
            remaining = compact(rest) if len(rest) > COMPACT_AT else rest
    return RawEvaluation(tuple(decisions), tuple(remaining))


def union(rules: Prepared, offered: list[RawBox]) -> RawEvaluation:
    """As ``traffic.evaluate_union``: allow rules only; each credited with what no earlier
    rule admitted."""
    remaining = offered
    decisions = []
    for rule, match in rules:
        if not remaining:
            break
        if not rule.enabled or rule.action is not Action.ALLOW:
            continue
        hit, rest = _split(remaining, match)
        if hit:
            decisions.append((rule, tuple(hit)))
            remaining = compact(rest) if len(rest) > COMPACT_AT else rest
    return RawEvaluation(tuple(decisions), tuple(remaining))


def subtract_boxes(boxes: Sequence[RawBox], cuts: Iterable[RawBox]) -> list[RawBox]:
    """``boxes`` minus every box of ``cuts``, as disjoint boxes."""
    remaining = list(boxes)
    for cut in cuts:
        if not remaining:
            break
        remaining = _split(remaining, cut)[1]
    return remaining
