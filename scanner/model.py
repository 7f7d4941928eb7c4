"""The common model every cloud is normalized into.

Frozen, slotted dataclasses of standard-library types. Provider quirks are resolved in
``providers/``, never here. Every class has ``to_dict``/``from_dict``; the JSON form of a
snapshot carries ``schema_version`` and is written with sorted keys so a baseline kept in git
diffs cleanly. Fields the common model has no slot for are kept in ``extra`` (JSON-safe values),
so nothing the cloud said is dropped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from enum import Enum
from functools import lru_cache
from operator import attrgetter
from typing import Any

from scanner.jsonenc import encode
from scanner.netmath import ALL_PORTS, PortSet, cidr_span
from scanner.redact import redact

SCHEMA_VERSION = 1


class Direction(str, Enum):
    INGRESS = "ingress"
    EGRESS = "egress"


class Action(str, Enum):
    ALLOW = "allow"
    DENY = "deny"
    # GCP firewall policies: hand the decision to the next level of the hierarchy.
    GOTO_NEXT = "goto_next"


class PeerKind(str, Enum):
    """What a rule's remote side (or target) is. Only CIDR-like peers carry addresses."""

    CIDR = "cidr"  # an IPv4/IPv6 CIDR or bare address
    ANY = "any"  # Azure "*"/"Any": every address, private and public
    SERVICE_TAG = "service_tag"  # Azure Internet, VirtualNetwork, AzureLoadBalancer, Storage...
    PREFIX_LIST = "prefix_list"  # AWS managed prefix list, resolved entries kept in `addresses`
    SECURITY_GROUP = "security_group"  # AWS security group reference (maybe another account)
    APPLICATION_SECURITY_GROUP = "application_security_group"  # Azure ASG
    NETWORK_TAG = "network_tag"  # GCP source/target tag, secure tag
    SERVICE_ACCOUNT = "service_account"  # GCP source/target service account
    ADDRESS_GROUP = "address_group"  # GCP firewall policy address group
    FQDN = "fqdn"  # GCP firewall policy FQDN object
    REGION_CODE = "region_code"  # GCP firewall policy geolocation
    THREAT_INTELLIGENCE = "threat_intelligence"  # GCP firewall policy threat list
    OTHER = "other"


class RuleSetKind(str, Enum):
    AWS_SECURITY_GROUP = "aws_security_group"
    AWS_NETWORK_ACL = "aws_network_acl"
    AZURE_NSG = "azure_nsg"
    GCP_VPC_FIREWALL = "gcp_vpc_firewall"  # the VPC firewall rules of one network
    GCP_HIERARCHICAL_POLICY = "gcp_hierarchical_policy"  # organization / folder firewall policy
    GCP_NETWORK_POLICY = "gcp_network_policy"  # global or regional network firewall policy


class Severity(str, Enum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls(text.strip().lower())
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {text!r} (choose one of {names})") from None


_SEVERITY_RANK = {s: i for i, s in enumerate(Severity)}


def _tuple(items: Iterable[Any] | None) -> tuple:
    return tuple(items or ())


def _utc(value: datetime) -> datetime:
    # A time without a zone is taken as UTC, not as the local time of whichever host reads it.
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def utc_timestamp(value: datetime) -> str:
    """The one text form of a time in snapshots and reports: ``2026-12-01T21:26:56Z``."""
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _dt_from_str(text: str) -> datetime:
    return _utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


def fingerprint(*parts: object) -> str:
    """A short, stable content hash; the same parts give the same id in every run."""
    if all(type(part) is str for part in parts):
        # Every finding id is one of these: the JSON array of strings spelt directly (the
        # same text json.dumps gives) skips the generic encoder.
        text = "[" + ",".join(map(_json_string, parts)) + "]"
    else:
        text = _FINGERPRINT_JSON.encode(parts)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


_json_string = json.encoder.encode_basestring_ascii
# What json.dumps(parts, sort_keys=True, default=str, separators=(",", ":")) builds on every
# call (a drift item's id hashes both versions of its rule), built once.
_FINGERPRINT_JSON = json.JSONEncoder(sort_keys=True, default=str, separators=(",", ":"))


def finding_id_part(text: str) -> bytes:
    """One string of a finding id's fingerprint as the hashed JSON text spells it."""
    return _json_string(text).encode()


def finding_id_parts(policy_id: str, subject: str) -> tuple[bytes, bytes]:
    """The hashed text of ``Finding.make_id`` before and after the resource id: one policy
    and subject bound to many rule sets hash them with each resource (``finding_id_with``)."""
    return b"[" + finding_id_part(policy_id) + b",", b"," + finding_id_part(subject) + b"]"


def finding_id_with(parts: tuple[bytes, bytes], resource: bytes) -> str:
    """``Finding.make_id`` from ``finding_id_parts`` and the ``finding_id_part`` of the
    resource id: the same id, without spelling the policy and subject again."""
    return "CWF-" + _sha256(parts[0] + resource + parts[1]).hexdigest()[:20]


_sha256 = hashlib.sha256


@dataclass(frozen=True, slots=True)
class Peer:
    """One source or destination of a rule, kept as what it is.

    ``addresses`` holds the CIDRs the peer stands for where that is known: the CIDR itself,
    the resolved entries of an AWS prefix list, ``0.0.0.0/0`` and ``::/0`` for Azure ``*`` and
    the ``Internet`` service tag. Coverage is computed from these, never from ``value``.
    """

    kind: PeerKind
    value: str
    addresses: tuple[str, ...] = ()
    account: str | None = None  # owner account of a referenced security group

    def __post_init__(self) -> None:
        # Coverage is computed from these: a peer with an address that does not parse cannot
        # exist (ValueError), so whatever is saved loads again and no comparison fails later.
        for address in self.addresses:
            cidr_span(address)

    @classmethod
    def cidr(cls, value: str) -> Peer:
        return _peer(PeerKind.CIDR, value, (value,), None)

    @classmethod
    def shared(cls, kind: PeerKind, value: str, addresses: tuple[str, ...] = (),
               account: str | None = None) -> Peer:
        """The one object of this peer (see ``_peer``): what normalizers build peers with."""
        return _peer(kind, value, addresses, account)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind.value, "value": self.value}
        # A CIDR peer stands for itself, so its addresses are left out unless they differ;
        # for any other kind they are written whenever there are some.
        implied = (self.value,) if self.kind is PeerKind.CIDR else ()
        if self.addresses != implied:
            out["addresses"] = list(self.addresses)
        if self.account:
            out["account"] = self.account
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Peer:
        kind = PeerKind(data["kind"])
        value = data["value"]
        if "addresses" in data:
            addresses = _tuple(data["addresses"])
        else:
            addresses = (value,) if kind is PeerKind.CIDR else ()
        return _peer(kind, value, addresses, data.get("account"))


