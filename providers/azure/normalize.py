"""Azure Resource Manager JSON -> model. Pure functions; every Azure quirk lives here.

``raw`` (what the fetch half returns for one subscription) maps these keys to lists of ARM
objects exactly as the REST API returns them (camelCase, ``properties`` nesting):
``networkSecurityGroups``, ``networkInterfaces``, ``virtualNetworks``, ``publicIPAddresses``,
``applicationSecurityGroups``.

ARM ids are case-insensitive and the API is not consistent about their case, so every id is
lower-cased once here and joins are plain dictionary lookups.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from scanner.model import (
    Action,
    Asset,
    Attachment,
    Direction,
    Network,
    Peer,
    PeerKind,
    Rule,
    RuleSet,
    RuleSetKind,
    Scope,
    Subnet,
)
from scanner.netmath import PortSet, canonical_protocol, is_network

PROVIDER = "azure"
EVERYWHERE = ("0.0.0.0/0", "::/0")
# Service tags that stand for every public address. `*`/`Any` are every address at all.
_INTERNET_TAGS = {"internet"}
_ANY = {"*", "any"}

Json = Mapping[str, Any]


def arm_id(value: str | None) -> str:
    return (value or "").lower()


def _ref(obj: Json | None) -> str:
    return arm_id((obj or {}).get("id"))


def _props(obj: Json) -> Json:
    return obj.get("properties") or {}


def address_peer(prefix: str) -> Peer:
    """One entry of ``sourceAddressPrefix(es)`` / ``destinationAddressPrefix(es)``."""
    text = prefix.strip()
    if text.lower() in _ANY:
        return Peer(PeerKind.ANY, "*", EVERYWHERE)
    if text.lower() in _INTERNET_TAGS:
        return Peer(PeerKind.SERVICE_TAG, "Internet", EVERYWHERE)
    if is_network(text):
        return Peer.cidr(text)
    return Peer(PeerKind.SERVICE_TAG, text)


def _prefixes(props: Json, singular: str, plural: str) -> list[str]:
    """Only one of the singular and plural forms is set; an empty plural means unset."""
    many = [p for p in props.get(plural) or [] if p]
    if many:
        return many
    one = props.get(singular)
    return [one] if one else []


def _peers(props: Json, side: str) -> tuple[Peer, ...]:
    peers = [address_peer(p) for p in _prefixes(props, f"{side}AddressPrefix",
                                                  f"{side}AddressPrefixes")]
    peers += [Peer(PeerKind.APPLICATION_SECURITY_GROUP, _ref(asg))
              for asg in props.get(f"{side}ApplicationSecurityGroups") or []]
    return tuple(peers)


def port_ranges(props: Json, side: str) -> PortSet:
    ranges = _prefixes(props, f"{side}PortRange", f"{side}PortRanges") or ["*"]
    result = PortSet()
    for item in ranges:
        result = result.union(PortSet.parse(str(item)))
    return result


def normalize_rule(raw: Json, is_default: bool = False) -> Rule:
    props = _props(raw)
    inbound = props.get("direction", "").lower() == "inbound"
    sources, destinations = _peers(props, "source"), _peers(props, "destination")
    remote, local = (sources, destinations) if inbound else (destinations, sources)
    # A local side of "*" means every member of the NSG: the model says that with no targets.
    targets = tuple(p for p in local if p.kind is not PeerKind.ANY)
    extra: dict[str, Any] = {"sourcePortRanges": port_ranges(props, "source").to_list()}
    if props.get("provisioningState"):
        extra["provisioningState"] = props["provisioningState"]
    return Rule(
        direction=Direction.INGRESS if inbound else Direction.EGRESS,
        action=Action.ALLOW if props.get("access", "").lower() == "allow" else Action.DENY,
        protocol=canonical_protocol(props.get("protocol", "*")),
        ports=port_ranges(props, "destination"),
        peers=remote,
        targets=targets,
        priority=props.get("priority"),
        native_id=raw.get("name"),
        name=raw.get("name", ""),
        description=props.get("description") or "",
        is_default=is_default,
        extra=extra,
    )


def normalize_nsg(
    scope: Scope, raw: Json, subnet_refs: Iterable[str] = (), nic_refs: Iterable[str] = ()
) -> RuleSet:
    """``subnet_refs``/``nic_refs``: attachments seen from the subnet and NIC side, merged with
    the NSG's own back-references (either side alone can be incomplete in partial reads)."""
    props = _props(raw)
    rules = [normalize_rule(r) for r in props.get("securityRules") or []]
    rules += [normalize_rule(r, is_default=True) for r in props.get("defaultSecurityRules") or []]
    rules.sort(key=lambda r: (r.direction.value, r.priority or 0))
    subnets = {_ref(s) for s in props.get("subnets") or []} | set(subnet_refs)
    nics = {_ref(n) for n in props.get("networkInterfaces") or []} | set(nic_refs)
    attachments = [Attachment("subnet", s) for s in sorted(subnets)]
    attachments += [Attachment("network_interface", n) for n in sorted(nics)]
    return RuleSet(
        provider=PROVIDER,
        account=scope.account,
        region=raw.get("location", ""),
        kind=RuleSetKind.AZURE_NSG,
        resource_id=arm_id(raw["id"]),
        name=raw.get("name", ""),
        rules=tuple(rules),
        attachments=tuple(attachments),
        tags=dict(raw.get("tags") or {}),
        extra={"resourceGroup": _resource_group(raw["id"])},
    )


