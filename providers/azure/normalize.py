"""Azure Resource Manager JSON -> model. Pure functions; every Azure quirk lives here.

``raw`` (what the fetch half returns for one subscription) maps these keys to lists of ARM
objects exactly as the REST API returns them (camelCase, ``properties`` nesting):
``networkSecurityGroups``, ``networkInterfaces``, ``virtualNetworks``, ``publicIPAddresses``,
``applicationSecurityGroups`` and ``loadBalancers``. A key that is missing (its resource type
could not be read) is treated as unknown, never as empty: joins that need it fall back to what
the other side says, and addresses that depend on it are recorded as unresolved.

ARM ids are case-insensitive and the API is not consistent about their case, so every id is
lower-cased once here and joins are plain dictionary lookups.

Large estates repeat the same few strings and peers across thousands of objects (locations,
referenced subnet, NSG and virtual network ids, resource groups, tags, protocols, the six
default rules of every NSG): each is one shared object (interned strings, cached peers), so the
model holds one copy and nothing refers back to the raw ARM JSON.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache
from typing import Any

from providers.azure.balancers import LoadBalancerIndex, index_load_balancers
from providers.guard import (
    ShapeError,
    checked_payload,
    guarded,
    label,
    optional_list,
    optional_mappings,
    require_choice,
    require_mapping,
    require_text,
)
from providers.interning import text as _text
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
    Subnet,
)
from scanner.netmath import ALL_PORTS, PORT_PROTOCOLS, PortSet, canonical_protocol, is_network

PROVIDER = "azure"
EVERYWHERE = ("0.0.0.0/0", "::/0")
# `*` and `Any` are every address at all, private and public.
_ANY = {"*", "any"}
# Service tags are case-insensitive; the common ones get one spelling so that a rule re-saved
# with different case is not reported as drift. `Internet` stands for every public address.
_CANONICAL_TAGS = {
    "internet": "Internet",
    "virtualnetwork": "VirtualNetwork",
    "azureloadbalancer": "AzureLoadBalancer",
}
# Default rules share their namespace with nothing the user writes: keep them apart.
DEFAULT_RULE_PREFIX = "defaultSecurityRules/"

Json = Mapping[str, Any]


def arm_id(value: str | None) -> str:
    return (value or "").lower()


def _ref(obj: Json | None) -> str:
    """A reference to another resource: the same id in many objects, so one shared string."""
    return sys.intern(arm_id((obj or {}).get("id")))


def _tags(raw: Json) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in (raw.get("tags") or {}).items()}


@lru_cache(maxsize=512)
def _protocol(value: str) -> str:
    return sys.intern(canonical_protocol(value))


def _props(obj: Json) -> Json:
    return obj.get("properties") or {}


def _resource_props(raw: Any, kind: str) -> Json:
    """The ``properties`` object of a top-level ARM resource, which the API always sends: one
    without it (its fields at the top level, say) is a shape we do not understand, never an
    empty resource."""
    require_mapping(raw, kind)
    require_text(raw, "id", f"{kind} id")
    props = raw.get("properties")
    if not isinstance(props, Mapping):
        moved = sorted(k for k in raw if k not in ("id", "name", "type", "location", "etag",
                                                      "tags", "properties", "sku"))
        where = f" (found {', '.join(moved[:4])} outside it)" if moved else ""
        raise ShapeError(f"{kind} has no 'properties' object{where}")
    return props


@lru_cache(maxsize=65536)
def address_peer(prefix: str) -> Peer:
    """One entry of ``sourceAddressPrefix(es)`` / ``destinationAddressPrefix(es)``.

    Cached: large estates repeat the same few hundred prefixes across thousands of rules."""
    text = prefix.strip()
    lowered = text.lower()
    if lowered in _ANY:
        return Peer.shared(PeerKind.ANY, "*", EVERYWHERE)
    if lowered == "internet":
        return Peer.shared(PeerKind.SERVICE_TAG, "Internet", EVERYWHERE)
    if is_network(text):
        return Peer.cidr(text)
    return Peer.shared(PeerKind.SERVICE_TAG, _CANONICAL_TAGS.get(lowered, text))


def _asg_peer(asg_id: str) -> Peer:
    return Peer.shared(PeerKind.APPLICATION_SECURITY_GROUP, asg_id)


def _prefixes(props: Json, singular: str, plural: str) -> list[str]:
    """Only one of the singular and plural forms is set; an empty plural means unset."""
    many = [str(p) for p in props.get(plural) or [] if p not in (None, "")]
    if many:
        return many
    one = props.get(singular)
    return [str(one)] if one not in (None, "") else []


def _peers(props: Json, side: str) -> tuple[Peer, ...]:
    prefixes = _prefixes(props, f"{side}AddressPrefix", f"{side}AddressPrefixes")
    asgs = [_ref(a) for a in props.get(f"{side}ApplicationSecurityGroups") or []]
    return _peer_tuple(tuple(prefixes), tuple(asgs))


@lru_cache(maxsize=65536)
def _peer_tuple(prefixes: tuple[str, ...], asgs: tuple[str, ...]) -> tuple[Peer, ...]:
    peers = [address_peer(p) for p in prefixes]
    peers += [_asg_peer(a) for a in asgs]
    # The same prefix written twice is one peer; order is kept for display.
    return tuple(dict.fromkeys(peers))


def port_ranges(props: Json, side: str) -> PortSet:
    """``*``, ``"22"``, ``"1000-2000"`` or a list of those; unset means every port."""
    return _port_set(tuple(_prefixes(props, f"{side}PortRange", f"{side}PortRanges") or ["*"]))


@lru_cache(maxsize=65536)
def _port_set(items: tuple[str, ...]) -> PortSet:
    if len(items) == 1:
        return PortSet.parse(items[0])
    return PortSet(tuple(i for item in items for i in PortSet.parse(item).intervals))


def _checked_ports(props: Json, side: str, extra: dict[str, Any]) -> PortSet:
    """Ports that do not parse are kept as written and taken as every port, so one odd rule
    cannot make the whole subscription unreadable."""
    try:
        return port_ranges(props, side)
    except ValueError:
        extra[f"unparsed_{side}_ports"] = _prefixes(props, f"{side}PortRange", f"{side}PortRanges")
        return ALL_PORTS


def normalize_rule(raw: Json, is_default: bool = False) -> Rule:
    require_mapping(raw, "security rule")
    props = raw.get("properties")
    what = f"security rule {label(raw, 'name')}"
    if not isinstance(props, Mapping):
        raise ShapeError(f"{what} has no 'properties' object")
    inbound = require_choice(props, "direction", {"inbound", "outbound"},
                             f"{what} direction") == "inbound"
    access = require_choice(props, "access", {"allow", "deny"}, f"{what} access")
    priority = props.get("priority")
    if priority is not None and (not isinstance(priority, int) or isinstance(priority, bool)):
        raise ShapeError(f"{what} priority is not a number")
    sources, destinations = _peers(props, "source"), _peers(props, "destination")
    remote, local = (sources, destinations) if inbound else (destinations, sources)
    # A local side of "*" means every member of the NSG: the model says that with no targets.
    targets = tuple(p for p in local if p.kind is not PeerKind.ANY)
    extra: dict[str, Any] = {}
    raw_protocol = str(props.get("protocol") or "*")
    try:
        protocol = _protocol(raw_protocol)
    except ValueError:
        # A protocol this version does not know: kept as written in `extra`, and matched as
        # every protocol (what an allow rule can admit at most) rather than dropped.
        protocol = "all"
        extra["unrecognized_protocol"] = raw_protocol
    ports = _checked_ports(props, "destination", extra)
    source_ports = _checked_ports(props, "source", extra)
    if not source_ports.is_all():
        # Rarely restricted; when it is, the rule matches less than its destination ports say.
        extra["sourcePortRanges"] = source_ports.to_list()
    if protocol not in PORT_PROTOCOLS and protocol != "all" and not ports.is_all():
        # ICMP, ESP and AH have no ports: Azure ignores the field, so the model says "all".
        extra["destinationPortRanges"] = ports.to_list()
        ports = ALL_PORTS
    state = props.get("provisioningState")
    if state and state != "Succeeded":
        extra["provisioningState"] = _text(state)
    name = str(raw.get("name") or "")
    description = str(props.get("description") or "")
    native_id = name
    if is_default:
        # The same six rules in every NSG: one copy of their texts.
        name, description = sys.intern(name), sys.intern(description)
        native_id = sys.intern(DEFAULT_RULE_PREFIX + name)
    return Rule(
        direction=Direction.INGRESS if inbound else Direction.EGRESS,
        action=Action.ALLOW if access == "allow" else Action.DENY,
        protocol=protocol,
        ports=ports,
        peers=remote,
        targets=targets,
        priority=priority,
        native_id=native_id,
        name=name,
        description=description,
        is_default=is_default,
        extra=extra,
    )


def resource_group(resource_id: str) -> str:
    parts = resource_id.split("/")
    lowered = [p.lower() for p in parts]
    return sys.intern(parts[lowered.index("resourcegroups") + 1]) if "resourcegroups" in lowered \
        else ""


def normalize_nsg(
    scope: Scope, raw: Json, subnet_refs: Iterable[str] = (), nic_refs: Iterable[str] = ()
) -> RuleSet:
    """``subnet_refs``/``nic_refs``: attachments seen from the subnet and NIC side, merged with
    the NSG's own back-references (either side alone can be incomplete in partial reads)."""
    props = _resource_props(raw, "network security group")
    misplaced = sorted(k for k in ("securityRules", "defaultSecurityRules") if k in raw)
    if misplaced:
        raise ShapeError(f"network security group has {', '.join(misplaced)} outside "
                         "'properties'")
    if "defaultSecurityRules" not in props and "securityRules" not in props:
        # The API always sends them (the six default rules at least): without any the NSG
        # would read as admitting and denying nothing.
        raise ShapeError("network security group has no securityRules or defaultSecurityRules")
    rules = [normalize_rule(r) for r in optional_list(props, "securityRules")]
    rules += [normalize_rule(r, is_default=True)
              for r in optional_list(props, "defaultSecurityRules")]
    rules.sort(key=lambda r: (r.direction.value, r.priority or 0, r.native_id or ""))
    subnets = {_ref(s) for s in props.get("subnets") or []} | set(subnet_refs)
    nics = {_ref(n) for n in props.get("networkInterfaces") or []} | set(nic_refs)
    attachments = [Attachment("subnet", s) for s in sorted(subnets) if s]
    attachments += [Attachment("network_interface", n) for n in sorted(nics) if n]
    extra: dict[str, Any] = {"resourceGroup": resource_group(raw["id"])}
    if props.get("flushConnection"):
        extra["flushConnection"] = True
    return RuleSet(
        provider=PROVIDER,
        account=scope.account,
        region=_text(raw.get("location", "")),
        kind=RuleSetKind.AZURE_NSG,
        resource_id=arm_id(raw["id"]),
        name=raw.get("name", ""),
        rules=tuple(rules),
        attachments=tuple(attachments),
        tags=_tags(raw),
        extra=extra,
    )


