"""Benchmark: a full AWS collection of a large synthetic estate, over real HTTP.

Builds thousands of security groups (tens of thousands of rules), NACLs, interfaces, instances
and subnets per region, serves them from the local stub server (tests/servers/aws_stub.py, in a
child process, paginated at 1000 items as EC2 does) with moto answering STS and IAM, then times:

- a full collection: AwsProvider through scanner.collect, boto3 over HTTP, both regions at once;
- the normalization alone (providers.aws.normalize_scope on the fetched payloads);
- snapshot JSON encoding;
- in one run, alternately: the bare boto3 paginated reads of the same calls (plain paginators,
  no cloudwall code) and cloudwall's full scan on the client (collect, policies and exposure,
  JSON report encoded and written), and the ratio of their CPU times;
- with ``--profile N``, one full scan under cProfile (scopes collected in the main thread).

Peak memory: tracemalloc for the normalization, ru_maxrss for the whole process.

    .venv/bin/python bench/bench_aws.py [--groups 2500] [--rules 10] [--regions 2] [--reps 2]
        [--profile 25]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import random
import resource
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ACCOUNT = "123456789012"
REGION_NAMES = ["us-east-1", "eu-west-1", "ap-southeast-2", "us-west-2"]


def _hex(rng: random.Random, n: int = 17) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _fill_permissions(groups: list[dict], rows: list[dict]) -> None:
    """The same rules as DescribeSecurityGroups returns them: IpPermissions(Egress) grouped by
    protocol and ports, each peer in its list (AWS sends every rule in both calls)."""
    by_id = {g["GroupId"]: g for g in groups}
    merged: dict[tuple, dict] = {}
    for row in rows:
        key = (row["GroupId"], row["IsEgress"], row["IpProtocol"], row.get("FromPort"),
               row.get("ToPort"))
        permission = merged.get(key)
        if permission is None:
            permission = merged[key] = {
                "IpProtocol": row["IpProtocol"], "FromPort": row.get("FromPort"),
                "ToPort": row.get("ToPort"), "IpRanges": [], "Ipv6Ranges": [],
                "PrefixListIds": [], "UserIdGroupPairs": []}
            group = by_id[row["GroupId"]]
            group["IpPermissionsEgress" if row["IsEgress"] else "IpPermissions"].append(
                permission)
        described = {"Description": row["Description"]} if row.get("Description") else {}
        if row.get("CidrIpv4"):
            permission["IpRanges"].append({"CidrIp": row["CidrIpv4"], **described})
        elif row.get("CidrIpv6"):
            permission["Ipv6Ranges"].append({"CidrIpv6": row["CidrIpv6"], **described})
        elif row.get("ReferencedGroupInfo"):
            permission["UserIdGroupPairs"].append({**row["ReferencedGroupInfo"], **described})


def synthetic_estate(region: str, groups: int, rules: int, seed: int) -> dict:
    """API-shaped payloads (keyed by each describe call's result key) for one region."""
    rng = random.Random(seed)
    vpcs = [f"vpc-{_hex(rng)}" for _ in range(max(1, groups // 200))]
    subnets = [(f"subnet-{_hex(rng)}", vpcs[i % len(vpcs)], f"10.{i // 250}.{i % 250}.0/24")
               for i in range(max(2, groups // 10))]
    group_ids = [f"sg-{_hex(rng)}" for _ in range(groups)]
    sgs, rows = [], []
    for index, group_id in enumerate(group_ids):
        vpc = vpcs[index % len(vpcs)]
        sgs.append({"GroupId": group_id, "GroupName": f"svc-{index}" if index else "default",
                    "Description": f"service {index}", "VpcId": vpc, "OwnerId": ACCOUNT,
                    "IpPermissions": [], "IpPermissionsEgress": [],
                    "Tags": [{"Key": "team", "Value": f"t{index % 40}"}]})
        for number in range(rules):
            row = {"SecurityGroupRuleId": f"sgr-{_hex(rng)}", "GroupId": group_id,
                   "GroupOwnerId": ACCOUNT, "IsEgress": number == 0, "Tags": []}
            kind = rng.random()
            if number == 0:
                row.update(IpProtocol="-1", FromPort=-1, ToPort=-1, CidrIpv4="0.0.0.0/0")
            elif kind < 0.5:
                port = rng.choice([22, 80, 443, 3306, 5432, 6379, 8080, 9200])
                row.update(IpProtocol="tcp", FromPort=port, ToPort=port,
                           CidrIpv4=f"10.{rng.randrange(256)}.{rng.randrange(256)}.0/24",
                           Description=f"rule {number} <{index}>")
            elif kind < 0.75:
                low = rng.randrange(1024, 60000)
                row.update(IpProtocol="udp", FromPort=low, ToPort=low + rng.randrange(100),
                           CidrIpv6="2600:1f18::/56")
            elif kind < 0.95:
                row.update(IpProtocol="tcp", FromPort=443, ToPort=443, ReferencedGroupInfo={
                    "GroupId": rng.choice(group_ids), "UserId": ACCOUNT})
            else:
                row.update(IpProtocol="icmp", FromPort=8, ToPort=-1, CidrIpv4="0.0.0.0/0")
            rows.append(row)
    _fill_permissions(sgs, rows)
    acls = []
    for subnet, vpc, _ in subnets:
        entries = [{"CidrBlock": "0.0.0.0/0", "Egress": egress, "Protocol": "-1",
                    "RuleAction": "deny", "RuleNumber": 32767} for egress in (False, True)]
        entries += [{"CidrBlock": "0.0.0.0/0", "Egress": False, "Protocol": "6",
                     "PortRange": {"From": p, "To": p}, "RuleAction": "allow",
                     "RuleNumber": 100 + n} for n, p in enumerate((22, 80, 443, 8080))]
        acl = f"acl-{_hex(rng)}"
        acls.append({"NetworkAclId": acl, "VpcId": vpc, "IsDefault": False,
                     "OwnerId": ACCOUNT, "Tags": [], "Entries": entries,
                     "Associations": [{"NetworkAclAssociationId": f"aclassoc-{_hex(rng)}",
                                       "NetworkAclId": acl, "SubnetId": subnet}]})
    enis, reservations = [], []
    for index in range(groups // 2):
        subnet, vpc, cidr = subnets[index % len(subnets)]
        eni, instance = f"eni-{_hex(rng)}", f"i-{_hex(rng)}"
        address = cidr.replace(".0/24", f".{4 + index % 250}")
        enis.append({
            "NetworkInterfaceId": eni, "SubnetId": subnet, "VpcId": vpc,
            "AvailabilityZone": f"{region}a", "InterfaceType": "interface", "Status": "in-use",
            "Attachment": {"AttachmentId": f"eni-attach-{_hex(rng)}", "DeviceIndex": 0,
                           "InstanceId": instance, "InstanceOwnerId": ACCOUNT,
                           "Status": "attached"},
            "Groups": [{"GroupId": g, "GroupName": "x"} for g in rng.sample(group_ids, 2)],
            "PrivateIpAddress": address, "Ipv6Addresses": [], "OwnerId": ACCOUNT,
            "PrivateIpAddresses": [{"Primary": True, "PrivateIpAddress": address}],
            "RequesterManaged": False, "SourceDestCheck": True, "TagSet": []})
        reservations.append({"ReservationId": f"r-{_hex(rng)}", "OwnerId": ACCOUNT,
                             "Instances": [{"InstanceId": instance,
                                            "State": {"Code": 16, "Name": "running"},
                                            "Tags": [{"Key": "Name", "Value": f"vm-{index}"}]}]})
    return {
        "Vpcs": [{"VpcId": v, "CidrBlock": "10.0.0.0/8", "IsDefault": False,
                  "State": "available", "OwnerId": ACCOUNT} for v in vpcs],
        "Subnets": [{"SubnetId": s, "VpcId": v, "CidrBlock": c, "State": "available",
                     "AvailabilityZone": f"{region}a"} for s, v, c in subnets],
        "RouteTables": [{"RouteTableId": f"rtb-{_hex(rng)}", "VpcId": v, "Associations": [
            {"Main": True, "RouteTableAssociationId": f"rtbassoc-{_hex(rng)}"}], "Routes": [
            {"DestinationCidrBlock": "0.0.0.0/0", "GatewayId": f"igw-{v[4:]}",
             "State": "active", "Origin": "CreateRoute"}]} for v in vpcs],
        "InternetGateways": [{"InternetGatewayId": f"igw-{v[4:]}", "Attachments": [
            {"State": "available", "VpcId": v}]} for v in vpcs],
        "SecurityGroups": sgs,
        "SecurityGroupRules": rows,
        "NetworkAcls": acls,
        "NetworkInterfaces": enis,
        "Reservations": reservations,
        "PrefixLists": [],
        "Entries": {},
    }


def _serve(args: argparse.Namespace, moto_url: str, ready) -> None:
    from tests.servers.aws_stub import AwsStub

    stub = AwsStub(upstream=moto_url, page_size=0).start()  # pages as the client asks: 1000
    stub.cache_pages = True
    for offset, region in enumerate(REGION_NAMES[: args.regions]):
        estate = synthetic_estate(region, args.groups, args.rules, seed=offset)
        stub.ec2_estate[(ACCOUNT, region)] = estate
        stub.guardduty[(ACCOUNT, region)] = {}
    ready.put(stub.url)
    while True:
        time.sleep(3600)


class _InlineExecutor:
    """Collects every scope in the calling thread, so cProfile (one thread only) sees it all."""

    def run(self, jobs, deadline, done, pool) -> bool:
        from scanner.executors.local import collect_scope

        for provider, scope in jobs:
            done(scope, collect_scope(provider, scope), True)
        return True


def bare_reads(regions: tuple[str, ...], max_workers: int) -> int:
    """The same EC2 and GuardDuty list calls as a scan, plain boto3 paginators with the same
    page sizes, regions on threads as a scan does; every item kept as a scan keeps it. Returns
    the number of items read."""
    from concurrent.futures import ThreadPoolExecutor

    import boto3

    from providers.aws.resources import EC2_RESOURCES, GUARDDUTY_DETECTORS

    session = boto3.Session()
    clients = {(service, region): session.client(service, region_name=region)
               for region in regions for service in ("ec2", "guardduty")}

    def region_reads(region: str) -> list:
        kept: list = []
        for call in (*EC2_RESOURCES, GUARDDUTY_DETECTORS):
            client = clients[(call.service, region)]
            pages = client.get_paginator(call.operation).paginate(
                PaginationConfig={"PageSize": call.page_size})
            for page in pages:
                kept.extend(page.get(call.result_key) or ())
        return kept

    with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
        return sum(len(found) for found in pool.map(region_reads, regions))


def full_scan(settings, out: Path, executor=None) -> dict[str, float]:
    """What ``cloudwall scan --format json --output FILE`` does on the client: collect, judge
    (policies and exposure), encode and write the JSON report. CPU seconds per stage."""
    from providers.aws import AwsProvider
    from reports import render
    from scanner.collect import collect_snapshot
    from scanner.engine import analyze
    from scanner.outputs import write_output

    times = {"start": time.process_time()}
    snapshot = collect_snapshot([AwsProvider(settings)], max_workers=settings.max_workers,
                                executor=executor)
    assert not snapshot.errors, snapshot.errors
    times["collect"] = time.process_time()
    report = analyze(snapshot)
    times["analyze"] = time.process_time()
    data = render("json", report)
    times["encode"] = time.process_time()
    write_output(out, data)
    times["write"] = time.process_time()
    stages = ["collect", "analyze", "encode", "write"]
    result = {stage: times[stage] - times[previous]
              for previous, stage in zip(["start", *stages[:-1]], stages, strict=True)}
    result["total"] = times["write"] - times["start"]
    result["bytes"] = len(data)
    result["findings"] = len(report.findings)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=2500, help="security groups per region")
    parser.add_argument("--rules", type=int, default=10, help="rules per security group")
    parser.add_argument("--regions", type=int, default=2, choices=range(1, 5))
    parser.add_argument("--reps", type=int, default=2,
                        help="alternating repetitions of bare reads and full scan")
    parser.add_argument("--profile", metavar="N", type=int, default=0,
                        help="also profile one full scan (every scope in the main thread) and "
                        "print its top N functions by own time and by cumulative time")
    args = parser.parse_args()
    for key, value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
                       "AWS_CONFIG_FILE": os.devnull,
                       "AWS_SHARED_CREDENTIALS_FILE": os.devnull}.items():
        os.environ[key] = value

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    ready = multiprocessing.get_context("spawn").Queue()
    server = multiprocessing.get_context("spawn").Process(
        target=_serve, args=(args, moto_url, ready), daemon=True)
    started = time.perf_counter()
    server.start()
    stub_url = ready.get(timeout=120)
    print(f"estate built and served in {time.perf_counter() - started:.1f}s "
          f"({args.regions} regions x {args.groups} groups x {args.rules} rules)")
    os.environ["AWS_ENDPOINT_URL"] = moto_url
    os.environ["AWS_ENDPOINT_URL_EC2"] = os.environ["AWS_ENDPOINT_URL_GUARDDUTY"] = stub_url

    from providers.aws import AwsProvider, normalize_scope
    from providers.aws.fetch import fetch_scope
    from providers.base import ProviderSettings
    from scanner.collect import collect_snapshot

    regions = tuple(REGION_NAMES[: args.regions])
    settings = ProviderSettings(regions=regions, max_retries=2, request_timeout=120)
    # Warm-up: service models, connections and the server's rendered pages, so what is timed
    # is the client: HTTP, boto3's parsing, pagination, normalization.
    started = time.perf_counter()
    collect_snapshot([AwsProvider(settings)], max_workers=settings.max_workers)
    print(f"first collection (server rendering its pages too): "
          f"{time.perf_counter() - started:.2f}s")

    started = time.perf_counter()
    snapshot = collect_snapshot([AwsProvider(settings)], max_workers=settings.max_workers)
    collect_seconds = time.perf_counter() - started
    assert not snapshot.errors, snapshot.errors
    assert len(snapshot.rule_sets) >= args.groups * args.regions

    provider = AwsProvider(settings)
    scope = next(s for s in provider.discover_scopes())
    raw, _ = fetch_scope(provider.accounts()[scope.account].clients, scope)
    started = time.perf_counter()
    items = list(normalize_scope(scope, raw))
    normalize_seconds = time.perf_counter() - started
    tracemalloc.start()  # a second pass for memory: tracing slows it several times over
    list(normalize_scope(scope, raw))
    _, normalize_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    started = time.perf_counter()
    text = snapshot.to_json()
    json_seconds = time.perf_counter() - started

    rules = snapshot.rule_count()
    print(f"full collection: {collect_seconds:.2f}s for {len(snapshot.rule_sets)} rule sets, "
          f"{rules} rules, {len(snapshot.assets)} assets, {len(snapshot.subnets)} subnets "
          f"({rules / collect_seconds:,.0f} rules/s)")
    print(f"normalization of one region: {normalize_seconds:.2f}s for {len(items)} objects, "
          f"peak {normalize_peak / 2**20:.1f} MiB (tracemalloc)")
    print(f"snapshot JSON: {json_seconds:.2f}s, {len(text) / 2**20:.1f} MiB")

    # The goal of this row: a scan's client CPU (collect + policies + exposure + JSON) within
    # 2x the bare boto3 paginated reads of the same calls, both timed here, alternately.
    import tempfile

    with tempfile.TemporaryDirectory() as work:
        bare_cpu, scans = [], []
        for rep in range(args.reps):
            before = time.process_time()
            read = bare_reads(regions, settings.max_workers)
            bare_cpu.append(time.process_time() - before)
            scans.append(full_scan(settings, Path(work) / "report.json"))
            print(f"rep {rep + 1}: bare boto3 reads {bare_cpu[-1]:.2f}s CPU ({read} items); "
                  "full scan " + ", ".join(f"{k} {v:.2f}s" for k, v in scans[-1].items()
                                           if k not in ("bytes", "findings"))
                  + f" CPU; report {scans[-1]['bytes'] / 2**20:.1f} MiB, "
                  f"{scans[-1]['findings']} findings")
        best_bare = min(bare_cpu)
        best_scan = min(scans, key=lambda r: r["total"])
        print(f"client CPU ratio, full scan / bare boto3 reads (best of {args.reps}): "
              f"{best_scan['total']:.2f}s / {best_bare:.2f}s = "
              f"{best_scan['total'] / best_bare:.2f}x (goal <= 2x)")
        if args.profile:
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            profiler.enable()
            full_scan(settings, Path(work) / "profiled.json", executor=_InlineExecutor())
            profiler.disable()
            for order in ("tottime", "cumulative"):
                print(f"--- profile of one full scan, top {args.profile} by {order} ---")
                pstats.Stats(profiler).sort_stats(order).print_stats(args.profile)

    print(f"CPU time of this process (client side): {time.process_time():.1f}s; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"process peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} "
          "MiB")
    server.terminate()
    moto.stop()


if __name__ == "__main__":
    main()
