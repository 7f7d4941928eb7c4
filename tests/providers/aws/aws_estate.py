"""A small two-region estate built with boto3 against moto (and the stub for GuardDuty)."""

from __future__ import annotations

from dataclasses import dataclass, field

OTHER_ACCOUNT = "210987654321"
ODD_DESCRIPTION = "ops <script>alert(1)</script> & 'quotes' \"double\" \u00e9\u6f22 ${jndi:x}"


@dataclass
class Estate:
    ids: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, key: str) -> str:
        return self.ids[key]


def _tags(kind: str, name: str) -> list[dict]:
    return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]


def _instance(ec2, subnet: str, groups: list[str], name: str, public: bool) -> tuple[str, str]:
    answer = ec2.run_instances(
        ImageId="ami-12c6146b", MinCount=1, MaxCount=1, InstanceType="t3.micro",
        NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet, "Groups": groups,
                            "AssociatePublicIpAddress": public}],
        TagSpecifications=_tags("instance", name))
    instance = answer["Instances"][0]
    return instance["InstanceId"], instance["NetworkInterfaces"][0]["NetworkInterfaceId"]


def build_us_east_1(session, estate: Estate) -> None:
    ec2 = session.client("ec2", region_name="us-east-1")
    ids = estate.ids
    ids["web_vpc"] = ec2.create_vpc(CidrBlock="10.0.0.0/16",
                                    TagSpecifications=_tags("vpc", "web"))["Vpc"]["VpcId"]
    vpc = ids["web_vpc"]
    ids["public_subnet"] = ec2.create_subnet(
        VpcId=vpc, CidrBlock="10.0.1.0/24", TagSpecifications=_tags("subnet", "public"),
    )["Subnet"]["SubnetId"]
    ids["private_subnet"] = ec2.create_subnet(
        VpcId=vpc, CidrBlock="10.0.2.0/24", TagSpecifications=_tags("subnet", "private"),
    )["Subnet"]["SubnetId"]
    ids["igw"] = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=ids["igw"], VpcId=vpc)
    ids["public_rtb"] = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=ids["public_rtb"], DestinationCidrBlock="0.0.0.0/0",
                     GatewayId=ids["igw"])
    ec2.associate_route_table(RouteTableId=ids["public_rtb"], SubnetId=ids["public_subnet"])

    ids["office_pl"] = ec2.create_managed_prefix_list(
        PrefixListName="office", MaxEntries=5, AddressFamily="IPv4",
        Entries=[{"Cidr": "198.51.100.0/24", "Description": "hq"},
                 {"Cidr": "192.0.2.0/28", "Description": "branch"}],
    )["PrefixList"]["PrefixListId"]

    ids["web_sg"] = ec2.create_security_group(
        GroupName="web", Description="public web tier", VpcId=vpc)["GroupId"]
    ids["app_sg"] = ec2.create_security_group(
        GroupName="app", Description="application tier", VpcId=vpc)["GroupId"]
    ids["db_sg"] = ec2.create_security_group(
        GroupName="db", Description="database", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(GroupId=ids["web_sg"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "https"}],
         "Ipv6Ranges": [{"CidrIpv6": "::/0", "Description": "https v6"}]},
        {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22,
         "PrefixListIds": [{"PrefixListId": ids["office_pl"], "Description": "office ssh"}]},
        {"IpProtocol": "tcp", "FromPort": 20, "ToPort": 25,
         "IpRanges": [{"CidrIp": "203.0.113.0/24", "Description": ODD_DESCRIPTION}]},
        {"IpProtocol": "icmp", "FromPort": 8, "ToPort": -1,
         "IpRanges": [{"CidrIp": "10.0.0.0/8"}]},
        {"IpProtocol": "58", "FromPort": -1, "ToPort": -1,
         "Ipv6Ranges": [{"CidrIpv6": "::/0"}]},
    ])
    ec2.authorize_security_group_ingress(GroupId=ids["app_sg"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
         "UserIdGroupPairs": [{"GroupId": ids["web_sg"]}]},
    ])
    ec2.authorize_security_group_ingress(GroupId=ids["db_sg"], IpPermissions=[
        {"IpProtocol": "6", "FromPort": 5432, "ToPort": 5432,
         "UserIdGroupPairs": [{"GroupId": ids["app_sg"]}]},
        {"IpProtocol": "17", "FromPort": 53, "ToPort": 53,
         "IpRanges": [{"CidrIp": "10.0.0.0/16"}]},
    ])

    ids["public_acl"] = ec2.create_network_acl(
        VpcId=vpc, TagSpecifications=_tags("network-acl", "public"))["NetworkAcl"]["NetworkAclId"]
    acl = ids["public_acl"]
    for number, action, protocol, ports, cidr, egress in (
        (90, "deny", "6", (22, 22), "0.0.0.0/0", False),
        (100, "allow", "6", (443, 443), "0.0.0.0/0", False),
        (110, "allow", "6", (1024, 65535), "0.0.0.0/0", True),
    ):
        ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=number, Protocol=protocol,
                                     RuleAction=action, Egress=egress, CidrBlock=cidr,
                                     PortRange={"From": ports[0], "To": ports[1]})
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=120, Protocol="6",
                                 RuleAction="allow", Egress=False, Ipv6CidrBlock="::/0",
                                 PortRange={"From": 443, "To": 443})
    ec2.create_network_acl_entry(NetworkAclId=acl, RuleNumber=130, Protocol="1",
                                 RuleAction="allow", Egress=False, CidrBlock="10.0.0.0/8",
                                 IcmpTypeCode={"Type": 8, "Code": -1})
    association = next(
        a["NetworkAclAssociationId"]
        for a in ec2.describe_network_acls(
            Filters=[{"Name": "association.subnet-id", "Values": [ids["public_subnet"]]}]
        )["NetworkAcls"][0]["Associations"] if a["SubnetId"] == ids["public_subnet"])
    ec2.replace_network_acl_association(AssociationId=association, NetworkAclId=acl)

    ids["web_instance"], ids["web_eni"] = _instance(
        ec2, ids["public_subnet"], [ids["web_sg"]], "web-1", public=True)
    ids["app_instance"], ids["app_eni"] = _instance(
        ec2, ids["private_subnet"], [ids["app_sg"], ids["db_sg"]], "app-1", public=False)
    ids["spare_eni"] = ec2.create_network_interface(
        SubnetId=ids["private_subnet"], Groups=[ids["db_sg"]], Description="spare",
    )["NetworkInterface"]["NetworkInterfaceId"]


