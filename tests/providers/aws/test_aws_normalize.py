"""The AWS normalizer on raw payloads shaped exactly like boto3's EC2 and GuardDuty responses."""

from __future__ import annotations

import pytest

from providers.aws import normalize_scope
from providers.aws.normalize import network_acl, security_group
from providers.aws.rules import nacl_entry, permission_rules, security_group_rule
from scanner.model import (
    Action,
    Asset,
    CollectionError,
    Direction,
    IpList,
    Network,
    PeerKind,
    RuleSet,
    RuleSetKind,
    Scope,
    Subnet,
)
from scanner.netmath import PortSet, coverage

SCOPE = Scope("aws", "123456789012", "us-east-1", "prod")
SG = "sg-0a1b2c3d4e5f60718"
VPC = "vpc-0123456789abcdef0"


def row(rule_id="sgr-0000000000000001", protocol="tcp", low=22, high=22, egress=False, **peer):
    """A SecurityGroupRule of describe_security_group_rules."""
    out = {
        "SecurityGroupRuleId": rule_id,
        "GroupId": SG,
        "GroupOwnerId": "123456789012",
        "IsEgress": egress,
        "IpProtocol": protocol,
        "FromPort": low,
        "ToPort": high,
        "Tags": [],
        "SecurityGroupRuleArn": f"arn:aws:ec2:us-east-1:123456789012:security-group-rule/{rule_id}",
    }
    out.update(peer or {"CidrIpv4": "10.0.0.0/8"})
    return out


def group(name="web", group_id=SG, permissions=(), egress=()):
    return {
        "GroupId": group_id,
        "GroupName": name,
        "Description": f"{name} group",
        "OwnerId": "123456789012",
        "VpcId": VPC,
        "IpPermissions": list(permissions),
        "IpPermissionsEgress": list(egress),
        "Tags": [{"Key": "team", "Value": "edge"}],
        "SecurityGroupArn": f"arn:aws:ec2:us-east-1:123456789012:security-group/{group_id}",
    }


def entry(number, action="allow", protocol="6", egress=False, cidr="0.0.0.0/0", ports=None,
          icmp=None, ipv6=None):
    out = {"Egress": egress, "Protocol": protocol, "RuleAction": action, "RuleNumber": number}
    if ipv6:
        out["Ipv6CidrBlock"] = ipv6
    else:
        out["CidrBlock"] = cidr
    if ports:
        out["PortRange"] = {"From": ports[0], "To": ports[1]}
    if icmp:
        out["IcmpTypeCode"] = {"Type": icmp[0], "Code": icmp[1]}
    return out


# --- security group rules ---------------------------------------------------------------------

def test_all_protocols_means_all_ports():
    rule = security_group_rule(row(protocol="-1", low=-1, high=-1), {})
    assert rule.protocol == "all" and rule.ports.is_all()
    assert rule.icmp_type is None and rule.icmp_code is None


@pytest.mark.parametrize(("raw", "name"), [("6", "tcp"), ("17", "udp"), ("58", "icmpv6"),
                                           ("tcp", "tcp"), ("50", "esp"), ("47", "gre")])
def test_protocol_numbers_as_strings(raw, name):
    low, high = (443, 443) if name in ("tcp", "udp") else (-1, -1)
    rule = security_group_rule(row(protocol=raw, low=low, high=high), {})
    assert rule.protocol == name
    if name in ("tcp", "udp"):
        assert rule.ports == PortSet.of(443)
    else:
        assert rule.ports.is_all()


@pytest.mark.parametrize(("low", "high", "icmp_type", "icmp_code"),
                         [(3, 4, 3, 4), (8, -1, 8, None), (-1, -1, None, None), (0, 0, 0, 0)])
def test_icmp_type_and_code_ride_in_the_port_fields(low, high, icmp_type, icmp_code):
    for protocol, name in (("icmp", "icmp"), ("1", "icmp"), ("icmpv6", "icmpv6"),
                           ("58", "icmpv6")):
        rule = security_group_rule(row(protocol=protocol, low=low, high=high), {})
        assert (rule.protocol, rule.icmp_type, rule.icmp_code) == (name, icmp_type, icmp_code)
        assert rule.ports.is_all()


def test_port_ranges():
    assert security_group_rule(row(low=0, high=65535), {}).ports.is_all()
    assert security_group_rule(row(low=20, high=25), {}).ports == PortSet.of((20, 25))
    assert 25 in security_group_rule(row(low=20, high=25), {}).ports


