"""GCP: external address on the interface -> hierarchical firewall policies top down -> network
firewall policies and the VPC firewall rules in the network's enforcement order -> implied deny.

Each level decides first match by priority (a VPC deny wins a tie with an allow; disabled rules
do not apply); ``goto_next`` and traffic no rule matched go to the next level. The VPC rules'
implied rules (``is_default``) are evaluated after every level, whatever the enforcement order.
A rule applies to the interface when its targets match: network tags, service accounts or
secure tags of the instance, and (firewall policies) the target networks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from scanner.model import Action, Asset, Direction, Network, PeerKind, Rule, RuleSet, RuleSetKind
from scanner.netmath import IPV4, IPV6
from scanner.reach.base import (
    ClassKey,
    Piece,
    Reach,
    SnapshotIndex,
    UnknownExposure,
    Walk,
    coalesce,
    combine,
    first_match_layer,
    has_public,
    unresolved_peers,
)
from scanner.reach.fast import RawBox

LAYERS = {
    RuleSetKind.GCP_HIERARCHICAL_POLICY: "gcp_hierarchical_policy",
    RuleSetKind.GCP_NETWORK_POLICY: "gcp_network_policy",
    RuleSetKind.GCP_VPC_FIREWALL: "gcp_vpc_firewall",
}
BEFORE_CLASSIC = "BEFORE_CLASSIC_FIREWALL"
_UNRESOLVED = frozenset({PeerKind.ADDRESS_GROUP, PeerKind.FQDN, PeerKind.REGION_CODE,
                         PeerKind.THREAT_INTELLIGENCE})
# Secure tags bound to an instance are not part of the instance resource; a collector that reads
# the tag bindings records them here (tagValues/... names).
SECURE_TAGS_FIELD = "secure_tags"


def levels_of(network: Network, index: SnapshotIndex, asset: Asset) -> list[RuleSet]:
    """The rule sets that decide for ``asset``, in evaluation order."""
    rule_sets = [index.rule_set(i, "firewall rule set") for i in network.rule_set_ids]
    for rule_set in rule_sets:
        if rule_set.kind not in LAYERS:
            raise UnknownExposure(f"{rule_set.resource_id} is not a GCP firewall rule set")
    top = [rs for rs in rule_sets if rs.kind is RuleSetKind.GCP_HIERARCHICAL_POLICY]
    classic = [rs for rs in rule_sets if rs.kind is RuleSetKind.GCP_VPC_FIREWALL]
    policies = [rs for rs in rule_sets if rs.kind is RuleSetKind.GCP_NETWORK_POLICY
                and _in_region(rs, asset)]
    if network.enforcement_order == BEFORE_CLASSIC:
        return top + policies + classic
    return top + classic + policies


def _in_region(rule_set: RuleSet, asset: Asset) -> bool:
    """A regional network firewall policy applies to instances of its region only."""
    return rule_set.region in ("", "global") or rule_set.region == asset.region


def class_key(asset: Asset, index: SnapshotIndex) -> ClassKey | None:
    """What ``reach`` reads of the interface, resolved: its network (enforcement order and
    levels), region (regional policies), tags, service accounts, and which families have an
    external address. Interfaces with equal keys have the same exposure (None: decide this
    one on its own)."""
    network = index.networks.get(asset.network or "")
    if network is None or any(i not in index.rule_sets for i in network.rule_set_ids):
        return None
    tags = frozenset(asset.network_tags) | frozenset(asset.extra.get(SECURE_TAGS_FIELD) or ())
    key = ("gcp", network.network_id, network.enforcement_order, network.rule_set_ids,
           asset.region, tags, frozenset(asset.service_accounts),
           has_public(asset.public_addresses, IPV4), has_public(asset.ipv6_addresses, IPV6))
    return key, network.rule_set_ids


def reach(asset: Asset, index: SnapshotIndex, offers: Mapping[int, tuple[RawBox, ...]],
          cache: dict[Any, Any]) -> list[Walk]:
    network = index.network(asset.network, asset)
    levels = levels_of(network, index, asset)
    applies = _applies_to(asset)
    out = []
    for family, via, addresses in ((IPV4, "public_ip", asset.public_addresses),
                                   (IPV6, "ipv6", asset.ipv6_addresses)):
        if not has_public(addresses, family):
            continue
        parts = [_level(rs, implied, asset, applies, family, index, cache, offers[family])
                 for implied in (False, True) for rs in levels
                 if not implied or rs.kind is RuleSetKind.GCP_VPC_FIREWALL]
        key = ("gcp", family, via, tuple(id(p) for p in parts))
        out.append(Walk(key, partial(_walk, family, via, parts, offers[family])))
    return out


@dataclass(frozen=True, slots=True)
class _Level:
    """One level's decisions on the whole offer."""

    admitted: tuple[Piece, ...]
    handed_on: tuple[Piece, ...]
    notes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Targets:
    """What a rule set's targets look at, so instances that differ elsewhere share a walk."""

    tags: frozenset[str]
    accounts: frozenset[str]
    networks: bool


