"""Whether a change widens what a rule set admits: the traffic algebra applied to drift.

A first-match rule set sorts traffic three ways: allowed, denied, or handed on (GCP ``goto_next``,
or no rule matched, so the next level decides). A change *widens* when some traffic moves up
(denied -> handed on -> allowed), *narrows* when some moves down and none up, and is *neutral*
otherwise. Security groups are a union of allows: what no rule admits is denied.

Rules become traffic spaces (``scanner.traffic``) with three refinements that drift needs and
exposure does not:

- ICMP type and code are kept, encoded in the port dimension as ``type * 256 + code``, so an allow
  moved from echo-request to every ICMP type is a widening.
- Peers that are not addresses (security group references, tags, service accounts, application
  security groups, unresolved prefix lists) are points of a third, *symbolic* family, one point
  per distinct peer. A rule open to every IPv4 address covers every point (the members are hosts
  with IPv4 addresses). Whether a rule naming only some addresses covers a point is unknown, so
  the symbolic family is compared twice, once taking such rules to cover every point and once to
  cover none; a change that widens under either reading is a widening.
- Local targets (GCP target tags and service accounts, Azure destination prefixes and ASGs) are
  evaluated per class of machine: every combination of the targets that appear, so a rule that
  applies only to tagged machines is judged where it applies. Past ``MAX_TARGET_ATOMS`` targets
  only some classes are tried, and a result short of a widening is reported as unknown.

Traffic no changed rule matches is decided the same way before and after, so a rule change is
evaluated only over the traffic its two versions match (its footprint): unchanged rule sets cost
nothing, and a changed one costs a few small evaluations.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import chain, combinations, filterfalse
from operator import attrgetter

from scanner.model import (
    Action,
    Direction,
    Effect,
    Peer,
    Rule,
    RuleSet,
    RuleSetKind,
    peer_text,
)
from scanner.netmath import (
    ALL_PORTS,
    ALL_PROTOCOLS,
    IPV4,
    IPV6,
    PORT_PROTOCOLS,
    AddressSet,
    PortSet,
    cidr_span,
    intervals_overlap,
    merge_intervals,
)
from scanner.reach.fast import RawBox, cooked, intersect_boxes, raw, subtract_boxes
from scanner.traffic import (
    ALL_PROTOCOL_SET,
    Box,
    ProtocolSet,
    TrafficSpace,
    evaluation_order,
    union_all,  # pieces decided by different rules of one walk are disjoint already
    whole_space,
)

SYMBOLIC = 0  # the family of non-address peers
MAX_TARGET_ATOMS = 5
ICMP_PROTOCOLS = frozenset({"icmp", "icmpv6"})
_PORTED = PORT_PROTOCOLS | {ALL_PROTOCOLS}  # protocols whose rules name their ports
_ALL_V4 = AddressSet(IPV4, ((0, 2**32 - 1),))

SymbolKey = tuple[str, str, str]


def symbol_key(peer: Peer) -> SymbolKey:
    return (peer.kind.value, peer.value, peer.account or "")


# A target's name among a machine's atoms.
target_key = peer_text


def applies(rule: Rule, machine: frozenset[str]) -> bool:
    """Whether ``rule`` applies to a machine matching exactly the targets in ``machine``."""
    return not rule.targets or any(target_key(t) in machine for t in rule.targets)


def icmp_ports(rule: Rule) -> PortSet:
    if rule.icmp_type is None:
        return ALL_PORTS
    base = rule.icmp_type * 256
    if rule.icmp_code is None:
        return PortSet(((base, base + 255),))
    return PortSet(((base + rule.icmp_code, base + rule.icmp_code),))


def rule_ports(rule: Rule) -> PortSet:
    protocol = rule.protocol
    if protocol in _PORTED:
        return rule.ports
    return icmp_ports(rule) if protocol in ICMP_PROTOCOLS else ALL_PORTS


@lru_cache(maxsize=512)
def _protocol_set(protocol: str) -> ProtocolSet:
    try:
        return ProtocolSet.of(protocol)
    except ValueError:
        # A protocol name the cloud accepts and we do not know: it may be any of them.
        return ALL_PROTOCOL_SET


def rule_protocols(rule: Rule) -> ProtocolSet:
    return _protocol_set(rule.protocol)


@lru_cache(maxsize=512)
def _protocol_span(protocol: str) -> tuple[int, int] | None:
    intervals = _protocol_set(protocol).intervals
    return (intervals[0][0], intervals[-1][1]) if intervals else None


def rule_bounds(rule: Rule) -> tuple[int, int, int, int] | None:
    """The lowest and highest protocol and port ``rule`` can match (None: it matches
    nothing): a cheap first test before working out what it matches."""
    protocol = rule.protocol
    span = _protocol_span(protocol)
    if span is None:
        return None
    ports = rule_ports(rule).intervals
    if not ports:
        return None
    return span[0], span[1], ports[0][0], ports[-1][1]


def _bounds(space: TrafficSpace) -> tuple[tuple, tuple]:
    """The protocols and ports any box of ``space`` has (merged intervals)."""
    protocols = ProtocolSet(tuple(i for b in space.boxes for i in b.protocols.intervals))
    ports = PortSet(tuple(i for b in space.boxes for i in b.ports.intervals))
    return protocols.intervals, ports.intervals


def may_meet(rule: Rule, bounds: tuple[tuple, tuple]) -> bool:
    """A test on protocol and ports alone, before building the rule's space."""
    return (intervals_overlap(rule_protocols(rule).intervals, bounds[0])
            and intervals_overlap(rule_ports(rule).intervals, bounds[1]))


