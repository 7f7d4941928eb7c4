"""AWS: a subnet assigns public IPv4 addresses to every new interface (FSBP EC2.15)."""

from __future__ import annotations

from policies.findings import subnet_finding
from policies.registry import check


@check(
    id="CW-AWS-005",
    subject="subnet",
    title="Subnet automatically assigns public IP addresses",
    severity="low",
    providers=["aws"],
    rationale="Every instance launched in the subnet gets a public address, so one permissive "
              "security group rule is enough to expose it.",
    remediation={"summary": "Turn off auto-assign public IPv4 and give public addresses "
                            "deliberately.",
                 "cli": "aws ec2 modify-subnet-attribute --subnet-id ID "
                        "--no-map-public-ip-on-launch"},
    compliance={"aws-fsbp": ["EC2.15"], "nist-800-53": ["SC-7"], "pci-dss-4.0": ["1.4.1"]},
)
def aws_subnet_public_ip(ctx, meta):
    for subnet in ctx.snapshot.subnets:
        if subnet.provider == "aws" and subnet.extra.get("map_public_ip_on_launch") is True:
            yield subnet_finding(meta, subnet, {"network": subnet.network,
                                                "internet_routes": list(subnet.internet_routes)})