def _resource_group(resource_id: str) -> str:
    parts = resource_id.split("/")
    lowered = [p.lower() for p in parts]
    return parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered else ""


def normalize_vnet(scope: Scope, raw: Json) -> tuple[Network, list[Subnet]]:
    props = _props(raw)
    vnet_id = arm_id(raw["id"])
    network = Network(
        provider=PROVIDER,
        account=scope.account,
        region=raw.get("location", ""),
        network_id=vnet_id,
        name=raw.get("name", ""),
        cidrs=tuple((props.get("addressSpace") or {}).get("addressPrefixes") or ()),
    )
    subnets = []
    for sub in props.get("subnets") or []:
        sp = _props(sub)
        nsg = _ref(sp.get("networkSecurityGroup"))
        cidrs = sp.get("addressPrefixes") or ([sp["addressPrefix"]] if sp.get("addressPrefix")
                                              else [])
        subnets.append(Subnet(
            provider=PROVIDER,
            account=scope.account,
            region=raw.get("location", ""),
            subnet_id=arm_id(sub["id"]),
            network=vnet_id,
            name=sub.get("name", ""),
            cidrs=tuple(cidrs),
            rule_set_ids=(nsg,) if nsg else (),
            extra={"routeTable": _ref(sp.get("routeTable"))} if sp.get("routeTable") else {},
        ))
    return network, subnets


def normalize_nic(scope: Scope, raw: Json, public_ips: Mapping[str, Json],
                  vnet_of_subnet: Mapping[str, str]) -> Asset:
    props = _props(raw)
    private, public, ipv6, asgs, skus = [], [], [], [], set()
    subnet = None
    for config in props.get("ipConfigurations") or []:
        cp = _props(config)
        address = cp.get("privateIPAddress")
        if address:
            (ipv6 if cp.get("privateIPAddressVersion") == "IPv6" else private).append(address)
        subnet = subnet or _ref(cp.get("subnet")) or None
        asgs += [_ref(a) for a in cp.get("applicationSecurityGroups") or []]
        pip = public_ips.get(_ref(cp.get("publicIPAddress")))
        if pip is not None:
            pip_address = _props(pip).get("ipAddress")
            if pip_address:
                public.append(pip_address)
            skus.add((pip.get("sku") or {}).get("name", "Basic"))
    nsg = _ref(props.get("networkSecurityGroup"))
    vm = _ref(props.get("virtualMachine")) or None
    return Asset(
        provider=PROVIDER,
        account=scope.account,
        region=raw.get("location", ""),
        kind="azure_network_interface",
        asset_id=arm_id(raw["id"]),
        name=raw.get("name", ""),
        instance_id=vm,
        network=vnet_of_subnet.get(subnet or ""),
        subnet=subnet,
        private_addresses=tuple(private),
        public_addresses=tuple(public),
        ipv6_addresses=tuple(ipv6),
        rule_set_ids=(nsg,) if nsg else (),
        application_security_groups=tuple(dict.fromkeys(asgs)),
        state=props.get("provisioningState", ""),
        tags=dict(raw.get("tags") or {}),
        extra={
            "ip_forwarding": bool(props.get("enableIPForwarding", False)),
            # Standard SKU public IPs are closed unless an NSG allows; Basic ones are open.
            "public_ip_sku": ",".join(sorted(skus)) if skus else None,
            "attached": vm is not None,
        },
    )


def normalize_scope(scope: Scope, raw: Json) -> Iterator[RuleSet | Asset | Subnet | Network]:
    """Everything read from one subscription, joined in dictionaries."""
    public_ips = {arm_id(p["id"]): p for p in raw.get("publicIPAddresses") or []}
    vnet_of_subnet: dict[str, str] = {}
    nsg_subnets: dict[str, set[str]] = {}
    for vnet in raw.get("virtualNetworks") or []:
        network, subnets = normalize_vnet(scope, vnet)
        yield network
        for subnet in subnets:
            vnet_of_subnet[subnet.subnet_id] = network.network_id
            for nsg in subnet.rule_set_ids:
                nsg_subnets.setdefault(nsg, set()).add(subnet.subnet_id)
            yield subnet
    nsg_nics: dict[str, set[str]] = {}
    for nic in raw.get("networkInterfaces") or []:
        asset = normalize_nic(scope, nic, public_ips, vnet_of_subnet)
        for nsg in asset.rule_set_ids:
            nsg_nics.setdefault(nsg, set()).add(asset.asset_id)
        yield asset
    for nsg in raw.get("networkSecurityGroups") or []:
        nsg_id = arm_id(nsg["id"])
        yield normalize_nsg(scope, nsg, nsg_subnets.get(nsg_id, ()), nsg_nics.get(nsg_id, ()))
