"""The Azure normalizer on raw ARM JSON, shaped as the Network REST API returns it."""

from __future__ import annotations

import json

import pytest

from providers.azure.normalize import (
    DEFAULT_RULE_PREFIX,
    normalize_nic,
    normalize_rule,
    normalize_scope,
)
from scanner.model import Action, Asset, Direction, PeerKind, Rule, RuleSet, Scope, Subnet
from scanner.netmath import PortSet, coverage

SCOPE = Scope("azure", "subid", "")
BASE = "/subscriptions/subid/resourceGroups/rg1/providers/Microsoft.Network"


def arm_rule(name="rule1", priority=130, access="Allow", direction="Inbound", protocol="*",
             **fields):
    """A security rule as the API returns it: singular values next to empty plural lists."""
    props = {
        "provisioningState": "Succeeded",
        "protocol": protocol,
        "sourcePortRange": "*",
        "destinationPortRange": "*",
        "sourceAddressPrefix": "*",
        "destinationAddressPrefix": "*",
        "sourcePortRanges": [],
        "destinationPortRanges": [],
        "sourceAddressPrefixes": [],
        "destinationAddressPrefixes": [],
        "access": access,
        "priority": priority,
        "direction": direction,
    }
    for key, value in fields.items():
        if value is None:
            props.pop(key, None)
        else:
            props[key] = value
    return {
        "name": name,
        "id": f"{BASE}/networkSecurityGroups/testnsg/securityRules/{name}",
        "etag": 'W/"00000000-0000-0000-0000-000000000000"',
        "type": "Microsoft.Network/networkSecurityGroups/securityRules",
        "properties": props,
    }


@pytest.mark.parametrize("fields, ports", [
    ({"destinationPortRange": "*"}, ["0-65535"]),
    ({"destinationPortRange": "22"}, ["22"]),
    ({"destinationPortRange": "1000-2000"}, ["1000-2000"]),
    ({"destinationPortRange": None, "destinationPortRanges": ["80", "443", "8000-8100"]},
     ["80", "443", "8000-8100"]),
    # Only one form is set; the plural wins when it has entries.
    ({"destinationPortRange": None, "destinationPortRanges": ["22", "21-23"]}, ["21-23"]),
    ({"destinationPortRange": None}, ["0-65535"]),
])
def test_destination_ports(fields, ports):
    rule = normalize_rule(arm_rule(protocol="Tcp", **fields))
    assert rule.ports.to_list() == ports


@pytest.mark.parametrize("source, kind, value, internet", [
    ("*", PeerKind.ANY, "*", True),
    ("Any", PeerKind.ANY, "*", True),
    ("Internet", PeerKind.SERVICE_TAG, "Internet", True),
    ("internet", PeerKind.SERVICE_TAG, "Internet", True),
    ("VirtualNetwork", PeerKind.SERVICE_TAG, "VirtualNetwork", False),
    ("virtualnetwork", PeerKind.SERVICE_TAG, "VirtualNetwork", False),
    ("AzureLoadBalancer", PeerKind.SERVICE_TAG, "AzureLoadBalancer", False),
    ("Storage.WestEurope", PeerKind.SERVICE_TAG, "Storage.WestEurope", False),
    ("AzureCloud", PeerKind.SERVICE_TAG, "AzureCloud", False),
    ("10.0.0.0/24", PeerKind.CIDR, "10.0.0.0/24", False),
    ("203.0.113.7", PeerKind.CIDR, "203.0.113.7", False),
    ("20.50.10.11", PeerKind.CIDR, "20.50.10.11", False),
    ("0.0.0.0/0", PeerKind.CIDR, "0.0.0.0/0", True),
    ("2001:db8::/32", PeerKind.CIDR, "2001:db8::/32", False),
])
def test_single_source_prefix(source, kind, value, internet):
    rule = normalize_rule(arm_rule(sourceAddressPrefix=source))
    assert [(p.kind, p.value) for p in rule.peers] == [(kind, value)]
    addresses = tuple(a for p in rule.peers for a in p.addresses)
    assert coverage(addresses).internet is internet
    # Service tags other than Internet stand for no addresses we can compute with.
    if kind is PeerKind.SERVICE_TAG and value != "Internet":
        assert addresses == ()