def test_ipv6_everywhere_is_the_internet():
    rule = security_group_rule(row(CidrIpv6="::/0"), {})
    assert [p.value for p in rule.peers] == ["::/0"]
    assert rule.peers[0].kind is PeerKind.CIDR
    assert coverage(rule.peers[0].addresses).internet


def test_prefix_list_resolved_to_entries_and_id_kept():
    entries = {"pl-0a1b2c3d": ("198.51.100.0/24", "192.0.2.0/28")}
    rule = security_group_rule(row(PrefixListId="pl-0a1b2c3d"), entries)
    (peer,) = rule.peers
    assert peer.kind is PeerKind.PREFIX_LIST and peer.value == "pl-0a1b2c3d"
    assert peer.addresses == ("198.51.100.0/24", "192.0.2.0/28")
    assert "prefix_list_unresolved" not in rule.extra


def test_prefix_list_without_entries_is_marked_unresolved():
    rule = security_group_rule(row(PrefixListId="pl-0f0f0f0f"), {})
    assert rule.peers[0].addresses == ()
    assert rule.extra["prefix_list_unresolved"] is True


def test_group_reference_in_another_account_over_peering():
    ref = {"GroupId": "sg-0badc0ffee0000001", "UserId": "210987654321",
           "VpcId": "vpc-0fedcba987654321", "VpcPeeringConnectionId": "pcx-0123abcd",
           "PeeringStatus": "active"}
    rule = security_group_rule(row(ReferencedGroupInfo=ref), {})
    (peer,) = rule.peers
    assert (peer.kind, peer.value, peer.account) == (PeerKind.SECURITY_GROUP,
                                                      "sg-0badc0ffee0000001", "210987654321")
    assert peer.addresses == ()
    assert rule.extra["vpc_peering_connection_id"] == "pcx-0123abcd"
    assert rule.extra["referenced_vpc_id"] == "vpc-0fedcba987654321"


def test_description_is_kept_verbatim():
    text = "</td><script>alert('x')</script> ${jndi:ldap://x} \u202e \U0001f525 \"; DROP"
    rule = security_group_rule(row(Description=text, CidrIpv4="10.0.0.0/8"), {})
    assert rule.description == text


def test_rule_identity_is_the_stable_rule_id_and_direction_comes_from_is_egress():
    rule = security_group_rule(row(rule_id="sgr-0123456789abcdef0", egress=True), {})
    assert rule.native_id == rule.identity() == "sgr-0123456789abcdef0"
    assert rule.direction is Direction.EGRESS and rule.action is Action.ALLOW


def test_ip_permissions_fallback_gives_one_rule_per_peer():
    permission = {
        "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
        "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "web"}],
        "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
        "PrefixListIds": [{"PrefixListId": "pl-0a1b2c3d", "Description": "office"}],
        "UserIdGroupPairs": [{"GroupId": "sg-0badc0ffee0000001", "UserId": "210987654321"}],
    }
    rules = list(permission_rules(permission, False, {"pl-0a1b2c3d": ("198.51.100.0/24",)}))
    assert [(r.peers[0].kind, r.peers[0].value) for r in rules] == [
        (PeerKind.CIDR, "0.0.0.0/0"), (PeerKind.CIDR, "::/0"),
        (PeerKind.PREFIX_LIST, "pl-0a1b2c3d"), (PeerKind.SECURITY_GROUP, "sg-0badc0ffee0000001")]
    assert rules[0].description == "web" and rules[2].peers[0].addresses == ("198.51.100.0/24",)
    assert all(r.native_id is None and r.ports == PortSet.of(443) for r in rules)
    assert rules[3].peers[0].account == "210987654321"


def test_default_security_group():
    raw = group(name="default")
    rows = [row("sgr-1", protocol="-1", low=-1, high=-1,
                ReferencedGroupInfo={"GroupId": SG, "UserId": "123456789012"}),
            row("sgr-2", protocol="-1", low=-1, high=-1, egress=True, CidrIpv4="0.0.0.0/0")]
    rule_set = security_group(SCOPE, raw, rows, ["eni-2", "eni-1", "eni-1"], {})
    assert rule_set.is_default and rule_set.kind is RuleSetKind.AWS_SECURITY_GROUP
    assert rule_set.network == VPC and rule_set.region == "us-east-1"
    assert [a.target_id for a in rule_set.attachments] == ["eni-1", "eni-2"]
    assert {a.target_kind for a in rule_set.attachments} == {"network_interface"}
    ingress = [r for r in rule_set.rules if r.direction is Direction.INGRESS]
    assert ingress[0].peers[0].kind is PeerKind.SECURITY_GROUP and ingress[0].peers[0].value == SG
    assert rule_set.tags == {"team": "edge"}
    assert not security_group(SCOPE, group(name="web"), rows, [], {}).is_default


