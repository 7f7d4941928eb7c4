"""The changes between two versions of the rule sets, each classified by what it admits.

Rules are matched by identity within a rule set; each changed rule is judged by applying that
change alone to the baseline set (and, when the set has other changes too, by reverting it alone
in the current set), over the traffic its two versions match. Rule sets that appear or go, and
attachments that come, go or move between rule sets, are judged against the cloud's behaviour
when the set is absent. See ``scanner.drift.classify`` for the algebra.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from itertools import chain, compress, count, islice
from operator import attrgetter, ne
from typing import Any

from scanner.drift.classify import (
    NEUTRAL,
    AbsentState,
    ChainState,
    Classification,
    RuleSetState,
    Universe,
    classify,
    rule_bounds,
)
from scanner.drift.delta import RuleSetSide, judge_change
from scanner.model import (
    Action,
    Attachment,
    ChangeKind,
    Direction,
    Effect,
    Rule,
    RuleSet,
    RuleSetKind,
    Snapshot,
)

RuleSetKey = tuple[str, str, str]  # provider, account, resource id

# Rule fields kept in ``extra`` that change what a rule matches (the model has no slot for
# them): when only these differ, a change cannot be called neutral.
_BEHAVIOURAL_EXTRA = frozenset({
    "sourcePortRanges", "destinationPortRanges", "destinationRanges", "sourceRanges",
    "localMatch", "networkScope", "action", "securityProfileGroup", "defaultedRange",
    "prefix_list_unresolved", "referenced_vpc_id", "vpc_peering_connection_id",
})


# --- changes -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    change: ChangeKind
    rule_set: RuleSet
    classification: Classification
    before: Rule | None = None
    after: Rule | None = None
    rule_key: str | None = None
    target: Attachment | None = None
    replaces: RuleSet | None = None
    live: bool = True
    note: str = ""
    extra_details: Mapping[str, Any] = field(default_factory=dict)
    description_only: bool = False  # a rule edited in what it says, not in what it matches


_native_id = attrgetter("native_id")


def keyed_rules(rules: Iterable[Rule]) -> dict[str, Rule]:
    """Rules by identity; identical content rules (no native id) get ``#2``, ``#3``..."""
    return _keyed(tuple(rules))[0]


def _keyed(rules: tuple[Rule, ...]) -> tuple[dict[str, Rule], bool]:
    """``keyed_rules``, and whether its keys are the cloud's ids."""
    ids = list(map(_native_id, rules))
    if all(ids):
        keyed = dict(zip(ids, rules, strict=True))
        if len(keyed) == len(rules):
            return keyed, True  # the cloud's ids, all distinct: each is its rule's identity
    out: dict[str, Rule] = {}
    for rule in rules:
        key = base = rule.identity()
        n = 2
        while key in out:
            key, n = f"{base}#{n}", n + 1
        out[key] = rule
    return out, False


# Whether two versions of a rule match the same traffic the same way (description, name or
# logging aside).
same_behaviour = Rule.same_behaviour


def _behavioural_extra_differs(a: Rule, b: Rule) -> bool:
    keys = {k for k in set(a.extra) | set(b.extra) if a.extra.get(k) != b.extra.get(k)}
    return bool(keys & _BEHAVIOURAL_EXTRA)


def _pair_kind(a: Rule, b: Rule) -> ChangeKind:
    if a.enabled != b.enabled:
        return ChangeKind.RULE_ENABLED if b.enabled else ChangeKind.RULE_DISABLED
    if a.priority != b.priority and same_behaviour(replace(a, priority=b.priority), b):
        return ChangeKind.PRIORITY_CHANGED
    return ChangeKind.RULE_MODIFIED


def _applied(rules: Mapping[str, Rule], key: str, rule: Rule | None) -> dict[str, Rule]:
    out = dict(rules)
    if rule is None:
        out.pop(key, None)
    else:
        out[key] = rule
    return out


def _recreated(before: Mapping[str, Rule], after: Mapping[str, Rule]) -> dict[str, str]:
    """Removed rules that reappear under a new id: ``{new key: old key}``.

    A security group rule revoked and authorized again gets a new rule id, and a NACL entry
    moved to another rule number is a new entry to AWS; matching them by what they do (their
    priority aside) makes each one change, judged as such, not a removal plus an addition.
    """
    def shape(rule: Rule) -> str:
        return replace(rule, priority=None, native_id=None).content_hash()

    removed, added = before.keys() - after.keys(), after.keys() - before.keys()
    if not removed or not added:
        return {}  # nothing to pair
    gone: dict[str, list[str]] = {}
    for key in sorted(removed):
        gone.setdefault(shape(before[key]), []).append(key)
    paired: dict[str, str] = {}
    for key in sorted(added):
        candidates = gone.get(shape(after[key]))
        if candidates:
            paired[key] = candidates.pop(0)
    return paired


