"""``goto_next`` changes on GCP, judged across the whole chain of levels.

A rule set on its own sorts traffic into allowed, denied and handed on; a deny changed to
``goto_next`` hands traffic on instead of denying it, which the rule set alone calls a
widening. Whether anything is really admitted depends on the levels below (network firewall
policies, the VPC's rules, the implied deny). So a change that involves ``goto_next`` in a
hierarchical or network firewall policy (or the VPC rules) is judged on each network the
rule set applies to: the chain with the rule set as it was (this change reverted, every other
level as it is now) against the chain as it is. The item then says what was delegated, to
which levels, and what that changed: "now decided by the VPC's rules, which admit ..." or "no
change in what is admitted".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from scanner.drift.changes import Change, keyed_rules
from scanner.drift.classify import NEUTRAL, ChainState, Classification, Universe, classify
from scanner.drift.describe import reach_sentence, traffic_entries
from scanner.model import Action, Effect, Network, RuleSet, RuleSetKind, Snapshot

CHAIN_KINDS = frozenset({RuleSetKind.GCP_HIERARCHICAL_POLICY, RuleSetKind.GCP_NETWORK_POLICY,
                         RuleSetKind.GCP_VPC_FIREWALL})
LEVEL_NAMES = {
    RuleSetKind.GCP_HIERARCHICAL_POLICY: "hierarchical firewall policy",
    RuleSetKind.GCP_NETWORK_POLICY: "network firewall policy",
    RuleSetKind.GCP_VPC_FIREWALL: "VPC firewall rules",
}


@dataclass(frozen=True, slots=True)
class Delegation:
    """What a ``goto_next`` change hands on, to whom, and what the chain now admits."""

    delegated: tuple[dict[str, Any], ...]  # traffic this level no longer decides itself
    # Per network the rule set applies to: the levels below it, in evaluation order, as
    # {"network", "levels" (names for people), "rule_sets" (ids)}.
    below: tuple[Mapping[str, Any], ...]
    consequence: Classification
    now_delegates: bool = True  # False: a goto_next became allow or deny (or was removed)

    def to_dict(self) -> dict[str, Any]:
        return {"delegated": list(self.delegated),
                "to": [{k: (list(v) if isinstance(v, tuple) else v) for k, v in b.items()}
                       for b in self.below],
                "now_delegates": self.now_delegates, "effect": self.consequence.effect.value}

    def _where(self) -> str:
        def chain(below: Mapping[str, Any]) -> str:
            return ", then ".join(below["levels"]) or "the implied rules"

        if not self.below:
            return "the levels below it"
        if len(self.below) == 1:
            return chain(self.below[0])
        return "the levels below it (" + "; ".join(
            f"on network {b['network']}: {chain(b)}" for b in self.below) + ")"

    def sentence(self) -> str:
        """``delegates tcp 5432 from the whole internet to the VPC firewall rules of prod,
        which admit ...`` / ``...: no change in what is admitted``."""
        what = reach_sentence(list(self.delegated)) or "some traffic"
        where = self._where()
        result = self.consequence
        if not self.now_delegates:
            text = f"it now decides itself what it delegated to {where}"
            if result.effect is Effect.UNKNOWN:
                return text + "; what that changes could not be decided"
            if result.effect is Effect.WIDENED:
                admitted = reach_sentence(traffic_entries(result.opened), result.opened_symbols)
                return text + f", and admits {admitted or 'more traffic'}"
            if result.effect is Effect.NARROWED:
                closed = reach_sentence(traffic_entries(result.closed))
                return text + f", and no longer admits {closed or 'some traffic'}"
            return text + ": no change in what is admitted"
        text = f"it now delegates {what} to {where}"
        if result.effect is Effect.WIDENED:
            admitted = reach_sentence(traffic_entries(result.opened), result.opened_symbols)
            return text + f", which admit {admitted or 'more traffic'}"
        if result.effect is Effect.NARROWED:
            closed = reach_sentence(traffic_entries(result.closed))
            return text + f", which deny {closed or 'some traffic it allowed'}"
        if result.effect is Effect.UNKNOWN:
            if not self.below:
                return (f"it now delegates {what} to the levels below it, which no network "
                        "in the snapshot shows: what is admitted could not be decided")
            return text + "; what they admit could not be decided"
        return text + ", which decide it the same way: no change in what is admitted"


def involves_goto_next(change: Change) -> bool:
    return change.rule_set.kind in CHAIN_KINDS and any(
        rule is not None and rule.action is Action.GOTO_NEXT
        for rule in (change.before, change.after))


def _levels(network: Network, sets: Mapping[str, RuleSet]) -> list[RuleSet]:
    from scanner.drift.comparison import _levels_in_order

    present = [i for i in network.rule_set_ids if i in sets]
    kinds = {i: sets[i].kind for i in present}
    return [sets[i] for i in _levels_in_order(present, kinds, network.enforcement_order)]


def _reverted(change: Change) -> RuleSet:
    """The rule set as it is now, with only this change undone."""
    rules = keyed_rules(change.rule_set.rules)
    key = change.rule_key or ""
    if change.before is None:
        rules.pop(key, None)
    else:
        rules[key] = change.before
    return replace(change.rule_set, rules=tuple(rules.values()))


def _label(rule_set: RuleSet) -> str:
    kind = LEVEL_NAMES.get(rule_set.kind, rule_set.kind.value)
    if rule_set.kind is RuleSetKind.GCP_VPC_FIREWALL:
        return f"the {kind}"
    return f"{kind} {rule_set.name or rule_set.resource_id}"


def rejudge(change: Change, current: Snapshot, sets: Mapping[str, RuleSet]) -> Change:
    """``change`` with its effect computed across the chain of every network the rule set
    applies to (unchanged when it applies to none in the snapshot)."""
    rule_set = change.rule_set
    networks = [n for n in current.networks
                if n.provider == rule_set.provider and rule_set.resource_id in n.rule_set_ids]
    own = change.classification  # this level's own verdicts, before and after
    if not networks:
        if own.effect not in (Effect.WIDENED, Effect.NARROWED):
            return change
        # No network of the snapshot shows what decides below this level: what the change
        # really admits cannot be said (and is not called a widening of its own).
        handed = own.opened if own.effect is Effect.WIDENED else own.closed
        unknown = replace(NEUTRAL, effect=Effect.UNKNOWN)
        delegation = Delegation(tuple(traffic_entries(handed)), (), unknown,
                                change.after is not None
                                and change.after.action is Action.GOTO_NEXT)
        return replace(change, classification=unknown,
                       extra_details={**change.extra_details, "delegation": delegation})
    was = _reverted(change)
    footprint = [r for r in (change.before, change.after) if r is not None]
    result: Classification | None = None
    below: list[dict[str, Any]] = []
    for network in networks:
        now = _levels(network, {**sets, rule_set.resource_id: rule_set})
        then = [was if level.resource_id == rule_set.resource_id else level for level in now]
        rules = [r for level in now + then for r in level.rules]
        found = classify(ChainState(then), ChainState(now), Universe.of(rules), footprint,
                         rules)
        result = found if result is None else result.merge(found)
        position = next(i for i, level in enumerate(now)
                        if level.resource_id == rule_set.resource_id)
        below.append({"network": network.name or network.network_id,
                      "levels": tuple(_label(level) for level in now[position + 1:]),
                      "rule_sets": tuple(level.resource_id for level in now[position + 1:])})
    assert result is not None
    handed = own.opened if own.effect is Effect.WIDENED else own.closed
    now_delegates = change.after is not None and change.after.action is Action.GOTO_NEXT
    delegation = Delegation(tuple(traffic_entries(handed)), tuple(below), result,
                            now_delegates)
    consequence = result if result.effect is not Effect.NEUTRAL else NEUTRAL
    return replace(change, classification=consequence,
                   extra_details={**change.extra_details, "delegation": delegation})


def delegation_of(change: Change) -> Delegation | None:
    found = change.extra_details.get("delegation")
    return found if isinstance(found, Delegation) else None


def rejudge_all(changes: Sequence[Change], current: Snapshot) -> list[Change]:
    sets = {rs.resource_id: rs for rs in current.rule_sets}
    return [rejudge(c, current, sets) if involves_goto_next(c) else c for c in changes]