# Peers are values, and an estate names the same few thousand over and over: one object per
# distinct peer keeps a loaded snapshot smaller, and lets two snapshots (a baseline and the
# scan compared with it) share them, so comparing their rules finds equal peers by identity.
_INTERNED = 1 << 18
_peer = lru_cache(maxsize=_INTERNED)(Peer)


@lru_cache(maxsize=4096)
def peer_text(peer: Peer) -> str:
    """A peer's JSON with sorted keys: how a rule's content hash, and drift's classes of
    machines, name it (a few distinct ones repeat across many rules)."""
    return json.dumps(peer.to_dict(), sort_keys=True)


@dataclass(frozen=True, slots=True)
class Rule:
    """One normalized firewall rule.

    ``peers`` is the remote side: sources of an ingress rule, destinations of an egress rule.
    ``targets`` is the local side the rule applies to (GCP target tags and service accounts,
    Azure destination prefixes and ASGs of an inbound rule); empty means every member.
    For protocols without ports ``ports`` is all ports; ICMP type and code have their own fields.
    ``native_id`` is unique within its rule set and stable across scans (AWS sgr id, NACL
    ``ingress:100``, NSG rule name, GCP ``firewall-name/tcp``, policy ``priority/tcp``).
    """

    direction: Direction
    action: Action
    protocol: str
    ports: PortSet = ALL_PORTS
    peers: tuple[Peer, ...] = ()
    priority: int | None = None
    enabled: bool = True
    native_id: str | None = None
    name: str = ""
    description: str = ""
    targets: tuple[Peer, ...] = ()
    icmp_type: int | None = None
    icmp_code: int | None = None
    is_default: bool = False  # Azure default rule, GCP implied rule, NACL "*" entry
    logging: bool | None = None  # None: the cloud has no per-rule logging flag
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=True)

    def identity(self) -> str:
        """The rule's key for drift: the cloud's own id, else a content fingerprint."""
        return self.native_id or "content:" + self.content_hash()

    def content_hash(self) -> str:
        """Fingerprint of what the rule does (description and name excluded). ``same_behaviour``
        compares the very same fields: change both together."""
        return fingerprint(
            self.direction.value,
            self.action.value,
            self.protocol,
            self.ports.to_list(),
            sorted(map(peer_text, self.peers)),
            sorted(map(peer_text, self.targets)),
            self.priority,
            self.enabled,
            self.icmp_type,
            self.icmp_code,
        )

    def same_behaviour(self, other: Rule) -> bool:
        """Whether ``other`` has the same ``content_hash`` (matches the same traffic the same
        way), compared field by field instead of hashed: peers and targets as the hash reads
        them, a sorted list of their JSON, so neither their order nor a spelling the JSON does
        not show (an empty account) counts."""
        return (_behaviour(self) == _behaviour(other)
                and _same_peers(self.peers, other.peers)
                and _same_peers(self.targets, other.targets))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "direction": self.direction.value,
            "action": self.action.value,
            "protocol": self.protocol,
            "ports": self.ports.to_list(),
            "peers": [p.to_dict() for p in self.peers],
            "priority": self.priority,
            "enabled": self.enabled,
            "native_id": self.native_id,
        }
        if self.name:
            out["name"] = self.name
        if self.description:
            out["description"] = self.description
        if self.targets:
            out["targets"] = [p.to_dict() for p in self.targets]
        if self.icmp_type is not None:
            out["icmp_type"] = self.icmp_type
        if self.icmp_code is not None:
            out["icmp_code"] = self.icmp_code
        if self.is_default:
            out["is_default"] = True
        if self.logging is not None:
            out["logging"] = self.logging
        if self.extra:
            out["extra"] = dict(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Rule:
        return cls(
            direction=Direction(data["direction"]),
            action=Action(data["action"]),
            protocol=data["protocol"],
            ports=PortSet.from_list(data.get("ports", ["0-65535"])),
            peers=tuple(Peer.from_dict(p) for p in data.get("peers", ())),
            priority=data.get("priority"),
            enabled=data.get("enabled", True),
            native_id=data.get("native_id"),
            name=data.get("name", ""),
            description=data.get("description", ""),
            targets=tuple(Peer.from_dict(p) for p in data.get("targets", ())),
            icmp_type=data.get("icmp_type"),
            icmp_code=data.get("icmp_code"),
            is_default=data.get("is_default", False),
            logging=data.get("logging"),
            extra=dict(data.get("extra", {})),
        )


# What ``Rule.content_hash`` reads besides the peers and targets.
_behaviour = attrgetter("direction", "action", "protocol", "ports", "priority", "enabled",
                        "icmp_type", "icmp_code")


def _same_peers(x: tuple[Peer, ...], y: tuple[Peer, ...]) -> bool:
    return x == y or sorted(map(peer_text, x)) == sorted(map(peer_text, y))


@dataclass(frozen=True, slots=True)
class RuleRef:
    """A rule named as evidence: which rule of which rule set, and what part it played.

    Findings on a whole rule set list the rules whose allows together reach the policy's
    threshold (``contributes``: ``{family: {protocol: ports}}`` of the judged traffic that rule
    admits); exposures list the allows that decided (``admitted_by``)."""

    rule_set_id: str
    rule_id: str  # Rule.identity()
    native_id: str | None = None
    name: str = ""
    action: str = "allow"
    priority: int | None = None
    peers: tuple[str, ...] = ()
    contributes: Mapping[str, Mapping[str, str]] = field(default_factory=dict, hash=False,
                                                         compare=True)

    @classmethod
    def of(cls, rule_set_id: str, rule: Rule, peers: Iterable[str] = (),
           contributes: Mapping[str, Mapping[str, str]] | None = None) -> RuleRef:
        return cls(rule_set_id, rule.identity(), rule.native_id, rule.name, rule.action.value,
                   rule.priority, tuple(peers), dict(contributes or {}))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rule_set_id": self.rule_set_id, "rule_id": self.rule_id,
                               "native_id": self.native_id, "name": self.name,
                               "action": self.action, "priority": self.priority,
                               "peers": list(self.peers)}
        if self.contributes:
            out["contributes"] = {f: dict(v) for f, v in sorted(self.contributes.items())}
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleRef:
        return cls(data["rule_set_id"], data["rule_id"], data.get("native_id"),
                   data.get("name", ""), data.get("action", "allow"), data.get("priority"),
                   _tuple(data.get("peers")),
                   {f: dict(v) for f, v in (data.get("contributes") or {}).items()})