def changed_span(old: Sequence[Rule], new: Sequence[Rule]) -> tuple[int, int]:
    """How many rules two versions of a rule set share, position by position, at their start
    and at their end (not overlapping): only the rules between can differ."""
    # The first index where they differ, in C loops (a rule set's every rule is compared).
    shorter = min(len(old), len(new))
    start = next(compress(count(), map(ne, old, new)), shorter)
    room = shorter - start
    end = next(compress(count(), map(ne, islice(reversed(old), room), reversed(new))), room)
    return start, end


def rule_changes(old: RuleSet, new: RuleSet, live: bool) -> Iterator[Change]:
    (before, by_id), (after, by_id_now) = _keyed(old.rules), _keyed(new.rules)
    if by_id and by_id_now:
        # A rule in the start or end both versions share has the same id and content on both
        # sides: only the keys of the rules between can name a change.
        start, end = changed_span(old.rules, new.rules)
        keys = {r.native_id for r in (*old.rules[start:len(old.rules) - end],
                                      *new.rules[start:len(new.rules) - end])}
    else:
        keys = before.keys() | after.keys()
    recreated = _recreated(before, after)
    if recreated:
        # Judge each pair under its new key; the old key then no longer stands for a removal.
        renamed = {old_key: new_key for new_key, old_key in recreated.items()}
        before = {renamed.get(k, k): r for k, r in before.items()}
    pairs = []
    for key in sorted(keys):
        a, b = before.get(key), after.get(key)
        if a == b:
            continue
        if a is None:
            kind = ChangeKind.RULE_ADDED
        elif b is None:
            kind = ChangeKind.RULE_REMOVED
        else:
            kind = _pair_kind(a, b)
        pairs.append((kind, key, a, b))
    if not pairs:
        return
    # The peers and targets of both versions, numbered in their order: a new rule that is not
    # a change equals an old one, so it names nothing the old rules do not.
    changed_now = {id(b) for _, _, _, b in pairs if b is not None}
    universe = Universe.of(chain(old.rules, (r for r in new.rules if id(r) in changed_now)))
    # What every change in this set is judged against: the old rules, and the new ones.
    old_side = RuleSetSide(old.kind, before)
    new_side = None
    same = {key: a is not None and b is not None and same_behaviour(a, b)
            for _, key, a, b in pairs}
    # Where each change that alters what is matched can meet traffic: another change can move
    # its judgement only there.
    reach = {key: _reach(a, b) for _, key, a, b in pairs if not same[key]}

    @cache
    def order_kept() -> bool:
        """Whether the rules in both versions come in the same order in each."""
        return [k for k in before if k in after] == [k for k in after if k in before]

    for kind, key, a, b in pairs:
        description_only = same[key]
        if description_only:
            # Description, name or logging only: the same traffic either way.
            result = NEUTRAL
        else:
            # The old rules with this change alone applied; both states are the old rules but
            # one, so that is every rule either can walk.
            judgements = [(old_side, (*old.rules, *([b] if b is not None else [])))]
            if len(pairs) > 1 and (a is None or b is None or not order_kept() or any(
                    _meet(reach[key], theirs) for other, theirs in reach.items() if other != key)):
                # Another change in the set can decide some of this one's traffic, or this rule
                # sits elsewhere among the others (added, removed, or the set reordered): also
                # judge it where it now stands, the new rules with this change alone reverted,
                # against the new rules. (Otherwise both judgements walk the same rules in the
                # same order over that traffic, and find the same.)
                if new_side is None:
                    new_side = RuleSetSide(new.kind, after)
                judgements.append((new_side, (*new.rules, *([a] if a is not None else []))))
            result = judge_change(judgements, key, a, b, universe)
        note = f"re-created under a new id (was {recreated[key]})" if key in recreated else ""
        if (a is not None and b is not None and result.effect is Effect.NEUTRAL
                and _behavioural_extra_differs(a, b)):
            result = replace(result, effect=Effect.UNKNOWN)
            note = "a rule field cloudwall does not model changed; review it"
        yield Change(kind, new, result, a, b, key, live=live, note=note,
                     description_only=description_only)


# Per direction, the lowest and highest protocol and port a change's versions can match.
_Reach = dict[Direction, tuple[int, int, int, int]]


def _reach(*versions: Rule | None) -> _Reach:
    out: _Reach = {}
    for rule in versions:
        if rule is None or (bounds := rule_bounds(rule)) is None:
            continue  # no rule, or it matches nothing
        there = out.get(rule.direction)
        out[rule.direction] = bounds if there is None else (
            min(there[0], bounds[0]), max(there[1], bounds[1]),
            min(there[2], bounds[2]), max(there[3], bounds[3]))
    return out