# --- network ACLs -----------------------------------------------------------------------------

def default_acl(entries, subnets=("subnet-1",), is_default=False):
    return {
        "Associations": [{"NetworkAclAssociationId": f"aclassoc-{s}", "NetworkAclId": "acl-1",
                          "SubnetId": s} for s in subnets],
        "Entries": entries,
        "IsDefault": is_default,
        "NetworkAclId": "acl-1",
        "Tags": [{"Key": "Name", "Value": "public"}],
        "VpcId": VPC,
        "OwnerId": "123456789012",
    }


def test_nacl_entries_in_rule_number_order_with_the_final_star_deny():
    acl = network_acl(SCOPE, default_acl([
        entry(32767, "deny", "-1"),
        entry(200, "allow", "6", ports=(443, 443)),
        entry(100, "deny", "6", ports=(22, 22)),
        entry(32767, "deny", "-1", egress=True),
        entry(100, "allow", "-1", egress=True),
    ], subnets=("subnet-b", "subnet-a")))
    assert acl.kind is RuleSetKind.AWS_NETWORK_ACL and acl.name == "public"
    assert [a.target_id for a in acl.attachments] == ["subnet-a", "subnet-b"]
    assert {a.target_kind for a in acl.attachments} == {"subnet"}
    ingress = [r for r in acl.rules if r.direction is Direction.INGRESS]
    assert [r.native_id for r in ingress] == ["ingress:100", "ingress:200", "ingress:32767"]
    assert [r.priority for r in ingress] == [100, 200, 32767]
    assert ingress[0].action is Action.DENY and ingress[0].ports == PortSet.of(22)
    star = ingress[-1]
    assert star.is_default and star.action is Action.DENY and star.protocol == "all"
    assert star.ports.is_all() and star.name == "*"
    assert not any(r.is_default for r in acl.rules if r.priority and r.priority < 32767)
    egress = [r.native_id for r in acl.rules if r.direction is Direction.EGRESS]
    assert egress == ["egress:100", "egress:32767"]


def test_nacl_ipv6_entries_and_their_star_entry():
    acl = network_acl(SCOPE, default_acl([
        entry(101, "allow", "-1", ipv6="::/0"),
        entry(32768, "deny", "-1", ipv6="::/0"),
        entry(32767, "deny", "-1"),
    ], is_default=True))
    assert acl.is_default
    by_id = {r.native_id: r for r in acl.rules}
    assert by_id["ingress:101"].peers[0].value == "::/0"
    assert coverage(by_id["ingress:101"].peers[0].addresses).internet
    assert by_id["ingress:32768"].is_default and by_id["ingress:32767"].is_default


def test_nacl_icmp_and_udp_entries():
    icmp = nacl_entry(entry(120, protocol="1", icmp=(8, -1)))
    assert (icmp.protocol, icmp.icmp_type, icmp.icmp_code) == ("icmp", 8, None)
    assert icmp.ports.is_all()
    every = nacl_entry(entry(121, protocol="58", icmp=(-1, -1), ipv6="::/0"))
    assert (every.protocol, every.icmp_type, every.icmp_code) == ("icmpv6", None, None)
    udp = nacl_entry(entry(130, protocol="17", ports=(1024, 65535), egress=True))
    assert udp.protocol == "udp" and udp.ports == PortSet.of((1024, 65535))
    assert udp.direction is Direction.EGRESS and udp.native_id == "egress:130"


# --- a whole scope ----------------------------------------------------------------------------