@dataclass(frozen=True, slots=True)
class Attachment:
    """What a rule set is attached to: an interface, subnet, network, instance, org or folder."""

    target_kind: str  # network_interface | subnet | network | instance | organization | folder
    target_id: str

    def to_dict(self) -> dict[str, Any]:
        return {"target_kind": self.target_kind, "target_id": self.target_id}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Attachment:
        return cls(data["target_kind"], data["target_id"])


@dataclass(frozen=True, slots=True)
class RuleSet:
    """An AWS security group or network ACL, an Azure NSG, a GCP network's VPC firewall rules,
    or a GCP firewall policy. ``resource_id`` is unique within the snapshot."""

    provider: str
    account: str
    region: str
    kind: RuleSetKind
    resource_id: str
    name: str
    rules: tuple[Rule, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    network: str | None = None  # VPC id, VNet id, GCP network self link
    is_default: bool = False  # default security group / default NACL / default network's rules
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict, hash=False, compare=True)
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=True)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "provider": self.provider,
            "account": self.account,
            "region": self.region,
            "kind": self.kind.value,
            "resource_id": self.resource_id,
            "name": self.name,
            "rules": [r.to_dict() for r in self.rules],
            "attachments": [a.to_dict() for a in self.attachments],
            "network": self.network,
            "is_default": self.is_default,
        }
        if self.description:
            out["description"] = self.description
        if self.tags:
            out["tags"] = dict(self.tags)
        if self.extra:
            out["extra"] = dict(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleSet:
        return cls(
            provider=data["provider"],
            account=data["account"],
            region=data["region"],
            kind=RuleSetKind(data["kind"]),
            resource_id=data["resource_id"],
            name=data["name"],
            rules=tuple(Rule.from_dict(r) for r in data.get("rules", ())),
            attachments=tuple(Attachment.from_dict(a) for a in data.get("attachments", ())),
            network=data.get("network"),
            is_default=data.get("is_default", False),
            description=data.get("description", ""),
            tags=dict(data.get("tags", {})),
            extra=dict(data.get("extra", {})),
        )


@dataclass(frozen=True, slots=True)
class Asset:
    """Something the network can reach: an AWS network interface, an Azure NIC, a GCP instance
    interface. ``rule_set_ids`` are the rule sets attached directly to it (security groups,
    the NIC's NSG); subnet- and network-level rule sets are found through ``subnet``/``network``.
    """

    provider: str
    account: str
    region: str
    kind: str  # aws_network_interface | azure_network_interface | gcp_instance_interface
    asset_id: str
    name: str = ""
    instance_id: str | None = None  # EC2 instance, Azure VM, GCP instance
    network: str | None = None
    subnet: str | None = None
    private_addresses: tuple[str, ...] = ()
    public_addresses: tuple[str, ...] = ()
    ipv6_addresses: tuple[str, ...] = ()
    rule_set_ids: tuple[str, ...] = ()
    network_tags: tuple[str, ...] = ()  # GCP network tags
    service_accounts: tuple[str, ...] = ()  # GCP service accounts
    application_security_groups: tuple[str, ...] = ()  # Azure ASG ids
    state: str = ""
    interface_type: str = ""  # AWS InterfaceType (interface, nat_gateway, network_load_balancer...)
    tags: Mapping[str, str] = field(default_factory=dict, hash=False, compare=True)
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=True)

    _TUPLES = (
        "private_addresses",
        "public_addresses",
        "ipv6_addresses",
        "rule_set_ids",
        "network_tags",
        "service_accounts",
        "application_security_groups",
    )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "provider": self.provider,
            "account": self.account,
            "region": self.region,
            "kind": self.kind,
            "asset_id": self.asset_id,
            "name": self.name,
            "instance_id": self.instance_id,
            "network": self.network,
            "subnet": self.subnet,
            "state": self.state,
        }
        for name in self._TUPLES:
            out[name] = list(getattr(self, name))
        if self.interface_type:
            out["interface_type"] = self.interface_type
        if self.tags:
            out["tags"] = dict(self.tags)
        if self.extra:
            out["extra"] = dict(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Asset:
        return cls(
            provider=data["provider"],
            account=data["account"],
            region=data["region"],
            kind=data["kind"],
            asset_id=data["asset_id"],
            name=data.get("name", ""),
            instance_id=data.get("instance_id"),
            network=data.get("network"),
            subnet=data.get("subnet"),
            state=data.get("state", ""),
            interface_type=data.get("interface_type", ""),
            tags=dict(data.get("tags", {})),
            extra=dict(data.get("extra", {})),
            **{name: _tuple(data.get(name)) for name in cls._TUPLES},
        )


@dataclass(frozen=True, slots=True)
class Subnet:
    """A subnet with what decides reachability at its level: its rule sets (AWS NACL, Azure
    subnet NSG) and the destinations it routes to an internet gateway."""

    provider: str
    account: str
    region: str
    subnet_id: str
    network: str
    name: str = ""
    cidrs: tuple[str, ...] = ()
    rule_set_ids: tuple[str, ...] = ()
    internet_routes: tuple[str, ...] = ()  # e.g. ("0.0.0.0/0", "::/0") routed to an IGW
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=True)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "provider": self.provider,
            "account": self.account,
            "region": self.region,
            "subnet_id": self.subnet_id,
            "network": self.network,
            "name": self.name,
            "cidrs": list(self.cidrs),
            "rule_set_ids": list(self.rule_set_ids),
            "internet_routes": list(self.internet_routes),
        }
        if self.extra:
            out["extra"] = dict(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Subnet:
        return cls(
            provider=data["provider"],
            account=data["account"],
            region=data["region"],
            subnet_id=data["subnet_id"],
            network=data["network"],
            name=data.get("name", ""),
            cidrs=_tuple(data.get("cidrs")),
            rule_set_ids=_tuple(data.get("rule_set_ids")),
            internet_routes=_tuple(data.get("internet_routes")),
            extra=dict(data.get("extra", {})),
        )


@dataclass(frozen=True, slots=True)
class Network:
    """An AWS VPC, an Azure virtual network or a GCP VPC network.

    ``rule_set_ids`` lists network-level rule sets in evaluation order (GCP: hierarchical
    policies top down, then network policies and VPC rules per ``enforcement_order``).
    """

    provider: str
    account: str
    region: str
    network_id: str
    name: str = ""
    cidrs: tuple[str, ...] = ()
    is_default: bool = False
    enforcement_order: str | None = None  # GCP AFTER_CLASSIC_FIREWALL | BEFORE_CLASSIC_FIREWALL
    rule_set_ids: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=True)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "provider": self.provider,
            "account": self.account,
            "region": self.region,
            "network_id": self.network_id,
            "name": self.name,
            "cidrs": list(self.cidrs),
            "is_default": self.is_default,
            "enforcement_order": self.enforcement_order,
            "rule_set_ids": list(self.rule_set_ids),
        }
        if self.extra:
            out["extra"] = dict(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Network:
        return cls(
            provider=data["provider"],
            account=data["account"],
            region=data["region"],
            network_id=data["network_id"],
            name=data.get("name", ""),
            cidrs=_tuple(data.get("cidrs")),
            is_default=data.get("is_default", False),
            enforcement_order=data.get("enforcement_order"),
            rule_set_ids=_tuple(data.get("rule_set_ids")),
            extra=dict(data.get("extra", {})),
        )


@dataclass(frozen=True, slots=True)
class IpList:
    """A detection service's IP list: AWS GuardDuty trusted or threat IP set.

    Addresses on an active trusted list raise no findings: adding one blinds detection.
    """

    provider: str
    account: str
    region: str
    list_id: str
    name: str
    list_type: str  # trusted | threat
    status: str  # ACTIVE, INACTIVE, ...
    location: str = ""
    format: str = ""
    detector_id: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=True)

    def to_dict(self) -> dict[str, Any]:
        out = {
            "provider": self.provider,
            "account": self.account,
            "region": self.region,
            "list_id": self.list_id,
            "name": self.name,
            "list_type": self.list_type,
            "status": self.status,
            "location": self.location,
            "format": self.format,
            "detector_id": self.detector_id,
        }
        if self.extra:
            out["extra"] = dict(self.extra)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IpList:
        return cls(
            **{k: data[k] for k in ("provider", "account", "region", "list_id", "name")},
            list_type=data["list_type"],
            status=data["status"],
            location=data.get("location", ""),
            format=data.get("format", ""),
            detector_id=data.get("detector_id", ""),
            extra=dict(data.get("extra", {})),
        )


