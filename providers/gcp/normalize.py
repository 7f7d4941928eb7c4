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

Firewall policies are normalized in ``providers/gcp/policies.py``; the shared helpers live in
``providers/gcp/common.py``. Every resource id is reduced to one canonical form, the self link
from ``projects/`` (or ``locations/`` for hierarchical policies) on, so joins are plain
dictionary lookups whatever host the self links name.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from providers.gcp.common import (
    AFTER_CLASSIC,
    BEFORE_CLASSIC,
    EVERYWHERE,
    IMPLIED_PRIORITY,
    PREPOPULATED,
    PROVIDER,
    Json,
    canonical,
    cidr_peer,
    cidrs,
    last_segment,
    parse_direction,
    protocol_ports,
    rule_order,
    symbols,
)
from providers.gcp.policies import (
    applicable_hierarchical,
    hierarchical_policy_id,
    normalize_policy,
    normalize_policy_rule,
)
from providers.guard import (
    ShapeError,
    checked_payload,
    guarded,
    label,
    optional_mappings,
    require_choice,
    require_mapping,
    require_text,
)
from providers.interning import text
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

__all__ = [
    "aggregated_instances",
    "canonical",
    "normalize_firewall",
    "normalize_instance",
    "normalize_policy",
    "normalize_policy_rule",
    "normalize_scope",
]

Item = RuleSet | Asset | Network | CollectionError


# --- VPC firewall rules -----------------------------------------------------------------------


def firewall_peers(raw: Json) -> tuple[tuple[Peer, ...], dict[str, Any]]:
    """The remote side of a VPC firewall rule, and what of it the model keeps only in ``extra``.

    Ingress sources are ranges OR tags OR service accounts; a rule with only tags or service
    accounts admits instances of the network, never the internet. A rule with no source at all
    cannot be created through the API; should one appear it is read as 0.0.0.0/0, which is what
    gcloud defaults to, so it is never read as narrower than it may be.
    """
    extra: dict[str, Any] = {}
    if parse_direction(raw.get("direction")) is Direction.INGRESS:
        peers = cidrs(raw.get("sourceRanges"))
        peers += symbols(PeerKind.NETWORK_TAG, raw.get("sourceTags"))
        peers += symbols(PeerKind.SERVICE_ACCOUNT, raw.get("sourceServiceAccounts"))
        if raw.get("destinationRanges"):
            extra["destinationRanges"] = list(raw["destinationRanges"])
    else:
        peers = cidrs(raw.get("destinationRanges"))
        if raw.get("sourceRanges"):
            extra["sourceRanges"] = list(raw["sourceRanges"])
    if not peers:
        peers = [cidr_peer("0.0.0.0/0")]
        extra["defaultedRange"] = True
    return tuple(peers), extra


