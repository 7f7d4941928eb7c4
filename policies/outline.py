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
    merge_intervals,
    subtract_intervals,
)
from scanner.traffic import ProtocolSet, rule_addresses

PORTED = PORT_PROTOCOLS | {ALL_PROTOCOLS}  # protocols whose rules restrict ports


@dataclass(frozen=True, slots=True)
class Outline:
    protocols: tuple[Interval, ...]
    ports: tuple[Interval, ...]
    v4: tuple[Interval, ...]
    v6: tuple[Interval, ...]

    @classmethod
    def of(cls, rule: Rule) -> Outline:
        ports = rule.ports if rule.protocol in PORTED else ALL_PORTS
        return cls(ProtocolSet.of(rule.protocol).intervals, ports.intervals,
                   rule_addresses(rule, IPV4).intervals, rule_addresses(rule, IPV6).intervals)

    def overlaps(self, other: Outline, family: int | None = None) -> bool:
        """Whether a packet could match both (of ``family``, or of either family)."""
        if not intervals_overlap(self.protocols, other.protocols):
            return False
        if not intervals_overlap(self.ports, other.ports):
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


def _covers(outer: list[Interval], inner: tuple[Interval, ...]) -> bool:
    """Whether the intervals ``outer`` (in any order) contain every interval of ``inner``."""
    return not subtract_intervals(inner, merge_intervals(outer))


def could_cover(target: Outline, others: list[Outline]) -> bool:
    """False when the rules ``others`` together surely do not cover ``target``.

    Their union lies inside the product of their per-dimension unions, so a dimension they do
    not cover (a port, a protocol, an address range) proves ``target`` keeps some traffic; only
    the rules that pass this need the exact traffic-space computation.
    """
    if not others:
        return False
    # An empty dimension (no IPv6 addresses) is covered by anything.
    return all(_covers([span for o in others for span in getattr(o, name)], getattr(target, name))
               for name in ("protocols", "ports", "v4", "v6"))