_peers_of, _targets_of, _addresses_of = (attrgetter("peers"), attrgetter("targets"),
                                         attrgetter("addresses"))


@dataclass(frozen=True, slots=True)
class Universe:
    """The symbolic peers and the targets of the rules being compared, numbered once."""

    symbols: Mapping[SymbolKey, int] = field(default_factory=dict)
    atoms: tuple[str, ...] = ()
    # Keyed by id(rule) (its boxes), (id(rule), family, wide) (its space) and that plus "raw";
    # each value keeps the rule, so its id stays its own.
    spaces: dict = field(default_factory=dict, compare=False, repr=False)

    def raw_space(self, rule: Rule, family: int, wide: bool) -> list[RawBox]:
        """``space`` as raw interval boxes (cached alike)."""
        key = (id(rule), family, wide, "raw")
        hit = self.spaces.get(key)
        if hit is None:
            hit = self.spaces[key] = (rule, raw(self.space(rule, family, wide)))
        return hit[1]

    def box(self, rule: Rule, family: int, wide: bool) -> RawBox | None:
        """``space`` as its one raw box, or None when it holds nothing."""
        return self.boxes(rule)[box_slot(family, wide)]

    def boxes(self, rule: Rule) -> RuleBoxes:
        """``rule_boxes`` of the rule (cached alike)."""
        hit = self.spaces.get(id(rule))
        if hit is None:
            hit = self.spaces[id(rule)] = (rule, rule_boxes(rule, self))
        return hit[1]

    def space(self, rule: Rule, family: int, wide: bool) -> TrafficSpace:
        key = (id(rule), family, wide)
        hit = self.spaces.get(key)
        if hit is None:
            hit = self.spaces[key] = (rule, rule_space(rule, family, self, wide))
        return hit[1]

    @classmethod
    def of(cls, rules: Iterable[Rule]) -> Universe:
        rules = tuple(rules)
        symbols: dict[SymbolKey, int] = {}
        # Most peers are addresses and most rules have no targets: both are picked out in C
        # loops, the symbolic peers in order.
        peers = chain.from_iterable(map(_peers_of, rules))
        for peer in filterfalse(_addresses_of, peers):
            symbols.setdefault(symbol_key(peer), len(symbols))
        atoms = set(map(target_key, chain.from_iterable(map(_targets_of, rules))))
        return cls(symbols, tuple(sorted(atoms)))

    def families(self) -> tuple[int, ...]:
        return (IPV4, IPV6, SYMBOLIC) if self.symbols else (IPV4, IPV6)

    def whole(self, family: int) -> TrafficSpace:
        if family != SYMBOLIC:
            return whole_space(family)
        everyone = AddressSet(SYMBOLIC, ((0, len(self.symbols) - 1),))
        return TrafficSpace(SYMBOLIC, (Box(ALL_PROTOCOL_SET, ALL_PORTS, everyone),))

    def symbol_names(self, space: TrafficSpace) -> list[str]:
        by_id = {i: key for key, i in self.symbols.items()}
        names = []
        for box in space.boxes:
            for lo, hi in box.addresses.intervals:
                names += [by_id[i][1] for i in range(lo, hi + 1) if i in by_id]
        return sorted(set(names))


