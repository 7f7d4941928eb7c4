"""Rules that never take effect: ``scanner.traffic.effective_rules``, per rule.

The effective traffic of a rule is computed as ``effective_rules`` does (what it matches less
what earlier rules that apply wherever it applies take first), but only from the earlier rules
that overlap it and with each rule's space computed once: the same answer (the tests check it
against ``effective_rules``) at a fraction of the cost on large rule sets.

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

from policies.outline import Outline, Outlines, could_cover
from scanner.model import Action, Direction, Rule, RuleSet, RuleSetKind
from scanner.netmath import IPV4, IPV6
from scanner.traffic import (
    EffectiveRule,
    TrafficSpace,
    applies_wherever,
    evaluate_first_match,
    evaluation_order,
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


class _Spaces:
    """Each rule's traffic space, computed once per rule set, and the cheap overlap test."""

    def __init__(self, outlines: Outlines) -> None:
        self._spaces: dict[tuple[int, int, bool], TrafficSpace] = {}
        self._outlines = outlines
        self._mine: dict[int, Outline] = {}

    def space(self, rule: Rule, family: int, blocking: bool = False) -> TrafficSpace:
        key = (id(rule), family, blocking)
        found = self._spaces.get(key)
        if found is None:
            found = rule_space(rule, family, for_blocking=blocking)
            self._spaces[key] = found
        return found

    def overlap(self, a: Rule, b: Rule) -> bool:
        """Whether the two rules can match a common packet (interval tests only)."""
        mine = self._mine  # called for every pair of rules: lookups inlined
        first = mine.get(id(a)) or self.outline(a)
        second = mine.get(id(b)) or self.outline(b)
        return first.overlaps(second)

    def outline(self, rule: Rule) -> Outline:
        found = self._mine.get(id(rule))
        if found is None:
            found = self._mine[id(rule)] = self._outlines.of(rule)
        return found


def _overlapping(spaces: _Spaces, rule: Rule, others: list[Rule]) -> tuple[str, ...]:
    return tuple(o.identity() for o in others if spaces.overlap(rule, o))


def _per_direction(rule_set: RuleSet) -> Iterator[RuleSet]:
    for direction in (Direction.INGRESS, Direction.EGRESS):
        rules = tuple(r for r in rule_set.rules if r.direction is direction)
        if rules:
            yield replace(rule_set, rules=rules)


def _effective(spaces: _Spaces, rule: Rule, earlier: list[Rule], family: int) -> EffectiveRule:
    """What ``scanner.traffic.effective_rules`` says of ``rule``, from the earlier rules that
    overlap it (the others take nothing from it), with every space computed once."""
    matched = spaces.space(rule, family)
    effective = matched
    for other in earlier:
        if effective.is_empty():
            break
        if applies_wherever(other, rule):
            effective = effective.difference(spaces.space(other, family, blocking=True))
    return EffectiveRule(rule, matched, effective)


def _first_match(rule_set: RuleSet, outlines: Outlines) -> Iterator[Verdict]:
    spaces = _Spaces(outlines)
    for part in _per_direction(rule_set):
        ordered = evaluation_order(part)
        # (every earlier rule is tested against each rule: the outlines are looked up once)
        pairs = [(r, spaces.outline(r)) for r in ordered]
        for index, (rule, mine) in enumerate(pairs):
            if not _address_only(rule) or rule.is_default:
                continue
            overlapping = [(r, o) for r, o in pairs[:index] if o.overlaps(mine)]
            earlier = [r for r, _ in overlapping]
            # The earlier rules that take this one's traffic wherever it applies.
            taking = [(r, o) for r, o in overlapping if applies_wherever(r, rule)]
            if not could_cover(mine, [o for _, o in taking]):
                # Some of its traffic reaches it whatever comes first: it takes effect.
                if rule.action is Action.DENY:
                    entries = [EffectiveRule(rule, m, m) for f in FAMILIES
                               for m in (spaces.space(rule, f),) if not m.is_empty()]
                    verdict = _denied_anyway(spaces, rule, ordered[index + 1:], entries)
                    if verdict is not None:
                        yield verdict
                continue
            entries = [_effective(spaces, rule, earlier, f) for f in FAMILIES
                       if not spaces.space(rule, f).is_empty()]
            if not entries:
                continue
            if all(e.shadowed for e in entries):
                yield from _shadowed(spaces, rule, [r for r, _ in taking], entries)
            elif rule.action is Action.DENY:
                verdict = _denied_anyway(spaces, rule, ordered[index + 1:], entries)
                if verdict is not None:
                    yield verdict