def _meet(x: _Reach, y: _Reach) -> bool:
    """Whether two changes can match some of the same traffic."""
    for direction, (plo, phi, qlo, qhi) in x.items():
        there = y.get(direction)
        if there is not None and there[0] <= phi and plo <= there[1] and there[2] <= qhi \
                and qlo <= there[3]:
            return True
    return False


def _is_aws_default_egress(rule: Rule) -> bool:
    return (rule.direction is Direction.EGRESS and rule.protocol == "all"
            and len(rule.peers) == 1 and rule.peers[0].value in ("0.0.0.0/0", "::/0"))


def _presence(rule_set: RuleSet, live: bool) -> tuple[RuleSet, RuleSet | None]:
    """(the set as judged, the state it is compared with: None means absent)."""
    if rule_set.kind is RuleSetKind.AWS_SECURITY_GROUP:
        # Every new group allows all egress: that is AWS's default, not a change.
        rules = tuple(r for r in rule_set.rules if not _is_aws_default_egress(r))
        return replace(rule_set, rules=rules), None
    if rule_set.kind is RuleSetKind.GCP_VPC_FIREWALL:
        # A network comes with its implied rules; only the rules written in it are new.
        return rule_set, replace(rule_set, rules=tuple(r for r in rule_set.rules if r.is_default))
    return rule_set, None


def set_presence_change(rule_set: RuleSet, created: bool, live: bool) -> Change:
    kind = ChangeKind.RULE_SET_CREATED if created else ChangeKind.RULE_SET_DELETED
    judged, empty = _presence(rule_set, live)
    if rule_set.kind is not RuleSetKind.AWS_SECURITY_GROUP and not live:
        # A first-match set attached to nothing decides nothing.
        return Change(kind, rule_set, NEUTRAL, live=live)
    absent = RuleSetState(empty) if empty is not None else AbsentState(rule_set.kind)
    present = RuleSetState(judged)
    universe = Universe.of(judged.rules)
    footprint, context = _footprint(rule_set.kind, judged)
    states = (absent, present) if created else (present, absent)
    result = classify(*states, universe, footprint, context if footprint else None)
    return Change(kind, rule_set, result, live=live)


def _union_of(kind: RuleSetKind, sets: Iterable[RuleSet], template: RuleSet) -> RuleSet:
    return replace(template, kind=kind, rules=tuple(r for s in sets for r in s.rules))


def _footprint(kind: RuleSetKind, *sets: RuleSet) -> tuple[list[Rule] | None, list[Rule]]:
    """(footprint, context) for a change that adds or takes away whole rule sets: only what
    their rules match can be decided differently. Not for an NSG against its absence: there
    traffic no rule matches is allowed when the NSG is gone. A goto_next rule decides what
    the set's absence decides (the next level), so it is left out of the footprint."""
    rules = [r for rs in sets for r in rs.rules]
    matching = [r for r in rules if r.action is not Action.GOTO_NEXT]
    return (None if kind is RuleSetKind.AZURE_NSG else matching), rules


def _attachment_change(kind: ChangeKind, rule_set: RuleSet, target: Attachment,
                       snapshot: Snapshot, sets: Mapping[RuleSetKey, RuleSet],
                       replaces: RuleSet | None = None) -> Change:
    added = kind is ChangeKind.ATTACHMENT_ADDED
    moved = [rule_set, *([replaces] if replaces is not None else [])]
    footprint, _ = _footprint(rule_set.kind, *moved)
    if rule_set.kind is RuleSetKind.AWS_SECURITY_GROUP:
        # An interface admits the union of its groups: compare with the other groups alone.
        others = _other_groups(rule_set, target, snapshot, sets)
        without = _union_of(rule_set.kind, others, rule_set)
        with_it = _union_of(rule_set.kind, [*others, rule_set], rule_set)
        universe = Universe.of(with_it.rules)
        a, b = RuleSetState(without), RuleSetState(with_it)
        context = list(with_it.rules)
    elif (chained := _network_chain(rule_set, target, snapshot, sets, replaces)) is not None:
        # A network policy is one level of its network's chain: judge the whole chain, so an
        # allow the VPC rules already grant is no widening.
        without_levels, with_levels = chained
        context = [r for rs in (*without_levels, *with_levels) for r in rs.rules]
        universe = Universe.of(context)
        a, b = ChainState(without_levels), ChainState(with_levels)
    elif replaces is not None:
        context = [*replaces.rules, *rule_set.rules]
        universe = Universe.of(context)
        a, b = RuleSetState(replaces), RuleSetState(rule_set)
    else:
        context = list(rule_set.rules)
        universe = Universe.of(context)
        a, b = AbsentState(rule_set.kind), RuleSetState(rule_set)
    if added or replaces is not None:
        result = classify(a, b, universe, footprint, context if footprint else None)
    else:
        result = classify(b, a, universe, footprint, context if footprint else None)
    return Change(kind, rule_set, result, target=target, replaces=replaces)