def test_source_prefix_list():
    rule = normalize_rule(arm_rule(
        sourceAddressPrefix=None,
        sourceAddressPrefixes=["10.10.5.0/24", "203.0.113.7", "AzureLoadBalancer", "10.10.5.0/24"],
    ))
    assert [(p.kind.value, p.value) for p in rule.peers] == [
        ("cidr", "10.10.5.0/24"), ("cidr", "203.0.113.7"), ("service_tag", "AzureLoadBalancer")]


@pytest.mark.parametrize("protocol, expected", [
    ("*", "all"), ("Tcp", "tcp"), ("Udp", "udp"), ("Icmp", "icmp"), ("Esp", "esp"), ("Ah", "ah"),
])
def test_protocols(protocol, expected):
    assert normalize_rule(arm_rule(protocol=protocol)).protocol == expected


def test_portless_protocols_admit_the_whole_protocol():
    rule = normalize_rule(arm_rule(protocol="Icmp", destinationPortRange="8"))
    assert rule.ports.is_all()
    assert rule.extra["destinationPortRanges"] == ["8"]
    # "*" keeps its ports: Azure applies them to the protocols that have ports.
    assert normalize_rule(arm_rule(protocol="*", destinationPortRange="22")).ports == PortSet.of(22)


def test_deny_and_priority_and_description():
    rule = normalize_rule(arm_rule("deny-rdp", 100, "Deny", protocol="Tcp",
                                   destinationPortRange="3389", sourceAddressPrefix="Internet",
                                   description="RDP <only> via bastion"))
    assert rule.action is Action.DENY and rule.priority == 100
    assert rule.native_id == "deny-rdp" and rule.name == "deny-rdp"
    assert rule.description == "RDP <only> via bastion"
    assert rule.direction is Direction.INGRESS and not rule.is_default


def test_outbound_rule_peers_are_destinations_and_targets_are_sources():
    rule = normalize_rule(arm_rule(direction="Outbound", sourceAddressPrefix="10.0.1.0/24",
                                   destinationAddressPrefix="Internet", protocol="Tcp",
                                   destinationPortRange="443"))
    assert rule.direction is Direction.EGRESS
    assert [p.value for p in rule.peers] == ["Internet"]
    assert [p.value for p in rule.targets] == ["10.0.1.0/24"]


def test_inbound_destination_is_the_target_and_star_means_every_member():
    narrowed = normalize_rule(arm_rule(destinationAddressPrefix="10.0.1.4"))
    assert [(p.kind, p.value) for p in narrowed.targets] == [(PeerKind.CIDR, "10.0.1.4")]
    assert normalize_rule(arm_rule()).targets == ()


def test_application_security_groups():
    asg = f"{BASE}/applicationSecurityGroups/ASG-Web"
    rule = normalize_rule(arm_rule(
        sourceAddressPrefix=None, destinationAddressPrefix=None,
        sourceApplicationSecurityGroups=[{"id": asg}],
        destinationApplicationSecurityGroups=[{"id": asg}],
    ))
    assert [(p.kind, p.value) for p in rule.peers] == [
        (PeerKind.APPLICATION_SECURITY_GROUP, asg.lower())]
    assert [(p.kind, p.value) for p in rule.targets] == [
        (PeerKind.APPLICATION_SECURITY_GROUP, asg.lower())]
    assert not coverage(tuple(a for p in rule.peers for a in p.addresses)).internet


def test_restricted_source_ports_are_kept():
    rule = normalize_rule(arm_rule(sourcePortRange=None, sourcePortRanges=["1024-65535"]))
    assert rule.extra["sourcePortRanges"] == ["1024-65535"]
    assert "sourcePortRanges" not in normalize_rule(arm_rule()).extra


