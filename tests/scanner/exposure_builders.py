"""Small builders of model objects for the exposure tests: snapshots made directly, no provider."""

from __future__ import annotations

from datetime import datetime, timezone

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
    Snapshot,
    Subnet,
)
from scanner.netmath import PortSet

TAKEN = datetime(2026, 1, 1, tzinfo=timezone.utc)
ALLOW, DENY, NEXT = Action.ALLOW, Action.DENY, Action.GOTO_NEXT
IN, OUT = Direction.INGRESS, Direction.EGRESS


def rule(action, protocol="tcp", ports="*", sources=("0.0.0.0/0",), priority=None, *,
         direction=IN, native_id=None, targets=(), **kw) -> Rule:
    peers = tuple(p if isinstance(p, Peer) else Peer.cidr(p) for p in sources)
    return Rule(direction, action, protocol, PortSet.parse(ports), peers, priority,
                native_id=native_id, targets=tuple(targets), **kw)


def snapshot(*items, errors=(), snapshot_id="snap-1") -> Snapshot:
    scopes = {Scope(i.provider, i.account, i.region) for i in items if hasattr(i, "account")}
    return Snapshot.from_items(snapshot_id, TAKEN, scopes, [*items, *errors],
                               {s.provider for s in scopes})


def scope_error(provider, account, region="", resource_type=None) -> CollectionError:
    return CollectionError(provider, account, region, "AccessDenied", "grant read access",
                           resource_type)


# --- AWS ----------------------------------------------------------------------------------

AWS_ACCOUNT, AWS_REGION = "111122223333", "eu-west-1"


def acl(acl_id, ingress=(), egress=(), subnets=()) -> RuleSet:
    """Rules are (number, action, protocol, ports, cidr); the ``*`` deny entries are added."""
    rules = []
    for direction, entries in ((IN, ingress), (OUT, egress)):
        label = "ingress" if direction is IN else "egress"
        for number, action, protocol, ports, cidr in entries:
            rules.append(rule(action, protocol, ports, (cidr,), number, direction=direction,
                              native_id=f"{label}:{number}"))
        for cidr in ("0.0.0.0/0", "::/0"):
            rules.append(rule(DENY, "all", "*", (cidr,), 32767, direction=direction,
                              native_id=f"{label}:*:{cidr}", is_default=True))
    return RuleSet("aws", AWS_ACCOUNT, AWS_REGION, RuleSetKind.AWS_NETWORK_ACL, acl_id, acl_id,
                   tuple(rules), tuple(Attachment("subnet", s) for s in subnets), "vpc-1")


OPEN_ACL = (((100, ALLOW, "all", "*", "0.0.0.0/0"), (101, ALLOW, "all", "*", "::/0")),
            ((100, ALLOW, "all", "*", "0.0.0.0/0"), (101, ALLOW, "all", "*", "::/0")))


def sg(group_id, *ingress, name=None) -> RuleSet:
    """``ingress`` are (protocol, ports, cidrs) allows."""
    rules = tuple(rule(ALLOW, protocol, ports, cidrs, native_id=f"{group_id}-r{i}")
                  for i, (protocol, ports, cidrs) in enumerate(ingress))
    egress = rule(ALLOW, "all", "*", ("0.0.0.0/0",), direction=OUT, native_id=f"{group_id}-out")
    return RuleSet("aws", AWS_ACCOUNT, AWS_REGION, RuleSetKind.AWS_SECURITY_GROUP, group_id,
                   name or group_id, rules + (egress,), (), "vpc-1")


def aws_subnet(subnet_id="subnet-1", acl_id="acl-1", routes=("0.0.0.0/0", "::/0")) -> Subnet:
    return Subnet("aws", AWS_ACCOUNT, AWS_REGION, subnet_id, "vpc-1", subnet_id, ("10.0.1.0/24",),
                  (acl_id,) if acl_id else (), tuple(routes))


def eni(eni_id="eni-1", groups=("sg-1",), subnet="subnet-1", public=("54.1.2.3",), ipv6=(),
        name=None, **kw) -> Asset:
    return Asset("aws", AWS_ACCOUNT, AWS_REGION, "aws_network_interface", eni_id, name or eni_id,
                 instance_id="i-1", network="vpc-1", subnet=subnet,
                 private_addresses=("10.0.1.10",), public_addresses=tuple(public),
                 ipv6_addresses=tuple(ipv6), rule_set_ids=tuple(groups), **kw)


# --- Azure --------------------------------------------------------------------------------