def _subnet_prefixes(props: Json) -> tuple[str, ...]:
    return tuple(_prefixes(props, "addressPrefix", "addressPrefixes"))


def normalize_vnet(scope: Scope, raw: Json) -> tuple[Network, list[Subnet]]:
    props = _resource_props(raw, "virtual network")
    vnet_id = sys.intern(arm_id(raw["id"]))  # named again by each of its subnets
    location = _text(raw.get("location", ""))
    network = Network(
        provider=PROVIDER,
        account=scope.account,
        region=location,
        network_id=vnet_id,
        name=raw.get("name", ""),
        cidrs=tuple((props.get("addressSpace") or {}).get("addressPrefixes") or ()),
    )
    subnets = []
    for sub in optional_mappings(props, "subnets"):
        sp = _props(sub)
        nsg = _ref(sp.get("networkSecurityGroup"))
        extra: dict[str, Any] = {}
        if sp.get("routeTable"):
            extra["routeTable"] = _ref(sp["routeTable"])
        if sp.get("defaultOutboundAccess") is not None:
            extra["defaultOutboundAccess"] = bool(sp["defaultOutboundAccess"])
        subnets.append(Subnet(
            provider=PROVIDER,
            account=scope.account,
            region=location,
            subnet_id=arm_id(sub["id"]),
            network=vnet_id,
            name=sub.get("name", ""),
            cidrs=_subnet_prefixes(sp),
            rule_set_ids=(nsg,) if nsg else (),
            extra=extra,
        ))
    return network, subnets