def test_rule_survives_the_snapshot_json():
    rule = normalize_rule(arm_rule(sourceAddressPrefix=None,
                                   sourceAddressPrefixes=["Internet", "10.0.0.0/8"],
                                   protocol="Udp", destinationPortRange="500-501"))
    assert Rule.from_dict(rule.to_dict()) == rule


def _nsg(name, rules=(), subnets=(), nics=()):
    props = {
        "provisioningState": "Succeeded",
        "securityRules": list(rules),
        "defaultSecurityRules": [
            {"name": "DenyAllInBound",
             "id": f"{BASE}/networkSecurityGroups/{name}/defaultSecurityRules/DenyAllInBound",
             "properties": {"provisioningState": "Succeeded",
                            "description": "Deny all inbound traffic", "protocol": "*",
                            "sourcePortRange": "*", "destinationPortRange": "*",
                            "sourceAddressPrefix": "*", "destinationAddressPrefix": "*",
                            "access": "Deny", "priority": 65500, "direction": "Inbound"}},
            {"name": "AllowInternetOutBound",
             "id": f"{BASE}/networkSecurityGroups/{name}/defaultSecurityRules/"
                   "AllowInternetOutBound",
             "properties": {"provisioningState": "Succeeded",
                            "description": "Allow outbound traffic from all VMs to Internet",
                            "protocol": "*", "sourcePortRange": "*",
                            "destinationPortRange": "*", "sourceAddressPrefix": "*",
                            "destinationAddressPrefix": "Internet", "access": "Allow",
                            "priority": 65001, "direction": "Outbound"}},
        ],
    }
    if subnets:
        props["subnets"] = [{"id": s} for s in subnets]
    if nics:
        props["networkInterfaces"] = [{"id": n} for n in nics]
    return {"name": name, "id": f"{BASE}/networkSecurityGroups/{name}",
            "type": "Microsoft.Network/networkSecurityGroups", "location": "westus",
            "properties": props}


def _nic(name, subnet, address, nsg=None, pip=None, version="IPv4"):
    config = {"provisioningState": "Succeeded", "privateIPAddress": address,
              "privateIPAllocationMethod": "Dynamic", "subnet": {"id": subnet},
              "primary": True, "privateIPAddressVersion": version}
    if pip:
        config["publicIPAddress"] = {"id": pip}
    props = {"provisioningState": "Succeeded",
             "ipConfigurations": [{"name": "ipconfig1",
                                   "id": f"{BASE}/networkInterfaces/{name}/ipConfigurations/"
                                         "ipconfig1", "properties": config}],
             "enableIPForwarding": False, "primary": True,
             "virtualMachine": {"id": "/subscriptions/subid/resourceGroups/rg1/providers/"
                                      f"Microsoft.Compute/virtualMachines/vm-{name}"}}
    if nsg:
        props["networkSecurityGroup"] = {"id": nsg}
    return {"name": name, "id": f"{BASE}/networkInterfaces/{name}", "location": "westus",
            "type": "Microsoft.Network/networkInterfaces", "properties": props}


def _pip(name, address, sku="Standard"):
    body = {"name": name, "id": f"{BASE}/publicIPAddresses/{name}", "location": "westus",
            "type": "Microsoft.Network/publicIPAddresses",
            "properties": {"provisioningState": "Succeeded", "ipAddress": address,
                           "publicIPAddressVersion": "IPv4",
                           "publicIPAllocationMethod": "Static", "idleTimeoutInMinutes": 4}}
    if sku:
        body["sku"] = {"name": sku, "tier": "Regional"}
    return body


VNET = f"{BASE}/virtualNetworks/vnet1"


