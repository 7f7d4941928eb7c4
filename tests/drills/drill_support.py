"""What the drills share: running the CLI under a watchdog, and a small EC2 estate.

Wire-fault drills: the real SDK clients against local servers that misbehave on purpose.

Each drill runs ``cloudwall scan`` in-process over real HTTP and proves four things: it
finishes (a watchdog fails the test instead of hanging the suite), the fault is recorded as a
CollectionError of the right scope, resource type and code, the exit code is 3, and the server
saw a bounded number of requests.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from scanner.cli import main
from tests.servers.aws_stub import DEFAULT_ACCOUNT

# A drill that has not finished by then is a hang (each one takes well under a few seconds).
WATCHDOG_SECONDS = 120
AWS_REGION = "us-east-1"


@dataclass
class Outcome:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict:
        return json.loads(self.stdout)

    def errors(self, resource_type: str | None = None) -> list[dict]:
        return [e for e in self.report["errors"]
                if resource_type is None or e["resource_type"] == resource_type]


def run_cli(*args: str) -> Outcome:
    """``cloudwall ARGS`` in-process, under a watchdog: a drill that hangs fails, loudly."""
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["result"] = CliRunner().invoke(main, list(args), catch_exceptions=False)
        except BaseException as exc:  # handed to the test thread
            box["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(WATCHDOG_SECONDS)
    if worker.is_alive():
        pytest.fail(f"cloudwall {' '.join(args)} still running after {WATCHDOG_SECONDS}s")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    result = box["result"]
    return Outcome(result.exit_code, result.stdout, result.stderr)  # type: ignore[attr-defined]


def small_ec2_estate() -> dict:
    """One VPC, subnet, security group (with rule rows) and interface, shaped as boto3 returns
    them; enough pages for the stub's page size of 2 to page every list at least once."""
    vpc, subnet, group = "vpc-0drill", "subnet-0drill", "sg-0drill"
    rows = [{"SecurityGroupRuleId": f"sgr-0drill{n}", "GroupId": group,
             "GroupOwnerId": DEFAULT_ACCOUNT, "IsEgress": False, "IpProtocol": "tcp",
             "FromPort": port, "ToPort": port, "CidrIpv4": "0.0.0.0/0", "Tags": []}
            for n, port in enumerate((22, 80, 443))]
    return {
        "Vpcs": [{"VpcId": vpc, "CidrBlock": "10.0.0.0/16", "IsDefault": False,
                  "State": "available", "OwnerId": DEFAULT_ACCOUNT}],
        "Subnets": [{"SubnetId": subnet, "VpcId": vpc, "CidrBlock": "10.0.1.0/24",
                     "State": "available", "AvailabilityZone": "us-east-1a"}],
        "RouteTables": [], "InternetGateways": [],
        "SecurityGroups": [{"GroupId": group, "GroupName": "web", "Description": "web",
                            "VpcId": vpc, "OwnerId": DEFAULT_ACCOUNT, "IpPermissions": [],
                            "IpPermissionsEgress": []}],
        "SecurityGroupRules": rows,
        "NetworkAcls": [],
        "NetworkInterfaces": [{
            "NetworkInterfaceId": "eni-0drill", "SubnetId": subnet, "VpcId": vpc,
            "AvailabilityZone": "us-east-1a", "InterfaceType": "interface", "Status": "in-use",
            "Groups": [{"GroupId": group, "GroupName": "web"}],
            "PrivateIpAddress": "10.0.1.5", "Ipv6Addresses": [], "OwnerId": DEFAULT_ACCOUNT,
            "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": "10.0.1.5"}],
            "RequesterManaged": False, "SourceDestCheck": True, "TagSet": []}],
        "Reservations": [], "PrefixLists": [], "Entries": {},
    }


