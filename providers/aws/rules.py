"""EC2 security group rules and network ACL entries -> model rules. Pure functions.

Inputs are the dicts boto3 returns: ``SecurityGroupRule`` rows of
``describe_security_group_rules`` (one row per peer, with a stable ``SecurityGroupRuleId``),
``IpPermission`` items of ``describe_security_groups`` (used only when the rule rows could not be
read), and ``NetworkAclEntry`` items of ``describe_network_acls``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from typing import Any

from providers.guard import ShapeError, optional_mappings, require_choice, require_mapping
from providers.interning import text as intern_text
from scanner.model import Action, Direction, Peer, PeerKind, Rule
from scanner.netmath import ALL_PORTS, PORT_PROTOCOLS, PortSet, canonical_protocol

Json = Mapping[str, Any]
# prefix list id -> resolved CIDRs (absent: the entries could not be read)
PrefixEntries = Mapping[str, Sequence[str]]

ICMP_PROTOCOLS = frozenset({"icmp", "icmpv6"})
# NACL entries at and above this number are the fixed "*" deny entries (IPv4 32767, IPv6 32768).
NACL_DEFAULT_RULE_NUMBER = 32767


def _icmp_value(value: Any) -> int | None:
    """ICMP type or code; -1 (and absent) mean every type or code."""
    if value is None:
        return None
    number = int(value)
    return None if number < 0 else number


def port_range(protocol: str, from_port: Any, to_port: Any) -> PortSet:
    """An inclusive ``FromPort..ToPort`` range; protocols without ports admit all of them."""
    if protocol not in PORT_PROTOCOLS or from_port is None or int(from_port) < 0:
        return ALL_PORTS
    high = int(to_port) if to_port is not None and int(to_port) >= 0 else int(from_port)
    return _span(int(from_port), high)


@lru_cache(maxsize=8192)
def _span(low: int, high: int) -> PortSet:
    # Estates repeat the same few ranges thousands of times; PortSets are immutable.
    return PortSet(((low, high),))


@lru_cache(maxsize=512)
def _protocol(value: str) -> str:
    return canonical_protocol(value)


def _protocol_fields(ip_protocol: Any, from_port: Any, to_port: Any) -> dict[str, Any]:
    """protocol, ports and ICMP type/code from the SG's IpProtocol/FromPort/ToPort triple.

    For ICMP the cloud reuses FromPort for the type and ToPort for the code.
    """
    protocol = _protocol(str(ip_protocol) if ip_protocol is not None else "-1")
    if protocol in ICMP_PROTOCOLS:
        return {"protocol": protocol, "ports": ALL_PORTS,
                "icmp_type": _icmp_value(from_port),
                "icmp_code": _icmp_value(to_port) if _icmp_value(from_port) is not None else None}
    return {"protocol": protocol, "ports": port_range(protocol, from_port, to_port)}


def prefix_list_peer(pl_id: str, entries: PrefixEntries) -> Peer:
    return Peer(PeerKind.PREFIX_LIST, sys.intern(pl_id), tuple(entries.get(pl_id, ())))


# Estates repeat the same few peers (0.0.0.0/0, the VPCs' ranges, shared groups) across
# thousands of rules: the model holds one object per distinct peer.
cidr_peer = Peer.cidr


def group_peer(group_id: str, owner: str | None) -> Peer:
    return Peer.shared(PeerKind.SECURITY_GROUP, group_id, (), owner or None)


def tag_map(tags: Sequence[Json] | None) -> dict[str, str]:
    return {intern_text(t.get("Key", "")): intern_text(t.get("Value", "")) for t in tags or ()}


def security_group_rule(row: Json, entries: PrefixEntries) -> Rule:
    """One ``SecurityGroupRule`` row: exactly one of CidrIpv4, CidrIpv6, PrefixListId or
    ReferencedGroupInfo is set."""
    require_mapping(row, "security group rule")
    extra: dict[str, Any] = {}
    peers: list[Peer] = []
    if row.get("CidrIpv4"):
        peers.append(cidr_peer(row["CidrIpv4"]))
    if row.get("CidrIpv6"):
        peers.append(cidr_peer(row["CidrIpv6"]))
    if row.get("PrefixListId"):
        peers.append(prefix_list_peer(row["PrefixListId"], entries))
        if row["PrefixListId"] not in entries:
            extra["prefix_list_unresolved"] = True
    ref = row.get("ReferencedGroupInfo")
    if ref and ref.get("GroupId"):
        peers.append(group_peer(ref["GroupId"], ref.get("UserId")))
        for key, name in (("VpcId", "referenced_vpc_id"),
                          ("VpcPeeringConnectionId", "vpc_peering_connection_id"),
                          ("PeeringStatus", "peering_status")):
            if ref.get(key):
                extra[name] = intern_text(ref[key])
    if not peers:
        # A row always names its peer; one without would read as admitting nothing.
        raise ShapeError(f"security group rule {row.get('SecurityGroupRuleId')!r} names no "
                         "CIDR, prefix list or group")
    tags = tag_map(row.get("Tags"))
    if tags:
        extra["tags"] = tags
    return Rule(
        direction=Direction.EGRESS if row.get("IsEgress") else Direction.INGRESS,
        action=Action.ALLOW,
        peers=tuple(peers),
        native_id=row.get("SecurityGroupRuleId"),
        description=row.get("Description") or "",
        extra=extra,
        **_protocol_fields(row.get("IpProtocol"), row.get("FromPort"), row.get("ToPort")),
    )


def permission_rules(permission: Json, egress: bool, entries: PrefixEntries) -> Iterator[Rule]:
    """An ``IpPermission`` of ``describe_security_groups``, one rule per peer.

    Used when the rule rows are unavailable; such rules have no native id, so drift keys them by
    content (the scope is already marked incomplete by the failed rule read).
    """
    fields = _protocol_fields(permission.get("IpProtocol"), permission.get("FromPort"),
                              permission.get("ToPort"))
    direction = Direction.EGRESS if egress else Direction.INGRESS
    peers: list[tuple[Peer, str, dict[str, Any]]] = []
    for item in optional_mappings(permission, "IpRanges"):
        peers.append((cidr_peer(item["CidrIp"]), item.get("Description") or "", {}))
    for item in optional_mappings(permission, "Ipv6Ranges"):
        peers.append((cidr_peer(item["CidrIpv6"]), item.get("Description") or "", {}))
    for item in optional_mappings(permission, "PrefixListIds"):
        extra = {} if item["PrefixListId"] in entries else {"prefix_list_unresolved": True}
        peers.append((prefix_list_peer(item["PrefixListId"], entries),
                      item.get("Description") or "", extra))
    for item in optional_mappings(permission, "UserIdGroupPairs"):
        extra = {name: item[key] for key, name in (
            ("VpcId", "referenced_vpc_id"),
            ("VpcPeeringConnectionId", "vpc_peering_connection_id"),
            ("PeeringStatus", "peering_status")) if item.get(key)}
        peers.append((group_peer(item.get("GroupId", ""), item.get("UserId")),
                      item.get("Description") or "", extra))
    for peer, description, extra in peers:
        yield Rule(direction=direction, action=Action.ALLOW, peers=(peer,),
                   description=description, extra=extra, **fields)


def nacl_entry(entry: Json) -> Rule:
    """One ``NetworkAclEntry``: first match wins in ascending RuleNumber; 32767+ is ``*``."""
    require_mapping(entry, "network ACL entry")
    egress = bool(entry.get("Egress"))
    number = int(entry["RuleNumber"])
    action = require_choice(entry, "RuleAction", {"allow", "deny"},
                            f"network ACL entry {number} RuleAction")
    protocol = _protocol(str(entry.get("Protocol", "-1")))
    icmp = entry.get("IcmpTypeCode") or {}
    ports = ALL_PORTS
    icmp_type = icmp_code = None
    if protocol in ICMP_PROTOCOLS:
        icmp_type = _icmp_value(icmp.get("Type"))
        icmp_code = _icmp_value(icmp.get("Code")) if icmp_type is not None else None
    else:
        span = entry.get("PortRange") or {}
        ports = port_range(protocol, span.get("From"), span.get("To"))
    cidr = entry.get("CidrBlock") or entry.get("Ipv6CidrBlock")
    if not cidr:
        # Every entry matches a range; one without would read as matching nothing.
        raise ShapeError(f"network ACL entry {number} has no CidrBlock")
    direction = Direction.EGRESS if egress else Direction.INGRESS
    return Rule(
        direction=direction,
        action=Action.ALLOW if action == "allow" else Action.DENY,
        protocol=protocol,
        ports=ports,
        peers=(cidr_peer(cidr),) if cidr else (),
        priority=number,
        native_id=f"{direction.value}:{number}",
        name="*" if number >= NACL_DEFAULT_RULE_NUMBER else str(number),
        icmp_type=icmp_type,
        icmp_code=icmp_code,
        is_default=number >= NACL_DEFAULT_RULE_NUMBER,
    )
