"""Time each read the race's two tools send, one at a time, against a seeded moto server.

    python probe.py ENDPOINT [REGION] [--calls NAME,...]   (runs in the race's moto venv)

For every call shape (operation and page size, as Prowler 5 and cloudwall send them: Prowler's
paginators give no page size, cloudwall's ask for 1,000 items a page), prints the wall time of
all its pages, the number of pages and items, and the moto server's CPU time meanwhile when its
process id is given (``MOTO_PID``). A read timeout of 900 s: the point is to see how long moto
takes, not to give up at boto3's default 60 s.
"""

from __future__ import annotations

import argparse
import os
import time

import boto3
from botocore.config import Config
from race import cpu_seconds  # this folder: the script's own directory is on the path

# (label, operation, result key, page size or None for the paginator's default, parameters)
CALLS = (
    ("DescribeSecurityGroups, no page size (Prowler)", "describe_security_groups",
     "SecurityGroups", None, {}),
    ("DescribeSecurityGroups, 1,000 a page (cloudwall)", "describe_security_groups",
     "SecurityGroups", 1000, {}),
    ("DescribeSecurityGroupRules, 1,000 a page (cloudwall)", "describe_security_group_rules",
     "SecurityGroupRules", 1000, {}),
    ("DescribeNetworkAcls, no page size (Prowler)", "describe_network_acls", "NetworkAcls",
     None, {}),
    ("DescribeNetworkAcls, 1,000 a page (cloudwall)", "describe_network_acls", "NetworkAcls",
     1000, {}),
    ("DescribeNetworkInterfaces, no page size (Prowler)", "describe_network_interfaces",
     "NetworkInterfaces", None, {}),
    ("DescribeVpcs, 1,000 a page (cloudwall)", "describe_vpcs", "Vpcs", 1000, {}),
    ("DescribeInstances, no page size (Prowler)", "describe_instances", "Reservations",
     None, {}),
)


def moto_cpu() -> float | None:
    pid = os.environ.get("MOTO_PID")
    return cpu_seconds(int(pid)) if pid else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("endpoint")
    parser.add_argument("region", nargs="?", default="us-east-1")
    parser.add_argument("--calls", help="only the calls whose label contains one of these")
    args = parser.parse_args()
    ec2 = boto3.client("ec2", region_name=args.region, endpoint_url=args.endpoint,
                       config=Config(read_timeout=900, retries={"max_attempts": 1}))
    wanted = args.calls.split(",") if args.calls else None
    for label, operation, key, page_size, params in CALLS:
        if wanted and not any(w in label for w in wanted):
            continue
        config = {"PageSize": page_size} if page_size else {}
        cpu_before, started = moto_cpu(), time.perf_counter()
        pages = items = 0
        for page in ec2.get_paginator(operation).paginate(PaginationConfig=config, **params):
            pages += 1
            items += len(page[key])
        wall = time.perf_counter() - started
        cpu = moto_cpu()
        moto = f", moto CPU {cpu - cpu_before:.1f} s" if cpu is not None else ""
        print(f"{label}: {wall:.1f} s wall, {pages} pages, {items:,} items{moto}", flush=True)


if __name__ == "__main__":
    main()