@dataclass(frozen=True, slots=True)
class Scope:
    """One unit of collection: (provider, account/subscription/project, region or "")."""

    provider: str
    account: str
    region: str = ""
    name: str = ""  # account alias, subscription display name, project name

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.provider, self.account, self.region)

    def label(self) -> str:
        return "/".join(p for p in (self.provider, self.account, self.region) if p)

    def to_dict(self) -> dict[str, Any]:
        out = {"provider": self.provider, "account": self.account, "region": self.region}
        if self.name:
            out["name"] = self.name
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Scope:
        return cls(data["provider"], data["account"], data.get("region", ""), data.get("name", ""))


@dataclass(frozen=True, slots=True)
class CollectionError:
    """A scope, or one resource type in it, that could not be read. Never "clean".

    ``resource_type`` None means the whole scope failed; otherwise only that type is unknown.
    ``region`` "" with a regional provider means every region of the account.
    """

    provider: str
    account: str
    region: str
    reason: str
    hint: str = ""
    resource_type: str | None = None
    code: str = ""  # AccessDenied, 403, Throttling, Timeout, ...

    def __post_init__(self) -> None:
        # Reasons and hints quote SDK errors, which quote endpoint URLs: never keep a password.
        object.__setattr__(self, "reason", redact(self.reason))
        object.__setattr__(self, "hint", redact(self.hint))

    @property
    def scope(self) -> Scope:
        return Scope(self.provider, self.account, self.region)

    def scope_label(self) -> str:
        label = self.scope.label()
        return f"{label} ({self.resource_type})" if self.resource_type else label

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "account": self.account,
            "region": self.region,
            "resource_type": self.resource_type,
            "code": self.code,
            "reason": self.reason,
            "hint": self.hint,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CollectionError:
        return cls(
            provider=data["provider"],
            account=data["account"],
            region=data.get("region", ""),
            reason=data["reason"],
            hint=data.get("hint", ""),
            resource_type=data.get("resource_type"),
            code=data.get("code", ""),
        )