def _raw(**overrides):
    raw = {
        "networkSecurityGroups": [
            _nsg("nsg-both", [arm_rule("allow-ssh", 100, protocol="Tcp",
                                       destinationPortRange="22",
                                       sourceAddressPrefix="10.0.0.0/24")],
                 subnets=[f"{VNET}/subnets/app"], nics=[f"{BASE}/networkInterfaces/nic-app"]),
        ],
        "virtualNetworks": [{
            "name": "vnet1", "id": VNET, "location": "westus",
            "type": "Microsoft.Network/virtualNetworks",
            "properties": {"provisioningState": "Succeeded",
                           "addressSpace": {"addressPrefixes": ["10.0.0.0/16"]},
                           "subnets": [
                               {"name": "app", "id": f"{VNET}/subnets/app",
                                "properties": {"addressPrefix": "10.0.1.0/24",
                                               "networkSecurityGroup": {
                                                   "id": f"{BASE}/networkSecurityGroups/"
                                                         "NSG-BOTH"}}},
                               {"name": "bare", "id": f"{VNET}/subnets/bare",
                                "properties": {"addressPrefixes": ["10.0.2.0/24",
                                                                   "10.0.3.0/24"]}},
                           ]},
        }],
        # The NIC side spells the NSG id in another case: ARM ids are case-insensitive.
        "networkInterfaces": [
            _nic("nic-app", f"{VNET}/subnets/app", "10.0.1.4",
                 nsg=f"{BASE.upper()}/NETWORKSECURITYGROUPS/nsg-both",
                 pip=f"{BASE}/publicIPAddresses/pip-app"),
            _nic("nic-bare", f"{VNET}/subnets/bare", "10.0.2.4",
                 pip=f"{BASE}/publicIPAddresses/pip-old"),
        ],
        "publicIPAddresses": [_pip("pip-app", "20.1.2.3"), _pip("pip-old", "20.1.2.4", sku=None)],
        "applicationSecurityGroups": [],
    }
    raw.update(overrides)
    return raw


def _items(raw):
    out = {}
    for item in normalize_scope(SCOPE, raw):
        key = getattr(item, "resource_id", None) or getattr(item, "asset_id", None) \
            or getattr(item, "subnet_id", None) or item.network_id
        out[key] = item
    return out


def test_nsg_on_both_a_subnet_and_a_nic():
    items = _items(_raw())
    nsg_id = f"{BASE}/networkSecurityGroups/nsg-both".lower()
    nsg = items[nsg_id]
    assert isinstance(nsg, RuleSet)
    assert [(a.target_kind, a.target_id) for a in nsg.attachments] == [
        ("subnet", f"{VNET}/subnets/app".lower()),
        ("network_interface", f"{BASE}/networkInterfaces/nic-app".lower())]
    nic = items[f"{BASE}/networkInterfaces/nic-app".lower()]
    assert nic.rule_set_ids == (nsg_id,)
    assert items[f"{VNET}/subnets/app".lower()].rule_set_ids == (nsg_id,)
    assert nsg.extra["resourceGroup"] == "rg1" and nsg.region == "westus"


def test_attachments_seen_only_from_the_subnet_and_nic_side_are_kept():
    raw = _raw()
    props = raw["networkSecurityGroups"][0]["properties"]
    del props["subnets"], props["networkInterfaces"]
    nsg = _items(raw)[f"{BASE}/networkSecurityGroups/nsg-both".lower()]
    assert {a.target_kind for a in nsg.attachments} == {"subnet", "network_interface"}


def test_nic_without_nsg_in_subnet_without_nsg():
    items = _items(_raw())
    nic = items[f"{BASE}/networkInterfaces/nic-bare".lower()]
    subnet = items[f"{VNET}/subnets/bare".lower()]
    assert isinstance(nic, Asset) and isinstance(subnet, Subnet)
    assert nic.rule_set_ids == () and subnet.rule_set_ids == ()
    assert nic.subnet == subnet.subnet_id and nic.network == VNET.lower()
    assert subnet.cidrs == ("10.0.2.0/24", "10.0.3.0/24")
    # No sku on the public IP: an old Basic address, open where no NSG applies.
    assert nic.public_addresses == ("20.1.2.4",)
    assert nic.extra["public_ip_sku"] == "Basic"


