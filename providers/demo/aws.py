"""The AWS part of the demo estate: one account, two regions, payloads as boto3 returns them.

us-east-1 holds the shop's web VPC: a public subnet routed to an internet gateway behind a NACL
that blocks SSH from the internet, a private app subnet, web/app/db security groups, three
instances and a GuardDuty detector. eu-west-1 holds a small reporting VPC.

Changes in the ``changed`` stage (T1562.007-style), each with its CloudTrail event in
``audit_events``:
- ``sg-web``: ingress tcp/22 from 0.0.0.0/0 authorized ("temporary debug").
- ``sg-db``: ingress of every protocol and port from 0.0.0.0/0 authorized.
- NACL ``acl-public``: ingress entry 90 (deny tcp/22 from 0.0.0.0/0) deleted.
- GuardDuty (us-east-1): trusted IP set ``ops-allowlist`` created and activated, so the
  addresses on it raise no findings.
- eu-west-1 ``sg-reporting``: rule edited in place from 10.10.0.0/16 to 0.0.0.0/0.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from providers.demo.clock import Clock
from scanner.model import Scope

ACCOUNT = "111122223333"
ALIAS = "shop-production"
MONITORING_ACCOUNT = "444455556666"
ATTACKER_ROLE = f"arn:aws:sts::{ACCOUNT}:assumed-role/ci-deploy/botocore-session-1733017"
ATTACKER_ADDRESS = "198.51.100.77"

# Ids shaped like AWS's (17 hex digits after the prefix).
VPC_WEB, VPC_DATA = "vpc-0a1b2c3d4e5f60001", "vpc-0a1b2c3d4e5f60002"
SUBNET_PUBLIC, SUBNET_APP = "subnet-0a1b2c3d4e5f60011", "subnet-0a1b2c3d4e5f60012"
SUBNET_DATA = "subnet-0a1b2c3d4e5f60021"
IGW = "igw-0a1b2c3d4e5f60031"
RTB_MAIN, RTB_PUBLIC, RTB_DATA = ("rtb-0a1b2c3d4e5f60041", "rtb-0a1b2c3d4e5f60042",
                                  "rtb-0a1b2c3d4e5f60043")
ACL_DEFAULT, ACL_PUBLIC, ACL_DATA = ("acl-0a1b2c3d4e5f60051", "acl-0a1b2c3d4e5f60052",
                                     "acl-0a1b2c3d4e5f60053")
SG_DEFAULT, SG_WEB, SG_APP, SG_DB = ("sg-0a1b2c3d4e5f60061", "sg-0a1b2c3d4e5f60062",
                                     "sg-0a1b2c3d4e5f60063", "sg-0a1b2c3d4e5f60064")
SG_DATA_DEFAULT, SG_REPORTING = "sg-0a1b2c3d4e5f60071", "sg-0a1b2c3d4e5f60072"
SG_MONITORING = "sg-0f9e8d7c6b5a40001"  # in the monitoring account
PL_OFFICE = "pl-0a1b2c3d4e5f60081"
DETECTOR_US, DETECTOR_EU = "12abc34d567e8fa901bc2d34e56789f0", "a2bc3d4e5f60718293a4b5c6d7e8f901"
THREAT_SET = "0cb0141ab9fbde177613ab9436212e90"
TRUSTED_SET = "7eb2d31a9f0e4c6b8d5a1f2e3c4b5a69"


def _tags(**tags: str) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


# (rule id, egress, protocol, from, to, peer kind, peer, description)
RuleSpec = tuple[str, bool, str, int, int, str, str, str]


def _row(group_id: str, spec: RuleSpec, region: str) -> dict[str, Any]:
    rule_id, egress, protocol, low, high, kind, peer, description = spec
    row: dict[str, Any] = {
        "SecurityGroupRuleId": rule_id, "GroupId": group_id, "GroupOwnerId": ACCOUNT,
        "IsEgress": egress, "IpProtocol": protocol, "FromPort": low, "ToPort": high,
        "Tags": [],
        "SecurityGroupRuleArn": f"arn:aws:ec2:{region}:{ACCOUNT}:security-group-rule/{rule_id}",
    }
    if kind == "v4":
        row["CidrIpv4"] = peer
    elif kind == "v6":
        row["CidrIpv6"] = peer
    elif kind == "pl":
        row["PrefixListId"] = peer
    else:
        owner, _, group = peer.partition("/")
        row["ReferencedGroupInfo"] = {"GroupId": group, "UserId": owner}
    if description:
        row["Description"] = description
    return row


def _permissions(specs: list[RuleSpec], egress: bool) -> list[dict[str, Any]]:
    """The IpPermissions view of the same rules, grouped as describe_security_groups does."""
    grouped: dict[tuple, dict[str, Any]] = {}
    for _, is_egress, protocol, low, high, kind, peer, description in specs:
        if is_egress != egress:
            continue
        key = (protocol, low, high)
        item = grouped.setdefault(key, {"IpProtocol": protocol, "IpRanges": [],
                                        "Ipv6Ranges": [], "PrefixListIds": [],
                                        "UserIdGroupPairs": []})
        if protocol != "-1":
            item["FromPort"], item["ToPort"] = low, high
        extra = {"Description": description} if description else {}
        if kind == "v4":
            item["IpRanges"].append({"CidrIp": peer, **extra})
        elif kind == "v6":
            item["Ipv6Ranges"].append({"CidrIpv6": peer, **extra})
        elif kind == "pl":
            item["PrefixListIds"].append({"PrefixListId": peer, **extra})
        else:
            owner, _, group = peer.partition("/")
            item["UserIdGroupPairs"].append({"GroupId": group, "UserId": owner, **extra})
    return list(grouped.values())


def _group(group_id: str, name: str, description: str, vpc: str,
           specs: list[RuleSpec], region: str) -> dict[str, Any]:
    return {
        "GroupId": group_id, "GroupName": name, "Description": description, "VpcId": vpc,
        "OwnerId": ACCOUNT, "Tags": _tags(app="shop"),
        "IpPermissions": _permissions(specs, egress=False),
        "IpPermissionsEgress": _permissions(specs, egress=True),
        "SecurityGroupArn": f"arn:aws:ec2:{region}:{ACCOUNT}:security-group/{group_id}",
    }


def _all_out(rule_id: str) -> RuleSpec:
    return (rule_id, True, "-1", -1, -1, "v4", "0.0.0.0/0", "")


def _security_groups(region: str) -> dict[str, list[RuleSpec]]:
    if region == "eu-west-1":
        return {
            SG_DATA_DEFAULT: [("sgr-0e00000000000d001", False, "-1", -1, -1, "sg",
                               f"{ACCOUNT}/{SG_DATA_DEFAULT}", ""),
                              _all_out("sgr-0e00000000000d002")],
            SG_REPORTING: [("sgr-0e00000000000e001", False, "tcp", 5439, 5439, "v4",
                            "10.10.0.0/16", "Redshift from the web VPC"),
                           _all_out("sgr-0e00000000000e002")],
        }
    return {
        SG_DEFAULT: [("sgr-0a00000000000a001", False, "-1", -1, -1, "sg",
                      f"{ACCOUNT}/{SG_DEFAULT}", ""), _all_out("sgr-0a00000000000a002")],
        SG_WEB: [
            ("sgr-0a00000000000b001", False, "tcp", 443, 443, "v4", "0.0.0.0/0", "HTTPS"),
            ("sgr-0a00000000000b002", False, "tcp", 443, 443, "v6", "::/0", "HTTPS"),
            ("sgr-0a00000000000b003", False, "tcp", 80, 80, "v4", "0.0.0.0/0",
             "redirect to HTTPS"),
            ("sgr-0a00000000000b004", False, "tcp", 22, 22, "pl", PL_OFFICE, "office SSH"),
            ("sgr-0a00000000000b005", False, "icmp", 3, 4, "v4", "0.0.0.0/0",
             "path MTU discovery"),
            _all_out("sgr-0a00000000000b006"),
        ],
        SG_APP: [
            ("sgr-0a00000000000c001", False, "tcp", 8080, 8080, "sg", f"{ACCOUNT}/{SG_WEB}",
             "from the web tier"),
            ("sgr-0a00000000000c002", False, "tcp", 9100, 9100, "sg",
             f"{MONITORING_ACCOUNT}/{SG_MONITORING}", "node exporter scrape"),
            _all_out("sgr-0a00000000000c003"),
        ],
        SG_DB: [
            ("sgr-0a00000000000d101", False, "6", 5432, 5432, "sg", f"{ACCOUNT}/{SG_APP}",
             "postgres from app"),
            _all_out("sgr-0a00000000000d102"),
        ],
    }


_NAMES = {SG_DEFAULT: ("default", "default VPC security group"),
          SG_WEB: ("web-public", "public web tier"), SG_APP: ("app", "application tier"),
          SG_DB: ("db", "database tier"),
          SG_DATA_DEFAULT: ("default", "default VPC security group"),
          SG_REPORTING: ("reporting", "reporting warehouse")}


def _entry(number: int, action: str, protocol: str = "-1", egress: bool = False,
           cidr: str = "0.0.0.0/0", ports: tuple[int, int] | None = None,
           ipv6: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"Egress": egress, "Protocol": protocol, "RuleAction": action,
                           "RuleNumber": number}
    out["Ipv6CidrBlock" if ipv6 else "CidrBlock"] = cidr
    if ports:
        out["PortRange"] = {"From": ports[0], "To": ports[1]}
    return out


def _default_entries() -> list[dict[str, Any]]:
    entries = []
    for egress in (True, False):
        entries += [_entry(100, "allow", egress=egress),
                    _entry(101, "allow", egress=egress, cidr="::/0", ipv6=True),
                    _entry(32767, "deny", egress=egress),
                    _entry(32768, "deny", egress=egress, cidr="::/0", ipv6=True)]
    return entries


def _acl(acl_id: str, vpc: str, default: bool, entries: list[dict], subnets: list[str],
         name: str = "") -> dict[str, Any]:
    return {
        "Associations": [{"NetworkAclAssociationId": f"aclassoc-{s[-12:]}",
                          "NetworkAclId": acl_id, "SubnetId": s} for s in subnets],
        "Entries": entries, "IsDefault": default, "NetworkAclId": acl_id,
        "Tags": _tags(Name=name) if name else [], "VpcId": vpc, "OwnerId": ACCOUNT,
    }


def _eni(eni: str, instance: str | None, subnet: str, vpc: str, address: str,
         groups: list[str], region: str, public: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "AvailabilityZone": f"{region}a", "Description": "Primary network interface",
        "Groups": [{"GroupId": g, "GroupName": _NAMES[g][0]} for g in groups],
        "InterfaceType": "interface", "Ipv6Addresses": [], "MacAddress": "0a:1b:2c:3d:4e:5f",
        "NetworkInterfaceId": eni, "OwnerId": ACCOUNT, "PrivateIpAddress": address,
        "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": address}],
        "RequesterManaged": False, "SourceDestCheck": True, "Status": "in-use",
        "SubnetId": subnet, "TagSet": [], "VpcId": vpc,
    }
    if instance:
        out["Attachment"] = {"AttachmentId": f"eni-attach-{eni[-12:]}", "DeleteOnTermination": True,
                             "DeviceIndex": 0, "InstanceId": instance,
                             "InstanceOwnerId": ACCOUNT, "Status": "attached"}
    if public:
        association = {"IpOwnerId": "amazon", "PublicIp": public,
                       "PublicDnsName": f"ec2-{public.replace('.', '-')}.compute-1.amazonaws.com"}
        out["Association"] = association
        out["PrivateIpAddresses"][0]["Association"] = association
    return out


def _instance(instance: str, name: str, eni: str) -> dict[str, Any]:
    return {"InstanceId": instance, "InstanceType": "t3.small", "ImageId": "ami-0c55b159cbfafe1f0",
            "State": {"Code": 16, "Name": "running"}, "Tags": _tags(Name=name, app="shop"),
            "NetworkInterfaces": [{"NetworkInterfaceId": eni}]}


def _vpc(vpc: str, cidr: str, name: str) -> dict[str, Any]:
    return {"CidrBlock": cidr, "VpcId": vpc, "State": "available", "OwnerId": ACCOUNT,
            "IsDefault": False, "InstanceTenancy": "default",
            "CidrBlockAssociationSet": [{"AssociationId": f"vpc-cidr-assoc-{vpc[-12:]}",
                                         "CidrBlock": cidr,
                                         "CidrBlockState": {"State": "associated"}}],
            "Tags": _tags(Name=name)}


def _subnet(subnet: str, vpc: str, cidr: str, name: str, region: str,
            public: bool = False) -> dict[str, Any]:
    return {"SubnetId": subnet, "VpcId": vpc, "CidrBlock": cidr, "State": "available",
            "AvailabilityZone": f"{region}a", "MapPublicIpOnLaunch": public,
            "DefaultForAz": False, "OwnerId": ACCOUNT, "Tags": _tags(Name=name)}


def _table(table: str, vpc: str, main: bool, subnets: list[str],
           internet: bool, cidr: str) -> dict[str, Any]:
    associations = [{"Main": True, "RouteTableAssociationId": f"rtbassoc-{table[-12:]}",
                     "RouteTableId": table, "AssociationState": {"State": "associated"}}] \
        if main else []
    associations += [{"Main": False, "RouteTableAssociationId": f"rtbassoc-{s[-12:]}",
                      "RouteTableId": table, "SubnetId": s,
                      "AssociationState": {"State": "associated"}} for s in subnets]
    routes = [{"DestinationCidrBlock": cidr, "GatewayId": "local",
               "Origin": "CreateRouteTable", "State": "active"}]
    if internet:
        routes.append({"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": IGW,
                       "Origin": "CreateRoute", "State": "active"})
    return {"Associations": associations, "RouteTableId": table, "Routes": routes,
            "VpcId": vpc, "OwnerId": ACCOUNT, "Tags": []}


def _guardduty(detector: str) -> dict[str, Any]:
    return {"CreatedAt": "2025-03-02T09:12:44.118Z", "UpdatedAt": "2026-10-01T08:00:00.000Z",
            "FindingPublishingFrequency": "FIFTEEN_MINUTES", "Status": "ENABLED",
            "ServiceRole": f"arn:aws:iam::{ACCOUNT}:role/aws-service-role/guardduty.amazonaws"
                           ".com/AWSServiceRoleForAmazonGuardDuty", "Tags": {}}


def _us_east_1(rules: dict[str, list[RuleSpec]], acl_public: list[dict]) -> dict[str, Any]:
    region = "us-east-1"
    web_eni, app_eni, db_eni = ("eni-0a1b2c3d4e5f60091", "eni-0a1b2c3d4e5f60092",
                                "eni-0a1b2c3d4e5f60093")
    return {
        "Vpcs": [_vpc(VPC_WEB, "10.10.0.0/16", "shop-web")],
        "Subnets": [_subnet(SUBNET_PUBLIC, VPC_WEB, "10.10.1.0/24", "public", region, True),
                    _subnet(SUBNET_APP, VPC_WEB, "10.10.2.0/24", "app", region)],
        "RouteTables": [_table(RTB_MAIN, VPC_WEB, True, [], False, "10.10.0.0/16"),
                        _table(RTB_PUBLIC, VPC_WEB, False, [SUBNET_PUBLIC], True,
                               "10.10.0.0/16")],
        "InternetGateways": [{"InternetGatewayId": IGW, "OwnerId": ACCOUNT, "Tags": [],
                              "Attachments": [{"State": "available", "VpcId": VPC_WEB}]}],
        "SecurityGroups": [_group(g, *_NAMES[g], VPC_WEB, specs, region)
                           for g, specs in rules.items()],
        "SecurityGroupRules": [_row(g, s, region) for g, specs in rules.items() for s in specs],
        "NetworkAcls": [_acl(ACL_DEFAULT, VPC_WEB, True, _default_entries(), [SUBNET_APP]),
                        _acl(ACL_PUBLIC, VPC_WEB, False, acl_public, [SUBNET_PUBLIC],
                             "public")],
        "NetworkInterfaces": [
            _eni(web_eni, "i-0a1b2c3d4e5f600a1", SUBNET_PUBLIC, VPC_WEB, "10.10.1.10",
                 [SG_WEB], region, public="54.210.10.20"),
            _eni(app_eni, "i-0a1b2c3d4e5f600a2", SUBNET_APP, VPC_WEB, "10.10.2.10",
                 [SG_APP], region),
            _eni(db_eni, "i-0a1b2c3d4e5f600a3", SUBNET_APP, VPC_WEB, "10.10.2.20",
                 [SG_DB], region),
        ],
        "Instances": [_instance("i-0a1b2c3d4e5f600a1", "web-1", web_eni),
                      _instance("i-0a1b2c3d4e5f600a2", "app-1", app_eni),
                      _instance("i-0a1b2c3d4e5f600a3", "db-1", db_eni)],
        "ManagedPrefixLists": [{"PrefixListId": PL_OFFICE, "AddressFamily": "IPv4",
                                "State": "create-complete", "PrefixListName": "office-egress",
                                "MaxEntries": 10, "Version": 3, "OwnerId": ACCOUNT,
                                "PrefixListArn": f"arn:aws:ec2:us-east-1:{ACCOUNT}:"
                                                 f"prefix-list/{PL_OFFICE}", "Tags": []}],
        "ManagedPrefixListEntries": {PL_OFFICE: [{"Cidr": "203.0.113.0/28",
                                                  "Description": "HQ NAT"}]},
        "GuardDutyDetectors": {DETECTOR_US: _guardduty(DETECTOR_US)},
        "GuardDutyIPSets": {DETECTOR_US: {}},
        "GuardDutyThreatIntelSets": {DETECTOR_US: {THREAT_SET: {
            "Name": "known-bad", "Format": "TXT", "Status": "ACTIVE",
            "Location": "https://s3.amazonaws.com/shop-secops/threat/known-bad.txt",
            "Tags": {"owner": "secops"}}}},
    }


def _eu_west_1(rules: dict[str, list[RuleSpec]]) -> dict[str, Any]:
    region = "eu-west-1"
    eni = "eni-0a1b2c3d4e5f600b1"
    return {
        "Vpcs": [_vpc(VPC_DATA, "10.20.0.0/16", "reporting")],
        "Subnets": [_subnet(SUBNET_DATA, VPC_DATA, "10.20.1.0/24", "warehouse", region)],
        "RouteTables": [_table(RTB_DATA, VPC_DATA, True, [], False, "10.20.0.0/16")],
        "InternetGateways": [],
        "SecurityGroups": [_group(g, *_NAMES[g], VPC_DATA, specs, region)
                           for g, specs in rules.items()],
        "SecurityGroupRules": [_row(g, s, region) for g, specs in rules.items() for s in specs],
        "NetworkAcls": [_acl(ACL_DATA, VPC_DATA, True, _default_entries(), [SUBNET_DATA])],
        "NetworkInterfaces": [_eni(eni, "i-0a1b2c3d4e5f600b1", SUBNET_DATA, VPC_DATA,
                                   "10.20.1.10", [SG_REPORTING], region)],
        "Instances": [_instance("i-0a1b2c3d4e5f600b1", "warehouse-1", eni)],
        "ManagedPrefixLists": [],
        "ManagedPrefixListEntries": {},
        "GuardDutyDetectors": {DETECTOR_EU: _guardduty(DETECTOR_EU)},
        "GuardDutyIPSets": {DETECTOR_EU: {}},
        "GuardDutyThreatIntelSets": {DETECTOR_EU: {}},
    }


def _public_acl_entries() -> list[dict[str, Any]]:
    # Everything is allowed at this layer except remote administration from the internet.
    return [
        _entry(80, "deny", "6", ports=(3389, 3389)),
        _entry(90, "deny", "6", ports=(22, 22)),
        _entry(100, "allow"),
        _entry(32767, "deny"),
        _entry(100, "allow", egress=True),
        _entry(32767, "deny", egress=True),
    ]


SSH_RULE = ("sgr-0a00000000000b0f1", False, "tcp", 22, 22, "v4", "0.0.0.0/0", "temporary debug")
DB_OPEN_RULE = ("sgr-0a00000000000d1f1", False, "-1", -1, -1, "v4", "0.0.0.0/0", "")
TRUSTED_LOCATION = "https://s3.amazonaws.com/ci-artifacts-7731/allow.txt"


def estate(stage: str) -> list[tuple[Scope, dict[str, Any]]]:
    us_rules, eu_rules = _security_groups("us-east-1"), _security_groups("eu-west-1")
    acl_public = _public_acl_entries()
    changed = stage == "changed"
    if changed:
        us_rules[SG_WEB].append(SSH_RULE)
        us_rules[SG_DB].append(DB_OPEN_RULE)
        acl_public = [e for e in acl_public if (e["RuleNumber"], e["Egress"]) != (90, False)]
        eu_rules[SG_REPORTING][0] = ("sgr-0e00000000000e001", False, "tcp", 5439, 5439, "v4",
                                     "0.0.0.0/0", "Redshift from the web VPC")
    us = _us_east_1(us_rules, acl_public)
    if changed:
        us["GuardDutyIPSets"][DETECTOR_US][TRUSTED_SET] = {
            "Name": "ops-allowlist", "Format": "TXT", "Status": "ACTIVE",
            "Location": TRUSTED_LOCATION, "Tags": {}}
    return [(Scope("aws", ACCOUNT, "us-east-1", ALIAS), us),
            (Scope("aws", ACCOUNT, "eu-west-1", ALIAS), _eu_west_1(eu_rules))]


def _event(n: int, when: str, region: str, source: str, name: str, resources: list[tuple],
           request: dict[str, Any], response: dict[str, Any] | None = None) -> dict[str, Any]:
    event_id = f"3f6c1a2e-9b4d-4e7a-8c1f-{n:012d}"
    detail = {
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole", "principalId": "AROA3EXAMPLEROLEID:botocore-session-1733017",
            "arn": ATTACKER_ROLE, "accountId": ACCOUNT, "accessKeyId": "ASIA3EXAMPLEKEY7731",
            "sessionContext": {"sessionIssuer": {
                "type": "Role", "principalId": "AROA3EXAMPLEROLEID",
                "arn": f"arn:aws:iam::{ACCOUNT}:role/ci-deploy", "accountId": ACCOUNT,
                "userName": "ci-deploy"}},
        },
        "eventTime": when, "eventSource": source, "eventName": name, "awsRegion": region,
        "sourceIPAddress": ATTACKER_ADDRESS, "userAgent": "aws-cli/2.15.30 Python/3.11.8",
        "requestParameters": request, "responseElements": response,
        "requestID": f"c0ffee00-0000-4000-8000-{n:012d}", "eventID": event_id,
        "readOnly": False, "eventType": "AwsApiCall", "managementEvent": True,
        "recipientAccountId": ACCOUNT, "eventCategory": "Management",
    }
    return {
        "EventId": event_id, "EventName": name, "ReadOnly": "false",
        "AccessKeyId": "ASIA3EXAMPLEKEY7731",
        "EventTime": datetime.fromisoformat(when.replace("Z", "+00:00")).astimezone(
            timezone.utc),
        "EventSource": source, "Username": "botocore-session-1733017",
        "Resources": [{"ResourceType": t, "ResourceName": v} for t, v in resources],
        "CloudTrailEvent": json.dumps(detail),
    }


def audit_events(stage: str, start: datetime | None = None) -> list[dict[str, Any]]:
    """CloudTrail LookupEvents items (as boto3 returns them) for the changes of ``stage``.

    ``start``: the baseline's time; the events are dated just after it
    (``providers.demo.clock``)."""
    if stage != "changed":
        return []
    at = Clock("2026-11-30T02:14:09Z", start)
    sg = "AWS::EC2::SecurityGroup"
    return [
        _event(1, at("2026-11-30T02:14:09Z"), "us-east-1", "guardduty.amazonaws.com", "CreateIPSet",
               [], {"detectorId": DETECTOR_US, "name": "ops-allowlist", "format": "TXT",
                    "location": TRUSTED_LOCATION, "activate": True},
               {"ipSetId": TRUSTED_SET}),
        _event(2, at("2026-11-30T02:15:31Z"), "us-east-1", "ec2.amazonaws.com",
               "AuthorizeSecurityGroupIngress", [(sg, SG_WEB)],
               {"groupId": SG_WEB, "ipPermissions": {"items": [{
                   "ipProtocol": "tcp", "fromPort": 22, "toPort": 22,
                   "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0",
                                           "description": "temporary debug"}]}}]}},
               {"_return": True, "securityGroupRuleSet": {"items": [{
                   "securityGroupRuleId": SSH_RULE[0], "groupId": SG_WEB}]}}),
        _event(3, at("2026-11-30T02:16:02Z"), "us-east-1", "ec2.amazonaws.com",
               "AuthorizeSecurityGroupIngress", [(sg, SG_DB)],
               {"groupId": SG_DB, "ipPermissions": {"items": [{
                   "ipProtocol": "-1", "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}},
               {"_return": True, "securityGroupRuleSet": {"items": [{
                   "securityGroupRuleId": DB_OPEN_RULE[0], "groupId": SG_DB}]}}),
        _event(4, at("2026-11-30T02:16:40Z"), "us-east-1", "ec2.amazonaws.com",
               "DeleteNetworkAclEntry", [("AWS::EC2::NetworkAcl", ACL_PUBLIC)],
               {"networkAclId": ACL_PUBLIC, "ruleNumber": 90, "egress": False},
               {"_return": True}),
        _event(5, at("2026-11-30T02:18:55Z"), "eu-west-1", "ec2.amazonaws.com",
               "ModifySecurityGroupRules", [(sg, SG_REPORTING)],
               {"ModifySecurityGroupRulesRequest": {"GroupId": SG_REPORTING,
                "SecurityGroupRule": {"SecurityGroupRuleId": "sgr-0e00000000000e001",
                                      "SecurityGroupRule": {"IpProtocol": "tcp",
                                                            "FromPort": 5439, "ToPort": 5439,
                                                            "CidrIpv4": "0.0.0.0/0"}}}},
               {"ModifySecurityGroupRulesResponse": {"return": True}}),
    ]