CollectedItem = RuleSet | Asset | Subnet | Network | IpList | CollectionError


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything collected in one scan, plus what could not be collected."""

    snapshot_id: str
    taken_at: datetime
    scopes: tuple[Scope, ...] = ()
    rule_sets: tuple[RuleSet, ...] = ()
    assets: tuple[Asset, ...] = ()
    subnets: tuple[Subnet, ...] = ()
    networks: tuple[Network, ...] = ()
    ip_lists: tuple[IpList, ...] = ()
    errors: tuple[CollectionError, ...] = ()
    providers: tuple[str, ...] = ()
    # ``cloudwall watch``: the full snapshot this one re-read some objects of (None: a full
    # scan). Everything no audit event named is as that scan found it.
    partial_of: str | None = None

    @classmethod
    def from_items(
        cls,
        snapshot_id: str,
        taken_at: datetime,
        scopes: Iterable[Scope],
        items: Iterable[CollectedItem],
        providers: Iterable[str] = (),
    ) -> Snapshot:
        """Sort collected items into a snapshot in a stable order (scan order does not matter)."""
        buckets: dict[type, list] = {
            RuleSet: [],
            Asset: [],
            Subnet: [],
            Network: [],
            IpList: [],
            CollectionError: [],
        }
        for item in items:
            buckets[type(item)].append(item)
        # Ids come first; the scope breaks ties so two clouds' equal ids never swap places.
        def where(item: Any) -> tuple[str, str, str]:
            return (item.provider, item.account, item.region)

        return cls(
            snapshot_id=snapshot_id,
            taken_at=taken_at,
            # (key, name): a set's iteration order varies between runs, so ties must not exist.
            scopes=tuple(sorted(set(scopes), key=lambda s: (s.key, s.name))),
            rule_sets=tuple(sorted(buckets[RuleSet], key=lambda r: (r.resource_id, where(r)))),
            assets=tuple(sorted(buckets[Asset], key=lambda a: (a.asset_id, where(a)))),
            subnets=tuple(sorted(buckets[Subnet], key=lambda s: (s.subnet_id, where(s)))),
            networks=tuple(sorted(buckets[Network], key=lambda n: (n.network_id, where(n)))),
            ip_lists=tuple(sorted(buckets[IpList], key=lambda i: (i.list_id, where(i)))),
            errors=tuple(
                sorted(
                    buckets[CollectionError],
                    key=lambda e: (*e.scope.key, e.resource_type or "", e.reason, e.code, e.hint),
                )
            ),
            providers=tuple(sorted(set(providers))),
        )

    def scope_status(self, scope: Scope) -> str:
        """``ok``, ``partial`` (some resource types failed) or ``failed``."""
        status = "ok"
        for error in self.errors:
            if error.provider != scope.provider or error.account != scope.account:
                continue
            if error.region not in ("", scope.region):
                continue
            if error.resource_type is None:
                return "failed"
            status = "partial"
        return status

    @property
    def complete(self) -> bool:
        return not self.errors

    def rule_count(self) -> int:
        return sum(len(rs.rules) for rs in self.rule_sets)

    def resource_kinds(self) -> dict[tuple[str, str], str]:
        """(provider, resource id) -> what the resource is (rule set kind, asset kind, subnet,
        network or ip_list), for reports that name a resource's type."""
        kinds: dict[tuple[str, str], str] = {}
        kinds.update(((r.provider, r.resource_id), r.kind.value) for r in self.rule_sets)
        kinds.update(((a.provider, a.asset_id), a.kind) for a in self.assets)
        kinds.update(((s.provider, s.subnet_id), "subnet") for s in self.subnets)
        kinds.update(((n.provider, n.network_id), "network") for n in self.networks)
        kinds.update(((i.provider, i.list_id), "ip_list") for i in self.ip_lists)
        return kinds

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "snapshot_id": self.snapshot_id,
            "taken_at": utc_timestamp(self.taken_at),
            "providers": list(self.providers),
            "scopes": [s.to_dict() for s in self.scopes],
            "rule_sets": [r.to_dict() for r in self.rule_sets],
            "assets": [a.to_dict() for a in self.assets],
            "subnets": [s.to_dict() for s in self.subnets],
            "networks": [n.to_dict() for n in self.networks],
            "ip_lists": [i.to_dict() for i in self.ip_lists],
            "errors": [e.to_dict() for e in self.errors],
        } | ({"partial_of": self.partial_of} if self.partial_of else {})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Snapshot:
        version = data.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(
                f"snapshot schema_version {version!r} is not supported (expected {SCHEMA_VERSION})"
            )
        return cls(
            snapshot_id=data["snapshot_id"],
            taken_at=_dt_from_str(data["taken_at"]),
            providers=_tuple(data.get("providers")),
            scopes=tuple(Scope.from_dict(s) for s in data.get("scopes", ())),
            rule_sets=tuple(RuleSet.from_dict(r) for r in data.get("rule_sets", ())),
            assets=tuple(Asset.from_dict(a) for a in data.get("assets", ())),
            subnets=tuple(Subnet.from_dict(s) for s in data.get("subnets", ())),
            networks=tuple(Network.from_dict(n) for n in data.get("networks", ())),
            ip_lists=tuple(IpList.from_dict(i) for i in data.get("ip_lists", ())),
            errors=tuple(CollectionError.from_dict(e) for e in data.get("errors", ())),
            partial_of=data.get("partial_of"),
        )

    def encode(self, pretty: bool | None = None) -> bytes:
        """The snapshot document as UTF-8 JSON (scanner.jsonenc: sorted, compact unless
        ``pretty`` or ``--pretty``)."""
        return encode(self.to_dict(), pretty)

    def to_json(self, pretty: bool | None = None) -> str:
        return self.encode(pretty).decode("utf-8")

    @classmethod
    def from_json(cls, text: str) -> Snapshot:
        return cls.from_dict(json.loads(text))