def test_public_ip_sku_and_vm():
    nic = _items(_raw())[f"{BASE}/networkInterfaces/nic-app".lower()]
    assert nic.public_addresses == ("20.1.2.3",)
    assert nic.extra["public_ip_sku"] == "Standard"
    assert nic.instance_id.endswith("/virtualmachines/vm-nic-app")
    assert nic.private_addresses == ("10.0.1.4",)


def test_unread_public_ips_are_unresolved_not_absent():
    nic = _items(_raw(publicIPAddresses=None))[f"{BASE}/networkInterfaces/nic-app".lower()]
    assert nic.public_addresses == ()
    assert nic.extra["unresolved_public_ips"] == [f"{BASE}/publicIPAddresses/pip-app".lower()]


def test_default_rules_are_marked_and_kept_apart_from_user_rules():
    nsg = _items(_raw())[f"{BASE}/networkSecurityGroups/nsg-both".lower()]
    defaults = [r for r in nsg.rules if r.is_default]
    assert [(r.native_id, r.priority, r.action) for r in defaults] == [
        (DEFAULT_RULE_PREFIX + "AllowInternetOutBound", 65001, Action.ALLOW),
        (DEFAULT_RULE_PREFIX + "DenyAllInBound", 65500, Action.DENY)]
    outbound = defaults[0]
    assert outbound.direction is Direction.EGRESS
    assert coverage(tuple(a for p in outbound.peers for a in p.addresses)).internet
    # Evaluation order: by direction, then priority.
    assert [r.priority for r in nsg.rules] == [65001, 100, 65500]


def test_prefix_allocation_address_and_ipv6():
    nic = normalize_nic(SCOPE, _nic("nic6", f"{VNET}/subnets/app", "172.20.2.16/28"), {})
    assert nic.private_addresses == ("172.20.2.16",)
    assert nic.extra["private_ip_prefixes"] == ["172.20.2.16/28"]
    v6 = normalize_nic(SCOPE, _nic("nic7", f"{VNET}/subnets/app", "fd00::4", version="IPv6"), {})
    assert v6.ipv6_addresses == ("fd00::4",) and v6.private_addresses == ()


def test_missing_resource_types_yield_what_is_known():
    items = _items({"networkSecurityGroups": _raw()["networkSecurityGroups"]})
    assert len(items) == 1


def _lb_raw(public_ips=True, load_balancers=True):
    from tests.servers import azure_arm as api

    sub, rg = "subid", "rg1"
    subnet = f"{VNET}/subnets/app"
    pool_nic = api.nic(sub, rg, "nic-pool", subnet, "10.0.1.10",
                       pools=[f"{BASE}/loadBalancers/lb-pub/backendAddressPools/pool"])
    nat_nic = api.nic(sub, rg, "nic-nat", subnet, "10.0.1.11")  # named only by the NAT rule
    inner_nic = api.nic(sub, rg, "nic-inner", subnet, "10.0.1.12",
                        pools=[f"{BASE}/loadBalancers/lb-int/backendAddressPools/pool"])
    raw = {
        "networkInterfaces": [pool_nic, nat_nic, inner_nic],
        "publicIPAddresses": [api.public_ip(sub, rg, "pip-lb", "20.9.9.9")],
        "loadBalancers": [
            api.load_balancer(sub, rg, "lb-pub", f"{BASE}/publicIPAddresses/pip-lb",
                              pool_members=[], ports=[443],
                              nat_rules=[("ssh-nat", 50022, 22,
                                          f"{nat_nic['id']}/ipConfigurations/ipconfig1")]),
            api.load_balancer(sub, rg, "lb-int", None,
                              [f"{inner_nic['id']}/ipConfigurations/ipconfig1"], [1433]),
        ],
    }
    if not public_ips:
        del raw["publicIPAddresses"]
    if not load_balancers:
        del raw["loadBalancers"]
    return {a.name: a for a in normalize_scope(SCOPE, raw) if isinstance(a, Asset)}


