"""Traffic spaces and how a rule set decides them.

A *traffic space* is a set of packets of one address family, described as disjoint boxes of
(IP protocols x ports x remote addresses). It is what the policy engine, drift and the exposure
analysis all compute with, so that "what does this rule set admit from the internet" has one
answer everywhere:

- ``rule_space(rule, family)`` is the traffic a rule matches on its remote side;
- ``evaluate_first_match`` walks an ordered rule list (NACL, NSG, GCP rules and policies) the way
  the cloud does, first match wins, and says which rule decided which traffic;
- ``evaluate_union`` is the AWS security group case: allow rules only, order does not matter.

Rules whose remote side is not an address (security group references, Azure service tags other
than ``Internet``, GCP source tags and service accounts) match no address here: they never let
the internet in. ICMP type/code filters are not modelled per type: an allow on one ICMP type is
taken as admitting ICMP (it may admit less), and a deny on one type is taken as matching nothing
(it may block more), so exposure is never under-reported because of ICMP granularity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from scanner.model import Action, Rule, RuleSet, RuleSetKind
from scanner.netmath import (
    ALL_PORTS,
    ALL_PROTOCOLS,
    IPV4,
    IPV6,
    PROTOCOL_NUMBERS,
    PUBLIC_SPACE,
    AddressSet,
    Interval,
    PortSet,
    intersect_intervals,
    merge_intervals,
    subtract_intervals,
)

MAX_PROTOCOL = 255
_NAMES_BY_NUMBER = {number: name for name, number in PROTOCOL_NUMBERS.items()}


@dataclass(frozen=True, slots=True)
class ProtocolSet:
    """IP protocol numbers (0-255) as merged intervals; protocol "all" is 0-255."""

    intervals: tuple[Interval, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "intervals", merge_intervals(self.intervals))

    @classmethod
    def of(cls, protocol: str) -> ProtocolSet:
        """A canonical protocol name (``tcp``, ``all``, ``"47"``) as a set."""
        if protocol == ALL_PROTOCOLS:
            return ALL_PROTOCOL_SET
        number = PROTOCOL_NUMBERS.get(protocol)
        if number is None:
            number = int(protocol)
        return cls(((number, number),))

    def __bool__(self) -> bool:
        return bool(self.intervals)

    def __contains__(self, number: int) -> bool:
        return any(lo <= number <= hi for lo, hi in self.intervals)

    def intersection(self, other: ProtocolSet) -> ProtocolSet:
        return ProtocolSet(intersect_intervals(self.intervals, other.intervals))

    def difference(self, other: ProtocolSet) -> ProtocolSet:
        return ProtocolSet(subtract_intervals(self.intervals, other.intervals))

    def numbers(self) -> Iterable[int]:
        for lo, hi in self.intervals:
            yield from range(lo, hi + 1)

    def is_all(self) -> bool:
        return self.intervals == ((0, MAX_PROTOCOL),)

    def names(self) -> list[str]:
        """Canonical names; ``["all"]`` for every protocol."""
        if self.is_all():
            return [ALL_PROTOCOLS]
        return [_NAMES_BY_NUMBER.get(n, str(n)) for n in self.numbers()]

    def label(self) -> str:
        """For people: ``all``, ``tcp``, ``tcp,udp``, or ``all except tcp`` when most are in."""
        if self.is_all():
            return ALL_PROTOCOLS
        missing = ALL_PROTOCOL_SET.difference(self)
        if sum(hi - lo + 1 for lo, hi in missing.intervals) <= 4:
            return "all except " + ",".join(missing.names())
        return ",".join(self.names())


    def concrete(self) -> list[str]:
        """Every protocol in the set, by name where it has one (``tcp``, ``udp``, ``icmp``,
        ``icmpv6``, ``sctp`` ...), other numbers as ``47`` or a run ``59-131``: never ``all``
        or ``all except``, so a consumer can look a protocol up."""
        out: list[str] = []
        run: list[int] = []

        def flush() -> None:
            if run:
                out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
                run.clear()

        for number in self.numbers():
            name = _NAMES_BY_NUMBER.get(number)
            if name is None:
                if run and number != run[-1] + 1:
                    flush()
                run.append(number)
                continue
            flush()
            out.append(name)
        flush()
        return out

    def exact_label(self) -> str:
        """``all`` for every protocol, else the concrete list: never ``all except``."""
        return ALL_PROTOCOLS if self.is_all() else ",".join(self.concrete())

    @classmethod
    def parse_concrete(cls, tokens: Iterable[str]) -> ProtocolSet:
        """Inverse of ``concrete`` (names, numbers, runs of numbers)."""
        spans = []
        for token in tokens:
            token = token.strip()
            if token in PROTOCOL_NUMBERS:
                number = PROTOCOL_NUMBERS[token]
                spans.append((number, number))
            elif "-" in token:
                lo, hi = token.split("-", 1)
                spans.append((int(lo), int(hi)))
            else:
                spans.append((int(token), int(token)))
        return cls(tuple(spans))


ALL_PROTOCOL_SET = ProtocolSet(((0, MAX_PROTOCOL),))


@dataclass(frozen=True, slots=True)
class Box:
    """Packets of the given protocols, to the given ports, from (or to) the given addresses."""

    protocols: ProtocolSet
    ports: PortSet
    addresses: AddressSet

    def is_empty(self) -> bool:
        return not self.protocols or self.ports.is_empty() or self.addresses.is_empty()

    def intersection(self, other: Box) -> Box:
        return Box(
            self.protocols.intersection(other.protocols),
            self.ports.intersection(other.ports),
            self.addresses.intersection(other.addresses),
        )

    def difference(self, other: Box) -> list[Box]:
        """Disjoint boxes covering ``self`` minus ``other``."""
        common_protocols = self.protocols.intersection(other.protocols)
        if not common_protocols:
            return [self]
        common_ports = self.ports.intersection(other.ports)
        if common_ports.is_empty():
            return [self]
        common_addresses = self.addresses.intersection(other.addresses)
        if common_addresses.is_empty():
            return [self]
        pieces = [
            Box(self.protocols.difference(other.protocols), self.ports, self.addresses),
            Box(common_protocols, self.ports.difference(other.ports), self.addresses),
            Box(common_protocols, common_ports, self.addresses.difference(other.addresses)),
        ]
        return [p for p in pieces if not p.is_empty()]


@dataclass(frozen=True, slots=True)
class TrafficSpace:
    """A union of disjoint boxes of one address family."""

    family: int
    boxes: tuple[Box, ...] = ()

    @classmethod
    def everything(cls, family: int, addresses: AddressSet | None = None) -> TrafficSpace:
        """All protocols and ports from ``addresses`` (default: the family's public space)."""
        space = addresses if addresses is not None else PUBLIC_SPACE[family]
        if not space.intervals:
            return cls(family)  # no addresses: no traffic (a box is never empty)
        return cls(family, (Box(ALL_PROTOCOL_SET, ALL_PORTS, space),))

    @classmethod
    def empty(cls, family: int) -> TrafficSpace:
        return cls(family)

    def is_empty(self) -> bool:
        return not self.boxes

    def __bool__(self) -> bool:
        return bool(self.boxes)

    def intersection(self, other: TrafficSpace) -> TrafficSpace:
        out = []
        for a in self.boxes:
            for b in other.boxes:
                common = a.intersection(b)
                if not common.is_empty():
                    out.append(common)
        return TrafficSpace(self.family, tuple(out))

    def difference(self, other: TrafficSpace) -> TrafficSpace:
        pieces = list(self.boxes)
        for cut in other.boxes:
            pieces = [piece for box in pieces for piece in box.difference(cut)]
            if not pieces:
                break
        return TrafficSpace(self.family, tuple(pieces))

    def union(self, other: TrafficSpace) -> TrafficSpace:
        """Keeps boxes disjoint: only the part of ``other`` not already here is added."""
        return TrafficSpace(self.family, self.boxes + other.difference(self).boxes)

    def covers(self, other: TrafficSpace) -> bool:
        return other.difference(self).is_empty()

    def contains(self, protocol: int, port: int, address: int) -> bool:
        """Whether one packet (protocol number, port, address as an integer) is in the space."""
        return any(
            protocol in b.protocols
            and port in b.ports
            and any(lo <= address <= hi for lo, hi in b.addresses.intervals)
            for b in self.boxes
        )

    def protocols(self) -> ProtocolSet:
        out = ProtocolSet()
        for box in self.boxes:
            out = ProtocolSet(out.intervals + box.protocols.intervals)
        return out

    def ports_for(self, protocol: int, min_addresses: int = 1) -> PortSet:
        """Ports of ``protocol`` on which at least ``min_addresses`` remote addresses get in.

        Boxes are disjoint, so for one (protocol, port) the address counts of the boxes that
        contain it add up exactly. ``min_addresses`` equal to the public size of the family
        means "from the whole internet".
        """
        return _ports_reached([(b.ports.intervals, b.addresses.count()) for b in self.boxes
                               if protocol in b.protocols], min_addresses)

    def grouped(self, min_addresses: int = 1) -> list[tuple[ProtocolSet, PortSet]]:
        """Protocols with the ports at least ``min_addresses`` remote addresses reach, the
        protocols that share one port set grouped (``all`` -> every port, when so)."""
        edges = sorted({lo for b in self.boxes for lo, _ in b.protocols.intervals}
                       | {hi + 1 for b in self.boxes for _, hi in b.protocols.intervals})
        # The boxes of each span between two edges, as ports_for(lo) would find them (the same
        # for every protocol in the span), each box's address count taken once: a box is
        # listed under the spans its protocols cover, found by their edges' positions.
        position = {edge: i for i, edge in enumerate(edges)}
        reaching: list[list[tuple[tuple[Interval, ...], int]]] = [[] for _ in edges[1:]]
        for b in self.boxes:
            # Where one address is enough, a box reaches with any: no need to count them.
            counted = (b.ports.intervals, b.addresses.count() if min_addresses != 1
                       else int(bool(b.addresses.intervals)))
            for lo, hi in b.protocols.intervals:
                for span in range(position[lo], position[hi + 1]):
                    reaching[span].append(counted)
        by_ports: dict[PortSet, list[Interval]] = {}
        for lo, nxt, boxes in zip(edges, edges[1:], reaching, strict=False):
            ports = _ports_reached(boxes, min_addresses)
            if ports:
                by_ports.setdefault(ports, []).append((lo, nxt - 1))
        groups = [(ProtocolSet(tuple(spans)), ports) for ports, spans in by_ports.items()]
        return sorted(groups, key=lambda g: g[0].intervals)


def _ports_reached(boxes: Sequence[tuple[tuple[Interval, ...], int]],
                   min_addresses: int) -> PortSet:
    """The ports on which the boxes (their port intervals and address counts, disjoint) hold
    at least ``min_addresses`` addresses together."""
    if min_addresses == 1:
        # A box is never empty of addresses where it counts: any box's port is reached.
        return PortSet(tuple(i for ports, count in boxes if count for i in ports))
    # One sweep over the port edges: a box's count joins where its ports start and leaves
    # after they end.
    change: dict[int, int] = {}
    for ports, count in boxes:
        for lo, hi in ports:
            change[lo] = change.get(lo, 0) + count
            change[hi + 1] = change.get(hi + 1, 0) - count
    edges = sorted(change)
    hits: list[Interval] = []
    total = 0
    for lo, nxt in zip(edges, edges[1:], strict=False):
        total += change[lo]
        if total >= min_addresses:
            hits.append((lo, nxt - 1))
    return PortSet(tuple(hits))


# --- rules as traffic ---------------------------------------------------------------------


def rule_addresses(rule: Rule, family: int) -> AddressSet:
    """The remote addresses a rule names, of one family (non-address peers add none)."""
    return _addresses(family, tuple(a for peer in rule.peers for a in peer.addresses))


def _icmp_filtered(rule: Rule) -> bool:
    return rule.protocol in ("icmp", "icmpv6") and rule.icmp_type is not None


def rule_space(rule: Rule, family: int, for_blocking: bool = False) -> TrafficSpace:
    """The traffic ``rule`` matches on its remote side, of one family.

    ``for_blocking`` is set when the match is used to take traffic away (a deny, or an earlier
    rule in a first-match list): an ICMP rule limited to some types then matches nothing, so
    it never hides exposure it does not really stop.
    """
    if for_blocking and _icmp_filtered(rule):
        return TrafficSpace.empty(family)
    return _space(family, rule.protocol, rule.ports,
                  tuple(a for peer in rule.peers for a in peer.addresses))


# Estates repeat the same few protocols, ports and sources on most of their rules: each space
# (immutable) is built once per distinct match and shared.
@lru_cache(maxsize=65536)
def _addresses(family: int, cidrs: tuple[str, ...]) -> AddressSet:
    return AddressSet.from_cidrs(family, cidrs)


@lru_cache(maxsize=65536)
def _space(family: int, protocol: str, ports: PortSet, cidrs: tuple[str, ...]) -> TrafficSpace:
    addresses = _addresses(family, cidrs)
    if addresses.is_empty():
        return TrafficSpace.empty(family)
    ports = ports if protocol in ("tcp", "udp", "sctp", ALL_PROTOCOLS) else ALL_PORTS
    return TrafficSpace(family, (Box(ProtocolSet.of(protocol), ports, addresses),))


# --- evaluation ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    """The traffic one rule decided in an evaluation."""

    rule: Rule
    traffic: TrafficSpace


@dataclass(frozen=True, slots=True)
class Evaluation:
    """What one layer did with the traffic offered to it."""

    family: int
    unmatched: TrafficSpace  # offered traffic no rule matched
    allowed: tuple[Decision, ...] = ()
    denied: tuple[Decision, ...] = ()
    passed: tuple[Decision, ...] = ()  # goto_next: handed to the next level

    def admitted(self) -> TrafficSpace:
        return union_all(self.family, (d.traffic for d in self.allowed))

    def handed_on(self) -> TrafficSpace:
        """Traffic the next level decides: goto_next plus what no rule matched."""
        return union_all(self.family, (d.traffic for d in self.passed)).union(self.unmatched)


def union_all(family: int, spaces: Iterable[TrafficSpace]) -> TrafficSpace:
    # Decisions of one evaluation are disjoint already; concatenating keeps that true.
    boxes: list[Box] = []
    for space in spaces:
        boxes.extend(space.boxes)
    return TrafficSpace(family, tuple(boxes))


_ACTION_RANK = {Action.DENY: 0, Action.GOTO_NEXT: 1, Action.ALLOW: 2}


def evaluation_key(kind: RuleSetKind) -> Callable[[Rule], tuple[int, int]]:
    """The sort key of a first-match rule set's rules (ties keep their order in the set).

    GCP VPC rules: at equal priority a deny wins over an allow.
    """
    if kind is RuleSetKind.GCP_VPC_FIREWALL:
        return lambda r: (r.priority if r.priority is not None else 0, _ACTION_RANK[r.action])
    return lambda r: (r.priority if r.priority is not None else 0, 0)


def evaluation_order(rule_set: RuleSet) -> list[Rule]:
    """The rules of a first-match rule set in the order the cloud evaluates them (disabled
    rules do not apply)."""
    return sorted((r for r in rule_set.rules if r.enabled), key=evaluation_key(rule_set.kind))


def evaluate_first_match(
    rules: Sequence[Rule],
    offered: TrafficSpace,
    applies: Callable[[Rule], bool] | None = None,
) -> Evaluation:
    """Walk ``rules`` in order; each packet is decided by the first rule that matches it.

    ``applies`` filters rules by their local side (targets): a rule that does not apply to the
    machine being evaluated is skipped, as the cloud skips it.
    """
    family = offered.family
    remaining = offered
    allowed: list[Decision] = []
    denied: list[Decision] = []
    passed: list[Decision] = []
    outcome = {Action.ALLOW: allowed, Action.DENY: denied, Action.GOTO_NEXT: passed}
    for rule in rules:
        if remaining.is_empty():
            break
        if applies is not None and not applies(rule):
            continue
        # What a rule takes is what it matches; an allow also admits what it matches, so
        # ICMP-type-limited allows count as admitting (see the module docstring).
        match = rule_space(rule, family, for_blocking=rule.action is not Action.ALLOW)
        hit = remaining.intersection(match)
        if hit.is_empty():
            continue
        outcome[rule.action].append(Decision(rule, hit))
        remaining = remaining.difference(match)
    return Evaluation(family, remaining, tuple(allowed), tuple(denied), tuple(passed))


def evaluate_union(
    rules: Sequence[Rule],
    offered: TrafficSpace,
    applies: Callable[[Rule], bool] | None = None,
) -> Evaluation:
    """AWS security groups: allow rules only, a union; anything no rule allows is denied.

    Each allow is credited with the part of the offered traffic it admits that no earlier
    rule (in the given order) already admitted, so decisions stay disjoint.
    """
    family = offered.family
    remaining = offered
    allowed: list[Decision] = []
    for rule in rules:
        if remaining.is_empty():
            break
        if not rule.enabled or rule.action is not Action.ALLOW:
            continue
        if applies is not None and not applies(rule):
            continue
        match = rule_space(rule, family)
        hit = remaining.intersection(match)
        if hit.is_empty():
            continue
        allowed.append(Decision(rule, hit))
        remaining = remaining.difference(match)
    return Evaluation(family, remaining, tuple(allowed))


# --- shadowing ----------------------------------------------------------------------------


def whole_space(family: int) -> TrafficSpace:
    """Every protocol, port and address of a family (private ones too)."""
    size = 2**32 if family == IPV4 else 2**128
    return TrafficSpace.everything(family, AddressSet(family, ((0, size - 1),)))


def applies_wherever(earlier: Rule, later: Rule) -> bool:
    """Whether ``earlier`` applies to every machine ``later`` applies to (same local side).

    Only a rule with no targets, or with the very same or a superset of targets, is known to;
    anything else (different tags, other destination prefixes) may apply elsewhere.
    """
    if not earlier.targets:
        return True
    return bool(later.targets) and set(later.targets) <= set(earlier.targets)


@dataclass(frozen=True, slots=True)
class EffectiveRule:
    """A rule with the traffic it really decides once earlier rules have taken theirs."""

    rule: Rule
    matched: TrafficSpace  # all the rule matches on its own
    effective: TrafficSpace  # the part no earlier rule decides first

    @property
    def shadowed(self) -> bool:
        """Never decides anything: earlier rules always match first."""
        return not self.matched.is_empty() and self.effective.is_empty()


def effective_rules(rule_set: RuleSet, family: int) -> list[EffectiveRule]:
    """Every rule of a rule set (evaluation order), with what it really decides.

    Ingress and egress are evaluated apart: a rule only ever shadows rules of its own
    direction. Security groups are a union: there every rule's effective traffic is what it
    matches.
    """
    offered = whole_space(family)
    if rule_set.kind is RuleSetKind.AWS_SECURITY_GROUP:
        return [EffectiveRule(r, m, m) for r in rule_set.rules if r.enabled
                for m in (rule_space(r, family).intersection(offered),)]
    ordered = evaluation_order(rule_set)
    decided: dict[int, EffectiveRule] = {}
    for direction in {r.direction for r in ordered}:
        same_direction = [r for r in ordered if r.direction is direction]
        for rule, effective in zip(same_direction, _effective_in_order(same_direction, family),
                                   strict=True):
            decided[id(rule)] = effective
    return [decided[id(r)] for r in ordered]


def _effective_in_order(ordered: Sequence[Rule], family: int) -> list[EffectiveRule]:
    """What each rule of one direction decides after the earlier ones took theirs."""
    out: list[EffectiveRule] = []
    if not any(r.targets for r in ordered):
        remaining = whole_space(family)
        for rule in ordered:
            matched = rule_space(rule, family)
            out.append(EffectiveRule(rule, matched, remaining.intersection(matched)))
            remaining = remaining.difference(rule_space(rule, family, for_blocking=True))
        return out
    for index, rule in enumerate(ordered):
        matched = rule_space(rule, family)
        effective = matched
        for earlier in ordered[:index]:
            if effective.is_empty():
                break
            if applies_wherever(earlier, rule):
                effective = effective.difference(rule_space(earlier, family, for_blocking=True))
        out.append(EffectiveRule(rule, matched, effective))
    return out


FAMILIES = (IPV4, IPV6)
