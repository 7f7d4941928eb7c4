"""Judging a rule set as a whole: what its allow rules admit together.

A policy whose threshold is the whole internet (``source: internet``) is judged on each rule,
and then on the rule set: per direction, per address family and per class of machines, the
allow rules' admitted traffic (each rule's own match less what earlier deny and ``goto_next``
rules take first, on first-match clouds; security groups are a plain union) is pooled, and
the ports on which the pool reaches the whole public space of the family are judged like one
rule's. Whatever of that no single rule reaches on its own becomes one finding on the rule set,
naming every rule that contributes:

- two halves of the internet on SSH, in one AWS permission (two model rules) or in two rules,
  are the internet on SSH; a port range split across rules is the whole range;
- each family is judged on its own public space: IPv4 pieces never add up with IPv6 pieces;
- classes of machines: rules without targets apply to every member, so they pool with every
  target; rules for a target (GCP tag or service account, Azure destination) pool with the
  untargeted rules and the other rules for that same target;
- a rule that alone reaches the threshold keeps its own finding, and the rule set finding
  covers only the rest (no traffic is reported twice by one policy).

The rule set finding's id is a fingerprint of policy, rule set, direction and machine class, so
it is the same in every scan while the pooled rules keep admitting that traffic.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from policies.admitted import FAMILY_NAMES, NO_FLOWS, Flows
from policies.findings import peer_values, rule_set_finding, service_keys
from policies.liveness import Judgement
from scanner.model import Direction, RuleRef
from scanner.netmath import PUBLIC_SIZE, PUBLIC_SPACE, AddressSet, PortSet
from scanner.traffic import Box, ProtocolSet, TrafficSpace

if TYPE_CHECKING:
    from policies.context import EvaluationContext, RuleEntry, RuleSetView
    from policies.matching import Match
    from policies.policy import PolicyMeta

FAMILIES = tuple(FAMILY_NAMES)
EVERY_MEMBER = ""  # the machine class of rules without targets


@dataclass(slots=True)
class Pool:
    """What one class of machines gets from the whole internet through several allows."""

    direction: Direction
    target: str  # EVERY_MEMBER, or the target value the class shares
    members: tuple[RuleEntry, ...]
    # family -> what pooling opens to the whole internet that no single member does
    more: Mapping[int, Flows]
    view: RuleSetView
    _whole: dict[int, Flows] = field(default_factory=dict)

    def flows(self, family: int, aggregate: bool) -> Flows:
        """What the pool opens to the internet: for a policy judging port by port only what
        pooling adds (each member's own traffic has its own finding); for one judging the
        whole traffic (every port, how many ports) everything the members open together."""
        more = self.more.get(family, NO_FLOWS)
        if not aggregate:
            return more
        whole = self._whole.get(family)
        if whole is None:
            whole = more
            for entry in self.members:
                alone = self.view.levels(entry.rule, family).internet
                if alone:
                    whole = whole.union(alone)
            self._whole[family] = whole
        return whole


def machine_classes(entries: Iterable[RuleEntry]) -> dict[str, list[RuleEntry]]:
    """Target -> the allow entries that apply to machines of that class."""
    entries = list(entries)
    untargeted = [e for e in entries if not e.rule.targets]
    classes: dict[str, list[RuleEntry]] = {EVERY_MEMBER: untargeted}
    for target in sorted({t.value for e in entries for t in e.rule.targets}):
        classes[target] = untargeted + [e for e in entries
                                        if any(t.value == target for t in e.rule.targets)]
    return classes


def pooled_space(ctx: EvaluationContext, members: Iterable[RuleEntry],
                 family: int) -> TrafficSpace:
    """Everything public the members admit together, as disjoint boxes."""
    public = TrafficSpace.everything(family)
    pooled = TrafficSpace(family)
    for entry in members:
        pooled = pooled.union(ctx.admitted_space(entry, family).intersection(public))
    return pooled


def pool(ctx: EvaluationContext, view: RuleSetView, direction: Direction, target: str,
         members: tuple[RuleEntry, ...]) -> Pool:
    """The pool of ``members``. Pooling adds internet traffic only where at least two rules
    reach part of the internet (narrower sources, or sources cut by an earlier deny) on the
    same traffic and their sources cover the family's public space between them: only then
    is the address algebra run. A rule whose sources are a whole family and that nothing
    earlier cuts is whole by itself and never partial (its levels are not even looked at).
    Rules whose public sources are all trusted admit nothing here, as they admit nothing on
    their own."""
    more: dict[int, Flows] = {}
    for family in FAMILIES:
        candidates = [e for e in members if family not in e.whole or e.blockers]
        if len(candidates) < 2:
            continue
        # Cheapest first: between them their sources must hold the whole public space.
        sources = AddressSet.from_cidrs(family, [a for e in candidates for a in e.addresses])
        if sources.intersection(PUBLIC_SPACE[family]).count() < PUBLIC_SIZE[family]:
            continue
        seen = NO_FLOWS  # what the partial rules reach so far
        overlap = NO_FLOWS  # what at least two partial rules reach
        partial: list[RuleEntry] = []
        for entry in candidates:
            levels = view.levels(entry.rule, family)
            part = levels.broad.union(levels.specific)
            if part.is_empty():
                continue
            partial.append(entry)
            common = seen.intersect(part)
            if common:
                overlap = overlap.union(common)
            seen = seen.union(part)
        if len(partial) < 2 or not overlap:
            continue
        sources = AddressSet.from_cidrs(family, [a for e in partial for a in e.addresses])
        if sources.intersection(PUBLIC_SPACE[family]).count() < PUBLIC_SIZE[family]:
            continue
        pooled = pooled_space(ctx, members, family)
        found = Flows.from_groups(pooled.grouped(PUBLIC_SIZE[family]))
        for entry in members:
            alone = view.levels(entry.rule, family).internet
            if alone:
                found = found.minus(alone)
        if found:
            more[family] = found
    return Pool(direction, target, members, more, view)


def flows_space(flows: Flows, family: int) -> TrafficSpace:
    """The public traffic ``flows`` names (protocols x ports, from every public address)."""
    boxes = []
    for name, ports in flows.ports.items():
        if ports:
            boxes.append(Box(ProtocolSet.of(name), ports, PUBLIC_SPACE[family]))
    if flows.other:
        boxes.append(Box(flows.other, PortSet.all(), PUBLIC_SPACE[family]))
    return TrafficSpace(family, tuple(boxes))


def contributors(ctx: EvaluationContext, found: Pool, judged: Mapping[int, Flows]
                 ) -> list[tuple[RuleEntry, dict[str, dict[str, str]]]]:
    """The member rules that admit part of the judged traffic, widest first; a rule whose part
    lies inside what wider contributors already admit adds nothing and is left out."""
    chosen: dict[int, tuple[RuleEntry, dict[str, dict[str, str]]]] = {}
    for family, flows in judged.items():
        wanted = pooled_space(ctx, found.members, family).intersection(
            flows_space(flows, family))
        parts = []
        for entry in found.members:
            part = ctx.admitted_space(entry, family).intersection(wanted)
            if not part.is_empty():
                size = sum(b.addresses.count() for b in part.boxes)
                parts.append((size, entry.position, entry, part))
        covered = TrafficSpace(family)
        for _, _, entry, part in sorted(parts, key=lambda p: (-p[0], p[1])):
            if covered.covers(part):
                continue
            covered = covered.union(part)
            label = Flows.from_groups(part.grouped(1)).to_dict()
            record = chosen.setdefault(id(entry.rule), (entry, {}))
            record[1][FAMILY_NAMES[family]] = label
    return sorted(chosen.values(), key=lambda c: c[0].position)


def judge_pools(match: Match, meta: PolicyMeta, ctx: EvaluationContext, view: RuleSetView,
                single_hits: Mapping[int, Mapping[int, Flows]]) -> Iterator[Judgement]:
    """Rule set findings of one ``source: internet`` policy: what only pooled allows open.

    ``single_hits``: per rule (``id``), per family, what the policy already reported on that
    rule alone."""
    rule_set = view.rule_set
    # What the rules for every member open together is not repeated for each target class.
    everyone: dict[int, Flows] = {}
    for pooled in view.pools(match):  # the EVERY_MEMBER class first
        judged: dict[int, Flows] = {}
        for family in match.families:
            flows = pooled.flows(family, match.aggregate)
            if flows.is_empty():
                continue
            hit = match.judge_flows(flows)
            if hit is None:
                continue
            alone = everyone.get(family) if pooled.target != EVERY_MEMBER else None
            for entry in pooled.members:
                mine = single_hits.get(id(entry.rule), {}).get(family)
                if mine is not None:
                    alone = mine if alone is None else alone.union(mine)
            rest = hit.minus(alone) if alone is not None else hit
            if not rest.is_empty():
                judged[family] = rest
        if pooled.target == EVERY_MEMBER:
            everyone.update(judged)
        if not judged:
            continue
        named = contributors(ctx, pooled, judged)
        if len(named) < 2:
            continue  # one rule admits it all: that rule's own finding says so
        services: list[str] = []
        for flows in judged.values():
            services += [s for s in service_keys(flows) if s not in services]
        refs = [RuleRef.of(rule_set.resource_id, entry.rule, peer_values(entry.rule), part)
                for entry, part in named]
        evidence = {
            "scope": "rule_set",
            "direction": pooled.direction.value,
            "applies_to": pooled.target or "every member",
            "source": ["internet"],
            "families": [FAMILY_NAMES[f] for f in sorted(judged)],
            "ports": {FAMILY_NAMES[f]: judged[f].to_dict() for f in sorted(judged)},
            "services": services,
            "peers": sorted({p for ref in refs for p in ref.peers}),
            "contributing_rules": [ref.to_dict() for ref in refs],
        }
        subject = f"rule-set:{pooled.direction.value}:{pooled.target}"
        yield Judgement(rule_set_finding(meta, rule_set, evidence,
                                         match.severity_for(meta, evidence), subject=subject),
                        subject, tuple(entry.rule for entry, _ in named))