@dataclass(frozen=True, slots=True)
class Finding:
    """One policy failing on one rule (or one rule set / asset where no single rule is at fault).

    ``finding_id`` is a fingerprint of policy, resource and rule identity: the same problem on
    the same rule has the same id in every scan.
    """

    finding_id: str
    policy_id: str
    title: str
    severity: Severity
    provider: str
    account: str
    region: str
    resource_id: str
    resource_name: str
    rule: Rule | None = None
    asset_id: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=True)
    attack: tuple[str, ...] = ()
    compliance: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    remediation: str = ""
    suppressed: bool = False
    suppression: Mapping[str, Any] | None = field(default=None, hash=False, compare=True)

    @staticmethod
    def make_id(policy_id: str, resource_id: str, subject: str = "") -> str:
        """``subject`` is the rule identity or asset id the finding is about. The id is
        ``"CWF-" + fingerprint(policy_id, resource_id, subject)``, spelt out by
        ``finding_id_parts`` and ``finding_id_with`` for callers that reuse the parts."""
        return finding_id_with(finding_id_parts(policy_id, subject), finding_id_part(resource_id))

    def rebound(self, finding_id: str, account: str, region: str, resource_id: str,
                resource_name: str, rule: Rule | None, evidence: Mapping[str, Any]) -> Finding:
        """This finding on another resource with the same content (``policies.reuse``): the
        other fields are shared. The slots are set directly: the frozen dataclass's
        ``__init__`` goes through ``object.__setattr__`` for each field, which was most of
        the cost of binding the several hundred thousand findings of a templated estate."""
        made = _new_object(Finding)
        s = _FINDING_SETTERS
        s[0](made, finding_id)
        s[1](made, self.policy_id)
        s[2](made, self.title)
        s[3](made, self.severity)
        s[4](made, self.provider)
        s[5](made, account)
        s[6](made, region)
        s[7](made, resource_id)
        s[8](made, resource_name)
        s[9](made, rule)
        s[10](made, self.asset_id)
        s[11](made, evidence)
        s[12](made, self.attack)
        s[13](made, self.compliance)
        s[14](made, self.remediation)
        s[15](made, self.suppressed)
        s[16](made, self.suppression)
        return made

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.finding_id,
            "policy_id": self.policy_id,
            "title": self.title,
            "severity": self.severity.value,
            "provider": self.provider,
            "account": self.account,
            "region": self.region,
            "resource_id": self.resource_id,
            "resource_name": self.resource_name,
            "rule": self.rule.to_dict() if self.rule else None,
            "asset_id": self.asset_id,
            "evidence": dict(self.evidence),
            "attack": list(self.attack),
            "compliance": {k: list(v) for k, v in sorted(self.compliance.items())},
            "remediation": self.remediation,
            "suppressed": self.suppressed,
            "suppression": dict(self.suppression) if self.suppression else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(
            finding_id=data["id"],
            policy_id=data["policy_id"],
            title=data["title"],
            severity=Severity(data["severity"]),
            provider=data["provider"],
            account=data["account"],
            region=data["region"],
            resource_id=data["resource_id"],
            resource_name=data["resource_name"],
            rule=Rule.from_dict(data["rule"]) if data.get("rule") else None,
            asset_id=data.get("asset_id"),
            evidence=dict(data.get("evidence", {})),
            attack=_tuple(data.get("attack")),
            compliance={k: tuple(v) for k, v in data.get("compliance", {}).items()},
            remediation=data.get("remediation", ""),
            suppressed=data.get("suppressed", False),
            suppression=data.get("suppression"),
        )


# The slot setters of Finding's fields, in field order (``Finding.rebound``).
_FINDING_SETTERS = tuple(getattr(Finding, f.name).__set__ for f in fields(Finding))
_new_object = object.__new__