SUB, AZ_REGION = "00000000-0000-0000-0000-000000000001", "westeurope"
VNET = f"/subscriptions/{SUB}/resourcegroups/rg/providers/microsoft.network/virtualnetworks/vnet"
INTERNET = Peer(PeerKind.SERVICE_TAG, "Internet", ("0.0.0.0/0", "::/0"))
VIRTUAL_NETWORK = Peer(PeerKind.SERVICE_TAG, "VirtualNetwork", ("10.0.0.0/16",))
LOAD_BALANCER = Peer(PeerKind.SERVICE_TAG, "AzureLoadBalancer")


def azure_defaults() -> tuple[Rule, ...]:
    return (
        rule(ALLOW, "all", "*", (VIRTUAL_NETWORK,), 65000, native_id="AllowVnetInBound",
             targets=(VIRTUAL_NETWORK,), is_default=True),
        rule(ALLOW, "all", "*", (LOAD_BALANCER,), 65001,
             native_id="AllowAzureLoadBalancerInBound", is_default=True),
        rule(DENY, "all", "*", (Peer(PeerKind.ANY, "*", ("0.0.0.0/0", "::/0")),), 65500,
             native_id="DenyAllInBound", is_default=True),
    )


def nsg(name, *rules) -> RuleSet:
    """Custom inbound rules; the default rules are added."""
    resource_id = (f"/subscriptions/{SUB}/resourcegroups/rg/providers/microsoft.network/"
                   f"networksecuritygroups/{name}")
    return RuleSet("azure", SUB, AZ_REGION, RuleSetKind.AZURE_NSG, resource_id, name,
                   tuple(rules) + azure_defaults(), (), VNET)


def azure_subnet(name="app", nsg_set=None) -> Subnet:
    return Subnet("azure", SUB, AZ_REGION, f"{VNET}/subnets/{name}", VNET, name, ("10.0.1.0/24",),
                  (nsg_set.resource_id,) if nsg_set else ())


def nic(name="vm1-nic", subnet="app", nsg_set=None, public=("20.1.2.3",), sku="Standard",
        private=("10.0.1.4",), asgs=(), **extra) -> Asset:
    data = {"public_ip_sku": sku, **extra}
    return Asset("azure", SUB, AZ_REGION, "azure_network_interface",
                 f"/subscriptions/{SUB}/resourcegroups/rg/providers/microsoft.network/"
                 f"networkinterfaces/{name}", name, instance_id="vm1", network=VNET,
                 subnet=f"{VNET}/subnets/{subnet}", private_addresses=tuple(private),
                 public_addresses=tuple(public),
                 rule_set_ids=(nsg_set.resource_id,) if nsg_set else (),
                 application_security_groups=tuple(asgs), extra=data)


# --- GCP ----------------------------------------------------------------------------------

PROJECT = "demo-project"
NET = f"projects/{PROJECT}/global/networks/prod"


def implied() -> tuple[Rule, ...]:
    return (
        rule(DENY, "all", "*", ("0.0.0.0/0", "::/0"), 65535, native_id="implied-deny-ingress/all",
             is_default=True),
        rule(ALLOW, "all", "*", ("0.0.0.0/0", "::/0"), 65535, direction=OUT,
             native_id="implied-allow-egress/all", is_default=True),
    )


def vpc_rules(*rules, network=NET) -> RuleSet:
    return RuleSet("gcp", PROJECT, "global", RuleSetKind.GCP_VPC_FIREWALL, f"{network}/firewalls",
                   "prod", tuple(rules) + implied(), (Attachment("network", network),), network)


def policy(name, *rules, hierarchical=False, region="global") -> RuleSet:
    kind = RuleSetKind.GCP_HIERARCHICAL_POLICY if hierarchical else RuleSetKind.GCP_NETWORK_POLICY
    resource_id = (f"locations/global/firewallPolicies/{name}" if hierarchical
                   else f"projects/{PROJECT}/global/firewallPolicies/{name}")
    return RuleSet("gcp", PROJECT, region, kind, resource_id, name, tuple(rules),
                   (Attachment("network", NET),), NET)


def gcp_network(*rule_sets, order=None) -> Network:
    return Network("gcp", PROJECT, "global", NET, "prod",
                   enforcement_order=order or "AFTER_CLASSIC_FIREWALL",
                   rule_set_ids=tuple(rs.resource_id for rs in rule_sets))


def instance(name="web-1", tags=(), accounts=(), public=("34.1.2.3",), ipv6=()) -> Asset:
    instance_id = f"projects/{PROJECT}/zones/europe-west1-b/instances/{name}"
    return Asset("gcp", PROJECT, "europe-west1", "gcp_instance_interface", f"{instance_id}/nic0",
                 name, instance_id=instance_id, network=NET,
                 subnet=f"projects/{PROJECT}/regions/europe-west1/subnetworks/prod",
                 private_addresses=("10.128.0.2",), public_addresses=tuple(public),
                 ipv6_addresses=tuple(ipv6), network_tags=tuple(tags),
                 service_accounts=tuple(accounts))
