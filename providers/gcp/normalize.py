"""Compute Engine JSON -> model. Pure functions; every GCP quirk lives here.

``raw`` (what the fetch half returns for one project) maps these keys to payloads exactly as the
Compute REST API returns them (camelCase):

- ``networks``, ``firewalls``: lists of Network and Firewall resources.
- ``networkFirewallPolicies`` / ``regionNetworkFirewallPolicies``: lists of FirewallPolicy.
- ``hierarchicalFirewallPolicies``: FirewallPolicy resources listed under the project's ancestor
  nodes, with ``ancestry`` the ancestor node names top down (``organizations/1``, ``folders/2``).
- ``effectiveFirewalls``: ``{network id: networks.getEffectiveFirewalls response}``, read when the
  hierarchical policies themselves could not be.
- ``instances``: the ``items`` map of ``instances.aggregatedList`` (``zones/Z`` -> scoped list).
- ``errors``: what could not be read, as ``{resourceType, code, reason, hint}``.

Every resource id is reduced to one canonical form, the self link from ``projects/`` (or
``locations/`` for hierarchical policies) on, so joins are plain dictionary lookups whatever host
the self links name.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from scanner.model import (
    Action,
    Asset,
    Attachment,
    CollectionError,
    Direction,
    Network,
    Peer,
    PeerKind,
    Rule,
    RuleSet,
    RuleSetKind,
    Scope,
)
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
_ACTIONS = {
    "allow": Action.ALLOW,
    "deny": Action.DENY,
    "goto_next": Action.GOTO_NEXT,
    # Traffic is allowed after inspection by a security profile: an allow for reachability.
    "apply_security_profile_group": Action.ALLOW,
}

Json = Mapping[str, Any]
Item = RuleSet | Asset | Network | CollectionError


def canonical(link: str | None) -> str:
    """``https://.../compute/v1/projects/p/global/networks/n`` -> ``projects/p/global/networks/n``
    (``locations/global/firewallPolicies/N`` for hierarchical policies)."""
    text = (link or "").strip()
    for marker in ("projects/", "locations/"):
        index = text.find(marker)
        if index == 0 or (index > 0 and text[index - 1] == "/"):
            return text[index:]
    return text


def last_segment(link: str | None) -> str:
    return (link or "").rstrip("/").rsplit("/", 1)[-1]


def _protocol(value: Any) -> str:
    """GCP accepts protocol names and numbers; an unknown name is kept as GCP spelled it."""
    try:
        return canonical_protocol(value if value not in (None, "") else "all")
    except ValueError:
        return str(value).strip().lower()


def port_set(protocol: str, ports: Iterable[str] | None) -> PortSet:
    """An empty ``ports`` list means every port; protocols without ports always get all."""
    items = [str(p).strip() for p in ports or () if str(p).strip()]
    if not items or protocol not in PORT_PROTOCOLS:
        return ALL_PORTS
    return PortSet.parse(",".join(items))  # parsed once per distinct list (cached)


def _protocol_ports(entries: Iterable[Json], key: str) -> list[tuple[str, PortSet, list[str]]]:
    """``[{IPProtocol, ports}]`` -> one (protocol, ports) per protocol, entries of one protocol
    merged (``6`` and ``tcp`` are the same protocol), in first-seen order."""
    merged: dict[str, tuple[PortSet, list[str]]] = {}
    for entry in entries:
        protocol = _protocol(entry.get(key))
        ports = port_set(protocol, entry.get("ports"))
        if protocol in merged:
            seen_ports, spelled = merged[protocol]
            merged[protocol] = (seen_ports.union(ports), [*spelled, str(entry.get(key))])
        else:
            merged[protocol] = (ports, [str(entry.get(key))])
    return [(proto, ports, spelled) for proto, (ports, spelled) in merged.items()]


def _cidrs(values: Iterable[str] | None) -> list[Peer]:
    return [Peer.cidr(v.strip()) for v in values or () if v and v.strip()]


def _symbols(kind: PeerKind, values: Iterable[str] | None) -> list[Peer]:
    return [Peer(kind, v) for v in values or () if v]


def _direction(value: str | None) -> Direction:
    return Direction.EGRESS if (value or "").upper() == "EGRESS" else Direction.INGRESS


def _rule_order(rule: Rule) -> tuple:
    # Lower priority first; at equal priority a deny wins over an allow, so it sorts first.
    action_rank = {Action.DENY: 0, Action.GOTO_NEXT: 1, Action.ALLOW: 2}[rule.action]
    return (rule.direction.value, rule.is_default, rule.priority or 0, action_rank,
            rule.native_id or "")


# --- VPC firewall rules -----------------------------------------------------------------------


def firewall_peers(raw: Json) -> tuple[tuple[Peer, ...], dict[str, Any]]:
    """The remote side of a VPC firewall rule, and what of it the model keeps only in ``extra``.

    Ingress sources are ranges OR tags OR service accounts; a rule with only tags or service
    accounts admits instances of the network, never the internet. A rule with no source at all
    cannot be created through the API; should one appear it is read as 0.0.0.0/0, which is what
    gcloud defaults to, so it is never read as narrower than it may be.
    """
    extra: dict[str, Any] = {}
    if _direction(raw.get("direction")) is Direction.INGRESS:
        peers = _cidrs(raw.get("sourceRanges"))
        peers += _symbols(PeerKind.NETWORK_TAG, raw.get("sourceTags"))
        peers += _symbols(PeerKind.SERVICE_ACCOUNT, raw.get("sourceServiceAccounts"))
        if raw.get("destinationRanges"):
            extra["destinationRanges"] = list(raw["destinationRanges"])
    else:
        peers = _cidrs(raw.get("destinationRanges"))
        if raw.get("sourceRanges"):
            extra["sourceRanges"] = list(raw["sourceRanges"])
    if not peers:
        peers = [Peer.cidr("0.0.0.0/0")]
        extra["defaultedRange"] = True
    return tuple(peers), extra


def normalize_firewall(raw: Json, network_is_default: bool = False) -> list[Rule]:
    """One VPC firewall -> one Rule per protocol of its ``allowed`` or ``denied`` list."""
    name = raw.get("name", "")
    direction = _direction(raw.get("direction"))
    peers, extra = firewall_peers(raw)
    targets = tuple(_symbols(PeerKind.NETWORK_TAG, raw.get("targetTags"))
                    + _symbols(PeerKind.SERVICE_ACCOUNT, raw.get("targetServiceAccounts")))
    if raw.get("id"):
        extra["id"] = str(raw["id"])
    if network_is_default and name in PREPOPULATED:
        extra["prepopulated"] = True
    log_config = raw.get("logConfig") or {}
    if log_config.get("metadata"):
        extra["logMetadata"] = log_config["metadata"]
    rules = []
    for key, action in (("allowed", Action.ALLOW), ("denied", Action.DENY)):
        for protocol, ports, spelled in _protocol_ports(raw.get(key) or (), "IPProtocol"):
            rule_extra = dict(extra)
            if spelled != [protocol]:
                rule_extra["IPProtocol"] = spelled
            rules.append(Rule(
                direction=direction,
                action=action,
                protocol=protocol,
                ports=ports,
                peers=peers,
                priority=int(raw.get("priority", 1000)),
                enabled=not raw.get("disabled", False),
                native_id=f"{name}/{protocol}",
                name=name,
                description=raw.get("description") or "",
                targets=targets,
                logging=bool(log_config.get("enable", False)),
                extra=rule_extra,
            ))
    return rules


def implied_rules() -> list[Rule]:
    """Every VPC network denies all ingress and allows all egress below every other rule.

    They sort last within the rule set; across levels they are evaluated after the network
    firewall policies too, whatever the enforcement order.
    """
    common = {"protocol": "all", "peers": tuple(Peer.cidr(c) for c in EVERYWHERE),
              "priority": IMPLIED_PRIORITY, "is_default": True}
    return [
        Rule(direction=Direction.INGRESS, action=Action.DENY, native_id="implied-deny-ingress/all",
             name="implied-deny-ingress", description="implied rule: deny all ingress",
             **common),
        Rule(direction=Direction.EGRESS, action=Action.ALLOW, native_id="implied-allow-egress/all",
             name="implied-allow-egress", description="implied rule: allow all egress",
             **common),
    ]


def vpc_rule_set_id(network_id: str) -> str:
    return f"{network_id}/firewalls"


def normalize_vpc_rules(scope: Scope, network: Json, firewalls: Iterable[Json]) -> RuleSet:
    network_id = canonical(network.get("selfLink")) or network_path(scope, network["name"])
    is_default = network.get("name") == "default"
    rules = [r for fw in firewalls for r in normalize_firewall(fw, is_default)] + implied_rules()
    rules.sort(key=_rule_order)
    return RuleSet(
        provider=PROVIDER,
        account=scope.account,
        region="global",
        kind=RuleSetKind.GCP_VPC_FIREWALL,
        resource_id=vpc_rule_set_id(network_id),
        name=network.get("name", ""),
        rules=tuple(rules),
        attachments=(Attachment("network", network_id),),
        network=network_id,
        is_default=is_default,
        description=f"VPC firewall rules of network {network.get('name', '')}",
    )


def network_path(scope: Scope, name: str) -> str:
    return f"projects/{scope.account}/global/networks/{name}"


# --- firewall policies ------------------------------------------------------------------------

_SRC = (
    ("srcAddressGroups", PeerKind.ADDRESS_GROUP),
    ("srcFqdns", PeerKind.FQDN),
    ("srcRegionCodes", PeerKind.REGION_CODE),
    ("srcThreatIntelligences", PeerKind.THREAT_INTELLIGENCE),
)
_DEST = (
    ("destAddressGroups", PeerKind.ADDRESS_GROUP),
    ("destFqdns", PeerKind.FQDN),
    ("destRegionCodes", PeerKind.REGION_CODE),
    ("destThreatIntelligences", PeerKind.THREAT_INTELLIGENCE),
)


def _secure_tags(tags: Iterable[Json] | None) -> list[Peer]:
    # An INEFFECTIVE tag (its VPC or value was deleted) matches nothing, so it is not a peer.
    return [Peer(PeerKind.NETWORK_TAG, t["name"]) for t in tags or ()
            if t.get("name") and t.get("state", "EFFECTIVE") != "INEFFECTIVE"]


def policy_rule_peers(raw: Json) -> tuple[tuple[Peer, ...], dict[str, Any]]:
    match = raw.get("match") or {}
    extra: dict[str, Any] = {}
    if _direction(raw.get("direction")) is Direction.INGRESS:
        peers = _cidrs(match.get("srcIpRanges"))
        peers += _secure_tags(match.get("srcSecureTags"))
        for key, kind in _SRC:
            peers += _symbols(kind, match.get(key))
        if match.get("srcNetworks"):
            peers += [Peer(PeerKind.OTHER, canonical(n)) for n in match["srcNetworks"]]
        other_side = {k: match[k] for k in ("destIpRanges", *(k for k, _ in _DEST)) if match.get(k)}
    else:
        peers = _cidrs(match.get("destIpRanges"))
        for key, kind in _DEST:
            peers += _symbols(kind, match.get(key))
        other_side = {k: match[k] for k in ("srcIpRanges", *(k for k, _ in _SRC)) if match.get(k)}
    if other_side:
        extra["localMatch"] = other_side
    if match.get("srcNetworkScope") or match.get("destNetworkScope"):
        extra["networkScope"] = match.get("srcNetworkScope") or match.get("destNetworkScope")
    if not peers:
        # A match on nothing but protocol (and maybe the local side) matches every remote.
        peers = [Peer.cidr(c) for c in EVERYWHERE]
        extra["defaultedRange"] = True
    return tuple(peers), extra


def normalize_policy_rule(raw: Json) -> list[Rule]:
    """One firewall policy rule -> one Rule per protocol of ``match.layer4Configs``."""
    priority = int(raw.get("priority", 0))
    action_text = (raw.get("action") or "").lower()
    action = _ACTIONS.get(action_text, Action.DENY)
    peers, extra = policy_rule_peers(raw)
    if action_text not in ("allow", "deny", "goto_next"):
        extra["action"] = raw.get("action")
    if raw.get("securityProfileGroup"):
        extra["securityProfileGroup"] = raw["securityProfileGroup"]
    targets = _secure_tags(raw.get("targetSecureTags"))
    targets += _symbols(PeerKind.SERVICE_ACCOUNT, raw.get("targetServiceAccounts"))
    targets += [Peer(PeerKind.OTHER, canonical(r)) for r in raw.get("targetResources") or ()]
    layer4 = (raw.get("match") or {}).get("layer4Configs") or [{"ipProtocol": "all"}]
    rules = []
    for protocol, ports, spelled in _protocol_ports(layer4, "ipProtocol"):
        rule_extra = dict(extra)
        if spelled != [protocol]:
            rule_extra["ipProtocol"] = spelled
        rules.append(Rule(
            direction=_direction(raw.get("direction")),
            action=action,
            protocol=protocol,
            ports=ports,
            peers=peers,
            priority=priority,
            enabled=not raw.get("disabled", False),
            native_id=f"{priority}/{protocol}",
            name=raw.get("ruleName") or "",
            description=raw.get("description") or "",
            targets=tuple(targets),
            is_default=priority >= POLICY_DEFAULT_PRIORITY,
            logging=bool(raw.get("enableLogging", False)),
            extra=rule_extra,
        ))
    return rules


def hierarchical_policy_id(raw: Json) -> str:
    return f"locations/global/firewallPolicies/{raw['name']}"


def network_policy_id(raw: Json, scope: Scope) -> str:
    link = canonical(raw.get("selfLink"))
    if link:
        return link
    region = last_segment(raw.get("region"))
    where = f"regions/{region}" if region else "global"
    return f"projects/{scope.account}/{where}/firewallPolicies/{raw['name']}"


def _attachment(target: str) -> Attachment:
    target = canonical(target)
    if target.startswith("organizations/"):
        return Attachment("organization", target)
    if target.startswith("folders/"):
        return Attachment("folder", target)
    return Attachment("network", target)


def normalize_policy(scope: Scope, raw: Json, kind: RuleSetKind,
                     attachments: Iterable[Attachment] | None = None,
                     extra: Mapping[str, Any] | None = None) -> RuleSet:
    """A hierarchical or network firewall policy. ``attachments`` replace its associations when
    given (the effective-firewalls view names the policy, not where it is associated)."""
    rules = [r for rule in raw.get("rules") or () for r in normalize_policy_rule(rule)]
    rules.sort(key=_rule_order)
    if attachments is None:
        attachments = [_attachment(a["attachmentTarget"]) for a in raw.get("associations") or ()
                       if a.get("attachmentTarget")]
    hierarchical = kind is RuleSetKind.GCP_HIERARCHICAL_POLICY
    region = last_segment(raw.get("region")) or "global"
    info: dict[str, Any] = {k: raw[k] for k in ("parent", "shortName") if raw.get(k)}
    if raw.get("id"):
        info["id"] = str(raw["id"])
    info.update(extra or {})
    return RuleSet(
        provider=PROVIDER,
        account=scope.account,
        region="global" if hierarchical else region,
        kind=kind,
        resource_id=hierarchical_policy_id(raw) if hierarchical else network_policy_id(raw, scope),
        name=raw.get("shortName") or raw.get("displayName") or raw.get("name", ""),
        rules=tuple(rules),
        attachments=tuple(sorted(set(attachments), key=lambda a: (a.target_kind, a.target_id))),
        description=raw.get("description") or "",
        extra=info,
    )


def applicable_hierarchical(raw_policies: Iterable[Json], ancestry: list[str]) -> list[Json]:
    """Policies associated with one of the project's ancestors, top down (organization first)."""
    depth = {node: i for i, node in enumerate(ancestry)}
    ranked = []
    for policy in raw_policies:
        levels = [depth[canonical(a.get("attachmentTarget"))]
                  for a in policy.get("associations") or ()
                  if canonical(a.get("attachmentTarget")) in depth]
        if levels:
            ranked.append((min(levels), policy.get("name", ""), policy))
    ranked.sort(key=lambda r: (r[0], r[1]))
    seen: set[str] = set()
    out = []
    for _, name, policy in ranked:
        if name not in seen:
            seen.add(name)
            out.append(policy)
    return out