def machine_classes(atoms: Sequence[str]) -> tuple[tuple[frozenset[str], ...], bool]:
    """Classes of machines to evaluate (every combination of targets), and whether they are
    only a sample because there are too many targets."""
    if not atoms:
        return (frozenset(),), False
    if len(atoms) <= MAX_TARGET_ATOMS:
        return tuple(frozenset(c) for n in range(len(atoms) + 1)
                     for c in combinations(atoms, n)), False
    return (frozenset(), *(frozenset({a}) for a in atoms), frozenset(atoms)), True


def rule_space(rule: Rule, family: int, universe: Universe, wide: bool) -> TrafficSpace:
    """What ``rule`` matches on its remote side, in one family (see the module docstring)."""
    cidrs = [a for peer in rule.peers for a in peer.addresses]
    if family == SYMBOLIC:
        size = len(universe.symbols)
        covers_all = bool(cidrs) and (wide or AddressSet.from_cidrs(IPV4, cidrs).covers(_ALL_V4))
        if covers_all and size:
            addresses = AddressSet(SYMBOLIC, ((0, size - 1),))
        else:
            points = [universe.symbols[symbol_key(p)] for p in rule.peers if not p.addresses
                      and symbol_key(p) in universe.symbols]
            addresses = AddressSet(SYMBOLIC, tuple((i, i) for i in points))
    else:
        addresses = AddressSet.from_cidrs(family, cidrs)
    if addresses.is_empty():
        return TrafficSpace.empty(family)
    return TrafficSpace(family, (Box(rule_protocols(rule), rule_ports(rule), addresses),))


# A rule's raw box in IPv4, in IPv6, and in the symbolic family read narrowly and widely (None:
# it matches nothing there), at the slots ``box_slot`` gives.
RuleBoxes = tuple[RawBox | None, RawBox | None, RawBox | None, RawBox | None]
_NOTHING: RuleBoxes = (None, None, None, None)


def box_slot(family: int, wide: bool) -> int:
    if family == SYMBOLIC:
        return 3 if wide else 2
    return 0 if family == IPV4 else 1


def rule_boxes(rule: Rule, universe: Universe) -> RuleBoxes:
    """``rule_space`` in every family and reading as one raw box each, built directly from the
    rule (no traffic space objects), all in one pass over its peers."""
    protocol = rule.protocol
    protocols = _protocol_set(protocol).intervals
    ports = rule_ports(rule).intervals
    if not protocols or not ports:
        return _NOTHING
    peers = rule.peers
    if len(peers) == 1 and len(peers[0].addresses) == 1:  # the common case: one CIDR
        version, lo, hi = cidr_span(peers[0].addresses[0])
        v4, v6 = (((lo, hi),), ()) if version == IPV4 else ((), ((lo, hi),))
        named, mine = True, ()
    else:
        v4_spans: list[tuple[int, int]] = []
        v6_spans: list[tuple[int, int]] = []
        points: list[tuple[int, int]] = []
        named = False
        for peer in peers:
            if peer.addresses:
                named = True
                for cidr in peer.addresses:
                    version, lo, hi = cidr_span(cidr)
                    (v4_spans if version == IPV4 else v6_spans).append((lo, hi))
            else:
                point = universe.symbols.get(symbol_key(peer))
                if point is not None:
                    points.append((point, point))
        v4, v6 = merge_intervals(tuple(v4_spans)), merge_intervals(tuple(v6_spans))
        mine = merge_intervals(tuple(points))
    size = len(universe.symbols)
    # A rule naming any address covers every symbolic point in the wide reading; in the narrow
    # one only a rule open to every IPv4 address does.
    everyone = ((0, size - 1),) if named and size else None
    narrow = everyone if everyone and v4 == _ALL_V4.intervals else mine
    wide = everyone or mine
    return ((protocols, ports, v4) if v4 else None,
            (protocols, ports, v6) if v6 else None,
            (protocols, ports, narrow) if narrow else None,
            (protocols, ports, wide) if wide else None)



@dataclass(frozen=True, slots=True)
class Outcome:
    """How one state sorts the offered traffic."""

    allowed: TrafficSpace
    denied: TrafficSpace
    passed: TrafficSpace