def scope_raw():
    return {
        "Vpcs": [{"CidrBlock": "10.0.0.0/16", "VpcId": VPC, "State": "available",
                  "OwnerId": "123456789012", "IsDefault": False,
                  "CidrBlockAssociationSet": [
                      {"AssociationId": "vpc-cidr-assoc-1", "CidrBlock": "10.0.0.0/16",
                       "CidrBlockState": {"State": "associated"}}],
                  "Ipv6CidrBlockAssociationSet": [
                      {"AssociationId": "vpc-cidr-assoc-2", "Ipv6CidrBlock": "2600:1f18::/56",
                       "Ipv6CidrBlockState": {"State": "associated"}}],
                  "Tags": [{"Key": "Name", "Value": "web"}]}],
        "Subnets": [
            {"SubnetId": "subnet-pub", "VpcId": VPC, "CidrBlock": "10.0.1.0/24",
             "AvailabilityZone": "us-east-1a", "MapPublicIpOnLaunch": True,
             "DefaultForAz": False, "State": "available",
             "Ipv6CidrBlockAssociationSet": [
                 {"AssociationId": "subnet-cidr-assoc-1", "Ipv6CidrBlock": "2600:1f18::/64",
                  "Ipv6CidrBlockState": {"State": "associated"}}],
             "Tags": [{"Key": "Name", "Value": "public"}]},
            {"SubnetId": "subnet-priv", "VpcId": VPC, "CidrBlock": "10.0.2.0/24",
             "AvailabilityZone": "us-east-1b", "MapPublicIpOnLaunch": False, "State": "available"},
        ],
        "RouteTables": [
            {"RouteTableId": "rtb-main", "VpcId": VPC,
             "Associations": [{"Main": True, "RouteTableAssociationId": "rtbassoc-1",
                               "RouteTableId": "rtb-main",
                               "AssociationState": {"State": "associated"}}],
             "Routes": [{"DestinationCidrBlock": "10.0.0.0/16", "GatewayId": "local",
                         "Origin": "CreateRouteTable", "State": "active"},
                        {"DestinationIpv6CidrBlock": "::/0",
                         "EgressOnlyInternetGatewayId": "eigw-1", "Origin": "CreateRoute",
                         "State": "active"},
                        {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-old",
                         "Origin": "CreateRoute", "State": "blackhole"}]},
            {"RouteTableId": "rtb-pub", "VpcId": VPC,
             "Associations": [{"Main": False, "RouteTableAssociationId": "rtbassoc-2",
                               "RouteTableId": "rtb-pub", "SubnetId": "subnet-pub",
                               "AssociationState": {"State": "associated"}}],
             "Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": "igw-1",
                         "Origin": "CreateRoute", "State": "active"},
                        {"DestinationIpv6CidrBlock": "::/0", "GatewayId": "igw-1",
                         "Origin": "CreateRoute", "State": "active"},
                        {"DestinationCidrBlock": "203.0.113.0/24", "GatewayId": "igw-other",
                         "Origin": "CreateRoute", "State": "active"}]},
        ],
        "InternetGateways": [
            {"InternetGatewayId": "igw-1", "Attachments": [{"State": "available", "VpcId": VPC}]},
            {"InternetGatewayId": "igw-other",
             "Attachments": [{"State": "available", "VpcId": "vpc-elsewhere"}]},
        ],
        "NetworkAcls": [default_acl([entry(100, "allow", "-1"), entry(32767, "deny", "-1")],
                                    subnets=("subnet-pub", "subnet-priv"), is_default=True)],
        "SecurityGroups": [group("web"), group("default", "sg-default")],
        "SecurityGroupRules": [row("sgr-a", low=443, high=443, CidrIpv4="0.0.0.0/0"),
                               row("sgr-b", PrefixListId="pl-office")],
        "ManagedPrefixLists": [{"PrefixListId": "pl-office", "AddressFamily": "IPv4",
                                "State": "create-complete", "PrefixListName": "office",
                                "MaxEntries": 5, "Version": 1, "OwnerId": "123456789012"}],
        "ManagedPrefixListEntries": {"pl-office": [{"Cidr": "198.51.100.0/24",
                                                    "Description": "hq"}]},
        "NetworkInterfaces": [
            {"NetworkInterfaceId": "eni-web", "SubnetId": "subnet-pub", "VpcId": VPC,
             "AvailabilityZone": "us-east-1a", "InterfaceType": "interface", "Status": "in-use",
             "Attachment": {"AttachmentId": "eni-attach-1", "DeviceIndex": 0,
                            "InstanceId": "i-web", "InstanceOwnerId": "123456789012",
                            "Status": "attached"},
             "Association": {"IpOwnerId": "amazon", "PublicIp": "54.0.0.10"},
             "Groups": [{"GroupId": SG, "GroupName": "web"},
                        {"GroupId": "sg-default", "GroupName": "default"}],
             "Ipv6Addresses": [{"Ipv6Address": "2600:1f18::10", "IsPrimaryIpv6": False}],
             "PrivateIpAddress": "10.0.1.10",
             "PrivateIpAddresses": [
                 {"Primary": True, "PrivateIpAddress": "10.0.1.10",
                  "Association": {"IpOwnerId": "amazon", "PublicIp": "54.0.0.10"}},
                 {"Primary": False, "PrivateIpAddress": "10.0.1.11",
                  "Association": {"IpOwnerId": "123456789012", "PublicIp": "3.3.3.3"}}],
             "RequesterManaged": False, "SourceDestCheck": True,
             "TagSet": [{"Key": "role", "Value": "web"}]},
            {"NetworkInterfaceId": "eni-nat", "SubnetId": "subnet-pub", "VpcId": VPC,
             "InterfaceType": "nat_gateway", "Status": "in-use", "RequesterManaged": True,
             "Description": "Interface for NAT Gateway nat-1", "Groups": [],
             "PrivateIpAddress": "10.0.1.20",
             "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": "10.0.1.20"}],
             "TagSet": []},
        ],
        "Instances": [{"InstanceId": "i-web", "State": {"Code": 16, "Name": "running"},
                       "Tags": [{"Key": "Name", "Value": "web-1"}]}],
        "GuardDutyDetectors": {"det1": {"Status": "ENABLED", "CreatedAt": "2026-01-01T00:00:00Z",
                                        "FindingPublishingFrequency": "SIX_HOURS"}},
        "GuardDutyIPSets": {"det1": {"ips1": {
            "Name": "partners", "Format": "TXT", "Location": "https://s3.amazonaws.com/b/t.txt",
            "Status": "ACTIVE", "Tags": {"owner": "secops"}}}},
        "GuardDutyThreatIntelSets": {"det1": {"tis1": {
            "Name": "bad", "Format": "STIX", "Location": "s3://intel/bad.stix",
            "Status": "INACTIVE", "Tags": {}}}},
    }