# --- instances --------------------------------------------------------------------------------


def _zone_region(zone: str) -> str:
    return zone.rsplit("-", 1)[0] if zone.count("-") >= 2 else zone


def normalize_instance(scope: Scope, raw: Json) -> list[Asset]:
    """One Asset per network interface of an instance."""
    zone = last_segment(raw.get("zone"))
    instance_id = canonical(raw.get("selfLink")) or (
        f"projects/{scope.account}/zones/{zone}/instances/{raw['name']}")
    tags = tuple((raw.get("tags") or {}).get("items") or ())
    accounts = tuple(sa["email"] for sa in raw.get("serviceAccounts") or () if sa.get("email"))
    assets = []
    for index, nic in enumerate(raw.get("networkInterfaces") or ()):
        nic_name = nic.get("name") or f"nic{index}"
        public = [ac["natIP"] for ac in nic.get("accessConfigs") or () if ac.get("natIP")]
        ipv6 = [ac["externalIpv6"] for ac in nic.get("ipv6AccessConfigs") or ()
                if ac.get("externalIpv6")]
        if nic.get("ipv6Address"):
            ipv6.append(nic["ipv6Address"])
        extra: dict[str, Any] = {"zone": zone}
        for key in ("stackType", "nicType"):
            if nic.get(key):
                extra[key] = nic[key]
        if nic.get("aliasIpRanges"):
            extra["aliasIpRanges"] = [a.get("ipCidrRange") for a in nic["aliasIpRanges"]]
        configs = nic.get("accessConfigs") or ()
        if configs:
            extra["accessConfigs"] = [{k: ac[k] for k in ("name", "type", "networkTier")
                                       if ac.get(k)} for ac in configs]
            # An access config without natIP has an ephemeral address not yet assigned.
            extra["external_ipv4"] = True
        if nic.get("ipv6AccessConfigs"):
            extra["external_ipv6"] = True
        if raw.get("canIpForward"):
            extra["canIpForward"] = True
        assets.append(Asset(
            provider=PROVIDER,
            account=scope.account,
            region=_zone_region(zone),
            kind="gcp_instance_interface",
            asset_id=f"{instance_id}/{nic_name}",
            name=raw.get("name", ""),
            instance_id=instance_id,
            network=canonical(nic.get("network")) or None,
            subnet=canonical(nic.get("subnetwork")) or None,
            private_addresses=(nic["networkIP"],) if nic.get("networkIP") else (),
            public_addresses=tuple(public),
            ipv6_addresses=tuple(ipv6),
            network_tags=tags,
            service_accounts=accounts,
            state=raw.get("status", ""),
            tags=dict(raw.get("labels") or {}),
            extra=extra,
        ))
    return assets