def _box_meets(x: Box, y: Box) -> bool:
    return (intervals_overlap(x.protocols.intervals, y.protocols.intervals)
            and intervals_overlap(x.ports.intervals, y.ports.intervals)
            and intervals_overlap(x.addresses.intervals, y.addresses.intervals))


def meets(a: TrafficSpace, b: TrafficSpace) -> bool:
    """Whether two spaces share any packet: a cheap test before the exact algebra."""
    return any(_box_meets(x, y) for x in a.boxes for y in b.boxes)


def intersect(a: TrafficSpace, b: TrafficSpace) -> TrafficSpace:
    """``a.intersection(b)``, building only the pieces of boxes that do meet."""
    out = []
    for x in a.boxes:
        for y in b.boxes:
            if _box_meets(x, y):
                common = x.intersection(y)
                if not common.is_empty():
                    out.append(common)
    return TrafficSpace(a.family, tuple(out))


def minus(a: TrafficSpace, b: TrafficSpace) -> TrafficSpace:
    """``a.difference(b)``, leaving boxes that ``b`` does not touch as they are."""
    pieces = list(a.boxes)
    for cut in b.boxes:
        pieces = [p for box in pieces
                  for p in (box.difference(cut) if _box_meets(box, cut) else (box,))]
        if not pieces:
            break
    return TrafficSpace(a.family, tuple(pieces))


@dataclass(frozen=True, slots=True)
class Probe:
    """One evaluation: a direction, a family, a reading of the symbolic family, a machine."""

    direction: Direction
    family: int
    wide: bool
    machine: frozenset[str]
    universe: Universe
    only: frozenset[int] | None = None  # ids of the rules that can meet the offered traffic


class State:
    """Something that sorts traffic: a rule set, the absence of one, a chain of levels."""

    def outcome(self, probe: Probe, offered: TrafficSpace) -> Outcome:
        raise NotImplementedError


def walk(kind: RuleSetKind, ordered: Sequence[Rule], probe: Probe,
         offered: TrafficSpace) -> Outcome:
    # On plain interval tuples (see ``_raw_intersect``): the same boxes, in the same order, as
    # ``intersect`` and ``minus`` give on traffic spaces, without a frozen object per step.
    family = offered.family
    remaining = raw(offered)
    union = kind is RuleSetKind.AWS_SECURITY_GROUP
    decided: dict[Action, list[RawBox]] = {a: [] for a in Action}
    for rule in ordered:
        if not remaining:
            break
        if probe.only is not None and id(rule) not in probe.only:
            continue
        if rule.direction is not probe.direction or not applies(rule, probe.machine):
            continue
        if union and rule.action is not Action.ALLOW:
            continue
        match = probe.universe.raw_space(rule, family, probe.wide)
        hit = _raw_intersect(remaining, match)
        if not hit:
            continue
        decided[rule.action].extend(hit)
        remaining = subtract_boxes(remaining, match)
    allowed = cooked(family, decided[Action.ALLOW])
    if union:
        return Outcome(allowed, cooked(family, remaining), TrafficSpace.empty(family))
    return Outcome(allowed, cooked(family, decided[Action.DENY]),
                   cooked(family, [*decided[Action.GOTO_NEXT], *remaining]))


def _raw_intersect(a: Sequence[RawBox], b: Sequence[RawBox]) -> list[RawBox]:
    """``intersect`` on raw boxes. Intersections and differences of merged interval tuples are
    merged already, so cooking the result gives the very boxes ``intersect`` builds. A box with
    an empty side holds nothing and meets nothing (``_box_meets``); the reach walk's
    ``intersect_boxes`` never sees one, so they are left out first."""
    return intersect_boxes([x for x in a if x[0] and x[1] and x[2]],
                           [y for y in b if y[0] and y[1] and y[2]])


def _raw_meets(a: Sequence[RawBox], b: Sequence[RawBox]) -> bool:
    """``meets`` on raw boxes."""
    return any(intervals_overlap(xp, yp) and intervals_overlap(xq, yq)
               and intervals_overlap(xa, ya) for xp, xq, xa in a for yp, yq, ya in b)


class RuleSetState(State):
    def __init__(self, rule_set: RuleSet) -> None:
        self.kind = rule_set.kind
        # evaluation_order leaves disabled rules out; a security group's order does not matter.
        self.ordered = ([r for r in rule_set.rules if r.enabled]
                        if rule_set.kind is RuleSetKind.AWS_SECURITY_GROUP
                        else evaluation_order(rule_set))

    def outcome(self, probe: Probe, offered: TrafficSpace) -> Outcome:
        return walk(self.kind, self.ordered, probe, offered)