def normalize_firewall(raw: Json, network_is_default: bool = False) -> list[Rule]:
    """One VPC firewall -> one Rule per protocol of its ``allowed`` or ``denied`` list."""
    name = require_text(require_mapping(raw, "firewall"), "name", "firewall name")
    require_choice(raw, "direction", {"ingress", "egress"}, f"firewall {name} direction")
    allowed = optional_mappings(raw, "allowed", f"firewall {name} allowed")
    denied = optional_mappings(raw, "denied", f"firewall {name} denied")
    if bool(allowed) == bool(denied):
        # The API requires exactly one: with neither the rule would silently admit nothing.
        raise ShapeError(f"firewall {name} has {'both' if allowed else 'neither'} 'allowed' "
                         "and 'denied'")
    direction = parse_direction(raw.get("direction"))
    peers, extra = firewall_peers(raw)
    targets = tuple(symbols(PeerKind.NETWORK_TAG, raw.get("targetTags"))
                    + symbols(PeerKind.SERVICE_ACCOUNT, raw.get("targetServiceAccounts")))
    if raw.get("id"):
        extra["id"] = str(raw["id"])
    if network_is_default and name in PREPOPULATED:
        extra["prepopulated"] = True
    log_config = raw.get("logConfig") or {}
    if log_config.get("metadata"):
        extra["logMetadata"] = text(log_config["metadata"])
    rules = []
    for entries, action in ((allowed, Action.ALLOW), (denied, Action.DENY)):
        for protocol, ports, spelled in protocol_ports(entries, "IPProtocol"):
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
    common = {"protocol": "all", "peers": tuple(cidr_peer(c) for c in EVERYWHERE),
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
    rules.sort(key=rule_order)
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


# --- instances --------------------------------------------------------------------------------


def _zone_region(zone: str) -> str:
    return text(zone.rsplit("-", 1)[0]) if zone.count("-") >= 2 else zone


def normalize_instance(scope: Scope, raw: Json) -> list[Asset]:
    """One Asset per network interface of an instance."""
    require_text(require_mapping(raw, "instance"), "name", "instance name")
    optional_mappings(raw, "networkInterfaces", "networkInterfaces")
    zone = last_segment(raw.get("zone"))
    instance_id = canonical(raw.get("selfLink")) or (
        f"projects/{scope.account}/zones/{zone}/instances/{raw['name']}")
    tags = tuple(text(t) for t in (raw.get("tags") or {}).get("items") or ())
    accounts = tuple(text(sa["email"]) for sa in raw.get("serviceAccounts") or ()
                     if sa.get("email"))
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
                extra[key] = text(nic[key])
        if nic.get("aliasIpRanges"):
            extra["aliasIpRanges"] = [a.get("ipCidrRange") for a in nic["aliasIpRanges"]]
        configs = nic.get("accessConfigs") or ()
        if configs:
            extra["accessConfigs"] = [{k: text(ac[k]) for k in ("name", "type", "networkTier")
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
            state=text(raw.get("status", "")),
            tags={text(k): text(v) for k, v in (raw.get("labels") or {}).items()},
            extra=extra,
        ))
    return assets


def aggregated_instances(items: Json | Iterable[Json] | None) -> Iterator[Json]:
    """Instances of an aggregatedList ``items`` map; zones with a ``warning`` have none."""
    if items is None:
        return
    if isinstance(items, Mapping):
        for scoped in items.values():
            found = scoped.get("instances") if isinstance(scoped, Mapping) else [scoped]
            # What is not understood is handed on, to fail under the instance's own guard.
            yield from found if isinstance(found, list) else ([found] if found else ())
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


_EXPECTED = {**{key: list for key in (
    "networks", "firewalls", "networkFirewallPolicies", "regionNetworkFirewallPolicies",
    "hierarchicalFirewallPolicies", "ancestry", "errors")},
    "effectiveFirewalls": Mapping, "instances": (Mapping, list)}


def _names_no_network() -> None:
    raise ShapeError("it names no network")


def _guarded_policy(scope: Scope, policy: Any, kind: RuleSetKind, resource_type: str,
                    index: int) -> RuleSet | CollectionError:
    return guarded(scope, resource_type,
                   f"firewall policy {label(policy, 'name', 'shortName', 'id', index=index)}",
                   lambda: normalize_policy(scope, policy, kind))


def _network_id(scope: Scope, network: Json) -> str:
    require_mapping(network, "network")
    return canonical(network.get("selfLink")) or network_path(
        scope, require_text(network, "name", "network name"))


def normalize_scope(scope: Scope, raw: Json) -> Iterator[Item]:
    """Everything read from one project, joined in dictionaries.

    Each object is built under its own guard. A firewall the normalizer cannot read fails the
    VPC rule set of its network (a rule set missing a rule would be read as narrower than it
    is); the network's other levels and every other network are still reported.
    """
    raw, shape_errors = checked_payload(scope, raw, _EXPECTED)
    yield from shape_errors
    errors = _errors(scope, raw)
    failed = {e.resource_type for e in errors}
    yield from errors
    firewalls_by_network: dict[str, list[Json]] = {}
    for index, firewall in enumerate(raw.get("firewalls") or ()):
        network = firewall.get("network") if isinstance(firewall, Mapping) else None
        if not isinstance(network, str) or not canonical(network):
            yield guarded(scope, "firewalls",
                          f"firewall {label(firewall, 'name', 'id', index=index)}",
                          _names_no_network)
            continue
        firewalls_by_network.setdefault(canonical(network), []).append(firewall)

    # Hierarchical policies, top down, from the ancestry or else the effective view.
    hierarchical_order: list[str] = []
    per_network_hierarchical: dict[str, list[str]] = {}
    if "hierarchicalFirewallPolicies" in raw:
        applicable = guarded(scope, "hierarchicalFirewallPolicies", "the policy associations",
                             lambda: applicable_hierarchical(
                                 raw["hierarchicalFirewallPolicies"] or (),
                                 list(raw.get("ancestry") or ())))
        if isinstance(applicable, CollectionError):
            yield applicable
            applicable = []
        for index, policy in enumerate(applicable):
            rule_set = _guarded_policy(scope, policy, RuleSetKind.GCP_HIERARCHICAL_POLICY,
                                       "hierarchicalFirewallPolicies", index)
            if isinstance(rule_set, RuleSet):
                hierarchical_order.append(rule_set.resource_id)
            yield rule_set
    elif raw.get("effectiveFirewalls"):
        found = guarded(scope, "effectiveFirewalls", "the effective firewalls",
                        lambda: _effective_hierarchical(scope, raw["effectiveFirewalls"]))
        if isinstance(found, CollectionError):
            yield found
        else:
            rule_sets, per_network_hierarchical = found
            yield from rule_sets

    network_policies: dict[str, list[tuple[int, str]]] = {}
    for key, rank in (("networkFirewallPolicies", 0), ("regionNetworkFirewallPolicies", 1)):
        for index, policy in enumerate(raw.get(key) or ()):
            rule_set = _guarded_policy(scope, policy, RuleSetKind.GCP_NETWORK_POLICY,
                                       "networkFirewallPolicies", index)
            if isinstance(rule_set, RuleSet):
                for attachment in rule_set.attachments:
                    network_policies.setdefault(attachment.target_id, []).append(
                        (rank, rule_set.resource_id))
            yield rule_set

    for index, network in enumerate(raw.get("networks") or ()):
        yield from _network(scope, network, index, failed, firewalls_by_network,
                            network_policies, per_network_hierarchical, hierarchical_order)

    for index, instance in enumerate(aggregated_instances(raw.get("instances"))):
        assets = guarded(scope, "instances",
                         f"instance {label(instance, 'selfLink', 'name', index=index)}",
                         lambda i=instance: normalize_instance(scope, i))
        if isinstance(assets, CollectionError):
            yield assets
        else:
            yield from assets


def _network(scope: Scope, network: Any, index: int, failed: set, firewalls_by_network: dict,
             network_policies: dict, per_network_hierarchical: dict,
             hierarchical_order: list[str]) -> Iterator[Item]:
    name = f"network {label(network, 'selfLink', 'name', index=index)}"
    network_id = guarded(scope, "networks", name, lambda: _network_id(scope, network))
    if isinstance(network_id, CollectionError):
        yield network_id
        return
    order = network.get("networkFirewallPolicyEnforcementOrder") or AFTER_CLASSIC
    vpc_ids: list[str] = []
    if "firewalls" not in failed:
        rule_set = guarded(scope, "firewalls", f"the firewall rules of {name}",
                           lambda: normalize_vpc_rules(scope, network,
                                                       firewalls_by_network.get(network_id, ())))
        if isinstance(rule_set, RuleSet):
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