def _network_chain(rule_set: RuleSet, target: Attachment, snapshot: Snapshot,
                   sets: Mapping[RuleSetKey, RuleSet], replaces: RuleSet | None):
    """(levels without the policy or with the one it replaced, levels with it) of the GCP
    network it is attached to, or None when that is not a network policy on a known network."""
    if rule_set.kind is not RuleSetKind.GCP_NETWORK_POLICY or target.target_kind != "network":
        return None
    network = next((n for n in snapshot.networks if n.network_id == target.target_id
                    and (n.provider, n.account) == (rule_set.provider, rule_set.account)), None)
    if network is None:
        return None
    keys = [(rule_set.provider, rule_set.account, i) for i in network.rule_set_ids]
    levels = [rule_set if k[2] == rule_set.resource_id else sets[k] for k in keys if k in sets]
    if rule_set not in levels:
        return None
    gone = replaces if replaces is not None else None
    without = [gone if rs is rule_set else rs for rs in levels if rs is not rule_set or gone]
    return without, levels


def _other_groups(group: RuleSet, target: Attachment, snapshot: Snapshot,
                  sets: Mapping[RuleSetKey, RuleSet]) -> list[RuleSet]:
    for asset in snapshot.assets:
        if asset.asset_id == target.target_id and asset.provider == group.provider:
            return [sets[k] for gid in asset.rule_set_ids if gid != group.resource_id
                    for k in [(group.provider, group.account, gid)] if k in sets]
    return []


def attachment_changes(old_sets: Mapping[RuleSetKey, RuleSet],
                        new_sets: Mapping[RuleSetKey, RuleSet], baseline: Snapshot,
                        current: Snapshot, skip: set[RuleSetKey]) -> Iterator[Change]:
    removed: dict[tuple, list[RuleSet]] = {}
    added: dict[tuple, list[RuleSet]] = {}
    for key in old_sets.keys() | new_sets.keys():
        if key in skip:
            continue
        old, new = old_sets.get(key), new_sets.get(key)
        if old is not None and new is not None and old.attachments == new.attachments:
            continue
        before = set(old.attachments) if old else set()
        after = set(new.attachments) if new else set()
        ref = new or old
        assert ref is not None
        for attachment in before - after:
            removed.setdefault((ref.provider, ref.account, ref.kind, attachment), []).append(
                old)  # type: ignore[arg-type]
        for attachment in after - before:
            added.setdefault((ref.provider, ref.account, ref.kind, attachment), []).append(
                new)  # type: ignore[arg-type]
    moved = set()
    for key in sorted(removed.keys() & added.keys(), key=str):
        if key[2] is RuleSetKind.AWS_SECURITY_GROUP:
            continue  # an interface has several groups: each one comes and goes on its own
        moved.add(key)
        old_set, new_set = removed[key][0], added[key][0]
        yield _attachment_change(ChangeKind.ATTACHMENT_ADDED, new_set, key[3], current,
                                 new_sets, replaces=old_set)
    for key, sets in sorted(added.items(), key=lambda kv: str(kv[0])):
        if key in moved:
            continue
        for rule_set in sets:
            if key_of(rule_set) in old_sets:
                yield _attachment_change(ChangeKind.ATTACHMENT_ADDED, rule_set, key[3],
                                         current, new_sets)
    for key, sets in sorted(removed.items(), key=lambda kv: str(kv[0])):
        if key in moved:
            continue
        for rule_set in sets:
            set_key = key_of(rule_set)
            if set_key in new_sets:
                yield _attachment_change(ChangeKind.ATTACHMENT_REMOVED, new_sets[set_key],
                                         key[3], baseline, old_sets)


def rule_set_key(provider: str, account: str, resource_id: str, kind: str) -> RuleSetKey:
    """Who a rule set is across snapshots.

    Organization and folder firewall policies are read through whichever project sees them
    first, so the account they are filed under is not part of who they are (their resource id
    is unique on its own).
    """
    shared = kind == RuleSetKind.GCP_HIERARCHICAL_POLICY.value
    return (provider, "" if shared else account, resource_id)


def key_of(rule_set: RuleSet) -> RuleSetKey:
    return rule_set_key(rule_set.provider, rule_set.account, rule_set.resource_id,
                        rule_set.kind.value)


def index_rule_sets(rule_sets: Iterable[RuleSet]) -> dict[RuleSetKey, RuleSet]:
    return {key_of(rs): rs for rs in rule_sets}