class AbsentState(State):
    """No rule set of ``kind`` at a level: what the cloud does then."""

    def __init__(self, kind: RuleSetKind) -> None:
        self.kind = kind

    def outcome(self, probe: Probe, offered: TrafficSpace) -> Outcome:
        empty = TrafficSpace.empty(offered.family)
        if self.kind is RuleSetKind.AWS_SECURITY_GROUP:
            return Outcome(empty, offered, empty)  # a group not there admits nothing
        if self.kind is RuleSetKind.AZURE_NSG:
            return Outcome(offered, empty, empty)  # no NSG at a level allows everything
        return Outcome(empty, empty, offered)  # the next level decides


class ChainState(State):
    """Levels evaluated in order, each deciding what the one before handed on."""

    def __init__(self, levels: Sequence[RuleSet]) -> None:
        # GCP's implied VPC rules are evaluated after every level, whatever the order.
        implied = [r for rs in levels if rs.kind is RuleSetKind.GCP_VPC_FIREWALL
                   for r in rs.rules if r.is_default]
        self.levels = [RuleSetState(replace(rs, rules=tuple(r for r in rs.rules
                                                            if not r.is_default))
                                    if rs.kind is RuleSetKind.GCP_VPC_FIREWALL else rs)
                       for rs in levels]
        if implied:
            vpc = next(rs for rs in levels if rs.kind is RuleSetKind.GCP_VPC_FIREWALL)
            self.levels.append(RuleSetState(replace(vpc, rules=tuple(implied))))

    def outcome(self, probe: Probe, offered: TrafficSpace) -> Outcome:
        allowed: list[TrafficSpace] = []
        denied: list[TrafficSpace] = []
        remaining = offered
        for level in self.levels:
            if remaining.is_empty():
                break
            out = level.outcome(probe, remaining)
            allowed.append(out.allowed)
            denied.append(out.denied)
            remaining = out.passed
        family = offered.family
        return Outcome(union_all(family, allowed), union_all(family, denied), remaining)


def shift(before: Outcome, after: Outcome) -> tuple[TrafficSpace, TrafficSpace]:
    """(traffic that moved up, traffic that moved down) between two outcomes."""
    family = before.allowed.family
    was_denied, was_passed = raw(before.denied), raw(before.passed)
    now_denied, now_passed = raw(after.denied), raw(after.passed)
    up = (_raw_intersect(raw(after.allowed), was_denied + was_passed)
          + _raw_intersect(now_passed, was_denied))
    down = (_raw_intersect(raw(before.allowed), now_denied + now_passed)
            + _raw_intersect(was_passed, now_denied))
    return cooked(family, up), cooked(family, down)


def _union(a: TrafficSpace, b: TrafficSpace) -> TrafficSpace:
    """``a.union(b)``: the boxes of ``a``, then what of ``b`` is not in ``a``, cut the same
    way ``TrafficSpace.difference`` cuts it."""
    if not b.boxes:
        return a
    return TrafficSpace(a.family, a.boxes + cooked(a.family,
                                                   subtract_boxes(raw(b), raw(a))).boxes)


@dataclass(frozen=True, slots=True)
class Classification:
    """What a change did, with the traffic it opened and closed per (direction, family)."""

    effect: Effect
    opened: Mapping[tuple[Direction, int], TrafficSpace] = field(default_factory=dict)
    closed: Mapping[tuple[Direction, int], TrafficSpace] = field(default_factory=dict)
    opened_symbols: tuple[str, ...] = ()
    approximate: bool = False

    def merge(self, other: Classification) -> Classification:
        """Two readings of one change: a widening under either is a widening."""
        effects = {self.effect, other.effect}
        for effect in (Effect.WIDENED, Effect.UNKNOWN, Effect.NARROWED):
            if effect in effects:
                break
        else:
            effect = Effect.NEUTRAL
        return Classification(
            effect,
            _merge_spaces(self.opened, other.opened),
            _merge_spaces(self.closed, other.closed),
            tuple(sorted(set(self.opened_symbols) | set(other.opened_symbols))),
            self.approximate or other.approximate,
        )


NEUTRAL = Classification(Effect.NEUTRAL)