def test_nics_behind_a_public_load_balancer():
    nics = _lb_raw()
    for name in ("nic-pool", "nic-nat"):
        assert nics[name].public_addresses == ()
        assert nics[name].extra["load_balancer_public_addresses"] == ["20.9.9.9"]
        assert nics[name].extra["load_balancers"] == [f"{BASE}/loadBalancers/lb-pub".lower()]
        assert nics[name].extra["public_ip_sku"] == "Standard"
    assert "load_balancer_public_addresses" not in nics["nic-inner"].extra
    assert "unresolved_public_ips" not in nics["nic-inner"].extra


def test_unread_load_balancer_addresses_are_unresolved():
    nics = _lb_raw(public_ips=False)
    assert nics["nic-pool"].extra["unresolved_public_ips"] == [
        f"{BASE}/publicIPAddresses/pip-lb".lower()]
    nics = _lb_raw(load_balancers=False)
    assert nics["nic-pool"].extra["unresolved_public_ips"] == [
        f"{BASE}/loadBalancers/lb-pub/backendAddressPools/pool".lower()]
    # Nothing points the NAT-only NIC at a load balancer from its own side.
    assert "unresolved_public_ips" not in nics["nic-nat"].extra


def test_unknown_protocol_and_ports_are_kept_not_fatal():
    rule = normalize_rule(arm_rule(protocol="Sctp2", destinationPortRange="ssh"))
    assert rule.protocol == "all" and rule.extra["unrecognized_protocol"] == "Sctp2"
    assert rule.ports.is_all() and rule.extra["unparsed_destination_ports"] == ["ssh"]


def _fresh(payload):
    """The payload as parsed from its own API answer: every string a new object."""
    return json.loads(json.dumps(payload))


def test_repeated_strings_and_equal_peers_are_shared_objects():
    asg = f"{BASE}/applicationSecurityGroups/web"
    rule = arm_rule("allow-web", 100, protocol="Tcp", destinationPortRange="443",
                    sourceAddressPrefix="10.0.0.0/24",
                    destinationApplicationSecurityGroups=[{"id": asg}])
    nsgs = [_fresh({**_nsg(name, [rule]), "tags": {"team": "web", "env": "prod"}})
            for name in ("nsg-a", "nsg-b")]
    nics = [_fresh({**_nic(name, f"{VNET}/subnets/app", address, nsg=nsgs[0]["id"]),
                    "tags": {"team": "web"}})
            for name, address in (("nic-1", "10.0.1.4"), ("nic-2", "10.0.1.5"))]
    items = _items(_raw(networkSecurityGroups=nsgs, networkInterfaces=nics,
                        virtualNetworks=[_fresh(v) for v in _raw()["virtualNetworks"]]))
    a, b = (items[f"{BASE}/networksecuritygroups/{n}".lower()] for n in ("nsg-a", "nsg-b"))
    n1, n2 = (items[f"{BASE}/networkinterfaces/{n}".lower()] for n in ("nic-1", "nic-2"))
    assert a.region == "westus" and a.region is b.region is n1.region is n2.region
    (key_a, value_a), (key_b, value_b) = (next(iter(sorted(x.tags.items()))) for x in (a, b))
    assert key_a is key_b and value_a is value_b
    assert n1.tags["team"] is n2.tags["team"] is a.tags["team"]
    assert a.extra["resourceGroup"] is b.extra["resourceGroup"]
    user_a, user_b = (next(r for r in x.rules if not r.is_default) for x in (a, b))
    assert user_a.protocol is user_b.protocol
    assert user_a.peers[0] is user_b.peers[0] and user_a.targets[0] is user_b.targets[0]
    for default_a, default_b in zip((r for r in a.rules if r.is_default),
                                    (r for r in b.rules if r.is_default), strict=True):
        assert default_a.name is default_b.name
        assert default_a.native_id is default_b.native_id
        assert default_a.description is default_b.description
        assert default_a.peers == default_b.peers
        assert all(x is y for x, y in zip(default_a.peers, default_b.peers, strict=True))
    assert n1.subnet is n2.subnet and n1.network is n2.network
    assert n1.rule_set_ids[0] is n2.rule_set_ids[0]
