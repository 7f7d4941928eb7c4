"""Compare a baseline snapshot with a later one, classify each change, map it to T1562.007.

Identity: rule sets by ``resource_id``; rules by ``Rule.identity()`` (the cloud's own id, else a
content fingerprint), so a rule edited in place is one *modified* item. Each change is classified
by what it admits, computed from the model: an allow that admits more, or a deny that blocks less,
is *widened*. Scopes that failed to collect in either snapshot are reported as unknown, and none
of their rules is ever called added or removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from scanner import attack
from scanner.catalogue import services_in
from scanner.model import (
    Action,
    ChangeKind,
    DriftItem,
    Effect,
    IpList,
    PeerKind,
    Rule,
    RuleSet,
    RuleSetKind,
    Severity,
    Snapshot,
    fingerprint,
)
from scanner.netmath import cidrs_cover, coverage, protocol_covers

# Rule sets evaluated first-match by priority: removing a deny there lets a later allow win.
_ORDERED_KINDS = {
    RuleSetKind.AWS_NETWORK_ACL,
    RuleSetKind.AZURE_NSG,
    RuleSetKind.GCP_VPC_FIREWALL,
    RuleSetKind.GCP_HIERARCHICAL_POLICY,
    RuleSetKind.GCP_NETWORK_POLICY,
}


@dataclass(frozen=True, slots=True)
class _Change:
    change: ChangeKind
    effect: Effect
    rule_set: RuleSet
    before: Rule | None = None
    after: Rule | None = None
    detail: str = ""


def _failed_scopes(*snapshots: Snapshot) -> set[tuple[str, str, str]]:
    """(provider, account, region) keys not fully read; region "" stands for every region."""
    return {
        (e.provider, e.account, e.region) for snapshot in snapshots for e in snapshot.errors
    }


def _is_unknown(failed: set[tuple[str, str, str]], provider: str, account: str, region: str):
    return (provider, account, region) in failed or (provider, account, "") in failed


def _addresses(rule: Rule) -> tuple[str, ...]:
    return tuple(a for p in rule.peers for a in p.addresses)


def _symbolic(rule: Rule) -> set[tuple[PeerKind, str]]:
    return {(p.kind, p.value) for p in rule.peers if not p.addresses}


def admits_beyond(rule: Rule, other: Rule) -> bool:
    """Whether ``rule`` matches traffic that ``other`` does not (same direction assumed)."""
    if not protocol_covers(other.protocol, rule.protocol):
        return True
    if not other.ports.covers(rule.ports):
        return True
    if other.icmp_type is not None and rule.icmp_type != other.icmp_type:
        return True
    if not cidrs_cover(_addresses(other), _addresses(rule)):
        return True
    if not _symbolic(rule) <= _symbolic(other):
        return True
    return bool(other.targets) and not set(rule.targets) <= set(other.targets)


def _modified_effect(before: Rule, after: Rule) -> Effect:
    if before.action != after.action:
        # allow->deny narrows, deny->allow widens; goto_next sits between them.
        order = {Action.DENY: 0, Action.GOTO_NEXT: 1, Action.ALLOW: 2}
        return Effect.WIDENED if order[after.action] > order[before.action] else Effect.NARROWED
    more = admits_beyond(after, before)
    less = admits_beyond(before, after)
    if after.action is Action.ALLOW:
        return Effect.WIDENED if more else Effect.NARROWED if less else Effect.NEUTRAL
    # A deny that matches less lets more through.
    return Effect.WIDENED if less else Effect.NARROWED if more else Effect.NEUTRAL


def _priority_effect(before: Rule, after: Rule) -> Effect:
    """Moving a deny later, or an allow earlier, lets more traffic through."""
    earlier = (after.priority or 0) < (before.priority or 0)
    if after.action is Action.ALLOW:
        return Effect.WIDENED if earlier else Effect.NARROWED
    return Effect.NARROWED if earlier else Effect.WIDENED


def _rule_changes(old: RuleSet, new: RuleSet) -> Iterator[_Change]:
    before = {r.identity(): r for r in old.rules}
    after = {r.identity(): r for r in new.rules}
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        if a is None and b is not None:
            effect = Effect.WIDENED if b.action is Action.ALLOW else Effect.NARROWED
            yield _Change(ChangeKind.RULE_ADDED, effect, new, None, b)
        elif b is None and a is not None:
            effect = Effect.NARROWED if a.action is Action.ALLOW else Effect.WIDENED
            yield _Change(ChangeKind.RULE_REMOVED, effect, new, a, None)
        elif a is not None and b is not None and a != b:
            yield _compare_rule(new, a, b)


def _compare_rule(rule_set: RuleSet, a: Rule, b: Rule) -> _Change:
    if a.enabled != b.enabled:
        allow = b.action is Action.ALLOW
        if b.enabled:
            return _Change(ChangeKind.RULE_ENABLED,
                           Effect.WIDENED if allow else Effect.NARROWED, rule_set, a, b)
        return _Change(ChangeKind.RULE_DISABLED,
                       Effect.NARROWED if allow else Effect.WIDENED, rule_set, a, b)
    if a.priority != b.priority and _same_match(a, b):
        return _Change(ChangeKind.PRIORITY_CHANGED, _priority_effect(a, b), rule_set, a, b)
    return _Change(ChangeKind.RULE_MODIFIED, _modified_effect(a, b), rule_set, a, b)


def _same_match(a: Rule, b: Rule) -> bool:
    return a.action == b.action and not admits_beyond(a, b) and not admits_beyond(b, a)


def _set_changes(old: RuleSet | None, new: RuleSet | None) -> Iterator[_Change]:
    if old is None and new is not None:
        allows = any(r.action is Action.ALLOW and not r.is_default for r in new.rules)
        yield _Change(ChangeKind.RULE_SET_CREATED,
                      Effect.WIDENED if allows else Effect.NEUTRAL, new)
        return
    if new is None and old is not None:
        # Deleting a first-match set with denies drops a barrier; deleting a security group
        # (allow-only) takes access away.
        denies = any(r.action is Action.DENY and not r.is_default for r in old.rules)
        widened = old.kind in _ORDERED_KINDS and denies
        yield _Change(ChangeKind.RULE_SET_DELETED,
                      Effect.WIDENED if widened else Effect.NARROWED, old)
        return
    assert old is not None and new is not None
    yield from _rule_changes(old, new)
    allow_only = new.kind is RuleSetKind.AWS_SECURITY_GROUP
    for attachment in sorted(set(new.attachments) - set(old.attachments), key=str):
        effect = Effect.WIDENED if allow_only else Effect.NARROWED
        yield _Change(ChangeKind.ATTACHMENT_ADDED, effect, new,
                      detail=f"{attachment.target_kind} {attachment.target_id}")
    for attachment in sorted(set(old.attachments) - set(new.attachments), key=str):
        effect = Effect.NARROWED if allow_only else Effect.WIDENED
        yield _Change(ChangeKind.ATTACHMENT_REMOVED, effect, new,
                      detail=f"{attachment.target_kind} {attachment.target_id}")


def _exposure_words(rule: Rule | None) -> tuple[bool, list[str]]:
    if rule is None:
        return False, []
    cov = coverage(_addresses(rule))
    hits = services_in(rule.protocol, rule.ports)
    return cov.internet, [h.service.name for h in hits]


def _severity(change: _Change) -> Severity:
    if change.effect in (Effect.NARROWED, Effect.NEUTRAL):
        return Severity.INFO
    if change.effect is Effect.UNKNOWN:
        return Severity.MEDIUM
    rule = change.after if change.after is not None else change.before
    internet, services = _exposure_words(rule)
    if change.after is not None and change.after.action is Action.ALLOW:
        if internet and services:
            return Severity.CRITICAL
        if internet:
            return Severity.HIGH
    if change.change in (ChangeKind.RULE_REMOVED, ChangeKind.RULE_DISABLED,
                         ChangeKind.RULE_SET_DELETED, ChangeKind.ATTACHMENT_REMOVED):
        return Severity.HIGH  # a deny or a whole layer is gone
    return Severity.MEDIUM


def _describe_rule(rule: Rule) -> str:
    peers = ", ".join(p.value for p in rule.peers) or "any"
    ports = "" if rule.ports.is_all() else f"/{rule.ports}"
    side = "from" if rule.direction.value == "ingress" else "to"
    return f"{rule.action.value} {rule.direction.value} {rule.protocol}{ports} {side} {peers}"


def _summary(change: _Change) -> str:
    rs = change.rule_set
    where = f"{rs.name or rs.resource_id} ({rs.resource_id})"
    kind = change.change
    if kind is ChangeKind.RULE_SET_CREATED:
        return f"{where} was created with {len(rs.rules)} rules"
    if kind is ChangeKind.RULE_SET_DELETED:
        return f"{where} was deleted"
    if kind in (ChangeKind.ATTACHMENT_ADDED, ChangeKind.ATTACHMENT_REMOVED):
        verb = "attached to" if kind is ChangeKind.ATTACHMENT_ADDED else "detached from"
        return f"{where} was {verb} {change.detail}"
    rule = change.after or change.before
    assert rule is not None
    text = f"{where}: rule {rule.native_id or rule.name or rule.identity()} "
    if kind is ChangeKind.RULE_MODIFIED and change.before and change.after:
        text += f"changed from '{_describe_rule(change.before)}' to '{_describe_rule(rule)}'"
    else:
        text += f"{kind.value.removeprefix('rule_').replace('_', ' ')}: '{_describe_rule(rule)}'"
    if change.effect is Effect.WIDENED and change.after and change.after.action is Action.ALLOW:
        internet, services = _exposure_words(change.after)
        if internet:
            reach = f" ({', '.join(services)})" if services else ""
            text += f"; it now admits {change.after.protocol}/{change.after.ports}{reach}"
            text += " from the whole internet"
    return text


def _item(change: _Change) -> DriftItem:
    rs = change.rule_set
    rule = change.after or change.before
    rule_key = rule.identity() if rule is not None else None
    widening = change.effect is Effect.WIDENED
    return DriftItem(
        drift_id="CWD-" + fingerprint(change.change.value, rs.resource_id, rule_key,
                                      change.detail, change.before and change.before.to_dict(),
                                      change.after and change.after.to_dict()),
        change=change.change,
        effect=change.effect,
        severity=_severity(change),
        provider=rs.provider,
        account=rs.account,
        region=rs.region,
        resource_id=rs.resource_id,
        resource_name=rs.name,
        rule_key=rule_key,
        before=change.before,
        after=change.after,
        summary=_summary(change),
        details={"rule_set_kind": rs.kind.value, **({"target": change.detail}
                                                     if change.detail else {})},
        attack=(attack.TECHNIQUE,) if widening else (),
        tactic=attack.TACTIC if widening else None,
        detection=attack.detection_component(change.change) if widening else None,
        operations=attack.operations(change.change, rs.kind),
    )


def _ip_list_items(old: Iterable[IpList], new: Iterable[IpList], failed) -> Iterator[DriftItem]:
    before = {i.list_id: i for i in old}
    after = {i.list_id: i for i in new}
    for list_id in sorted(before.keys() | after.keys()):
        a, b = before.get(list_id), after.get(list_id)
        ref = b or a
        assert ref is not None
        if _is_unknown(failed, ref.provider, ref.account, ref.region) or a == b:
            continue
        if a is None:
            kind = ChangeKind.IP_LIST_ADDED
        elif b is None:
            kind = ChangeKind.IP_LIST_REMOVED
        else:
            kind = ChangeKind.IP_LIST_CHANGED
        # An active trusted list silences detection for its addresses: that blinds defenders.
        blinding = b is not None and b.list_type == "trusted" and b.status.upper() == "ACTIVE"
        effect = Effect.WIDENED if blinding else Effect.NEUTRAL
        yield DriftItem(
            drift_id="CWD-" + fingerprint(kind.value, list_id, a and a.to_dict(),
                                          b and b.to_dict()),
            change=kind,
            effect=effect,
            severity=Severity.HIGH if blinding else Severity.INFO,
            provider=ref.provider,
            account=ref.account,
            region=ref.region,
            resource_id=ref.list_id,
            resource_name=ref.name,
            summary=(f"{ref.list_type} IP list {ref.name} ({ref.list_id}) "
                     f"{kind.value.removeprefix('ip_list_')}; status {ref.status}, "
                     f"location {ref.location or 'unknown'}"),
            details={"before": a.to_dict() if a else None, "after": b.to_dict() if b else None},
            attack=(attack.TECHNIQUE,) if blinding else (),
            tactic=attack.TACTIC if blinding else None,
            detection=attack.detection_component(kind) if blinding else None,
            operations=attack.operations(kind, None),
        )


def _unknown_items(baseline: Snapshot, current: Snapshot) -> Iterator[DriftItem]:
    seen = set()
    for snapshot, which in ((baseline, "baseline"), (current, "current")):
        for error in snapshot.errors:
            key = (error.provider, error.account, error.region, which)
            if key in seen:
                continue
            seen.add(key)
            yield DriftItem(
                drift_id="CWD-" + fingerprint("scope_unknown", *key),
                change=ChangeKind.SCOPE_UNKNOWN,
                effect=Effect.UNKNOWN,
                severity=Severity.MEDIUM,
                provider=error.provider,
                account=error.account,
                region=error.region,
                resource_id=error.scope.label(),
                resource_name="",
                summary=(f"{error.scope.label()} could not be read in the {which} snapshot "
                         f"({error.reason}); its changes are unknown, not absent"),
            )


def compare(
    baseline: Snapshot,
    current: Snapshot,
    baseline_exposure: object | None = None,
    current_exposure: object | None = None,
) -> list[DriftItem]:
    """Every difference between two snapshots, most severe first."""
    failed = _failed_scopes(baseline, current)
    old_sets = {rs.resource_id: rs for rs in baseline.rule_sets}
    new_sets = {rs.resource_id: rs for rs in current.rule_sets}
    items = list(_unknown_items(baseline, current))
    for resource_id in sorted(old_sets.keys() | new_sets.keys()):
        old, new = old_sets.get(resource_id), new_sets.get(resource_id)
        ref = new or old
        assert ref is not None
        if _is_unknown(failed, ref.provider, ref.account, ref.region):
            continue
        items.extend(_item(c) for c in _set_changes(old, new))
    items.extend(_ip_list_items(baseline.ip_lists, current.ip_lists, failed))
    items.extend(_network_items(baseline, current, failed))
    items.sort(key=lambda i: (-i.severity.rank, i.provider, i.resource_id, i.change.value))
    return items


def _network_items(baseline: Snapshot, current: Snapshot, failed) -> Iterator[DriftItem]:
    before = {n.network_id: n for n in baseline.networks}
    for network in current.networks:
        old = before.get(network.network_id)
        if old is None or old.enforcement_order == network.enforcement_order:
            continue
        if _is_unknown(failed, network.provider, network.account, network.region):
            continue
        kind = ChangeKind.ENFORCEMENT_ORDER_CHANGED
        yield DriftItem(
            drift_id="CWD-" + fingerprint(kind.value, network.network_id,
                                          old.enforcement_order, network.enforcement_order),
            change=kind,
            effect=Effect.UNKNOWN,
            severity=Severity.MEDIUM,
            provider=network.provider,
            account=network.account,
            region=network.region,
            resource_id=network.network_id,
            resource_name=network.name,
            summary=(f"network {network.name} now evaluates firewall policies "
                     f"{network.enforcement_order} (was {old.enforcement_order}): which rule "
                     "wins has changed; review what the policies and VPC rules admit"),
            attack=(attack.TECHNIQUE,),
            tactic=attack.TACTIC,
            detection=attack.RULE_MODIFICATION,
            operations=attack.operations(kind, None),
        )