def by_type(items):
    out: dict[type, dict[str, object]] = {}
    for item in items:
        key = getattr(item, "resource_id", None) or getattr(item, "asset_id", None) or \
            getattr(item, "subnet_id", None) or getattr(item, "network_id", None) or \
            getattr(item, "list_id", None) or getattr(item, "reason", "")
        out.setdefault(type(item), {})[key] = item
    return out


def test_scope_joins_interfaces_groups_subnets_and_routes():
    items = by_type(normalize_scope(SCOPE, scope_raw()))
    assert CollectionError not in items
    web = items[RuleSet][SG]
    assert [a.target_id for a in web.attachments] == ["eni-web"]
    assert [r.native_id for r in web.rules] == ["sgr-a", "sgr-b"]
    assert web.rules[1].peers[0].addresses == ("198.51.100.0/24",)
    assert items[RuleSet]["sg-default"].is_default
    acl = items[RuleSet]["acl-1"]
    assert {a.target_id for a in acl.attachments} == {"subnet-pub", "subnet-priv"}

    eni = items[Asset]["eni-web"]
    assert (eni.name, eni.instance_id, eni.subnet, eni.network) == ("web-1", "i-web",
                                                                    "subnet-pub", VPC)
    assert eni.public_addresses == ("54.0.0.10", "3.3.3.3")
    assert eni.private_addresses == ("10.0.1.10", "10.0.1.11")
    assert eni.ipv6_addresses == ("2600:1f18::10",)
    assert eni.rule_set_ids == (SG, "sg-default")
    assert eni.interface_type == "interface" and eni.state == "in-use"
    assert eni.extra["instance_state"] == "running" and eni.tags == {"role": "web"}
    nat = items[Asset]["eni-nat"]
    assert nat.interface_type == "nat_gateway" and nat.instance_id is None
    assert nat.extra["requester_managed"] is True

    public, private = items[Subnet]["subnet-pub"], items[Subnet]["subnet-priv"]
    assert public.rule_set_ids == ("acl-1",) and private.rule_set_ids == ("acl-1",)
    # only routes to a live gateway attached to this VPC count
    assert public.internet_routes == ("0.0.0.0/0", "::/0")
    assert public.cidrs == ("10.0.1.0/24", "2600:1f18::/64")
    assert public.extra["route_table"] == "rtb-pub" and not public.extra["main_route_table"]
    # the main table's blackhole route and egress-only gateway admit nothing inbound
    assert private.internet_routes == () and private.extra["main_route_table"]

    vpc = items[Network][VPC]
    assert vpc.name == "web" and vpc.cidrs == ("10.0.0.0/16", "2600:1f18::/56")
    assert vpc.extra["internet_gateways"] == ["igw-1"]

    trusted, threat = items[IpList]["ips1"], items[IpList]["tis1"]
    assert (trusted.list_type, trusted.status, trusted.detector_id) == ("trusted", "ACTIVE",
                                                                        "det1")
    assert trusted.location.endswith("t.txt") and trusted.extra["detector_status"] == "ENABLED"
    assert (threat.list_type, threat.status, threat.format) == ("threat", "INACTIVE", "STIX")


