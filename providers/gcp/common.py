"""What the GCP normalizers share: constants, canonical ids, protocols, ports and peers.

Large estates repeat the same strings and peers across thousands of objects (network and
subnetwork ids, zones, protocols, network tags, service accounts, ranges): canonical ids and
protocols are interned and equal peers are one cached object, so the model holds one copy of
each and nothing refers back to the raw API payloads.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

from scanner.model import Action, Direction, Peer, PeerKind, Rule
from scanner.netmath import ALL_PORTS, PORT_PROTOCOLS, PortSet, canonical_protocol

PROVIDER = "gcp"
EVERYWHERE = ("0.0.0.0/0", "::/0")
IMPLIED_PRIORITY = 65535
# Firewall policies end with four rules GCP adds itself (goto_next for each direction and family).
POLICY_DEFAULT_PRIORITY = 2147483644
AFTER_CLASSIC = "AFTER_CLASSIC_FIREWALL"
BEFORE_CLASSIC = "BEFORE_CLASSIC_FIREWALL"
# The rules GCP creates with the auto-mode "default" network.
PREPOPULATED = frozenset(
    {"default-allow-internal", "default-allow-ssh", "default-allow-rdp", "default-allow-icmp"}
)
ACTIONS = {
    "allow": Action.ALLOW,
    "deny": Action.DENY,
    "goto_next": Action.GOTO_NEXT,
    # Traffic is allowed after inspection by a security profile: an allow for reachability.
    "apply_security_profile_group": Action.ALLOW,
}

Json = Mapping[str, Any]


def canonical(link: str | None) -> str:
    """``https://.../compute/v1/projects/p/global/networks/n`` -> ``projects/p/global/networks/n``
    (``locations/global/firewallPolicies/N`` for hierarchical policies)."""
    text = (link or "").strip()
    for marker in ("projects/", "locations/"):
        index = text.find(marker)
        if index == 0 or (index > 0 and text[index - 1] == "/"):
            return sys.intern(text[index:])
    return sys.intern(text)


def last_segment(link: str | None) -> str:
    return sys.intern((link or "").rstrip("/").rsplit("/", 1)[-1])


def protocol_name(value: Any) -> str:
    """GCP accepts protocol names and numbers; an unknown name is kept as GCP spelled it."""
    try:
        return sys.intern(canonical_protocol(value if value not in (None, "") else "all"))
    except ValueError:
        return sys.intern(str(value).strip().lower())


def port_set(protocol: str, ports: Iterable[str] | None) -> PortSet:
    """An empty ``ports`` list means every port; protocols without ports always get all."""
    items = [str(p).strip() for p in ports or () if str(p).strip()]
    if not items or protocol not in PORT_PROTOCOLS:
        return ALL_PORTS
    return PortSet.parse(",".join(items))  # parsed once per distinct list (cached)


def protocol_ports(entries: Iterable[Json], key: str) -> list[tuple[str, PortSet, list[str]]]:
    """``[{IPProtocol, ports}]`` -> one (protocol, ports) per protocol, entries of one protocol
    merged (``6`` and ``tcp`` are the same protocol), in first-seen order."""
    merged: dict[str, tuple[PortSet, list[str]]] = {}
    for entry in entries:
        protocol = protocol_name(entry.get(key))
        ports = port_set(protocol, entry.get("ports"))
        if protocol in merged:
            seen_ports, spelled = merged[protocol]
            merged[protocol] = (seen_ports.union(ports), [*spelled, str(entry.get(key))])
        else:
            merged[protocol] = (ports, [str(entry.get(key))])
    return [(proto, ports, spelled) for proto, (ports, spelled) in merged.items()]


# One shared peer per range or name (the model's): a few hundred serve thousands of rules.
cidr_peer = Peer.cidr


def symbol_peer(kind: PeerKind, value: Any) -> Peer:
    """A named peer (tag, service account, ...), shared when the name is text; anything else
    is handed to Peer as it is, to be refused there as before."""
    return Peer.shared(kind, value) if type(value) is str else Peer(kind, value)


def cidrs(values: Iterable[str] | None) -> list[Peer]:
    return [cidr_peer(v.strip()) for v in values or () if v and v.strip()]


def symbols(kind: PeerKind, values: Iterable[str] | None) -> list[Peer]:
    return [symbol_peer(kind, v) for v in values or () if v]


def parse_direction(value: str | None) -> Direction:
    return Direction.EGRESS if (value or "").upper() == "EGRESS" else Direction.INGRESS


def rule_order(rule: Rule) -> tuple:
    # Lower priority first; at equal priority a deny wins over an allow, so it sorts first.
    action_rank = {Action.DENY: 0, Action.GOTO_NEXT: 1, Action.ALLOW: 2}[rule.action]
    return (rule.direction.value, rule.is_default, rule.priority or 0, action_rank,
            rule.native_id or "")