def vnet_of(subnet_id: str) -> str:
    """A subnet id is its virtual network's id plus ``/subnets/<name>``."""
    head, sep, _ = subnet_id.rpartition("/subnets/")
    return sys.intern(head) if sep else ""


def _address_only(text: str) -> str:
    """``privateIPAddress`` of a prefix allocation reads ``172.20.2.16/28``."""
    return text.split("/", 1)[0]


def normalize_nic(scope: Scope, raw: Json, public_ips: Mapping[str, Json] | None,
                  balancers: LoadBalancerIndex | None = None) -> Asset:
    """``public_ips`` None means the public addresses of the subscription could not be read;
    ``balancers`` None that its load balancers could not be."""
    props = _resource_props(raw, "network interface")
    private: list[str] = []
    public: list[str] = []
    ipv6: list[str] = []
    asgs: list[str] = []
    pip_ids: list[str] = []
    skus: set[str] = set()
    unresolved: list[str] = []
    prefixes: list[str] = []
    subnet = None
    for config in optional_mappings(props, "ipConfigurations"):
        cp = _props(config)
        address = cp.get("privateIPAddress")
        if address:
            if "/" in address:
                prefixes.append(address)
            target = ipv6 if cp.get("privateIPAddressVersion") == "IPv6" else private
            target.append(_address_only(address))
        subnet = subnet or _ref(cp.get("subnet")) or None
        asgs += [_ref(a) for a in cp.get("applicationSecurityGroups") or []]
        pip_id = _ref(cp.get("publicIPAddress"))
        if not pip_id:
            continue
        pip_ids.append(pip_id)
        pip = (public_ips or {}).get(pip_id)
        if pip is None:
            unresolved.append(pip_id)
            continue
        pip_address = _props(pip).get("ipAddress")
        if pip_address:
            public.append(pip_address)
        # Standard SKU public IPs are closed unless an NSG allows; Basic ones (the default of
        # old API versions, which omit `sku`) are open when no NSG applies.
        skus.add((pip.get("sku") or {}).get("name") or "Basic")
    configs = props.get("ipConfigurations") or []
    if balancers is not None:
        front = balancers.for_nic(configs)
        if front.addresses:
            # Reachable through these public front ends even without a public IP of its own;
            # their SKU decides as the NIC's own public IP's would (Standard: closed unless an
            # NSG allows).
            extra_lb = {"load_balancer_public_addresses": list(front.addresses),
                        "load_balancers": list(front.load_balancers)}
            skus.update(front.skus)
        else:
            extra_lb = {}
        unresolved += front.unresolved
    else:
        extra_lb = {}
        # Load balancers not read: a pool or NAT rule the NIC sits behind may be public.
        unresolved += [_ref(ref) for config in configs for ref in
                       (_props(config).get("loadBalancerBackendAddressPools") or [])
                       + (_props(config).get("loadBalancerInboundNatRules") or [])]
    nsg = _ref(props.get("networkSecurityGroup"))
    vm = _ref(props.get("virtualMachine")) or None
    extra: dict[str, Any] = {
        "ip_forwarding": bool(props.get("enableIPForwarding", False)),
        "public_ip_sku": sys.intern(",".join(sorted(skus))) if skus else None,
        "attached": vm is not None,
    }
    extra.update(extra_lb)
    if pip_ids:
        extra["public_ip_ids"] = sorted(set(pip_ids))
    if unresolved:
        # Referenced but not read: the NIC may be reachable on an address we do not know.
        # (Also load balancer pools and NAT rules when the load balancers were not read.)
        extra["unresolved_public_ips"] = sorted(set(unresolved))
    if prefixes:
        extra["private_ip_prefixes"] = prefixes
    if props.get("privateEndpoint"):
        extra["private_endpoint"] = _ref(props["privateEndpoint"])
    return Asset(
        provider=PROVIDER,
        account=scope.account,
        region=_text(raw.get("location", "")),
        kind="azure_network_interface",
        asset_id=arm_id(raw["id"]),
        name=raw.get("name", ""),
        instance_id=vm,
        network=vnet_of(subnet or "") or None,
        subnet=subnet,
        private_addresses=tuple(private),
        public_addresses=tuple(public),
        ipv6_addresses=tuple(ipv6),
        rule_set_ids=(nsg,) if nsg else (),
        application_security_groups=tuple(dict.fromkeys(asgs)),
        state=_text(props.get("provisioningState", "")),
        tags=_tags(raw),
        extra=extra,
    )


