"""Compare a baseline snapshot with a later one, classify each change, map it to T1562.007.

Identity: rule sets by (provider, account, resource id); rules by ``Rule.identity()`` (the
cloud's own id, else a content fingerprint), so a rule edited in place is one *modified* item.
Each change is classified by what it admits, computed by ``scanner.drift.classify`` from the
whole rule set before and after (first match in evaluation order, or the union of a security
group), so a deny removed in front of an allow is a widening and an edit masked by earlier rules
is neutral. Attachments are compared per target: a target moved from one rule set to another
(a NACL association replaced, a subnet given another NSG, a network given another policy) is
one item that compares the two sets.

Scopes that failed to collect, or were not scanned, in either snapshot are reported as unknown,
and nothing in them is ever called added or removed. A collection error with region "" stands
for every region of its account.

Unchanged rule sets cost a dictionary lookup and an equality check; only changed ones are
evaluated, and only over the traffic their changed rules match.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import fields, replace
from operator import attrgetter
from typing import Any

from scanner import attack
from scanner.drift.changes import (
    Change,
    RuleSetKey,
    attachment_changes,
    index_rule_sets,
    keyed_rules,
    rule_changes,
    set_presence_change,
)
from scanner.drift.classify import ChainState, Classification, Universe, classify
from scanner.drift.delegation import delegation_of, rejudge_all
from scanner.drift.describe import (
    describe_rule,
    reach_sentence,
    severity,
    short_id,
    traffic_entries,
)
from scanner.gcpause import collector_paused
from scanner.model import (
    Action,
    ChangeKind,
    DriftItem,
    Effect,
    IpList,
    Network,
    RuleSet,
    RuleSetKind,
    Severity,
    Snapshot,
    fingerprint,
)

# --- scopes ------------------------------------------------------------------------------------


_SG = RuleSetKind.AWS_SECURITY_GROUP.value
_NACL = RuleSetKind.AWS_NETWORK_ACL.value
_NSG = RuleSetKind.AZURE_NSG.value
_VPC_FW = RuleSetKind.GCP_VPC_FIREWALL.value
_HIER = RuleSetKind.GCP_HIERARCHICAL_POLICY.value
_NET_POLICY = RuleSetKind.GCP_NETWORK_POLICY.value

# Which parts of a snapshot a failed resource type leaves unknown: categories are "ip_lists",
# "networks" and one rule set kind each. A rule set's attachments count as part of it, so the
# reads that attachments are derived from (AWS interfaces carry their security groups, Azure
# NICs and subnets name their NSGs) make those kinds unknown too. Types that feed only assets
# and routes (instances, public IPs, route tables) leave drift's rule sets comparable. A type
# not listed here makes everything in its scope unknown.
_UNKNOWN_AFTER_FAILURE: dict[str, frozenset[str]] = {
    # AWS
    "securitygroups": frozenset({_SG}),
    "securitygrouprules": frozenset({_SG}),
    "managedprefixlists": frozenset({_SG}),
    "managedprefixlistentries": frozenset({_SG}),
    "networkinterfaces": frozenset({_SG, _NSG}),
    "networkacls": frozenset({_NACL}),
    "vpcs": frozenset({"networks"}),
    "subnets": frozenset(),
    "routetables": frozenset(),
    "internetgateways": frozenset(),
    # Azure ("networkinterfaces" above covers NICs)
    "networksecuritygroups": frozenset({_NSG}),
    "virtualnetworks": frozenset({_NSG, "networks"}),
    "publicipaddresses": frozenset(),
    "applicationsecuritygroups": frozenset(),
    "loadbalancers": frozenset(),
    # GCP: a network's VPC rule set (implied rules included) is built from the network.
    "networks": frozenset({_VPC_FW, "networks"}),
    "firewalls": frozenset({_VPC_FW}),
    "networkfirewallpolicies": frozenset({_NET_POLICY, "networks"}),
    "hierarchicalfirewallpolicies": frozenset({_HIER, "networks"}),
    "effectivefirewalls": frozenset({_HIER, "networks"}),
    # Shared by AWS (EC2 instances) and GCP (instances): assets only.
    "instances": frozenset(),
}


def _affects(resource_type: str | None, category: str) -> bool:
    """Whether a failed resource type makes ``category`` unknown (a rule set kind value,
    ``networks`` or ``ip_lists``). A whole failed scope, or a type not known, affects all."""
    if resource_type is None:
        return True
    kind = resource_type.lower()
    if "guardduty" in kind:
        return category == "ip_lists"
    affected = _UNKNOWN_AFTER_FAILURE.get(kind)
    return affected is None or category in affected


class _Scopes:
    """Which parts of the two snapshots can be compared."""

    def __init__(self, baseline: Snapshot, current: Snapshot) -> None:
        self.snapshots = {"baseline": baseline, "current": current}
        # Hand-built snapshots may list no scopes: then coverage is not judged.
        self.scoped = bool(baseline.scopes) and bool(current.scopes)

    @staticmethod
    def _covered(snapshot: Snapshot, provider: str, account: str, region: str) -> bool:
        return any(s.provider == provider and s.account == account and s.region in ("", region)
                   for s in snapshot.scopes)

    def unknown(self, provider: str, account: str, region: str, category: str) -> bool:
        for snapshot in self.snapshots.values():
            for error in snapshot.errors:
                if (error.provider == provider and error.account == account
                        and error.region in ("", region)
                        and _affects(error.resource_type, category)):
                    return True
            if self.scoped and not self._covered(snapshot, provider, account, region):
                return True
        return False

    def items(self) -> Iterator[DriftItem]:
        seen: set[tuple] = set()
        for which, snapshot in self.snapshots.items():
            for error in snapshot.errors:
                key = (error.provider, error.account, error.region, error.resource_type, which)
                if key in seen:
                    continue
                seen.add(key)
                what = f" ({error.resource_type})" if error.resource_type else ""
                yield _scope_item(key, error.scope.label() + what, Severity.MEDIUM,
                                  f"could not be read in the {which} snapshot ({error.reason}); "
                                  "its changes are unknown, not absent")
        if not self.scoped:
            return
        for which, other in (("baseline", "current"), ("current", "baseline")):
            present = self.snapshots[which]
            for scope in present.scopes:
                if self._covered(self.snapshots[other], scope.provider, scope.account,
                                 scope.region):
                    continue
                key = (scope.provider, scope.account, scope.region, "not_scanned", which)
                yield _scope_item(key, scope.label(), Severity.LOW,
                                  f"was scanned in the {which} snapshot only; its rule sets are "
                                  "not compared")


def _scope_item(key: tuple, label: str, level: Severity, text: str) -> DriftItem:
    provider, account, region = key[0], key[1], key[2]
    return DriftItem(
        drift_id="CWD-" + fingerprint("scope_unknown", *key),
        change=ChangeKind.SCOPE_UNKNOWN,
        effect=Effect.UNKNOWN,
        severity=level,
        provider=provider,
        account=account,
        region=region,
        resource_id=label,
        resource_name="",
        summary=f"{label} {text}",
    )


# --- networks and IP lists ---------------------------------------------------------------------


def _levels_in_order(ids: Sequence[str], kinds: Mapping[str, RuleSetKind], order: str | None):
    """A GCP network's levels for an enforcement order: hierarchical policies on top, then
    network policies before or after the VPC rules."""
    top = [i for i in ids if kinds.get(i) is RuleSetKind.GCP_HIERARCHICAL_POLICY]
    vpc = [i for i in ids if kinds.get(i) is RuleSetKind.GCP_VPC_FIREWALL]
    policies = [i for i in ids if kinds.get(i) is RuleSetKind.GCP_NETWORK_POLICY]
    middle = policies + vpc if order == "BEFORE_CLASSIC_FIREWALL" else vpc + policies
    return top + middle


def _network_changes(baseline: Snapshot, current: Snapshot, scopes: _Scopes,
                     new_sets: Mapping[RuleSetKey, RuleSet]) -> Iterator[DriftItem]:
    before = {(n.provider, n.account, n.network_id): n for n in baseline.networks}
    for network in current.networks:
        old = before.get((network.provider, network.account, network.network_id))
        if old is None or old.enforcement_order == network.enforcement_order:
            continue
        if scopes.unknown(network.provider, network.account, network.region, "networks"):
            continue
        by_id = {k[2]: rs for k, rs in new_sets.items()
                 if k[:2] == (network.provider, network.account)}
        kinds = {i: rs.kind for i, rs in by_id.items()}
        present = [i for i in network.rule_set_ids if i in by_id]
        was = [by_id[i] for i in _levels_in_order(present, kinds, old.enforcement_order)]
        now = [by_id[i] for i in _levels_in_order(present, kinds, network.enforcement_order)]
        universe = Universe.of(r for rs in now for r in rs.rules)
        result = classify(ChainState(was), ChainState(now), universe)
        yield _network_item(old, network, result)


def _network_item(old: Network, network: Network, result: Classification) -> DriftItem:
    kind = ChangeKind.ENFORCEMENT_ORDER_CHANGED
    entries = traffic_entries(result.opened if result.effect is Effect.WIDENED else result.closed)
    summary = (f"network {network.name or network.network_id} now evaluates its network "
               f"firewall policies {network.enforcement_order} (was {old.enforcement_order})")
    if result.effect is Effect.WIDENED:
        summary += "; it now admits " + reach_sentence(entries, result.opened_symbols)
    else:
        summary += f"; {result.effect.value}"
    return _finish(DriftItem(
        drift_id="CWD-" + fingerprint(kind.value, network.provider, network.account,
                                      network.network_id, old.enforcement_order,
                                      network.enforcement_order),
        change=kind,
        effect=result.effect,
        severity=severity(result, entries, True),
        provider=network.provider,
        account=network.account,
        region=network.region,
        resource_id=network.network_id,
        resource_name=network.name,
        summary=summary,
        details={"before": old.enforcement_order, "after": network.enforcement_order,
                 _traffic_key(result): entries},
    ), None)


def _ip_list_effect(a: IpList | None, b: IpList | None) -> Effect:
    """Trusted lists silence findings for their addresses; threat lists raise them."""
    def active(x: IpList | None) -> bool:
        return x is not None and x.status.upper() == "ACTIVE"

    ref = b or a
    assert ref is not None
    trusted = ref.list_type == "trusted"
    if active(a) and active(b) and a.location != b.location:  # type: ignore[union-attr]
        return Effect.WIDENED  # new contents, unseen: they may list anyone
    if active(b) and not active(a):
        return Effect.WIDENED if trusted else Effect.NARROWED
    if active(a) and not active(b):
        return Effect.NARROWED if trusted else Effect.WIDENED
    return Effect.NEUTRAL


def _ip_list_items(baseline: Snapshot, current: Snapshot, scopes: _Scopes) -> Iterator[DriftItem]:
    def key(i: IpList) -> tuple:
        return (i.provider, i.account, i.region, i.list_id)

    before = {key(i): i for i in baseline.ip_lists}
    after = {key(i): i for i in current.ip_lists}
    for list_key in sorted(before.keys() | after.keys()):
        a, b = before.get(list_key), after.get(list_key)
        ref = b or a
        assert ref is not None
        if a == b or scopes.unknown(ref.provider, ref.account, ref.region, "ip_lists"):
            continue
        kind = (ChangeKind.IP_LIST_ADDED if a is None else ChangeKind.IP_LIST_REMOVED
                if b is None else ChangeKind.IP_LIST_CHANGED)
        effect = _ip_list_effect(a, b)
        blinding = effect is Effect.WIDENED
        what = "silences GuardDuty findings for the addresses it lists" if ref.list_type == \
            "trusted" else "no longer raises GuardDuty findings for the addresses it listed"
        summary = (f"GuardDuty {ref.list_type} IP list {ref.name} ({ref.list_id}) "
                   f"{kind.value.removeprefix('ip_list_')}: status "
                   f"{a.status if a else '-'} -> {b.status if b else '-'}, location "
                   f"{(b or a).location or 'unknown'}")  # type: ignore[union-attr]
        if blinding:
            summary += f"; it {what}"
        item = DriftItem(
            drift_id="CWD-" + fingerprint(kind.value, *list_key, a and a.to_dict(),
                                          b and b.to_dict()),
            change=kind,
            effect=effect,
            severity=Severity.HIGH if blinding else Severity.INFO,
            provider=ref.provider,
            account=ref.account,
            region=ref.region,
            resource_id=ref.list_id,
            resource_name=ref.name,
            summary=summary,
            details={"list_type": ref.list_type, "detector_id": ref.detector_id,
                     "before": a.to_dict() if a else None, "after": b.to_dict() if b else None},
        )
        yield _finish(item, None, list_type=ref.list_type)


# --- items -------------------------------------------------------------------------------------


def _traffic_key(result: Classification) -> str:
    return "opened" if result.effect is Effect.WIDENED else "closed"


def _where(rule_set: RuleSet) -> str:
    return rule_set.name or rule_set.resource_id


def _change_words(change: Change) -> str:
    rs, kind = change.rule_set, change.change
    if kind is ChangeKind.RULE_SET_CREATED:
        return f"{_where(rs)} was created with {len(rs.rules)} rules"
    if kind is ChangeKind.RULE_SET_DELETED:
        return f"{_where(rs)} was deleted"
    if kind in (ChangeKind.ATTACHMENT_ADDED, ChangeKind.ATTACHMENT_REMOVED):
        assert change.target is not None
        target = f"{change.target.target_kind} {short_id(change.target.target_id)}"
        if change.replaces is not None:
            return f"{target} now uses {_where(rs)} instead of {_where(change.replaces)}"
        verb = "attached to" if kind is ChangeKind.ATTACHMENT_ADDED else "detached from"
        return f"{_where(rs)} was {verb} {target}"
    rule = change.after or change.before
    assert rule is not None
    label = rule.native_id or rule.name or change.rule_key
    text = f"{_where(rs)}: rule {label} "
    if change.before is not None and change.after is not None:
        return text + (f"{kind.value.removeprefix('rule_').replace('_', ' ')}: "
                       f"'{describe_rule(change.before)}' -> '{describe_rule(change.after)}'")
    verb = "added" if kind is ChangeKind.RULE_ADDED else "removed"
    return text + f"{verb}: '{describe_rule(rule)}'"


def _summary(change: Change, entries: list[dict[str, Any]]) -> str:
    text = _change_words(change)
    result = change.classification
    delegation = delegation_of(change)
    if delegation is not None:
        text += "; " + delegation.sentence()
    elif result.effect is Effect.WIDENED:
        reach = reach_sentence(entries, result.opened_symbols)
        text += f"; it now admits {reach}" if reach else "; it now admits more traffic"
    elif result.effect is Effect.NARROWED:
        reach = reach_sentence(entries)
        text += f"; narrowed: no longer admits {reach}" if reach else "; narrowed"
    elif result.effect is Effect.NEUTRAL:
        text += "; no change in what it admits"
    else:
        text += "; effect unknown"
    if change.note:
        text += f" ({change.note})"
    return text


class _ExposureLink:
    """Ties newly exposed machines (from the exposure analysis) to the changes behind them."""

    def __init__(self, before: Any, after: Any, current: Snapshot) -> None:
        self.enabled = before is not None and after is not None
        self.by_asset: dict[str, list[dict[str, Any]]] = {}
        self.by_set: dict[str, set[str]] = {}
        self.live_rules: Mapping[tuple[str, str], frozenset[str]] = {}
        self.assets = current.assets
        self.after: Any = None
        if not self.enabled:
            return
        from scanner.exposure import newly_exposed

        self.after = after
        for entry in newly_exposed(before, after):
            self.by_asset.setdefault(entry["asset_id"], []).append(entry)
        self.live_rules = after.live_rules
        # Every asset a rule set guards, on every cloud: named directly (security groups,
        # NIC NSGs), through its subnet (NACLs, subnet NSGs) or its network (GCP firewall
        # rules and policies at every level, which no live allow may name).
        subnets = {s.subnet_id: s for s in current.subnets}
        networks = {n.network_id: n for n in current.networks}
        for asset in current.assets:
            ids = list(asset.rule_set_ids)
            subnet = subnets.get(asset.subnet or "")
            network = networks.get(asset.network or "")
            ids += subnet.rule_set_ids if subnet else ()
            ids += network.rule_set_ids if network else ()
            for set_id in ids:
                self.by_set.setdefault(set_id, set()).add(asset.asset_id)
        for (set_id, _), assets in after.live_rules.items():
            self.by_set.setdefault(set_id, set()).update(assets)

    def for_change(self, change: Change,
                   entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """``entries``: what the change opened (``traffic_entries`` of its classification)."""
        if not self.enabled or change.classification.effect is not Effect.WIDENED:
            return []
        rs = change.rule_set
        assets: set[str] = set()
        if change.rule_key and change.after is not None and change.after.action is Action.ALLOW:
            assets |= set(self.live_rules.get((rs.resource_id, change.rule_key), ()))
        assets |= self.by_set.get(rs.resource_id, set())
        targeted: set[str] = set()
        if change.target is not None:
            target = change.target.target_id
            targeted = {a.asset_id for a in self.assets
                        if target in (a.asset_id, a.subnet, a.network, a.instance_id)}
        opened = [e for e in entries if e["direction"] == "ingress"]
        out = []
        for asset in sorted(assets | targeted):
            for entry in self.by_asset.get(asset, ()):
                if not _overlaps(entry, opened):
                    continue
                # A rule change made the machine reachable only if its rule set is on the
                # path that traffic now takes (its layer let it through); a machine opened by
                # another layer's change on the same ports is that change's.
                if asset in targeted or self._through(asset, entry, rs.resource_id):
                    out.append(entry)
        return out

    def _through(self, asset_id: str, entry: Mapping[str, Any], rule_set_id: str) -> bool:
        for exposure in self.after.for_asset(asset_id):
            if (exposure.family == entry["family"] and exposure.source == entry["source"]
                    and _overlaps(entry, [{"protocols": exposure.protocol,
                                           "ports": exposure.ports.to_list()}])
                    and any(step.rule_set_id == rule_set_id for step in exposure.path)):
                return True
        return False


def _overlaps(exposure: Mapping[str, Any], opened: Sequence[Mapping[str, Any]]) -> bool:
    """Whether a newly exposed (protocol, ports) is part of what this change opened."""
    from scanner.exposure import parse_protocol_label
    from scanner.netmath import PortSet

    protocols = parse_protocol_label(str(exposure["protocol"]))
    ports = PortSet.from_list(exposure["ports"])
    return any(protocols.intersection(parse_protocol_label(e["protocols"]))
               and ports.overlaps(PortSet.from_list(e["ports"])) for e in opened)


# Every field a rule set's equality compares, but its rules.
_fields_but_rules = attrgetter(*(f.name for f in fields(RuleSet)
                                  if f.compare and f.name != "rules"))


def _guarded(snapshot: Snapshot) -> set[tuple[str, str, str]]:
    """(provider, account, rule set id) of every rule set some asset names directly."""
    return {(a.provider, a.account, rs_id) for a in snapshot.assets for rs_id in a.rule_set_ids}


def _is_live(rule_set: RuleSet, guarded: set[tuple[str, str, str]]) -> bool:
    """Whether the rule set guards anything: attached, or named by an asset."""
    return bool(rule_set.attachments) or (
        (rule_set.provider, rule_set.account, rule_set.resource_id) in guarded)


def _item(change: Change, link: _ExposureLink) -> DriftItem:
    rs, result = change.rule_set, change.classification
    entries = traffic_entries(result.opened if result.effect is Effect.WIDENED else result.closed)
    exposed = link.for_change(change, entries)
    details: dict[str, Any] = {"rule_set_kind": rs.kind.value, _traffic_key(result): entries}
    if change.target is not None:
        details["target"] = f"{change.target.target_kind} {change.target.target_id}"
    if change.replaces is not None:
        details["replaces"] = change.replaces.resource_id
    if result.opened_symbols:
        details["opened_peers"] = list(result.opened_symbols)
    if result.approximate:
        details["approximate"] = True
    if link.enabled and result.effect is Effect.WIDENED:
        # The machines this change made reachable from the internet (or a broad range): an
        # empty list says none did, which is worth knowing too.
        details["newly_reachable"] = sorted({e["asset_id"] for e in exposed})
    delegation = delegation_of(change)
    level = severity(result, entries, change.live, exposed)
    if delegation is not None:
        details["delegation"] = delegation.to_dict()
        if result.effect is Effect.NEUTRAL and delegation.now_delegates:
            # Nothing more is admitted today, but this level no longer holds the line: a
            # later change below it would open what it used to deny.
            level = Severity.LOW
    rule = change.after or change.before
    return DriftItem(
        drift_id="CWD-" + fingerprint(change.change.value, rs.provider, rs.account,
                                      rs.resource_id, change.rule_key, details.get("target"),
                                      details.get("replaces"),
                                      change.before and change.before.to_dict(),
                                      change.after and change.after.to_dict()),
        change=change.change,
        effect=result.effect,
        severity=level,
        provider=rs.provider,
        account=rs.account,
        region=rs.region,
        resource_id=rs.resource_id,
        resource_name=rs.name,
        rule_key=change.rule_key,
        before=change.before,
        after=change.after,
        summary=_summary(change, entries),
        details=details,
        newly_exposed=tuple(exposed),
        # Built with its mapping: one item per change, not one and then a copy.
        **_mapping(change.change, result.effect, rs.kind,
                   direction=rule.direction if rule else None,
                   description_only=change.description_only),
    )


def _finish(item: DriftItem, kind: RuleSetKind | None, **how: Any) -> DriftItem:
    """The item with its ATT&CK mapping (``_mapping``)."""
    return replace(item, **_mapping(item.change, item.effect, kind, **how))


def _mapping(change: ChangeKind, effect: Effect, kind: RuleSetKind | None,
             **how: Any) -> dict[str, Any]:
    """The ATT&CK fields of an item: every widening (and every change whose effect could not
    be decided) carries T1562.007; narrowing and neutral items do not."""
    operations = attack.operations(change, kind, **how)
    if effect not in (Effect.WIDENED, Effect.UNKNOWN):
        return {"operations": operations}
    return {"attack": (attack.TECHNIQUE,), "tactic": attack.TACTIC,
            "detection": attack.detection_component(change), "operations": operations}


# --- the comparison ----------------------------------------------------------------------------


def compare(
    baseline: Snapshot,
    current: Snapshot,
    baseline_exposure: object | None = None,
    current_exposure: object | None = None,
) -> list[DriftItem]:
    """Every difference between two snapshots, most severe first.

    ``baseline_exposure``/``current_exposure`` (``scanner.exposure.ExposureAnalysis`` of each
    snapshot) tie widenings to the machines they newly expose and rank them by it.
    """
    # Two whole snapshots are alive: a full collection would walk every rule of both to find
    # no garbage (the items and their traffic are acyclic). See scanner.gcpause.
    with collector_paused():
        return _compare(baseline, current, baseline_exposure, current_exposure)


def _compare(baseline: Snapshot, current: Snapshot, baseline_exposure: object | None,
             current_exposure: object | None) -> list[DriftItem]:
    scopes = _Scopes(baseline, current)
    link = _ExposureLink(baseline_exposure, current_exposure, current)
    old_sets, new_sets = index_rule_sets(baseline.rule_sets), index_rule_sets(current.rule_sets)
    items = list(scopes.items())
    unknown: set[RuleSetKey] = set()
    changes: list[Change] = []
    guarded_now, guarded_then = _guarded(current), None
    for key in old_sets.keys() | new_sets.keys():
        old, new = old_sets.get(key), new_sets.get(key)
        same_rules = False
        if old is not None and new is not None:
            if old.account != new.account:
                old = replace(old, account=new.account)  # a shared policy read via another project
            # The rules once, element by element, then the rest: ``old == new`` would compare
            # the rules again (up to the first difference) before rule_changes compares them.
            same_rules = old.rules == new.rules
            if same_rules and _fields_but_rules(old) == _fields_but_rules(new):
                continue
        ref = new or old
        assert ref is not None
        if scopes.unknown(ref.provider, ref.account, ref.region, ref.kind.value):
            unknown.add(key)
            continue
        if old is None or new is None:
            if new is None and guarded_then is None:
                guarded_then = _guarded(baseline)
            live = _is_live(ref, guarded_now if new else guarded_then or set())
            changes.append(set_presence_change(ref, created=old is None, live=live))
        elif not same_rules:
            changes.extend(rule_changes(old, new, _is_live(new, guarded_now)))
    changes.extend(attachment_changes(old_sets, new_sets, baseline, current, unknown))
    changes = rejudge_all(changes, current)
    items.extend(_item(c, link) for c in changes)
    items.extend(_ip_list_items(baseline, current, scopes))
    items.extend(_network_changes(baseline, current, scopes, new_sets))
    items.sort(key=lambda i: (-i.severity.rank, i.provider, i.account, i.resource_id,
                              i.change.value, i.rule_key or "", i.drift_id))
    return items


__all__ = ["compare", "keyed_rules"]
