"""First-match and union evaluation on plain interval tuples, for the exposure walk's hot loop.

The same algorithm and answers as ``scanner.traffic.evaluate_first_match`` and
``evaluate_union`` (the tests check them against each other), without building a frozen
dataclass for every intermediate box: a box here is ``(protocols, ports, addresses)``, each a
tuple of merged inclusive intervals. Rule matches come from ``scanner.traffic.rule_space`` (so
ICMP-type and non-address peers are treated exactly as there) and are cached per rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from scanner.model import Action, Rule
from scanner.netmath import AddressSet, PortSet, _intersect, _subtract
from scanner.traffic import Box, ProtocolSet, TrafficSpace, rule_space

Intervals = tuple[tuple[int, int], ...]
RawBox = tuple[Intervals, Intervals, Intervals]


def raw(space: TrafficSpace) -> list[RawBox]:
    return [(b.protocols.intervals, b.ports.intervals, b.addresses.intervals)
            for b in space.boxes]


def cooked(family: int, boxes: Iterable[RawBox]) -> TrafficSpace:
    return TrafficSpace(family, tuple(
        Box(ProtocolSet(p), PortSet(q), AddressSet(family, a)) for p, q, a in boxes))


class Matches:
    """``rule_space`` of each rule, as a raw box (or None), computed once per analysis."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, int, bool], tuple[Rule, RawBox | None]] = {}

    def of(self, rule: Rule, family: int, for_blocking: bool) -> RawBox | None:
        key = (id(rule), family, for_blocking)
        found = self._cache.get(key)
        if found is None:
            boxes = raw(rule_space(rule, family, for_blocking))
            # rule_space gives at most one box; the rule is kept so its id stays unique.
            found = (rule, boxes[0] if boxes else None)
            self._cache[key] = found
        return found[1]


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
            p = _intersect(ap, bp)
            if not p:
                continue
            q = _intersect(aq, bq)
            if not q:
                continue
            addresses = _intersect(aa, ba)
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
        p = _intersect(bp, mp)
        if not p:
            rest.append(box)
            continue
        q = _intersect(bq, mq)
        if not q:
            rest.append(box)
            continue
        a = _intersect(ba, ma)
        if not a:
            rest.append(box)
            continue
        hit.append((p, q, a))
        other_protocols = _subtract(bp, mp)
        if other_protocols:
            rest.append((other_protocols, bq, ba))
        other_ports = _subtract(bq, mq)
        if other_ports:
            rest.append((p, other_ports, ba))
        other_addresses = _subtract(ba, ma)
        if other_addresses:
            rest.append((p, q, other_addresses))
    return hit, rest


@dataclass(frozen=True, slots=True)
class RawEvaluation:
    decisions: tuple[tuple[Rule, tuple[RawBox, ...]], ...]  # in rule order, disjoint
    unmatched: tuple[RawBox, ...]


def first_match(rules: Sequence[Rule], offered: list[RawBox], family: int, matches: Matches,
                applies: Callable[[Rule], bool] | None = None) -> RawEvaluation:
    """As ``traffic.evaluate_first_match``: the first rule that matches a packet decides it."""
    remaining = offered
    decisions = []
    for rule in rules:
        if not remaining:
            break
        if applies is not None and not applies(rule):
            continue
        match = matches.of(rule, family, rule.action is not Action.ALLOW)
        if match is None:
            continue
        hit, rest = _split(remaining, match)
        if hit:
            decisions.append((rule, tuple(hit)))
            remaining = rest
    return RawEvaluation(tuple(decisions), tuple(remaining))


def union(rules: Sequence[Rule], offered: list[RawBox], family: int,
          matches: Matches) -> RawEvaluation:
    """As ``traffic.evaluate_union``: allow rules only; each credited with what no earlier
    rule admitted."""
    remaining = offered
    decisions = []
    for rule in rules:
        if not remaining:
            break
        if not rule.enabled or rule.action is not Action.ALLOW:
            continue
        match = matches.of(rule, family, False)
        if match is None:
            continue
        hit, rest = _split(remaining, match)
        if hit:
            decisions.append((rule, tuple(hit)))
            remaining = rest
    return RawEvaluation(tuple(decisions), tuple(remaining))


def subtract_boxes(boxes: Sequence[RawBox], cuts: Iterable[RawBox]) -> list[RawBox]:
    """``boxes`` minus every box of ``cuts``, as disjoint boxes."""
    remaining = list(boxes)
    for cut in cuts:
        if not remaining:
            break
        remaining = _split(remaining, cut)[1]
    return remaining