_RESOURCE_KEYS = ("networkSecurityGroups", "networkInterfaces", "virtualNetworks",
                  "publicIPAddresses", "applicationSecurityGroups", "loadBalancers")


def _indexed(scope: Scope, raw: Json, key: str,
             bad: list[CollectionError]) -> list[Json] | None:
    """The items of one resource type that have an ARM id; the others are recorded in ``bad``
    (they cannot be joined to anything). None when the type was not read."""
    items = raw.get(key)
    if items is None:
        return None
    good = []
    for index, item in enumerate(items):
        found = guarded(scope, key, f"{key} {label(item, 'id', 'name', index=index)}",
                        lambda i=item: require_text(require_mapping(i, key), "id") and i)
        if isinstance(found, CollectionError):
            bad.append(found)
        else:
            good.append(found)
    return good


def normalize_scope(scope: Scope,
                    raw: Json) -> Iterator[RuleSet | Asset | Subnet | Network | CollectionError]:
    """Everything read from one subscription, joined in dictionaries; each object is built
    under its own guard, so one that cannot be read is a CollectionError naming it."""
    raw, bad = checked_payload(scope, raw, {key: list for key in _RESOURCE_KEYS})
    pips = _indexed(scope, raw, "publicIPAddresses", bad)
    public_ips = None if pips is None else {arm_id(p["id"]): p for p in pips}
    nsg_subnets: dict[str, set[str]] = {}
    for index, vnet in enumerate(raw.get("virtualNetworks") or []):
        built = guarded(scope, "virtualNetworks",
                        f"virtual network {label(vnet, 'id', 'name', index=index)}",
                        lambda v=vnet: normalize_vnet(scope, v))
        if isinstance(built, CollectionError):
            yield built
            continue
        network, subnets = built
        yield network
        for subnet in subnets:
            for nsg in subnet.rule_set_ids:
                nsg_subnets.setdefault(nsg, set()).add(subnet.subnet_id)
            yield subnet
    lbs = _indexed(scope, raw, "loadBalancers", bad)
    balancers = None
    if lbs is not None:
        # Each load balancer alone first, so an error names the one that is bad. Which NICs
        # it fronts is then unknown, so the index is dropped as a whole (every NIC's pools
        # and NAT rules count as unresolved) rather than read without it.
        bad_lbs = [checked for checked in (
            guarded(scope, "loadBalancers", f"load balancer {label(lb, 'id')}",
                    lambda b=lb: index_load_balancers([b], public_ips)) for lb in lbs)
            if isinstance(checked, CollectionError)]
        yield from bad_lbs
        indexed = bad_lbs[0] if bad_lbs else guarded(
            scope, "loadBalancers", "the load balancers",
            lambda: index_load_balancers(lbs, public_ips))
        if isinstance(indexed, CollectionError):
            if not bad_lbs:
                yield indexed  # NICs then count every pool and NAT rule as unresolved
        else:
            balancers = indexed
    nsg_nics: dict[str, set[str]] = {}
    for index, nic in enumerate(raw.get("networkInterfaces") or []):
        asset = guarded(scope, "networkInterfaces",
                        f"network interface {label(nic, 'id', 'name', index=index)}",
                        lambda n=nic: normalize_nic(scope, n, public_ips, balancers))
        if isinstance(asset, Asset):
            for nsg in asset.rule_set_ids:
                nsg_nics.setdefault(nsg, set()).add(asset.asset_id)
        yield asset
    for index, nsg in enumerate(raw.get("networkSecurityGroups") or []):
        nsg_id = arm_id(nsg.get("id")) if isinstance(nsg, Mapping) and \
            isinstance(nsg.get("id"), str) else ""
        yield guarded(scope, "networkSecurityGroups",
                      f"network security group {label(nsg, 'id', 'name', index=index)}",
                      lambda n=nsg, i=nsg_id: normalize_nsg(scope, n, nsg_subnets.get(i, ()),
                                                            nsg_nics.get(i, ())))
    yield from bad
