"""A pack policy's ``match``, compiled once, and how it judges rules and rule sets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from policies.admitted import FAMILY_NAMES, Flows
from policies.combined import judge_pools
from policies.context import FAMILIES, EvaluationContext, RuleSetView
from policies.findings import peer_values, rule_finding, rule_set_finding, service_keys
from policies.liveness import Judgement, with_exposure
from policies.policy import PolicyMeta
from scanner.catalogue import SERVICES_BY_KEY
from scanner.model import Action, Finding, Rule, RuleSet, Severity

FAMILY_BY_NAME = {name: number for number, name in FAMILY_NAMES.items()}


@dataclass(frozen=True, slots=True)
class Match:
    subject: str  # rule | rule_set
    rule_set_checks: tuple[Callable[[RuleSet], bool], ...] = ()
    rule_checks: tuple[Callable[[Rule], bool], ...] = ()
    levels: tuple[str, ...] = ()  # empty: the policy does not look at traffic
    families: tuple[int, ...] = FAMILIES
    scoping: tuple[Callable[[Flows], Flows | None], ...] = ()  # protocol: feeds the rest
    traffic: tuple[tuple[Callable[[Flows], Flows | None], bool], ...] = ()  # (check, narrows)
    severity_from_services: bool = False
    directions: frozenset | None = None  # from `direction`, to skip other rules early
    actions: frozenset | None = None  # from `action`
    # A traffic condition judges the whole (policies.conditions.AGGREGATE_CONDITIONS): several
    # rules' traffic together can fail it where no rule does, even on ports each reaches alone.
    aggregate: bool = False
    # Its rule conditions are only `direction` and `action` (already in ``directions`` and
    # ``actions``): policies alike in this share one view of a rule set's pooled allows.
    only_direction_action: bool = False
    # A ``rule_set_name`` condition: rule sets alike in content may still be judged apart.
    reads_rule_set_name: bool = False
    # id(flows) -> (flows, verdict); the flows object is kept so a reused id never matches.
    memo: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    def accepts_rule_set(self, rule_set: RuleSet) -> bool:
        return all(check(rule_set) for check in self.rule_set_checks)

    def judge_flows(self, flows: Flows) -> Flows | None:
        # Rules with the same match share their Flows objects (policies.context), so the
        # verdict on one is the verdict on all: remember it, keyed by the object itself.
        memo = self.memo
        seen = memo.get(id(flows))
        if seen is not None and seen[0] is flows:
            return seen[1]
        result = self._judge(flows)
        if len(memo) > 100_000:
            memo.clear()
        memo[id(flows)] = (flows, result)
        return result

    def _judge(self, flows: Flows) -> Flows | None:
        for scope in self.scoping:
            scoped = scope(flows)
            if scoped is None:
                return None
            flows = scoped
        evidence = flows
        for check, narrows in self.traffic:
            hit = check(flows)
            if hit is None or hit.is_empty():
                return None
            if narrows:
                evidence = evidence.intersect(hit)
                if evidence.is_empty():
                    return None
        return evidence

    def judge_rule(self, view: RuleSetView, rule: Rule,
                   internet_hits: dict[int, Flows] | None = None) -> dict[str, Any] | None:
        """Evidence when ``rule`` fails the policy, else None. ``internet_hits`` receives, per
        family, what the rule fails on from the whole internet (``policies.combined``)."""
        if not all(check(rule) for check in self.rule_checks):
            return None
        if not self.levels:
            return {}
        if "any" not in self.levels:
            entry = view.entry(rule)
            if entry is None or not entry.public:
                return None  # no public address: it admits nothing of the internet
        ports: dict[str, dict[str, str]] = {}
        levels_hit: list[str] = []
        services: list[str] = []
        for family in self.families:
            family_hits: Flows | None = None
            for level in self.levels:
                if level == "any":
                    flows = view.admitted(rule, family)
                else:
                    flows = view.levels(rule, family).get(level)
                if flows.is_empty():
                    continue
                hit = self.judge_flows(flows)
                if hit is None:
                    continue
                if level not in levels_hit:
                    levels_hit.append(level)
                if level == "internet" and internet_hits is not None:
                    internet_hits[family] = hit
                family_hits = hit if family_hits is None else family_hits.union(hit)
            if family_hits is not None:
                ports[FAMILY_NAMES[family]] = family_hits.to_dict()
                services += [s for s in service_keys(family_hits) if s not in services]
        if not ports:
            return None
        return {
            "source": levels_hit,
            "families": list(ports),
            "ports": ports,
            "services": services,
            "peers": peer_values(rule),
        }

    def severity_for(self, meta: PolicyMeta, evidence: dict[str, Any]) -> Severity:
        if not self.severity_from_services or not evidence.get("services"):
            return meta.severity
        return max((SERVICES_BY_KEY[s].severity for s in evidence["services"]),
                   key=lambda s: s.rank)


def judge_rule_set(match: Match, meta: PolicyMeta, ctx: EvaluationContext,
                   rule_set: RuleSet) -> Iterator[Finding]:
    """Findings of one pack policy on one rule set (its provider and rule set checks passed)."""
    for judged in judge_rule_set_content(match, meta, ctx, rule_set):
        yield with_exposure(ctx, rule_set, judged)


def judge_rule_set_content(match: Match, meta: PolicyMeta, ctx: EvaluationContext,
                           rule_set: RuleSet) -> Iterator[Judgement]:
    """What ``judge_rule_set`` finds, from the rule set's content alone: the exposure verdict
    is left to ``with_exposure`` (it depends on the assets, not on the rules), so the result
    can serve every rule set with the same content (``policies.reuse``)."""
    if match.subject == "rule_set":
        yield Judgement(rule_set_finding(meta, rule_set, {
            "rules": sum(1 for r in rule_set.rules if not r.is_default),
            "attachments": len(rule_set.attachments),
            "default_rule_set": rule_set.is_default,
        }), "")
        return
    view = ctx.view(rule_set)
    public_only = bool(match.levels) and "any" not in match.levels
    # Pooling is about what allows admit together: a policy about other actions has none.
    pooled = "internet" in match.levels and (match.actions is None
                                             or Action.ALLOW in match.actions)
    single_hits: dict[int, dict[int, Flows]] = {}
    # Rules in evaluation order (disabled ones are there for policies that look at them).
    for rule in view.candidates(match.directions, match.actions, public_only):
        hits: dict[int, Flows] | None = {} if pooled else None
        evidence = match.judge_rule(view, rule, hits)
        if hits:
            single_hits[id(rule)] = hits
        if evidence is None:
            continue
        yield Judgement(rule_finding(meta, rule_set, rule, evidence,
                                     match.severity_for(meta, evidence)),
                        rule.identity(), (rule,) if match.levels else None)
    if pooled:
        # What the allows open together, beyond what each rule's own finding says.
        yield from judge_pools(match, meta, ctx, view, single_hits)


def evaluate_pack_policy(ctx: EvaluationContext, meta: PolicyMeta, match: Match
                         ) -> Iterator[Finding]:
    for rule_set in ctx.snapshot.rule_sets:
        if meta.applies_to(rule_set.provider) and match.accepts_rule_set(rule_set):
            yield from judge_rule_set(match, meta, ctx, rule_set)
