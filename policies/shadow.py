"""Rules that never take effect, computed with ``scanner.traffic.effective_rules``.

First-match rule sets (network ACLs, NSGs, GCP rules and policies) are analysed per direction:
an ingress deny never shadows an egress allow. A rule is judged only when every remote peer
it names is an address range (a security group or tag reference matches traffic we cannot see,
so nothing is claimed about it).

- ``shadowed_allow``: an allow whose traffic earlier deny (or goto_next) rules take entirely.
- ``ineffective_deny``: a deny that earlier rules decide first (an earlier allow admits what
  the deny meant to stop), or whose traffic later rules deny anyway.
- ``covered``: a rule fully covered by earlier rules of the same action (first match), or by
  the other rules of a security group (union).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from scanner.model import Action, Direction, Rule, RuleSet, RuleSetKind
from scanner.netmath import IPV4, IPV6
from scanner.traffic import (
    EffectiveRule,
    TrafficSpace,
    _applies_wherever,
    effective_rules,
    evaluate_first_match,
    rule_space,
)

FAMILIES = (IPV4, IPV6)


@dataclass(frozen=True, slots=True)
class Verdict:
    rule: Rule
    kind: str  # shadowed_allow | ineffective_deny | covered
    reason: str
    by: tuple[str, ...]  # identities of the rules responsible


def _address_only(rule: Rule) -> bool:
    return bool(rule.peers) and all(p.addresses for p in rule.peers)


def _overlapping(rule: Rule, others: list[Rule]) -> tuple[str, ...]:
    out = []
    for other in others:
        if any(not rule_space(rule, f).intersection(rule_space(other, f)).is_empty()
               for f in FAMILIES):
            out.append(other.identity())
    return tuple(out)


def _per_direction(rule_set: RuleSet) -> Iterator[RuleSet]:
    for direction in (Direction.INGRESS, Direction.EGRESS):
        rules = tuple(r for r in rule_set.rules if r.direction is direction)
        if rules:
            yield replace(rule_set, rules=rules)


def _first_match(rule_set: RuleSet) -> Iterator[Verdict]:
    for part in _per_direction(rule_set):
        by_family = {f: effective_rules(part, f) for f in FAMILIES}
        ordered = [e.rule for e in by_family[IPV4]]
        for index, rule in enumerate(ordered):
            if not _address_only(rule) or rule.is_default:
                continue
            entries: list[EffectiveRule] = [by_family[f][index] for f in FAMILIES]
            matched = [e for e in entries if not e.matched.is_empty()]
            if not matched:
                continue
            earlier = [r for r in ordered[:index] if _applies_wherever(r, rule)]
            if all(e.shadowed for e in matched):
                yield from _shadowed(rule, earlier, matched)
            elif rule.action is Action.DENY:
                verdict = _denied_anyway(rule, ordered[index + 1:], matched)
                if verdict is not None:
                    yield verdict


def _shadowed(rule: Rule, earlier: list[Rule], matched: list[EffectiveRule]
              ) -> Iterator[Verdict]:
    blockers = [r for r in earlier if r.action is not Action.ALLOW]
    allows = [r for r in earlier if r.action is Action.ALLOW]
    by_blockers = all(_covered_by(e.matched, blockers, e.matched.family, blocking=True)
                      for e in matched)
    if rule.action is Action.ALLOW:
        if by_blockers:
            yield Verdict(rule, "shadowed_allow", "earlier deny rules take all of its traffic",
                          _overlapping(rule, blockers))
        else:
            yield Verdict(rule, "covered", "earlier rules decide all of its traffic",
                          _overlapping(rule, earlier))
        return
    if by_blockers:
        yield Verdict(rule, "covered", "earlier deny rules already take all of its traffic",
                      _overlapping(rule, blockers))
    else:
        yield Verdict(rule, "ineffective_deny",
                      "earlier allow rules admit the traffic it is meant to stop",
                      _overlapping(rule, allows))


def _covered_by(space: TrafficSpace, rules: list[Rule], family: int, blocking: bool) -> bool:
    for other in rules:
        if space.is_empty():
            return True
        space = space.difference(rule_space(other, family, for_blocking=blocking))
    return space.is_empty()


def _denied_anyway(rule: Rule, later: list[Rule], matched: list[EffectiveRule]
                   ) -> Verdict | None:
    """A deny whose traffic the following rules deny too: it changes nothing.

    Only claimed when every following rule that could apply is plain addresses: a later allow
    naming a service tag or security group might admit what the deny stops.
    """
    applicable = [r for r in later if r.enabled and _applies_wherever(r, rule)]
    if any(r.action is Action.ALLOW and not _address_only(r) for r in applicable):
        return None
    if any(r.targets and not _applies_wherever(r, rule) for r in later):
        return None
    responsible: list[str] = []
    for entry in matched:
        result = evaluate_first_match(applicable, entry.effective)
        if result.allowed or result.passed or not result.unmatched.is_empty():
            return None
        responsible += [d.rule.identity() for d in result.denied
                        if d.rule.identity() not in responsible]
    return Verdict(rule, "ineffective_deny", "later deny rules take the same traffic anyway",
                   tuple(responsible))


def _union(rule_set: RuleSet) -> Iterator[Verdict]:
    """Security groups: a rule covered by the union of the group's other rules."""
    for part in _per_direction(rule_set):
        rules = [r for r in part.rules if r.enabled and _address_only(r)]
        spaces = {id(r): {f: rule_space(r, f) for f in FAMILIES} for r in rules}
        for index, rule in enumerate(rules):
            mine = spaces[id(rule)]
            if all(s.is_empty() for s in mine.values()):
                continue
            others = []
            for j, other in enumerate(rules):
                if j == index:
                    continue
                theirs = spaces[id(other)]
                # Of two identical rules only the later one is redundant.
                if j > index and all(theirs[f].covers(mine[f]) and mine[f].covers(theirs[f])
                                     for f in FAMILIES):
                    continue
                if any(not mine[f].intersection(theirs[f]).is_empty() for f in FAMILIES):
                    others.append(other)
            if not others:
                continue
            remaining = {f: mine[f] for f in FAMILIES}
            for other in others:
                for f in FAMILIES:
                    remaining[f] = remaining[f].difference(spaces[id(other)][f])
            if all(s.is_empty() for s in remaining.values()):
                yield Verdict(rule, "covered", "other rules of the group admit all of its "
                              "traffic", tuple(o.identity() for o in others))


def verdicts(rule_set: RuleSet) -> list[Verdict]:
    if rule_set.kind is RuleSetKind.AWS_SECURITY_GROUP:
        return list(_union(rule_set))
    return list(_first_match(rule_set))


def cached_verdicts(ctx, rule_set: RuleSet) -> list[Verdict]:
    """Verdicts shared by the three shadowing checks within one evaluation."""
    cache = ctx._index("shadow_verdicts", dict)
    found = cache.get(rule_set.resource_id)
    if found is None:
        found = verdicts(rule_set)
        cache[rule_set.resource_id] = found
    return found


def shadow_findings(ctx, meta, kind: str, severity_for=None):
    from policies.findings import rule_finding

    for rule_set in ctx.snapshot.rule_sets:
        if not meta.applies_to(rule_set.provider):
            continue
        for verdict in cached_verdicts(ctx, rule_set):
            if verdict.kind != kind:
                continue
            evidence = {"reason": verdict.reason, "decided_by": list(verdict.by)}
            severity = severity_for(verdict) if severity_for else None
            yield rule_finding(meta, rule_set, verdict.rule, evidence, severity)
