"""Network interfaces, instances, subnets, route tables and VPCs -> model objects. Pure.

Enough to say later whether an interface can be reached from the internet: its addresses, its
security groups, its subnet's network ACL and the subnet's routes to an internet gateway.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from providers.aws.rules import tag_map
from providers.guard import guarded, label, require_mapping, require_text
from scanner.model import Asset, CollectionError, Network, Scope, Subnet

PROVIDER = "aws"
Json = Mapping[str, Any]
_DEAD_ROUTE_STATES = {"blackhole"}
_LIVE_IGW_ATTACHMENT = {"available", "attached"}


def _unique(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def interface(scope: Scope, eni: Json, instances: Mapping[str, Json]) -> Asset:
    require_text(require_mapping(eni, "network interface"), "NetworkInterfaceId")
    attachment = eni.get("Attachment") or {}
    instance_id = attachment.get("InstanceId")
    instance = instances.get(instance_id or "") or {}
    tags = tag_map(eni.get("TagSet") or eni.get("Tags"))
    private_ips = eni.get("PrivateIpAddresses") or ()
    private = _unique([eni.get("PrivateIpAddress")]
                      + [p.get("PrivateIpAddress") for p in private_ips])
    public = _unique([(eni.get("Association") or {}).get("PublicIp")]
                     + [(p.get("Association") or {}).get("PublicIp") for p in private_ips])
    ipv6 = _unique(a.get("Ipv6Address") for a in eni.get("Ipv6Addresses") or ())
    extra: dict[str, Any] = {
        "availability_zone": eni.get("AvailabilityZone", ""),
        "requester_managed": bool(eni.get("RequesterManaged", False)),
        "source_dest_check": eni.get("SourceDestCheck", True),
    }
    if eni.get("Description"):
        extra["description"] = eni["Description"]
    if attachment:
        extra["attachment_status"] = attachment.get("Status", "")
        if attachment.get("DeviceIndex") is not None:
            extra["device_index"] = attachment["DeviceIndex"]
    if instance:
        extra["instance_state"] = (instance.get("State") or {}).get("Name", "")
    owner = (eni.get("Association") or {}).get("IpOwnerId")
    if owner:
        extra["public_ip_owner"] = owner
    return Asset(
        provider=PROVIDER,
        account=scope.account,
        region=scope.region,
        kind="aws_network_interface",
        asset_id=eni["NetworkInterfaceId"],
        name=tag_map(instance.get("Tags")).get("Name") or tags.get("Name", ""),
        instance_id=instance_id,
        network=eni.get("VpcId"),
        subnet=eni.get("SubnetId"),
        private_addresses=private,
        public_addresses=public,
        ipv6_addresses=ipv6,
        rule_set_ids=_unique(g.get("GroupId") for g in eni.get("Groups") or ()),
        state=eni.get("Status", ""),
        interface_type=eni.get("InterfaceType", ""),
        tags=tags,
        extra=extra,
    )


def normalize_interfaces(scope: Scope, enis: Iterable[Json],
                         instances: Mapping[str, Json]) -> Iterator[Asset]:
    for eni in enis:
        yield interface(scope, eni, instances)


def _attached_igws(gateways: Sequence[Json] | None) -> dict[str, set[str]] | None:
    """VPC id -> internet gateways attached to it; None when the gateways were not read."""
    if gateways is None:
        return None
    by_vpc: dict[str, set[str]] = {}
    for gateway in gateways:
        for attachment in gateway.get("Attachments") or ():
            if attachment.get("State", "available") in _LIVE_IGW_ATTACHMENT:
                by_vpc.setdefault(attachment.get("VpcId", ""), set()).add(
                    gateway["InternetGatewayId"])
    return by_vpc


def internet_routes(table: Json, igws: set[str] | None) -> tuple[str, ...]:
    """Destinations the table sends to an internet gateway (egress-only gateways admit nothing
    inbound and do not count)."""
    out = []
    for route in table.get("Routes") or ():
        gateway = route.get("GatewayId") or ""
        if not gateway.startswith("igw-") or route.get("State") in _DEAD_ROUTE_STATES:
            continue
        if igws is not None and gateway not in igws:
            continue  # the gateway is gone or attached elsewhere: the route is dead
        out.append(route.get("DestinationCidrBlock") or route.get("DestinationIpv6CidrBlock")
                   or route.get("DestinationPrefixListId"))
    return _unique(out)


def normalize_vpc(scope: Scope, vpc: Json, gateways: Sequence[Json] | None) -> Network:
    require_text(require_mapping(vpc, "VPC"), "VpcId")
    cidrs = [a.get("CidrBlock") for a in vpc.get("CidrBlockAssociationSet") or ()
             if (a.get("CidrBlockState") or {}).get("State", "associated") == "associated"]
    cidrs += [a.get("Ipv6CidrBlock") for a in vpc.get("Ipv6CidrBlockAssociationSet") or ()
              if (a.get("Ipv6CidrBlockState") or {}).get("State", "associated") == "associated"]
    igws = _attached_igws(gateways)
    extra: dict[str, Any] = {"state": vpc.get("State", "")}
    if vpc.get("OwnerId"):
        extra["OwnerId"] = vpc["OwnerId"]
    if igws is not None:
        extra["internet_gateways"] = sorted(igws.get(vpc["VpcId"], ()))
    return Network(
        provider=PROVIDER,
        account=scope.account,
        region=scope.region,
        network_id=vpc["VpcId"],
        name=tag_map(vpc.get("Tags")).get("Name", ""),
        cidrs=_unique([vpc.get("CidrBlock"), *cidrs]),
        is_default=bool(vpc.get("IsDefault")),
        extra=extra,
    )


def _route_table_of_subnet(tables: Sequence[Json]) -> tuple[dict[str, Json], dict[str, Json]]:
    """(subnet id -> its explicitly associated table, VPC id -> its main table)."""
    by_subnet: dict[str, Json] = {}
    main: dict[str, Json] = {}
    for table in tables:
        for association in table.get("Associations") or ():
            if association.get("SubnetId"):
                by_subnet[association["SubnetId"]] = table
            if association.get("Main"):
                main[table.get("VpcId", "")] = table
    return by_subnet, main


def normalize_subnets(scope: Scope, raw: Json) -> Iterator[Subnet | CollectionError]:
    """Every subnet under its own guard. The indexes the subnets are joined with (network ACL
    associations, route tables, internet gateways) are built first; one that cannot be built
    is recorded and treated as not read, so no subnet's routes are guessed."""

    def nacl_index() -> dict[str, str]:
        out: dict[str, str] = {}
        for acl in raw.get("NetworkAcls") or ():
            if not isinstance(acl, Mapping) or not isinstance(acl.get("NetworkAclId"), str):
                continue  # reported by the network ACL's own guard
            for association in acl.get("Associations") or ():
                if association.get("SubnetId"):
                    out[association["SubnetId"]] = acl["NetworkAclId"]
        return out

    nacl_of = guarded(scope, "NetworkAcls", "the network ACL associations", nacl_index)
    tables = guarded(scope, "RouteTables", "the route tables",
                     lambda: _route_table_of_subnet(raw.get("RouteTables") or ()))
    igws = guarded(scope, "InternetGateways", "the internet gateways",
                   lambda: _attached_igws(raw.get("InternetGateways")))
    for index_error in (nacl_of, tables, igws):
        if isinstance(index_error, CollectionError):
            yield index_error
    if isinstance(nacl_of, CollectionError):
        nacl_of = {}
    tables_read = "RouteTables" in raw and not isinstance(tables, CollectionError)
    by_subnet, main = tables if not isinstance(tables, CollectionError) else ({}, {})
    gateways = None if isinstance(igws, CollectionError) else igws
    for index, subnet in enumerate(raw.get("Subnets") or ()):
        yield guarded(scope, "Subnets", f"subnet {label(subnet, 'SubnetId', index=index)}",
                      lambda s=subnet: _subnet(scope, s, nacl_of, by_subnet, main, tables_read,
                                               gateways))


