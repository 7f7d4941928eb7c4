"""AWS: internet route -> subnet network ACL (inbound, then the reply outbound) -> the union of
the interface's security groups.

- An interface is reachable over IPv4 only with a public address in a subnet that routes to an
  internet gateway, over IPv6 with a global IPv6 address and an IPv6 internet route; only the
  remote addresses those routes cover can get a reply, so only they are offered.
- Network ACLs are stateless: inbound entries decide in ascending rule number (first match, the
  ``*`` entry or nothing matching denies), and the reply leaves through the outbound entries to
  the client's ephemeral ports (1024-65535 for TCP and UDP; other protocols have no ports).
  Traffic admitted inbound whose reply is denied is not reachable, and says so in a note.
- Security groups are stateful and a union: a reply is always allowed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from scanner.model import Action, Asset, Direction, PathStep, PeerKind, Rule, RuleSet
from scanner.netmath import (
    IPV4,
    IPV6,
    MAX_PORT,
    PortSet,
    intersect_intervals,
    parse_network,
    subtract_intervals,
)
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
    restrict_addresses,
    step,
    union_layer,
    unresolved_peers,
)
from scanner.reach.fast import RawBox, first_match, intersect_boxes, subtract_boxes
from scanner.traffic import ProtocolSet

LAYER_ROUTE = "route"
LAYER_ACL = "aws_network_acl"
LAYER_SG = "aws_security_group"
EPHEMERAL = ((1024, MAX_PORT),)
ALL = ((0, MAX_PORT),)
_PORTED = ((6, 6), (17, 17))  # tcp, udp: the protocols whose replies have ports
_UNRESOLVED = frozenset({PeerKind.PREFIX_LIST})


@dataclass(frozen=True, slots=True)
class _AclPart:
    """What the route and the network ACL (both ways) let through, on the whole offer."""

    pieces: tuple[Piece, ...]
    blocked: tuple[tuple[tuple[RawBox, ...], str], ...]  # inbound allowed, reply denied
    partial: frozenset[PathStep]  # reply steps that serve only some client ports


def class_key(asset: Asset, index: SnapshotIndex) -> ClassKey | None:
    """What ``reach`` reads of the asset, resolved: the subnet's network ACL and internet
    routes, the set of security groups, and which families have a public address. Interfaces
    with equal keys have the same exposure (None: decide this one on its own)."""
    subnet = index.subnets.get(asset.subnet or "")
    if subnet is None or not subnet.rule_set_ids:
        return None
    group_ids = tuple(sorted(set(asset.rule_set_ids)))
    refs = (subnet.rule_set_ids[0], *group_ids)
    if any(i not in index.rule_sets for i in refs):
        return None
    key = ("aws", refs[0], subnet.internet_routes, group_ids,
           has_public(asset.public_addresses, IPV4), has_public(asset.ipv6_addresses, IPV6))
    return key, refs


def reach(asset: Asset, index: SnapshotIndex, offers: Mapping[int, tuple[RawBox, ...]],
          cache: dict[Any, Any]) -> list[Walk]:
    subnet = index.subnet(asset.subnet, asset)
    if not subnet.rule_set_ids:
        raise UnknownExposure(f"no network ACL recorded for subnet {subnet.subnet_id}")
    acl = index.rule_set(subnet.rule_set_ids[0], "network ACL")
    group_ids = tuple(sorted(set(asset.rule_set_ids)))
    groups = tuple(index.rule_set(g, "security group") for g in group_ids)
    out = []
    for family, via, addresses in ((IPV4, "public_ip", asset.public_addresses),
                                   (IPV6, "ipv6", asset.ipv6_addresses)):
        if not has_public(addresses, family):
            continue
        routes = tuple(r for r in subnet.internet_routes if parse_network(r).version == family)
        if not routes:
            continue
        key = ("aws", family, routes, acl.resource_id, group_ids)
        out.append(Walk(key, partial(_walk, family, via, routes, acl, groups, index, cache,
                                     offers[family])))
    return out


def _walk(family: int, via: str, routes: tuple[str, ...], acl: RuleSet,
          groups: tuple[RuleSet, ...], index: SnapshotIndex, cache: dict[Any, Any],
          offer: tuple[RawBox, ...]) -> Reach:
    # The ACL (per route) and the group set are each evaluated once on the whole offer and
    # shared by every interface that has them; the walk joins the two.
    acl_key = ("aws-acl", family, routes, acl.resource_id)
    acl_part = cache.get(acl_key)
    if acl_part is None:
        acl_part = _acl(family, routes, acl, index, offer)
        cache[acl_key] = acl_part
    sg_key = ("aws-sg", family, tuple(g.resource_id for g in groups))
    sg_part = cache.get(sg_key)
    if sg_part is None:
        sg_part = _groups(family, groups, index, offer)
        cache[sg_key] = sg_part
    return _join(family, via, acl, acl_part, groups, sg_part)


def _groups(family: int, groups: Sequence[RuleSet], index: SnapshotIndex,
            offer: tuple[RawBox, ...]) -> tuple[tuple[Piece, ...], tuple[str, ...]]:
    rules: list[Rule] = []
    prepared: list = []
    owners: dict[int, RuleSet] = {}
    for group in groups:
        prepared.extend(index.prepared(group, Direction.INGRESS, family))
        for rule in group.rules:
            if rule.direction is Direction.INGRESS:
                rules.append(rule)
                owners[id(rule)] = group
    pieces = union_layer(LAYER_SG, tuple(prepared), lambda r: owners[id(r)],
                         [Piece(offer)]).admitted
    notes = tuple(
        f"{owners[id(r)].resource_id} {r.identity()} allows prefix list "
        f"{', '.join(p.value for p in r.peers if p.kind in _UNRESOLVED and not p.addresses)}, "
        "whose entries could not be read: what it admits is not counted"
        for r in unresolved_peers(rules, _UNRESOLVED))
    return pieces, notes


def _join(family: int, via: str, acl: RuleSet, acl_part: _AclPart, groups: Sequence[RuleSet],
          sg_part: tuple[tuple[Piece, ...], tuple[str, ...]]) -> Reach:
    notes: list[str] = []
    if not groups:
        notes.append("no security group is attached: nothing is allowed in")
    group_pieces, group_notes = sg_part
    notes.extend(group_notes)
    pieces = combine(acl_part.pieces, group_pieces)
    if acl_part.blocked:
        admitted_by_groups = [b for p in group_pieces for b in p.boxes]
        for boxes, rule_id in acl_part.blocked:
            lost = intersect_boxes(boxes, admitted_by_groups)
            if lost:
                notes.append(f"{_describe(family, lost)} is allowed in by {acl.resource_id} "
                             f"{rule_id} and a security group, but the network ACL denies its "
                             "reply to the client: not reachable")
    if acl_part.partial and any(s in acl_part.partial for p in pieces for s in p.path):
        notes.append(f"{acl.resource_id} lets replies out to only some client ports: clients "
                     "using other ephemeral ports cannot connect")
    return Reach(family, via, tuple(pieces), tuple(notes))


def _acl(family: int, routes: tuple[str, ...], acl: RuleSet, index: SnapshotIndex,
         offer: tuple[RawBox, ...]) -> _AclPart:
    # Shared by every subnet with this ACL and these routes: the note names no subnet.
    route = step(LAYER_ROUTE, "allow", note=f"{', '.join(routes)} -> internet gateway")
    pieces = [Piece(restrict_addresses(offer, family, routes), (route,))]
    inbound = first_match_layer(LAYER_ACL, acl, index.prepared(acl, Direction.INGRESS, family),
                                pieces)
    outbound = index.prepared(acl, Direction.EGRESS, family)
    served: list[Piece] = []
    blocked: list[tuple[tuple[RawBox, ...], str]] = []
    partial: set[PathStep] = set()
    for piece in inbound.admitted:
        replies = _reply_offer(piece.boxes)
        evaluation = first_match(outbound, replies)
        taken: list[RawBox] = []
        allowed_replies: list[RawBox] = []
        steps: list[PathStep] = []
        for rule, boxes in evaluation.decisions:
            if rule.action is not Action.ALLOW:
                continue
            allowed_replies.extend(boxes)
            clients = subtract_boxes([(p, ALL, a) for p, _, a in boxes], taken)
            if not clients:
                continue
            taken.extend(clients)
            mine = intersect_boxes(piece.boxes, clients)
            if not mine:
                continue
            ports: tuple = ()
            for p, q, _ in boxes:
                if intersect_intervals(p, _PORTED):
                    ports = ports + q
            note = (f"reply to client ports {_ports(ports)}" if ports else "reply allowed")
            reply_step = step(LAYER_ACL, "allow", acl, rule, note=note)
            steps.append(reply_step)
            served.append(Piece(tuple(mine), piece.path + (reply_step,)))
        lost = subtract_boxes(list(piece.boxes), taken)
        if lost:
            blocked.append((tuple(lost), piece.path[-1].rule_id or ""))
        needed = [(intersect_intervals(p, _PORTED), q, a) for p, q, a in
                  intersect_boxes(replies, taken)]
        needed = [b for b in needed if b[0]]
        if subtract_boxes(needed, allowed_replies):
            partial.update(steps)
    return _AclPart(tuple(served), tuple(blocked), frozenset(partial))


def _reply_offer(boxes: Sequence[RawBox]) -> list[RawBox]:
    """Replies to ``boxes``: to the same clients, on their ephemeral ports for TCP and UDP
    (other protocols have no ports). Disjoint, as an evaluation's offer must be."""
    out: list[RawBox] = []
    for p, _, a in boxes:
        ported = intersect_intervals(p, _PORTED)
        other = subtract_intervals(p, _PORTED)
        candidates = []
        if ported:
            candidates.append((ported, EPHEMERAL, a))
        if other:
            candidates.append((other, ALL, a))
        out.extend(subtract_boxes(candidates, out))
    return out


def _ports(intervals) -> str:
    return str(PortSet(tuple(intervals)))


def _describe(family: int, boxes: Sequence[RawBox]) -> str:
    """``tcp 22; udp 53``: the protocols and ports of some traffic, for a note."""
    labels = dict.fromkeys(f"{ProtocolSet(p).label()} {PortSet(q)}" for p, q, _ in boxes)
    shown = list(labels)[:4]
    return "; ".join(shown) + ("; ..." if len(labels) > 4 else "")
