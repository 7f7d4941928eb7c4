"""Grow the race's AWS estate in a moto server to N security groups (runs in the moto venv).

    python seed.py ENDPOINT REGION N

Idempotent in N: groups already there are kept and only the missing ones are created, so the
race seeds 0, then 1,000, then 5,000 into the same server. Every group gets up to 9 ingress rules
(from private ranges, the Internet, IPv6 and other groups; a rule drawn twice is given once)
besides its default egress rule; one VPC per 200 groups, and one network ACL with six entries per
10 groups. Deterministic (seeded random numbers).
"""

from __future__ import annotations

import random
import sys

import boto3

PORTS = (22, 80, 443, 3306, 5432, 6379, 8080, 9200)
GROUPS_PER_VPC = 200
GROUPS_PER_ACL = 10


def _ingress(rng: random.Random, index: int, group_ids: list[str]) -> list[dict]:
    rules = []
    for number in range(9):
        kind = rng.random()
        if kind < 0.5:
            port = rng.choice(PORTS)
            rules.append({"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [
                {"CidrIp": f"10.{rng.randrange(256)}.{rng.randrange(256)}.0/24",
                 "Description": f"rule {number} of {index}"}]})
        elif kind < 0.7:
            low = rng.randrange(1024, 60000)
            rules.append({"IpProtocol": "udp", "FromPort": low, "ToPort": low + 10,
                          "Ipv6Ranges": [{"CidrIpv6": f"2600:1f18:{number:x}::/56"}]})
        elif kind < 0.9 and group_ids:
            rules.append({"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443 + number,
                          "UserIdGroupPairs": [{"GroupId": rng.choice(group_ids)}]})
        else:
            port = rng.choice((22, 3389, 8080 + number))
            rules.append({"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                          "IpRanges": [{"CidrIp": "0.0.0.0/0"}]})
    unique: dict[tuple, dict] = {}  # the API refuses a rule given twice (descriptions aside)
    for rule in rules:
        peer = next(value for key, value in rule.items() if key.endswith(("Ranges", "Pairs")))
        target = {k: v for k, v in peer[0].items() if k != "Description"}
        unique.setdefault((rule["IpProtocol"], rule["FromPort"], rule["ToPort"],
                           repr(sorted(target.items()))), rule)
    return list(unique.values())


def main() -> None:
    endpoint, region, wanted = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ec2 = boto3.client("ec2", region_name=region, endpoint_url=endpoint)
    existing = [g for page in ec2.get_paginator("describe_security_groups").paginate()
                for g in page["SecurityGroups"] if g["GroupName"].startswith("race-")]
    have = len(existing)
    if have >= wanted:
        print(f"{have} race groups already there")
        return
    vpcs = {int(v["Tags"][0]["Value"]): v["VpcId"]
            for page in ec2.get_paginator("describe_vpcs").paginate()
            for v in page["Vpcs"] if v.get("Tags") and v["Tags"][0]["Key"] == "race-vpc"}
    group_ids = [g["GroupId"] for g in existing]
    rng = random.Random(have)
    for index in range(have, wanted):
        block = index // GROUPS_PER_VPC
        if block not in vpcs:
            vpc = ec2.create_vpc(CidrBlock=f"10.{block % 250}.0.0/16")["Vpc"]["VpcId"]
            ec2.create_tags(Resources=[vpc], Tags=[{"Key": "race-vpc", "Value": str(block)}])
            vpcs[block] = vpc
        group = ec2.create_security_group(
            GroupName=f"race-{index}", Description=f"race group {index}", VpcId=vpcs[block],
            TagSpecifications=[{"ResourceType": "security-group",
                                "Tags": [{"Key": "team", "Value": f"t{index % 40}"}]}])["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=group,
                                             IpPermissions=_ingress(rng, index, group_ids))
        group_ids.append(group)
        if index % GROUPS_PER_ACL == 0:
            acl = ec2.create_network_acl(VpcId=vpcs[block])["NetworkAcl"]["NetworkAclId"]
            for number, port in enumerate((22, 80, 443, 3389, 8080, 5432)):
                ec2.create_network_acl_entry(
                    NetworkAclId=acl, RuleNumber=100 + number, Protocol="6",
                    RuleAction="allow" if port != 3389 else "deny", Egress=False,
                    CidrBlock="0.0.0.0/0", PortRange={"From": port, "To": port})
    print(f"seeded {wanted - have} groups (now {wanted}) in {len(vpcs)} VPCs")


if __name__ == "__main__":
    main()