def _subnet(scope: Scope, subnet: Json, nacl_of: Mapping[str, str],
            by_subnet: Mapping[str, Json], main: Mapping[str, Json], tables_read: bool,
            igws: dict[str, set[str]] | None) -> Subnet:
    subnet_id = require_text(require_mapping(subnet, "subnet"), "SubnetId")
    vpc_id = subnet.get("VpcId", "")
    table = by_subnet.get(subnet_id) or main.get(vpc_id)
    extra: dict[str, Any] = {
        "availability_zone": subnet.get("AvailabilityZone", ""),
        "map_public_ip_on_launch": bool(subnet.get("MapPublicIpOnLaunch", False)),
        "default_for_az": bool(subnet.get("DefaultForAz", False)),
    }
    if table is not None:
        extra["route_table"] = table.get("RouteTableId", "")
        extra["main_route_table"] = subnet_id not in by_subnet
    elif not tables_read:
        extra["routes_unknown"] = True
    cidrs = [subnet.get("CidrBlock")]
    cidrs += [a.get("Ipv6CidrBlock") for a in subnet.get("Ipv6CidrBlockAssociationSet") or ()
              if (a.get("Ipv6CidrBlockState") or {}).get("State", "associated")
              == "associated"]
    return Subnet(
        provider=PROVIDER,
        account=scope.account,
        region=scope.region,
        subnet_id=subnet_id,
        network=vpc_id,
        name=tag_map(subnet.get("Tags")).get("Name", ""),
        cidrs=_unique(cidrs),
        rule_set_ids=(nacl_of[subnet_id],) if subnet_id in nacl_of else (),
        internet_routes=internet_routes(table, None if igws is None else
                                        igws.get(vpc_id, set())) if table else (),
        extra=extra,
    )
