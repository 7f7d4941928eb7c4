"""Azure: public IP on the NIC (or a public load balancer in front) -> the subnet's NSG -> the
NIC's NSG; each decides first match by priority over its custom and default rules, and both
must allow. A level without an NSG allows. With no NSG at either level a Standard SKU public
IP is closed and a Basic one is open.

A rule applies to the NIC when it has no destination (targets) or one matches: a prefix holding
one of the NIC's private addresses (NSGs see inbound traffic after the public address is
translated), one of the NIC's application security groups, or the ``VirtualNetwork`` tag.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

from scanner.model import Asset, Direction, Peer, PeerKind, Rule, RuleSet
from scanner.netmath import IPV4, IPV6, address_in
from scanner.reach.base import (
    ClassKey,
    Piece,
    Reach,
    SnapshotIndex,
    UnknownExposure,
    Walk,
    combine,
    first_match_layer,
    has_public,
    step,
)
from scanner.reach.fast import RawBox

LAYER_SUBNET = "azure_nsg_subnet"
LAYER_NIC = "azure_nsg_nic"
# Where a NIC has no public IP of its own, an inbound path through a public load balancer
# front end is recorded by the collector in this extra field (the front end's addresses).
LOAD_BALANCER_FIELD = "load_balancer_public_addresses"
_LOCAL_TAGS = {"virtualnetwork", "azureloadbalancer"}
_Part = tuple[tuple[Piece, ...], tuple[str, ...]]  # what a level admits, and its notes


def class_key(asset: Asset, index: SnapshotIndex) -> ClassKey | None:
    """What ``reach`` reads of the NIC, resolved: the subnet's and the NIC's NSGs, the public
    IP SKU, how each family is reached, and which targeted rules of those NSGs apply to it.
    NICs with equal keys have the same exposure (None: decide this one on its own)."""
    if asset.extra.get("unresolved_public_ips"):
        return None
    subnet = index.subnets.get(asset.subnet or "")
    if subnet is None:
        return None
    nsgs = (subnet.rule_set_ids[0] if subnet.rule_set_ids else None,
            asset.rule_set_ids[0] if asset.rule_set_ids else None)
    found = [index.rule_sets.get(i) for i in nsgs if i is not None]
    if any(rs is None for rs in found):
        return None
    applies = _applies_to(asset)
    targeted = tuple(applies(r) for rs in found if rs is not None
                     for r in index.targeted(rs, Direction.INGRESS))
    vias = []
    for family in (IPV4, IPV6):
        if has_public(asset.public_addresses, family):
            vias.append("public_ip")
        elif has_public(asset.extra.get(LOAD_BALANCER_FIELD) or (), family):
            vias.append("load_balancer")
        else:
            vias.append("")
    key = ("azure", nsgs, asset.extra.get("public_ip_sku") or "", tuple(vias), targeted)
    return key, tuple(i for i in nsgs if i is not None)


def reach(asset: Asset, index: SnapshotIndex, offers: Mapping[int, tuple[RawBox, ...]],
          cache: dict[Any, Any]) -> list[Walk]:
    if asset.extra.get("unresolved_public_ips"):
        raise UnknownExposure("public IP addresses of the NIC could not be read: "
                              + ", ".join(asset.extra["unresolved_public_ips"]))
    subnet = index.subnet(asset.subnet, asset)
    levels = (
        (LAYER_SUBNET, next((index.rule_set(i, "network security group")
                             for i in subnet.rule_set_ids[:1]), None)),
        (LAYER_NIC, next((index.rule_set(i, "network security group")
                          for i in asset.rule_set_ids[:1]), None)),
    )
    sku = asset.extra.get("public_ip_sku") or ""
    applies = _applies_to(asset)
    out = []
    for family in (IPV4, IPV6):
        if has_public(asset.public_addresses, family):
            via = "public_ip"
        elif has_public(asset.extra.get(LOAD_BALANCER_FIELD) or (), family):
            via = "load_balancer"
        else:
            continue
        if not any(nsg for _, nsg in levels):
            out.append(Walk(("azure-open", family, via, sku),
                            partial(_no_nsg, family, via, sku, offers[family])))
            continue
        parts = []
        for layer, nsg in levels:
            parts.append(_level(layer, nsg, family, applies, index, cache, offers[family]))
        key = ("azure", family, via, tuple(id(p) for p in parts))
        out.append(Walk(key, partial(_join, family, via, parts[0], parts[1])))
    return out


def _join(family: int, via: str, subnet_part: _Part, nic_part: _Part) -> Reach:
    return Reach(family, via, tuple(combine(subnet_part[0], nic_part[0])),
                 subnet_part[1] + nic_part[1])


def _no_nsg(family: int, via: str, sku: str, offer: tuple[RawBox, ...]) -> Reach:
    if sku and "Basic" not in sku.split(","):
        return Reach(family, via, ())  # Standard SKU: closed unless an NSG allows
    why = ("no NSG applies and the public IP is Basic SKU: open to everything" if sku
           else "no NSG applies and the public IP SKU is not known: taken as open")
    path = (step(LAYER_SUBNET, "absent", note=why), step(LAYER_NIC, "absent", note=why))
    return Reach(family, via, (Piece(offer, path),), (why,))


def _level(layer: str, nsg: RuleSet | None, family: int, applies, index: SnapshotIndex,
           cache: dict[Any, Any], offer: tuple[RawBox, ...]) -> _Part:
    """What one level admits of the whole offer (cached per NSG and the rules that apply)."""
    if nsg is None:
        key = ("azure-absent", layer, family)
        found = cache.get(key)
        if found is None:
            found = ((Piece(offer, (step(layer, "absent", note="no NSG at this level"),)),), ())
            cache[key] = found
        return found
    rules = index.ordered(nsg, Direction.INGRESS)
    key = ("azure-nsg", layer, nsg.resource_id, family,
           tuple(applies(r) for r in index.targeted(nsg, Direction.INGRESS)))
    found = cache.get(key)
    if found is None:
        # Default rules always end with DenyAllInBound: traffic no rule matched is denied.
        # The rules that apply to this NIC, picked once (a rule without targets applies).
        prepared = tuple(entry for entry in index.prepared(nsg, Direction.INGRESS, family)
                         if not entry[0].targets or applies(entry[0]))
        admitted = first_match_layer(layer, nsg, prepared, [Piece(offer)]).admitted
        found = (admitted, _unresolved_notes(nsg, rules, applies))
        cache[key] = found
    return found


def _unresolved_notes(nsg: RuleSet, rules, applies) -> tuple[str, ...]:
    """Rules that apply whose sources are service tags with no known ranges (AzureCloud,
    Storage.WestEurope ...): public Microsoft ranges cloudwall cannot count."""
    notes = []
    for rule in rules:
        if not applies(rule):
            continue
        tags = [p.value for p in rule.peers if p.kind is PeerKind.SERVICE_TAG
                and not p.addresses and p.value.lower() not in _LOCAL_TAGS]
        if tags:
            notes.append(f"{nsg.resource_id} {rule.identity()} {rule.action.value}s service "
                         f"tag {', '.join(tags)} whose ranges are not in the snapshot: not "
                         "counted")
    return tuple(notes)


def _applies_to(asset: Asset):
    local = tuple(asset.private_addresses) + tuple(asset.ipv6_addresses)
    groups = {g.lower() for g in asset.application_security_groups}

    def target_matches(target: Peer) -> bool:
        if target.kind is PeerKind.ANY:
            return True
        if target.kind is PeerKind.APPLICATION_SECURITY_GROUP:
            return target.value.lower() in groups
        if target.kind is PeerKind.SERVICE_TAG:
            return target.value.lower() == "virtualnetwork"
        if target.kind is PeerKind.CIDR:
            return any(address_in(a, target.addresses) for a in local)
        return False

    def applies(rule: Rule) -> bool:
        return not rule.targets or any(target_matches(t) for t in rule.targets)

    return applies