def test_missing_rule_rows_fall_back_to_ip_permissions():
    raw = scope_raw()
    del raw["SecurityGroupRules"]
    raw["SecurityGroups"][0]["IpPermissions"] = [{
        "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
        "IpRanges": [{"CidrIp": "0.0.0.0/0"}], "Ipv6Ranges": [], "PrefixListIds": [],
        "UserIdGroupPairs": []}]
    web = by_type(normalize_scope(SCOPE, raw))[RuleSet][SG]
    (rule,) = web.rules
    assert rule.ports == PortSet.of(22) and rule.native_id is None
    assert rule.identity().startswith("content:")


def test_only_some_resource_types_read():
    raw = scope_raw()
    for key in ("SecurityGroups", "NetworkInterfaces", "RouteTables", "InternetGateways",
                "Instances", "GuardDutyIPSets"):
        del raw[key]
    items = by_type(normalize_scope(SCOPE, raw))
    web = items[RuleSet][SG]
    assert web.name == "" and web.attachments == () and len(web.rules) == 2
    assert items[Subnet]["subnet-pub"].internet_routes == ()
    assert items[Subnet]["subnet-pub"].extra["routes_unknown"] is True
    assert Asset not in items
    assert list(items[IpList]) == ["tis1"]


def test_empty_scope_is_empty():
    assert list(normalize_scope(SCOPE, {})) == []


def test_an_unreadable_group_is_recorded_not_dropped():
    raw = scope_raw()
    raw["SecurityGroupRules"].append(row("sgr-bad", protocol="bogus"))
    items = by_type(normalize_scope(SCOPE, raw))
    (error,) = items[CollectionError].values()
    assert error.resource_type == "SecurityGroups" and error.code == "UnreadablePayload"
    assert SG in error.reason and SG not in items[RuleSet]
    assert "sg-default" in items[RuleSet]


def test_snapshot_round_trip_keeps_everything():
    from datetime import datetime, timezone

    from scanner.model import Snapshot

    items = list(normalize_scope(SCOPE, scope_raw()))
    snapshot = Snapshot.from_items("s1", datetime(2026, 1, 1, tzinfo=timezone.utc), [SCOPE],
                                   items, ["aws"])
    assert Snapshot.from_json(snapshot.to_json()) == snapshot


def test_repeated_peers_and_ids_are_shared_not_copied():
    """Each row's strings are new objects when parsed from an answer: equal peers become one
    Peer object and repeated ids one string, so a large estate does not hold thousands of
    copies."""
    from providers.aws import rules as rule_norm
    from providers.aws.normalize import security_group

    def text(value: str) -> str:  # a fresh string object, as a parser makes it
        return "".join(list(value))

    rows = [{"SecurityGroupRuleId": f"sgr-{n}", "GroupId": "sg-1", "IsEgress": False,
             "IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
             "CidrIpv4": text("0.0.0.0/0"), "Tags": [{"Key": text("team"), "Value": text("a")}]}
            for n in range(2)]
    assert rows[0]["CidrIpv4"] is not rows[1]["CidrIpv4"]
    first, second = (rule_norm.security_group_rule(row, {}) for row in rows)
    assert first.peers[0] is second.peers[0]
    assert next(iter(first.extra["tags"])) is next(iter(second.extra["tags"]))
    scope = Scope("aws", "123456789012", "us-east-1")
    groups = [security_group(scope, {"GroupId": f"sg-{n}", "VpcId": text("vpc-1"),
                                     "OwnerId": text("123456789012")}, rows, (), {})
              for n in range(2)]
    assert groups[0].network is groups[1].network
    assert groups[0].extra["OwnerId"] is groups[1].extra["OwnerId"]