def aggregated_instances(items: Json | Iterable[Json] | None) -> Iterator[Json]:
    """Instances of an aggregatedList ``items`` map; zones with a ``warning`` have none."""
    if items is None:
        return
    if isinstance(items, Mapping):
        for scoped in items.values():
            yield from scoped.get("instances") or ()
    else:
        yield from items


# --- one project ------------------------------------------------------------------------------


def _errors(scope: Scope, raw: Json) -> list[CollectionError]:
    return [CollectionError(
        provider=PROVIDER,
        account=scope.account,
        region="",
        reason=e.get("reason", ""),
        hint=e.get("hint", ""),
        resource_type=e.get("resourceType"),
        code=str(e.get("code", "")),
    ) for e in raw.get("errors") or ()]


def _effective_hierarchical(scope: Scope, effective: Json) -> tuple[list[RuleSet], dict]:
    """Hierarchical policies seen through each network's effective firewalls: their rules and
    order are known, where they are associated is not, so they attach to the networks."""
    order: dict[str, list[str]] = {}
    found: dict[str, tuple[Json, set[str]]] = {}
    for network_id, response in sorted(effective.items()):
        for policy in response.get("firewallPolicys") or ():
            if (policy.get("type") or "").upper() != "HIERARCHY" or not policy.get("name"):
                continue
            rs_id = hierarchical_policy_id(policy)
            order.setdefault(network_id, []).append(rs_id)
            found.setdefault(rs_id, (policy, set()))[1].add(network_id)
    rule_sets = [
        normalize_policy(scope, policy, RuleSetKind.GCP_HIERARCHICAL_POLICY,
                         attachments=[Attachment("network", n) for n in networks],
                         extra={"source": "effective_firewalls"})
        for policy, networks in found.values()
    ]
    return rule_sets, order