def build_eu_west_1(session, estate: Estate) -> None:
    ec2 = session.client("ec2", region_name="eu-west-1")
    ids = estate.ids
    ids["data_vpc"] = ec2.create_vpc(CidrBlock="10.1.0.0/16",
                                     TagSpecifications=_tags("vpc", "data"))["Vpc"]["VpcId"]
    ids["data_subnet"] = ec2.create_subnet(
        VpcId=ids["data_vpc"], CidrBlock="10.1.1.0/24")["Subnet"]["SubnetId"]
    ids["batch_sg"] = ec2.create_security_group(
        GroupName="batch", Description="batch workers", VpcId=ids["data_vpc"])["GroupId"]
    ec2.revoke_security_group_egress(GroupId=ids["batch_sg"], IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.authorize_security_group_egress(GroupId=ids["batch_sg"], IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
         "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.authorize_security_group_ingress(GroupId=ids["batch_sg"], IpPermissions=[
        {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "10.1.0.0/16"}]}])
    ids["batch_instance"], ids["batch_eni"] = _instance(
        ec2, ids["data_subnet"], [ids["batch_sg"]], "batch-1", public=False)


def build_guardduty(session, estate: Estate) -> None:
    guardduty = session.client("guardduty", region_name="us-east-1")
    detector = guardduty.create_detector(Enable=True)["DetectorId"]
    estate.ids["detector"] = detector
    estate.ids["threat_set"] = guardduty.create_threat_intel_set(
        DetectorId=detector, Name="known-bad", Format="TXT",
        Location="https://s3.amazonaws.com/intel/bad.txt", Activate=True)["ThreatIntelSetId"]


def build(session) -> Estate:
    estate = Estate()
    build_us_east_1(session, estate)
    build_eu_west_1(session, estate)
    build_guardduty(session, estate)
    return estate
