"""A rule's outline: its protocols, ports and remote addresses as plain interval tuples, for
the cheap "can these two rules share a packet?" test that decides which rules to compute with.

Rule sets are compared pair by pair (shadowing, earlier blockers), so the test allocates
nothing: it walks sorted interval tuples.
"""

from __future__ import annotations

from dataclasses import dataclass

from scanner.model import Rule
from scanner.netmath import (
    ALL_PORTS,
    ALL_PROTOCOLS,
    IPV4,
    IPV6,
    PORT_PROTOCOLS,
    Interval,
    intervals_overlap,
)
from scanner.traffic import ProtocolSet, rule_addresses

PORTED = PORT_PROTOCOLS | {ALL_PROTOCOLS}  # protocols whose rules restrict ports


@dataclass(frozen=True, slots=True)
class Outline:
    protocols: tuple[Interval, ...]
    ports: tuple[Interval, ...]
    v4: tuple[Interval, ...]
    v6: tuple[Interval, ...]
    # The first and last protocol and port: most pairs of rules differ there, which four
    # comparisons tell; ``single`` when those are the protocols and ports (one interval each),
    # so the comparisons are the whole test for those two dimensions.
    span: tuple[int, int, int, int]
    single: bool

    @classmethod
    def of(cls, rule: Rule) -> Outline:
        ports = (rule.ports if rule.protocol in PORTED else ALL_PORTS).intervals
        protocols = ProtocolSet.of(rule.protocol).intervals
        if protocols and ports:
            span = (protocols[0][0], protocols[-1][1], ports[0][0], ports[-1][1])
        else:
            span = (0, -1, 0, -1)  # matches nothing: overlaps nothing
        return cls(protocols, ports, rule_addresses(rule, IPV4).intervals,
                   rule_addresses(rule, IPV6).intervals, span,
                   len(protocols) == 1 and len(ports) == 1)

    def overlaps(self, other: Outline, family: int | None = None) -> bool:
        """Whether a packet could match both (of ``family``, or of either family)."""
        a, b = self.span, other.span
        if a[1] < b[0] or b[1] < a[0] or a[3] < b[2] or b[3] < a[2]:
            return False
        if not (self.single and other.single) and not (
                intervals_overlap(self.protocols, other.protocols)
                and intervals_overlap(self.ports, other.ports)):
            return False
        if family in (None, IPV4) and intervals_overlap(self.v4, other.v4):
            return True
        return family in (None, IPV6) and intervals_overlap(self.v6, other.v6)


class Outlines:
    """Outlines by rule content, shared across rule sets (rules repeat across an estate)."""

    def __init__(self, limit: int = 200_000) -> None:
        self._by_key: dict[tuple, Outline] = {}
        self._limit = limit

    def of(self, rule: Rule) -> Outline:
        key = (rule.protocol, rule.ports, tuple(a for p in rule.peers for a in p.addresses))
        found = self._by_key.get(key)
        if found is None:
            if len(self._by_key) >= self._limit:
                self._by_key.clear()
            found = Outline.of(rule)
            self._by_key[key] = found
        return found


def _covers(inner: tuple[Interval, ...], outer: list[Interval]) -> bool:
    """Whether the intervals ``outer`` (in any order) contain every interval of ``inner``: one
    sweep over them sorted (hot: every rule of a first-match rule set is asked)."""
    if not inner:
        return True  # an empty dimension (no IPv6 addresses) is covered by anything
    outer.sort()
    for lo, hi in inner:
        reached = lo  # the first point of [lo, hi] not known to be covered
        for span_lo, span_hi in outer:
            if span_hi < reached:
                continue
            if span_lo > reached:
                return False  # sorted by start: no later interval fills the gap
            reached = span_hi + 1
            if reached > hi:
                break
        if reached <= hi:
            return False
    return True


def could_cover(target: Outline, others: list[Outline]) -> bool:
    """False when the rules ``others`` together surely do not cover ``target``.

    Their union lies inside the product of their per-dimension unions, so a dimension they do
    not cover (a port, a protocol, an address range) proves ``target`` keeps some traffic; only
    the rules that pass this need the exact traffic-space computation.
    """
    if not others:
        return False
    return (_covers(target.protocols, [span for o in others for span in o.protocols])
            and _covers(target.ports, [span for o in others for span in o.ports])
            and _covers(target.v4, [span for o in others for span in o.v4])
            and _covers(target.v6, [span for o in others for span in o.v6]))