def normalize_scope(scope: Scope, raw: Json) -> Iterator[Item]:
    """Everything read from one project, joined in dictionaries."""
    errors = _errors(scope, raw)
    failed = {e.resource_type for e in errors}
    yield from errors
    firewalls_by_network: dict[str, list[Json]] = {}
    for firewall in raw.get("firewalls") or ():
        firewalls_by_network.setdefault(canonical(firewall.get("network")), []).append(firewall)

    # Hierarchical policies, top down, from the ancestry or else the effective view.
    hierarchical_order: list[str] = []
    per_network_hierarchical: dict[str, list[str]] = {}
    if "hierarchicalFirewallPolicies" in raw:
        for policy in applicable_hierarchical(raw["hierarchicalFirewallPolicies"] or (),
                                              list(raw.get("ancestry") or ())):
            rule_set = normalize_policy(scope, policy, RuleSetKind.GCP_HIERARCHICAL_POLICY)
            hierarchical_order.append(rule_set.resource_id)
            yield rule_set
    elif raw.get("effectiveFirewalls"):
        rule_sets, per_network_hierarchical = _effective_hierarchical(
            scope, raw["effectiveFirewalls"])
        yield from rule_sets

    network_policies: dict[str, list[tuple[int, str]]] = {}
    for key, rank in (("networkFirewallPolicies", 0), ("regionNetworkFirewallPolicies", 1)):
        for policy in raw.get(key) or ():
            rule_set = normalize_policy(scope, policy, RuleSetKind.GCP_NETWORK_POLICY)
            for attachment in rule_set.attachments:
                network_policies.setdefault(attachment.target_id, []).append(
                    (rank, rule_set.resource_id))
            yield rule_set

    for network in raw.get("networks") or ():
        network_id = canonical(network.get("selfLink")) or network_path(scope, network["name"])
        order = network.get("networkFirewallPolicyEnforcementOrder") or AFTER_CLASSIC
        vpc_ids: list[str] = []
        if "firewalls" not in failed:
            rule_set = normalize_vpc_rules(scope, network, firewalls_by_network.get(network_id, ()))
            vpc_ids.append(rule_set.resource_id)
            yield rule_set
        # Global network policies before regional ones; both around the VPC rules per order.
        policies = [rs_id for _, rs_id in sorted(network_policies.get(network_id, ()))]
        levels = policies + vpc_ids if order == BEFORE_CLASSIC else vpc_ids + policies
        top = per_network_hierarchical.get(network_id, hierarchical_order)
        extra: dict[str, Any] = {}
        if network.get("IPv4Range"):
            extra["legacy"] = True
        if "autoCreateSubnetworks" in network:
            extra["autoCreateSubnetworks"] = bool(network["autoCreateSubnetworks"])
        if network.get("id"):
            extra["id"] = str(network["id"])
        yield Network(
            provider=PROVIDER,
            account=scope.account,
            region="global",
            network_id=network_id,
            name=network.get("name", ""),
            cidrs=(network["IPv4Range"],) if network.get("IPv4Range") else (),
            is_default=network.get("name") == "default",
            enforcement_order=order,
            rule_set_ids=tuple(top) + tuple(levels),
            extra=extra,
        )

    for instance in aggregated_instances(raw.get("instances")):
        yield from normalize_instance(scope, instance)