def _shadowed(spaces: _Spaces, rule: Rule, earlier: list[Rule], matched: list[EffectiveRule]
              ) -> Iterator[Verdict]:
    blockers = [r for r in earlier if r.action is not Action.ALLOW]
    allows = [r for r in earlier if r.action is Action.ALLOW]
    by_blockers = all(_covered_by(spaces, e.matched, blockers, e.matched.family)
                      for e in matched)
    if rule.action is Action.ALLOW:
        if by_blockers:
            yield Verdict(rule, "shadowed_allow", "earlier deny rules take all of its traffic",
                          _overlapping(spaces, rule, blockers))
        else:
            yield Verdict(rule, "covered", "earlier rules decide all of its traffic",
                          _overlapping(spaces, rule, earlier))
        return
    if by_blockers:
        yield Verdict(rule, "covered", "earlier deny rules already take all of its traffic",
                      _overlapping(spaces, rule, blockers))
    else:
        yield Verdict(rule, "ineffective_deny",
                      "earlier allow rules admit the traffic it is meant to stop",
                      _overlapping(spaces, rule, allows))


def _covered_by(spaces: _Spaces, space: TrafficSpace, rules: list[Rule], family: int) -> bool:
    for other in rules:
        if space.is_empty():
            return True
        space = space.difference(spaces.space(other, family, blocking=True))
    return space.is_empty()


def _denied_anyway(spaces: _Spaces, rule: Rule, later: list[Rule],
                   matched: list[EffectiveRule]) -> Verdict | None:
    """A deny whose traffic the following rules deny too: it changes nothing.

    Only claimed when every following rule that could apply is plain addresses: a later allow
    naming a service tag or security group might admit what the deny stops.
    """
    applicable = [r for r in later if r.enabled and applies_wherever(r, rule)]
    if any(r.action is Action.ALLOW and not _address_only(r) for r in applicable):
        return None
    if any(r.targets and not applies_wherever(r, rule) for r in later):
        return None
    # Rules that share no packet with this one cannot decide any of its traffic.
    applicable = [r for r in applicable if spaces.overlap(r, rule)]
    responsible: list[str] = []
    for entry in matched:
        result = evaluate_first_match(applicable, entry.effective)
        if result.allowed or result.passed or not result.unmatched.is_empty():
            return None
        responsible += [d.rule.identity() for d in result.denied
                        if d.rule.identity() not in responsible]
    return Verdict(rule, "ineffective_deny", "later deny rules take the same traffic anyway",
                   tuple(responsible))


def _union(rule_set: RuleSet, outlines: Outlines) -> Iterator[Verdict]:
    """Security groups: a rule covered by the union of the group's other rules."""
    spaces = _Spaces(outlines)
    for part in _per_direction(rule_set):
        rules = [r for r in part.rules if r.enabled and _address_only(r)]
        for index, rule in enumerate(rules):
            mine = {f: spaces.space(rule, f) for f in FAMILIES}
            others = []
            for j, other in enumerate(rules):
                if j == index or not spaces.overlap(rule, other):
                    continue
                theirs = {f: spaces.space(other, f) for f in FAMILIES}
                # Of two identical rules only the later one is redundant.
                if j > index and all(theirs[f].covers(mine[f]) and mine[f].covers(theirs[f])
                                     for f in FAMILIES):
                    continue
                others.append(other)
            if not others:
                continue
            remaining = dict(mine)
            for other in others:
                for f in FAMILIES:
                    if not remaining[f].is_empty():
                        remaining[f] = remaining[f].difference(spaces.space(other, f))
            if all(s.is_empty() for s in remaining.values()):
                yield Verdict(rule, "covered", "other rules of the group admit all of its "
                              "traffic", tuple(o.identity() for o in others))


def verdicts(rule_set: RuleSet, outlines: Outlines | None = None) -> list[Verdict]:
    outlines = outlines or Outlines()
    if rule_set.kind is RuleSetKind.AWS_SECURITY_GROUP:
        return list(_union(rule_set, outlines))
    return list(_first_match(rule_set, outlines))


def cached_verdicts(ctx, rule_set: RuleSet) -> list[Verdict]:
    """Verdicts shared by the three shadowing checks within one evaluation."""
    cache = ctx._index("shadow_verdicts", dict)
    found = cache.get(rule_set.resource_id)
    if found is None:
        found = verdicts(rule_set, ctx.outlines)
        cache[rule_set.resource_id] = found
    return found


def shadow_judgements(ctx, meta, kind: str, rule_set: RuleSet, severity_for=None):
    """The findings of one shadowing check on one rule set, from its content alone."""
    from policies.findings import rule_finding
    from policies.liveness import Judgement

    for verdict in cached_verdicts(ctx, rule_set):
        if verdict.kind != kind:
            continue
        evidence = {"reason": verdict.reason, "decided_by": list(verdict.by)}
        severity = severity_for(verdict) if severity_for else None
        yield Judgement(rule_finding(meta, rule_set, verdict.rule, evidence, severity),
                        verdict.rule.identity())