class ChangeKind(str, Enum):
    RULE_ADDED = "rule_added"
    RULE_REMOVED = "rule_removed"
    RULE_MODIFIED = "rule_modified"
    RULE_ENABLED = "rule_enabled"
    RULE_DISABLED = "rule_disabled"
    PRIORITY_CHANGED = "priority_changed"
    RULE_SET_CREATED = "rule_set_created"
    RULE_SET_DELETED = "rule_set_deleted"
    ATTACHMENT_ADDED = "attachment_added"
    ATTACHMENT_REMOVED = "attachment_removed"
    IP_LIST_ADDED = "ip_list_added"
    IP_LIST_CHANGED = "ip_list_changed"
    IP_LIST_REMOVED = "ip_list_removed"
    ENFORCEMENT_ORDER_CHANGED = "enforcement_order_changed"
    SCOPE_UNKNOWN = "scope_unknown"  # the scope failed in one of the snapshots


class Effect(str, Enum):
    WIDENED = "widened"
    NARROWED = "narrowed"
    NEUTRAL = "neutral"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Attribution:
    """Who made a change, as the cloud's audit log says (or why it cannot say)."""

    actor: str | None = None
    time: datetime | None = None
    source_address: str | None = None
    operation: str | None = None
    event_id: str | None = None
    unavailable_reason: str | None = None

    def __post_init__(self) -> None:
        if self.unavailable_reason:  # quotes SDK errors, which quote endpoint URLs
            object.__setattr__(self, "unavailable_reason", redact(self.unavailable_reason))

    def to_dict(self) -> dict[str, Any]:
        return {
            "actor": self.actor,
            "time": utc_timestamp(self.time) if self.time else None,
            "source_address": self.source_address,
            "operation": self.operation,
            "event_id": self.event_id,
            "unavailable_reason": self.unavailable_reason,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Attribution:
        return cls(
            actor=data.get("actor"),
            time=_dt_from_str(data["time"]) if data.get("time") else None,
            source_address=data.get("source_address"),
            operation=data.get("operation"),
            event_id=data.get("event_id"),
            unavailable_reason=data.get("unavailable_reason"),
        )


@dataclass(frozen=True, slots=True)
class DriftItem:
    """One change between a baseline and a later snapshot, classified by what it admits."""

    drift_id: str
    change: ChangeKind
    effect: Effect
    severity: Severity
    provider: str
    account: str
    region: str
    resource_id: str
    resource_name: str
    rule_key: str | None = None
    before: Rule | None = None
    after: Rule | None = None
    summary: str = ""
    details: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=True)
    attack: tuple[str, ...] = ()
    tactic: str | None = None
    detection: str | None = None  # ATT&CK data component: Firewall Rule Modification / Disable
    operations: tuple[str, ...] = ()  # control-plane operations that make such a change
    # Dicts are unhashable: left out of the hash so a DriftItem stays hashable.
    newly_exposed: tuple[Mapping[str, Any], ...] = field(default=(), hash=False, compare=True)
    attribution: tuple[Attribution, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.drift_id,
            "change": self.change.value,
            "effect": self.effect.value,
            "severity": self.severity.value,
            "provider": self.provider,
            "account": self.account,
            "region": self.region,
            "resource_id": self.resource_id,
            "resource_name": self.resource_name,
            "rule_key": self.rule_key,
            "before": self.before.to_dict() if self.before else None,
            "after": self.after.to_dict() if self.after else None,
            "summary": self.summary,
            "details": dict(self.details),
            "attack": list(self.attack),
            "tactic": self.tactic,
            "detection": self.detection,
            "operations": list(self.operations),
            "newly_exposed": [dict(n) for n in self.newly_exposed],
            "attribution": [a.to_dict() for a in self.attribution],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftItem:
        return cls(
            drift_id=data["id"],
            change=ChangeKind(data["change"]),
            effect=Effect(data["effect"]),
            severity=Severity(data["severity"]),
            provider=data["provider"],
            account=data["account"],
            region=data["region"],
            resource_id=data["resource_id"],
            resource_name=data["resource_name"],
            rule_key=data.get("rule_key"),
            before=Rule.from_dict(data["before"]) if data.get("before") else None,
            after=Rule.from_dict(data["after"]) if data.get("after") else None,
            summary=data.get("summary", ""),
            details=dict(data.get("details", {})),
            attack=_tuple(data.get("attack")),
            tactic=data.get("tactic"),
            detection=data.get("detection"),
            operations=_tuple(data.get("operations")),
            newly_exposed=tuple(dict(n) for n in data.get("newly_exposed", ())),
            attribution=tuple(Attribution.from_dict(a) for a in data.get("attribution", ())),
        )


@dataclass(frozen=True, slots=True)
class PathStep:
    """One layer an exposure passed through, and what decided there."""

    layer: str  # route | aws_network_acl | aws_security_group | azure_nsg_subnet | azure_nsg_nic |
    #            gcp_hierarchical_policy | gcp_network_policy | gcp_vpc_firewall | implied
    decision: str  # allow | deny | goto_next | no_match | absent (no rule set at this layer)
    rule_set_id: str | None = None
    rule_id: str | None = None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "layer": self.layer,
            "decision": self.decision,
            "rule_set_id": self.rule_set_id,
            "rule_id": self.rule_id,
            "note": self.note,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PathStep:
        return cls(
            data["layer"],
            data["decision"],
            data.get("rule_set_id"),
            data.get("rule_id"),
            data.get("note", ""),
        )


@dataclass(frozen=True, slots=True)
class ExposureVerdict:
    """Whether a finding's own traffic (protocols x ports x sources of one family) reaches an
    asset through the rule it is about: ``live`` when it reaches at least one, ``unknown`` when
    an asset it guards could not be decided, else ``latent`` with why (``reason``):

    - ``unattached``: the rule set guards no asset of the snapshot;
    - ``not_public``: no asset it guards has a public address;
    - ``blocked``: another layer stops this traffic on every public asset (``blocked_by``
      names those rule sets, ``layers`` their kinds);
    - ``other_rules``: the traffic gets in, but another rule decides it first
      (``admitted_by``), so editing this rule changes nothing today;
    - ``not_reachable``: no layer stops it, but the assets are not reachable from the
      internet at all (no internet route, a closed public IP).
    """

    status: str  # live | latent | unknown
    assets: tuple[str, ...] = ()  # live: the assets reached; otherwise those looked at
    reason: str = ""
    blocked_by: tuple[str, ...] = ()
    layers: tuple[str, ...] = ()
    admitted_by: tuple[RuleRef, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "assets": list(self.assets)}
        if self.reason:
            out["reason"] = self.reason
        if self.blocked_by:
            out["blocked_by"] = list(self.blocked_by)
        if self.layers:
            out["layers"] = list(self.layers)
        if self.admitted_by:
            out["admitted_by"] = [r.to_dict() for r in self.admitted_by]
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExposureVerdict:
        return cls(data["status"], _tuple(data.get("assets")), data.get("reason", ""),
                   _tuple(data.get("blocked_by")), _tuple(data.get("layers")),
                   tuple(RuleRef.from_dict(r) for r in data.get("admitted_by", ())))


def _concrete_protocols(label: str) -> list[str]:
    from scanner.exposure import parse_protocol_label  # the model stays import-light

    return parse_protocol_label(label).concrete()


@dataclass(frozen=True, slots=True)
class Exposure:
    """Traffic the internet (or a broad public range) can actually get to one asset."""

    asset_id: str
    provider: str
    account: str
    region: str
    source: str  # internet | broad
    family: str  # ipv4 | ipv6
    protocol: str
    ports: PortSet
    services: tuple[str, ...] = ()  # catalogue keys the ports cover
    via: str = "public_ip"  # public_ip | ipv6 | load_balancer
    # Each layer's deciding rule and verdict (allow, goto_next, no_match: the next level or
    # the default decides), on the paths of the allows credited with admitting this traffic.
    path: tuple[PathStep, ...] = ()
    # The allows that decided for a broad share of this traffic: the rules to edit.
    admitted_by: tuple[RuleRef, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "asset_id": self.asset_id,
            "provider": self.provider,
            "account": self.account,
            "region": self.region,
            "source": self.source,
            "family": self.family,
            "protocol": self.protocol,
            # Concrete protocols (names, numbers, runs of numbers), to look one up.
            "protocols": _concrete_protocols(self.protocol),
            "ports": self.ports.to_list(),
            "services": list(self.services),
            "via": self.via,
            "path": [p.to_dict() for p in self.path],
            "admitted_by": [r.to_dict() for r in self.admitted_by],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Exposure:
        return cls(
            asset_id=data["asset_id"],
            provider=data["provider"],
            account=data["account"],
            region=data["region"],
            source=data["source"],
            family=data["family"],
            protocol=data["protocol"],
            ports=PortSet.from_list(data["ports"]),
            services=_tuple(data.get("services")),
            via=data.get("via", "public_ip"),
            path=tuple(PathStep.from_dict(p) for p in data.get("path", ())),
            admitted_by=tuple(RuleRef.from_dict(r) for r in data.get("admitted_by", ())),
        )


@dataclass(frozen=True, slots=True)
class PolicyInfo:
    """A policy that ran for a report: what reporters say about it (SARIF rules, JUnit suites)
    and the resources it judged, so a pass is a pass and not "never looked"."""

    policy_id: str
    title: str
    severity: Severity
    rationale: str = ""
    # summary, console, cli: each may be empty
    remediation: Mapping[str, str] = field(default_factory=dict, hash=False, compare=True)
    attack: tuple[str, ...] = ()
    # framework key (``cis-aws@3.0.0``) -> every control the policy can fail
    compliance: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False,
                                                      compare=True)
    providers: tuple[str, ...] = ()
    source: str = ""
    # (provider, account, region, resource id, resource name) of every resource it judged
    judged: tuple[tuple[str, str, str, str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ScanReport:
    """Everything a reporter renders: one finished scan (or diff) and what was judged of it."""

    snapshot: Snapshot
    findings: tuple[Finding, ...] = ()
    drift: tuple[DriftItem, ...] = ()
    exposures: tuple[Exposure, ...] = ()
    baseline_name: str | None = None
    baseline_snapshot_id: str | None = None
    tool_version: str = ""
    generated_at: datetime | None = None
    # asset id -> why its exposure could not be decided (not safe, unknown)
    exposure_unknown: Mapping[str, str] = field(default_factory=dict, hash=False, compare=True)
    # Suppressed findings in this view, whether or not ``findings`` shows them
    # (``--include-suppressed``): every format says how many there are.
    suppressed_findings: tuple[Finding, ...] = ()
    # The filters this view was narrowed by (``scanner.filters.ReportFilter.to_dict``); empty
    # when the report shows everything.
    filters: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=True)
    # resource id -> its tags, from the snapshot and the baseline (drift on a rule set that is
    # gone is still filtered by the tags it had).
    resource_tags: Mapping[str, Mapping[str, str]] = field(
        default_factory=dict, hash=False, compare=True)
    # The policies that ran (empty when the report was built without policy information).
    policies: tuple[PolicyInfo, ...] = ()

    @property
    def active_findings(self) -> tuple[Finding, ...]:
        """The findings that count: shown and not suppressed."""
        return tuple(f for f in self.findings if not f.suppressed)

    @property
    def suppressed_count(self) -> int:
        """Suppressed findings in this view, shown or not."""
        ids = {f.finding_id for f in self.suppressed_findings}
        ids.update(f.finding_id for f in self.findings if f.suppressed)
        return len(ids)