def _targets(rule_set: RuleSet, implied: bool, rules: tuple[Rule, ...],
             cache: dict[Any, Any]) -> _Targets:
    key = ("gcp-targets", rule_set.resource_id, implied)
    found = cache.get(key)
    if found is None:
        targets = [t for r in rules for t in r.targets]
        found = _Targets(frozenset(t.value for t in targets if t.kind is PeerKind.NETWORK_TAG),
                         frozenset(t.value for t in targets
                                   if t.kind is PeerKind.SERVICE_ACCOUNT),
                         any(t.kind is PeerKind.OTHER for t in targets))
        cache[key] = found
    return found


def _selected(rule_set: RuleSet, selected: bool | None, index: SnapshotIndex,
              cache: dict[Any, Any]) -> tuple[tuple[Rule, ...], tuple[Rule, ...]]:
    """The level's rules (``selected``: only the VPC rules whose ``is_default`` is that), and
    those of them whose sources cloudwall cannot resolve, once per rule set."""
    key = ("gcp-rules", rule_set.resource_id, selected)
    found = cache.get(key)
    if found is None:
        rules = index.ordered(rule_set, Direction.INGRESS)
        if selected is not None:
            rules = tuple(r for r in rules if r.is_default == selected)
        found = cache[key] = (rules, tuple(unresolved_peers(rules, _UNRESOLVED)))
    return found


def _level(rule_set: RuleSet, implied: bool, asset: Asset, applies, family: int,
           index: SnapshotIndex, cache: dict[Any, Any], offer: tuple[RawBox, ...]) -> _Level:
    # The implied rules are evaluated after every level, whatever the enforcement order.
    selected = implied if rule_set.kind is RuleSetKind.GCP_VPC_FIREWALL else None
    rules, unresolved = _selected(rule_set, selected, index, cache)
    targets = _targets(rule_set, implied, rules, cache)
    tags = set(asset.network_tags) | set(asset.extra.get(SECURE_TAGS_FIELD) or ())
    key = ("gcp-level", rule_set.resource_id, implied, family,
           targets.tags.intersection(tags), targets.accounts.intersection(asset.service_accounts),
           asset.network if targets.networks else None)
    found = cache.get(key)
    if found is None:
        notes = []
        for rule in unresolved:
            if not applies(rule):
                continue
            verb = "admits" if rule.action is Action.ALLOW else "blocks"
            notes.append(f"{rule_set.resource_id} {rule.identity()} {verb} sources cloudwall "
                         "cannot resolve (address groups, FQDNs, geolocations or threat "
                         "lists): not counted")
        layer = "implied" if implied else LAYERS[rule_set.kind]
        # The rules that apply to this interface, picked once here rather than asked of every
        # rule again for each piece of traffic: a rule without targets applies to all.
        prepared = tuple(entry for entry in index.prepared(rule_set, Direction.INGRESS, family,
                                                           selected)
                         if not entry[0].targets or applies(entry[0]))
        result = first_match_layer(layer, rule_set, prepared, [Piece(offer)])
        found = _Level(result.admitted, result.handed_on, tuple(notes))
        cache[key] = found
    return found


def _walk(family: int, via: str, levels: list[_Level], offer: tuple[RawBox, ...]) -> Reach:
    """Level by level: what a level allows of the traffic handed to it is admitted; what it
    hands on (goto_next, or no rule matched) goes to the next; whatever is left at the end
    meets the implied deny."""
    pending = [Piece(offer)]
    admitted: list[Piece] = []
    notes: list[str] = []
    for level in levels:
        if not pending:
            break
        notes.extend(level.notes)
        admitted += combine(pending, level.admitted)
        pending = coalesce(combine(pending, level.handed_on))
    return Reach(family, via, tuple(admitted), tuple(dict.fromkeys(notes)))


def _applies_to(asset: Asset):
    tags = set(asset.network_tags) | set(asset.extra.get(SECURE_TAGS_FIELD) or ())
    accounts = set(asset.service_accounts)

    def applies(rule: Rule) -> bool:
        if not rule.targets:
            return True
        networks = [t.value for t in rule.targets if t.kind is PeerKind.OTHER]
        if networks and asset.network not in networks:
            return False
        members = [t for t in rule.targets if t.kind is not PeerKind.OTHER]
        if not members:
            return True
        return any((t.kind is PeerKind.NETWORK_TAG and t.value in tags)
                   or (t.kind is PeerKind.SERVICE_ACCOUNT and t.value in accounts)
                   for t in members)

    return applies
