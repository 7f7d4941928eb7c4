"""What every cloud's layer walk shares: the snapshot index, traffic pieces with their paths,
and the two ways a layer decides (first match, union).

A *piece* is traffic together with the path of layers it has passed so far. A layer splits each
piece it is offered by the rule that decides it, so pieces stay disjoint and every packet that
gets through carries exactly the rules that let it. A layer decides a packet the same whatever
the other layers do, so each layer is evaluated once on the whole public offer (and cached per
rule set and the asset attributes its targets look at) and layers are joined by intersecting
their pieces. Per-cloud modules (``scanner.reach.aws`` and friends) only say which layers an
asset has and in which order.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass

from scanner.model import (
    Action,
    Asset,
    CollectionError,
    Direction,
    Network,
    PathStep,
    Rule,
    RuleSet,
    Snapshot,
    Subnet,
)
from scanner.netmath import IPV4, IPV6, PUBLIC_SPACE, AddressSet, parse_network
from scanner.reach.fast import (
    Intervals,
    Prepared,
    RawBox,
    _and,
    bounds,
    cooked,
    first_match,
    intersect_boxes,
    prepare,
    raw,
    union,
)
from scanner.traffic import TrafficSpace, evaluation_order

FAMILY_NAMES = {IPV4: "ipv4", IPV6: "ipv6"}
# Resource types whose loss leaves exposure decidable: detection lists and audit trails.
_NOT_A_LAYER = ("guardduty", "cloudtrail", "audit", "activitylog", "activity_log", "logging")


# An equivalence class of assets: a hashable key of everything a cloud's walk reads of an
# asset (rule set ids resolved from its subnet or network, flags, targets that apply), and the
# rule sets it names, whose content makes the key's answer (see ``scanner.exposure_classes``).
ClassKey = tuple[Hashable, tuple[str, ...]]


class UnknownExposure(Exception):  # noqa: N818 - a verdict, not a failure of cloudwall
    """The asset's exposure cannot be decided from the snapshot (the reason says why)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Piece:
    """Traffic (disjoint raw boxes of one family) that has passed the layers in ``path``."""

    boxes: tuple[RawBox, ...]
    path: tuple[PathStep, ...] = ()

    def traffic(self, family: int) -> TrafficSpace:
        return cooked(family, self.boxes)