def _merge_spaces(a, b):
    out = dict(a)
    for key, space in b.items():
        out[key] = _union(out[key], space) if key in out else space
    return out


def _footprint(rules: Sequence[Rule], family: int, universe: Universe,
               wide: bool) -> TrafficSpace:
    offered = TrafficSpace.empty(family)
    for rule in rules:
        offered = _union(offered, universe.space(rule, family, wide))
    return offered


def _relevant_atoms(context: Sequence[Rule], footprint: Sequence[Rule],
                    universe: Universe) -> tuple[str, ...]:
    """Targets of the rules that can decide traffic the footprint matches: only these make
    machines differ for this change."""
    atoms: dict[str, None] = {}
    for rule in footprint:
        for target in rule.targets:
            atoms.setdefault(target_key(target), None)
    for direction in Direction:
        mine = [r for r in footprint if r.direction is direction]
        targeted = [r for r in context if r.targets and r.direction is direction]
        if not mine or not targeted:
            continue
        for family in universe.families():
            # Boxes with an empty side meet nothing, so they are left out of both.
            space = [b for r in mine if (b := universe.box(r, family, True)) is not None]
            if not space:
                continue
            for rule in targeted:
                if all(target_key(t) in atoms for t in rule.targets):
                    continue  # nothing new to learn from it (a few targets recur)
                box = universe.box(rule, family, True)
                if box is not None and _raw_meets(space, (box,)):
                    for target in rule.targets:
                        atoms.setdefault(target_key(target), None)
    return tuple(sorted(atoms))


def classify(before: State, after: State, universe: Universe,
             footprint: Sequence[Rule] | None = None,
             context: Sequence[Rule] | None = None) -> Classification:
    """Compare two states over every probe.

    ``footprint`` limits the traffic offered to what those rules match (the only traffic a
    change to them can decide differently); ``context`` is every rule of both states, used to
    find the targets that matter for that traffic.
    """
    atoms = universe.atoms
    if footprint is not None and context is not None:
        atoms = _relevant_atoms(context, footprint, universe)
    machines, approximate = machine_classes(atoms)
    opened: dict[tuple[Direction, int], TrafficSpace] = {}
    closed: dict[tuple[Direction, int], TrafficSpace] = {}
    symbols: set[str] = set()
    for direction in Direction:
        rules = [r for r in footprint or () if r.direction is direction]
        if footprint is not None and not rules:
            continue
        for family in universe.families():
            for wide in ((False, True) if family == SYMBOLIC else (False,)):
                if footprint is None:
                    offered = universe.whole(family)
                else:
                    offered = _footprint(rules, family, universe, wide)
                if offered.is_empty():
                    continue
                only = None
                relevant: list[Rule] = []
                if context is not None:
                    # Rules that cannot meet the offered traffic decide none of it; machines
                    # that the remaining rules treat alike decide it alike.
                    bounds = _bounds(offered)
                    raw_offered = raw(offered)
                    relevant = [r for r in context if r.direction is direction
                                and may_meet(r, bounds)
                                and _raw_meets(raw_offered, universe.raw_space(r, family, wide))]
                    only = frozenset(id(r) for r in relevant)
                seen: set[frozenset[int]] = set()
                for machine in machines:
                    if footprint is not None and not any(applies(r, machine) for r in rules):
                        continue
                    if context is not None:
                        signature = frozenset(id(r) for r in relevant if applies(r, machine))
                        if signature in seen:
                            continue
                        seen.add(signature)
                    probe = Probe(direction, family, wide, machine, universe, only)
                    up, down = shift(before.outcome(probe, offered), after.outcome(probe, offered))
                    if family == SYMBOLIC and not wide and not up.is_empty():
                        symbols.update(universe.symbol_names(up))
                    key = (direction, family)
                    if not up.is_empty():
                        opened[key] = _union(opened[key], up) if key in opened else up
                    if not down.is_empty():
                        closed[key] = _union(closed[key], down) if key in closed else down
    return Classification(effect_of(opened, closed, approximate), opened, closed,
                          tuple(sorted(symbols)), approximate)


def effect_of(opened: Mapping, closed: Mapping, approximate: bool) -> Effect:
    """What a change did, from what it opened and closed: anything opened widens; an
    approximate walk that opened nothing cannot say it only narrowed."""
    if opened:
        return Effect.WIDENED
    if approximate:
        return Effect.UNKNOWN
    return Effect.NARROWED if closed else Effect.NEUTRAL
