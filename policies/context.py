"""The evaluation context: one snapshot, the settings, and what policies share.

Every rule's admitted traffic is computed once per evaluation and shared by every policy that
asks (``RuleSetView.levels``); rules with the same match and no earlier blocking rule share one
computation across the whole snapshot. Views are built per rule set when first needed and
dropped by the engine when it moves on, so memory stays bounded on very large estates.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from policies.admitted import NO_FLOWS, NO_LEVELS, Flows, Levels, Thresholds, levels_of
from policies.combined import Pool, machine_classes, pool
from policies.outline import Outlines
from policies.policy import PolicySettings
from scanner.model import (
    Action,
    Asset,
    Direction,
    Rule,
    RuleSet,
    RuleSetKind,
    Snapshot,
    Subnet,
)
from scanner.netmath import IPV4, IPV6, coverage
from scanner.traffic import TrafficSpace, applies_wherever, evaluation_order, rule_space

FAMILIES = (IPV4, IPV6)


@dataclass(slots=True)
class RuleEntry:
    """A rule in its rule set, with the earlier rules that take traffic before it."""

    rule: Rule
    position: int  # index in the rule set's evaluation order (per direction)
    blockers: tuple[Rule, ...] = ()
    addresses: tuple[str, ...] = ()  # the remote CIDRs the rule names
    public: bool = False  # some of them are public: only then can it admit the internet
    whole: frozenset[int] = frozenset()  # families whose whole public space they cover
    _levels: dict[int, Levels] = field(default_factory=dict)
    _admitted: dict[int, Flows] = field(default_factory=dict)  # source: any, by family


class RuleSetView:
    """One rule set as policies see it: rules in evaluation order per direction, each with the
    traffic it admits by level and family."""

    def __init__(self, rule_set: RuleSet, context: EvaluationContext) -> None:
        self.rule_set = rule_set
        self._context = context
        self.entries: list[RuleEntry] = []
        self._by_rule: dict[int, RuleEntry] = {}
        self._candidates: dict[tuple, list[Rule]] = {}
        self._pools: dict[tuple, list[Pool]] = {}
        self._pool_by_members: dict[tuple, Pool] = {}
        union = rule_set.kind is RuleSetKind.AWS_SECURITY_GROUP
        for direction in (Direction.INGRESS, Direction.EGRESS):
            rules = [r for r in rule_set.rules if r.direction is direction]
            if union:
                ordered = [r for r in rules if r.enabled]
            else:
                ordered = evaluation_order(_with_rules(rule_set, rules))
            blocking: list[Rule] = []
            for position, rule in enumerate(ordered):
                blockers = tuple(b for b in blocking if applies_wherever(b, rule))
                addresses = _addresses(rule)
                public, whole = _public_families(addresses)
                entry = RuleEntry(rule, position, blockers, addresses, public, whole)
                self.entries.append(entry)
                self._by_rule[id(rule)] = entry
                if not union and rule.action is not Action.ALLOW:
                    blocking.append(rule)

    def candidates(self, directions: frozenset | None, actions: frozenset | None,
                   public_only: bool) -> list[Rule]:
        """The rules a policy filtering on these needs to look at (cached per filter)."""
        key = (directions, actions, public_only)
        found = self._candidates.get(key)
        if found is None:
            if public_only:
                pool = [e.rule for e in self.entries if e.public]
            else:
                pool = list(self.rule_set.rules)
            found = [r for r in pool if (directions is None or r.direction in directions)
                     and (actions is None or r.action in actions)]
            self._candidates[key] = found
        return found

    def pools(self, match: Any) -> list[Pool]:
        """What several allows of this rule set open to the internet together, per direction
        and class of machines (``policies.combined``), among the rules ``match`` judges.
        Computed once per set of member rules, whichever policy asks."""
        checks = () if match.only_direction_action else match.rule_checks
        key = (match.directions, checks)
        found = self._pools.get(key)
        if found is None:
            found = []
            for direction in (Direction.INGRESS, Direction.EGRESS):
                if match.directions is not None and direction not in match.directions:
                    continue
                allows = [e for e in self.entries
                          if e.rule.direction is direction and e.rule.action is Action.ALLOW
                          and e.public and all(check(e.rule) for check in checks)]
                if len(allows) < 2:
                    continue
                for target, members in machine_classes(allows).items():
                    if len(members) < 2:
                        continue
                    members_key = (direction, target, tuple(id(e.rule) for e in members))
                    if members_key not in self._pool_by_members:
                        self._pool_by_members[members_key] = pool(
                            self._context, self, direction, target, tuple(members))
                    found.append(self._pool_by_members[members_key])
            self._pools[key] = found
        return found

    def clear(self) -> None:
        """Let go of the pools (they refer back to this view)."""
        self._pools.clear()
        self._pool_by_members.clear()

    def entry(self, rule: Rule) -> RuleEntry | None:
        """None for a rule that does not apply (disabled)."""
        return self._by_rule.get(id(rule))

    def levels(self, rule: Rule, family: int) -> Levels:
        entry = self._by_rule.get(id(rule))
        if entry is None or not entry.public:
            return NO_LEVELS
        cached = entry._levels.get(family)
        if cached is None:
            cached = self._context.levels_for(entry, family)
            entry._levels[family] = cached
        return cached

    def admitted(self, rule: Rule, family: int) -> Flows:
        """Everything the rule admits of one family, private addresses too (``source: any``),
        computed once for every policy that asks."""
        entry = self._by_rule.get(id(rule))
        if entry is None:
            return NO_FLOWS
        cached = entry._admitted.get(family)
        if cached is None:
            cached = Flows.from_groups(self._context.admitted_space(entry, family).grouped(1))
            entry._admitted[family] = cached
        return cached


def _addresses(rule: Rule) -> tuple[str, ...]:
    return tuple(a for peer in rule.peers for a in peer.addresses)


def _public_families(addresses: tuple[str, ...]) -> tuple[bool, frozenset[int]]:
    """Whether some of the addresses are public, and the families they cover whole."""
    if not addresses:
        return False, frozenset()
    cover = coverage(addresses)
    whole = frozenset(f for f, hit in ((IPV4, cover.internet_v4), (IPV6, cover.internet_v6))
                      if hit)
    return bool(cover.ipv4_public or cover.ipv6_public), whole


def _behind(rule: Rule, blockers: Iterable[Rule], family: int) -> TrafficSpace:
    """What ``rule`` matches of one family less what the earlier blocking rules take."""
    space = rule_space(rule, family)
    for blocker in blockers:
        if space.is_empty():
            break
        space = space.difference(rule_space(blocker, family, for_blocking=True))
    return space


def _with_rules(rule_set: RuleSet, rules: list[Rule]) -> RuleSet:
    from dataclasses import replace

    return replace(rule_set, rules=tuple(rules))


class EvaluationContext:
    """Shared, lazily built facts about one snapshot."""

    def __init__(self, snapshot: Snapshot, settings: PolicySettings | None = None,
                 exposure: Any = None) -> None:
        self.snapshot = snapshot
        self.settings = settings or PolicySettings()
        self.exposure = exposure  # scanner.exposure.ExposureAnalysis, when it was computed
        self.thresholds = Thresholds.build(self.settings.trusted_cidrs,
                                           self.settings.broad_prefix,
                                           self.settings.broad_prefix_v6)
        self._shared_levels: dict[tuple, Levels] = {}
        self.outlines = Outlines()
        self._views: dict[str, RuleSetView] = {}
        self._indexes: dict[str, Any] = {}

    # --- rule sets ------------------------------------------------------------------------

    def view(self, rule_set: RuleSet) -> RuleSetView:
        view = self._views.get(rule_set.resource_id)
        if view is None or view.rule_set is not rule_set:
            view = RuleSetView(rule_set, self)
            self._views[rule_set.resource_id] = view
        return view

    def release(self, rule_set: RuleSet) -> None:
        """Forget a rule set's view once every policy has judged it (its pools refer back to
        it: they are let go first, so it is freed at once, without a garbage collection)."""
        view = self._views.pop(rule_set.resource_id, None)
        if view is not None:
            view.clear()
        verdicts = self._indexes.get("shadow_verdicts")
        if verdicts is not None:
            verdicts.pop(rule_set.resource_id, None)

    def levels_for(self, entry: RuleEntry, family: int) -> Levels:
        rule = entry.rule
        addresses = entry.addresses
        if not entry.public:
            return NO_LEVELS
        blockers = self._overlapping_blockers(entry, family)
        # Rules with the same match behind the same blockers admit the same traffic: estates
        # repeat rules (0.0.0.0/0 on 22, 443 ...) so one computation serves many.
        key = (family, rule.protocol, rule.ports, addresses,
               tuple((b.protocol, b.ports, _addresses(b)) for b in blockers))
        cached = self._shared_levels.get(key)
        if cached is None:
            cached = levels_of(_behind(rule, blockers, family), self.thresholds)
            if len(self._shared_levels) > 200_000:
                self._shared_levels.clear()
            self._shared_levels[key] = cached
        return cached

    def _overlapping_blockers(self, entry: RuleEntry, family: int) -> list[Rule]:
        """The earlier blocking rules that can take any of this rule's traffic."""
        if not entry.blockers:
            return []
        mine = self.outlines.of(entry.rule)
        return [b for b in entry.blockers if mine.overlaps(self.outlines.of(b), family)]

    def admitted_space(self, entry: RuleEntry, family: int) -> TrafficSpace:
        """Everything the rule admits of one family, private addresses too."""
        return _behind(entry.rule, entry.blockers, family)

    # --- indexes --------------------------------------------------------------------------

    def _index(self, name: str, build) -> Any:
        value = self._indexes.get(name)
        if value is None:
            value = build()
            self._indexes[name] = value
        return value

    @property
    def rule_sets_by_id(self) -> Mapping[str, RuleSet]:
        return self._index("rule_sets", lambda: {r.resource_id: r
                                                 for r in self.snapshot.rule_sets})

    @property
    def subnets_by_id(self) -> Mapping[str, Subnet]:
        return self._index("subnets", lambda: {s.subnet_id: s for s in self.snapshot.subnets})

    @property
    def assets_by_id(self) -> Mapping[str, Asset]:
        return self._index("assets", lambda: {a.asset_id: a for a in self.snapshot.assets})

    @property
    def networks_by_id(self) -> Mapping[str, Any]:
        return self._index("networks", lambda: {n.network_id: n for n in self.snapshot.networks})

    def layers_of(self, asset: Asset) -> list[RuleSet]:
        """The rule sets that guard ``asset``: its own, its subnet's and its network's."""
        ids = list(asset.rule_set_ids)
        subnet = self.subnets_by_id.get(asset.subnet or "")
        if subnet is not None:
            ids += subnet.rule_set_ids
        network = self.networks_by_id.get(asset.network or "")
        if network is not None:
            ids += network.rule_set_ids
        found = self.rule_sets_by_id
        return [found[i] for i in dict.fromkeys(ids) if i in found]

    def guarded_assets(self, rule_set_id: str) -> list[Asset]:
        """The assets ``rule_set_id`` guards (directly, through a subnet or a network)."""
        def build() -> dict[str, list[Asset]]:
            out: dict[str, list[Asset]] = {}
            for asset in self.snapshot.assets:
                for rule_set in self.layers_of(asset):
                    out.setdefault(rule_set.resource_id, []).append(asset)
            return out

        return self._index("guarded", build).get(rule_set_id, [])