@dataclass(frozen=True, slots=True)
class Reach:
    """What one family's public traffic gets through all of an asset's layers."""

    family: int
    via: str  # public_ip | ipv6 | load_balancer
    pieces: tuple[Piece, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Walk:
    """One family's walk through an asset's layers, not yet taken: assets whose walks have
    equal ``key`` get the same answer, so ``run`` is called once per key."""

    key: Hashable
    run: Callable[[], Reach]


def step(layer: str, decision: str, rule_set: RuleSet | None = None, rule: Rule | None = None,
         note: str = "") -> PathStep:
    if rule is not None and not note:
        note = rule_note(rule)
    return PathStep(layer, decision, rule_set.resource_id if rule_set else None,
                    rule.identity() if rule else None, note)


def rule_note(rule: Rule) -> str:
    """A short label of the rule for people (its name and priority where it has them)."""
    parts = []
    if rule.name and rule.name != rule.native_id:
        parts.append(rule.name)
    if rule.priority is not None:
        parts.append(f"priority {rule.priority}")
    return ", ".join(parts)


class SnapshotIndex:
    """Dictionaries over one snapshot, and which scopes could not be (fully) read."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self.rule_sets: dict[str, RuleSet] = {rs.resource_id: rs for rs in snapshot.rule_sets}
        self.subnets: dict[str, Subnet] = {s.subnet_id: s for s in snapshot.subnets}
        self.networks: dict[str, Network] = {n.network_id: n for n in snapshot.networks}
        self._errors: dict[tuple[str, str], list[CollectionError]] = {}
        for error in snapshot.errors:
            self._errors.setdefault((error.provider, error.account), []).append(error)
        self._ordered: dict[tuple[str, Direction], tuple[Rule, ...]] = {}
        self._targeted: dict[tuple[str, Direction], tuple[Rule, ...]] = {}
        self._prepared: dict[tuple[str, Direction, int, bool | None], Prepared] = {}
        # Per family, the public addresses of each list of CIDRs rules name (estates repeat
        # the same sources on most of their rules).
        self._addresses: dict[int, dict[tuple[str, ...], Intervals]] = {IPV4: {}, IPV6: {}}

    def scope_error(self, asset: Asset) -> CollectionError | None:
        """A collection error covering the asset's account and region, if any.

        Any resource type counts (what was not read may be a rule set, a route, an address)
        except detection services' lists, which no firewall layer depends on."""
        for error in self._errors.get((asset.provider, asset.account), ()):
            kind = (error.resource_type or "").lower()
            if any(word in kind for word in _NOT_A_LAYER):
                continue
            if error.region in ("", asset.region) or asset.region.startswith(error.region + "-"):
                return error
        return None

    def rule_set(self, resource_id: str, what: str) -> RuleSet:
        found = self.rule_sets.get(resource_id)
        if found is None:
            raise UnknownExposure(f"{what} {resource_id} is referenced but not in the snapshot")
        return found

    def subnet(self, subnet_id: str | None, asset: Asset) -> Subnet:
        if not subnet_id:
            raise UnknownExposure(f"{asset.asset_id} has no subnet recorded")
        found = self.subnets.get(subnet_id)
        if found is None:
            raise UnknownExposure(f"subnet {subnet_id} is referenced but not in the snapshot")
        return found

    def network(self, network_id: str | None, asset: Asset) -> Network:
        found = self.networks.get(network_id or "")
        if found is None:
            raise UnknownExposure(f"network {network_id or '(none)'} of {asset.asset_id} "
                                  "is not in the snapshot")
        return found

    def prepared(self, rule_set: RuleSet, direction: Direction, family: int,
                 implied: bool | None = None) -> Prepared:
        """``ordered`` rules with their public matches (``implied``: only the rules whose
        ``is_default`` is that), prepared once per analysis."""
        key = (rule_set.resource_id, direction, family, implied)
        found = self._prepared.get(key)
        if found is None:
            rules = self.ordered(rule_set, direction)
            if implied is not None:
                rules = tuple(r for r in rules if r.is_default == implied)
            found = prepare(rules, family, self._addresses[family])
            self._prepared[key] = found
        return found

    def targeted(self, rule_set: RuleSet, direction: Direction) -> tuple[Rule, ...]:
        """``ordered`` rules that name targets (cached): the only ones whose verdict on
        whether they apply differs between assets."""
        key = (rule_set.resource_id, direction)
        rules = self._targeted.get(key)
        if rules is None:
            rules = tuple(r for r in self.ordered(rule_set, direction) if r.targets)
            self._targeted[key] = rules
        return rules

    def ordered(self, rule_set: RuleSet, direction: Direction) -> tuple[Rule, ...]:
        """The enabled rules of one direction, in the cloud's evaluation order (cached)."""
        key = (rule_set.resource_id, direction)
        rules = self._ordered.get(key)
        if rules is None:
            rules = tuple(r for r in evaluation_order(rule_set) if r.direction is direction)
            self._ordered[key] = rules
        return rules


def public_offer(family: int, trusted: AddressSet | None) -> tuple[RawBox, ...]:
    """Every protocol and port from the family's public addresses, less the trusted ranges."""
    space = PUBLIC_SPACE[family]
    if trusted is not None:
        space = space.difference(trusted)
    return tuple(raw(TrafficSpace.everything(family, space)))


def restrict_addresses(offer: Sequence[RawBox], family: int,
                       cidrs: Iterable[str]) -> tuple[RawBox, ...]:
    """Only the remote addresses inside ``cidrs`` (e.g. what a route sends to the internet)."""
    allowed = raw(TrafficSpace.everything(family, AddressSet.from_cidrs(family, cidrs)))
    return tuple(intersect_boxes(offer, allowed))


def has_public(addresses: Iterable[str], family: int) -> bool:
    """Whether any of ``addresses`` is a public address of ``family``."""
    for text in addresses:
        try:
            net = parse_network(text)
        except ValueError:
            continue
        if net.version != family:
            continue
        value = int(net.network_address)
        if any(lo <= value <= hi for lo, hi in PUBLIC_SPACE[family].intervals):
            return True
    return False


@dataclass(frozen=True, slots=True)
class LayerResult:
    admitted: tuple[Piece, ...]
    handed_on: tuple[Piece, ...] = ()  # goto_next and unmatched, for the next level to decide


def first_match_layer(
    layer: str,
    rule_set: RuleSet,
    rules: Prepared,
    pieces: Iterable[Piece],
) -> LayerResult:
    """One first-match level: each piece split by the rule that decides it (denied traffic is
    dropped; goto_next and what no rule matched are handed on)."""
    admitted: list[Piece] = []
    handed: list[Piece] = []
    for piece in pieces:
        evaluation = first_match(rules, list(piece.boxes))
        for rule, boxes in evaluation.decisions:
            if rule.action is Action.ALLOW:
                admitted.append(Piece(boxes, piece.path + (step(layer, "allow", rule_set,
                                                                 rule),)))
            elif rule.action is Action.GOTO_NEXT:
                handed.append(Piece(boxes, piece.path + (step(layer, "goto_next", rule_set,
                                                               rule),)))
        if evaluation.unmatched:
            handed.append(Piece(evaluation.unmatched,
                                piece.path + (step(layer, "no_match", rule_set),)))
    return LayerResult(tuple(admitted), tuple(handed))


def union_layer(
    layer: str,
    rules: Prepared,
    owner: Callable[[Rule], RuleSet],
    pieces: Iterable[Piece],
) -> LayerResult:
    """Allow-only rules pooled from several rule sets (AWS security groups of an interface)."""
    admitted: list[Piece] = []
    for piece in pieces:
        evaluation = union(rules, list(piece.boxes))
        for rule, boxes in evaluation.decisions:
            admitted.append(Piece(boxes, piece.path + (step(layer, "allow", owner(rule),
                                                             rule),)))
    return LayerResult(tuple(admitted))


def combine(left: Iterable[Piece], right: Sequence[Piece]) -> list[Piece]:
    """Traffic that passes a layer on each side: every pair's intersection, paths joined.

    A layer decides a packet the same whatever other layers did with it, so layers can be
    evaluated once on the whole offer (and cached) and joined here. Each right piece's boxes
    are taken by protocols (a layer's boxes repeat a few protocol lists): a left box meets a
    list's boxes only if the protocols meet, decided once per pair of protocol lists."""
    out: list[Piece] = []
    # A piece with no traffic (a trusted range took the whole offer) joins nothing.
    right_parts = [(b, _by_protocols(b.boxes), _hull(b.boxes)) for b in right if b.boxes]
    protocols_met: dict[tuple[Intervals, Intervals], Intervals] = {}
    for a in left:
        if not a.boxes:
            continue
        hull = _hull(a.boxes)
        for b, b_parts, b_hull in right_parts:
            if not _overlap(hull, b_hull):
                continue
            boxes: list[RawBox] = []
            for ap, aq, aa in a.boxes:
                qlo, qhi, alo, ahi = aq[0][0], aq[-1][1], aa[0][0], aa[-1][1]
                for bp, entries in b_parts:
                    p = protocols_met.get((ap, bp))
                    if p is None:
                        p = protocols_met[ap, bp] = _and(ap, bp)
                    if not p:
                        continue
                    for bq, ba, bqlo, bqhi, balo, bahi in entries:
                        if bqlo > qhi or bqhi < qlo or balo > ahi or bahi < alo:
                            continue
                        q = _and(aq, bq)
                        if not q:
                            continue
                        addresses = _and(aa, ba)
                        if addresses:
                            boxes.append((p, q, addresses))
            if boxes:
                out.append(Piece(tuple(boxes), a.path + b.path))
    return out


def _by_protocols(boxes: Sequence[RawBox]) -> list[tuple[Intervals, list[tuple]]]:
    """Boxes by their protocols: (protocols, [(ports, addresses, their bounds)])."""
    found: dict[Intervals, list[tuple]] = {}
    for p, q, a in boxes:
        found.setdefault(p, []).append((q, a, q[0][0], q[-1][1], a[0][0], a[-1][1]))
    return list(found.items())


def _hull(boxes: Sequence[RawBox]) -> tuple[int, int, int, int, int, int]:
    """The bounds of a whole piece (empty pieces never exist)."""
    edges = bounds(boxes)
    return (min(e[0] for e in edges), max(e[1] for e in edges), min(e[2] for e in edges),
            max(e[3] for e in edges), min(e[4] for e in edges), max(e[5] for e in edges))


def _overlap(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return not (a[0] > b[1] or a[1] < b[0] or a[2] > b[3] or a[3] < b[2]
                or a[4] > b[5] or a[5] < b[4])


MAX_PIECES = 16  # pending traffic split finer than this is joined (paths summarized)
MAX_STEPS_PER_LAYER = 3


def merge_paths(paths: Sequence[tuple[PathStep, ...]]) -> tuple[PathStep, ...]:
    """Steps of several paths that together carry some traffic, layer by layer; where many
    rules of one rule set share a decision they are summarized as one step."""
    if len(paths) == 1:
        return paths[0]
    seen: dict[PathStep, None] = {}
    for index in range(max(len(p) for p in paths)):
        for path in paths:
            if index < len(path):
                seen.setdefault(path[index], None)
    groups: dict[tuple[str, str, str | None], list[PathStep]] = {}
    for s in seen:
        groups.setdefault((s.layer, s.decision, s.rule_set_id), []).append(s)
    out: list[PathStep] = []
    done: set[tuple[str, str, str | None]] = set()
    for s in seen:
        key = (s.layer, s.decision, s.rule_set_id)
        members = groups[key]
        if len(members) <= MAX_STEPS_PER_LAYER:
            out.append(s)
        elif key not in done:
            done.add(key)
            out.append(PathStep(s.layer, s.decision, s.rule_set_id, None,
                                f"{len(members)} rules"))
    return tuple(out)


def coalesce(pieces: Sequence[Piece]) -> list[Piece]:
    """Keep the number of pending pieces bounded: join them when there are too many."""
    if len(pieces) <= MAX_PIECES:
        return list(pieces)
    boxes = tuple(b for p in pieces for b in p.boxes)
    return [Piece(boxes, merge_paths([p.path for p in pieces]))]


def unresolved_peers(rules: Iterable[Rule], kinds: frozenset) -> list[Rule]:
    """Rules whose remote side names addresses cloudwall cannot resolve from the snapshot."""
    return [r for r in rules if r.action is not Action.GOTO_NEXT
            and any(p.kind in kinds and not p.addresses for p in r.peers)]
