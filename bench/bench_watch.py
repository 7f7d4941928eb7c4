"""Benchmark: ``cloudwall watch`` from API call to alert, against local servers.

moto (EC2, SQS, STS) and the local stub (tests/servers/aws_stub.py, which records every EC2 write
it forwards as a CloudTrail event and answers LookupEvents) run in this process; the watcher
runs as a real ``cloudwall watch`` process over HTTP. A stream of security group changes is
applied with boto3, most benign (rules inside what an existing rule already admits: neutral;
then revoked again: neutral) and some widening (a port opened to 0.0.0.0/0 on a group attached
to an instance with a public address). Per widening change: the time from the API call's answer
to the alert line on the watcher's stdout. Also: API calls the watcher made per audit event,
every widening alerted exactly once, nothing else alerted.

Two paths: ``logs`` (LookupEvents every ``--interval``; the stand-in delivers events at once,
so a real CloudTrail's delivery lag of minutes comes on top) and ``queue`` (the bench plays
EventBridge: each recorded call is sent to an SQS queue at once; the watcher long-polls it).

    .venv/bin/python bench/bench_watch.py [--groups 20] [--changes 60] [--widening 0.2]
        [--interval 10s] [--pace 0.5] [--paths logs,queue]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REGION = "us-east-1"


def _servers():
    import boto3
    from moto.server import ThreadedMotoServer

    from tests.servers.aws_stub import AwsStub

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    moto_url = f"http://{host}:{port}"
    stub = AwsStub(upstream=moto_url, page_size=1000).start()
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION,
           "AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1",
           "AWS_ENDPOINT_URL": moto_url, "AWS_ENDPOINT_URL_EC2": stub.url,
           "AWS_ENDPOINT_URL_GUARDDUTY": stub.url, "AWS_ENDPOINT_URL_CLOUDTRAIL": stub.url,
           "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    os.environ.update(env)
    boto3.client("ec2", region_name=REGION).describe_vpcs()
    return moto, stub, env


def _estate(groups: int) -> list[str]:
    """``groups`` security groups, each on an instance with a public address, each admitting
    every TCP port from 10.0.0.0/8 (so narrower private rules change nothing)."""
    import boto3

    ec2 = boto3.client("ec2", region_name=REGION)
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    rtb = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=rtb, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    ec2.associate_route_table(RouteTableId=rtb, SubnetId=subnet)
    ids = []
    for n in range(groups):
        group = ec2.create_security_group(GroupName=f"svc-{n}", Description="svc",
                                          VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535,
             "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
        ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1,
                          InstanceType="t3.micro",
                          NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet,
                                              "Groups": [group],
                                              "AssociatePublicIpAddress": True}])
        ids.append(group)
    return ids


def _cli(env: dict[str, str], store: Path, *args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "scanner.cli", "--store", str(store), *args],
                            env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)


def _pump(stream, into: queue.Queue) -> None:
    for line in stream:
        into.put((time.time(), line))
    into.put((time.time(), None))


def run_path(path: str, args, env, stub, groups: list[str], store: Path, first_port: int) -> dict:
    import boto3

    ec2 = boto3.client("ec2", region_name=REGION)
    extra: list[str] = []
    sqs = url = None
    if path == "queue":
        sqs = boto3.client("sqs", region_name=REGION)
        url = sqs.create_queue(QueueName=f"watch-{int(time.time())}")["QueueUrl"]
        extra = ["--aws-queue", url]
    watcher = _cli(env, store, "watch", "--baseline", "prod", "--provider", "aws",
                   "--regions", REGION, "--interval", args.interval, "--max-retries", "0",
                   *extra)
    out: queue.Queue = queue.Queue()
    err: queue.Queue = queue.Queue()
    threading.Thread(target=_pump, args=(watcher.stdout, out), daemon=True).start()
    threading.Thread(target=_pump, args=(watcher.stderr, err), daemon=True).start()
    while True:  # the watcher has read the log once: it is running
        _, line = err.get(timeout=300)
        if line is None:
            raise SystemExit("the watcher ended before its first interval")
        if line.startswith("watch (logs)"):
            break
    stub.clear_faults()  # API call counts from here on
    events_before = sum(len(v) for v in stub.events.values())
    rng = random.Random(args.seed)
    widenings: dict[tuple[str, str], float] = {}  # (group, port) -> call answered at
    benign = 0
    port = first_port  # each change its own port: its own drift item
    sent: set[str] = set()

    def forward() -> None:
        """The EventBridge stand-in: every newly recorded call to the queue, at once."""
        for events in list(stub.events.values()):
            for event in list(events):
                if event["EventId"] in sent:
                    continue
                sent.add(event["EventId"])
                record = json.loads(event["CloudTrailEvent"])
                sqs.send_message(QueueUrl=url, MessageBody=json.dumps({
                    "version": "0", "id": event["EventId"],
                    "detail-type": "AWS API Call via CloudTrail", "source": "aws.ec2",
                    "account": record["recipientAccountId"], "region": REGION,
                    "time": record["eventTime"], "detail": record}))

    if path == "queue":
        for events in stub.events.values():
            sent.update(e["EventId"] for e in events)
    for _ in range(args.changes):
        group = rng.choice(groups)
        port += 1
        if rng.random() < args.widening:
            ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                 "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
            widenings[(group, str(port))] = time.time()
        else:
            inside = [{"IpProtocol": "tcp", "FromPort": port, "ToPort": port,
                       "IpRanges": [{"CidrIp": f"10.{port % 250}.0.0/16"}]}]
            ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=inside)
            ec2.revoke_security_group_ingress(GroupId=group, IpPermissions=inside)
            benign += 2
        if path == "queue":
            forward()
        time.sleep(args.pace)
    calls_events = sum(len(v) for v in stub.events.values()) - events_before
    # Wait for the last alerts: two intervals after the last call.
    settle = time.time() + 2 * _seconds(args.interval) + 10
    alerts: list[tuple[float, dict]] = []
    while time.time() < settle:
        try:
            at, line = out.get(timeout=0.5)
        except queue.Empty:
            continue
        if line:
            alerts.append((at, json.loads(line)))
    while not out.empty():
        at, line = out.get()
        if line:
            alerts.append((at, json.loads(line)))
    api_calls = [c for c in stub.calls]
    watcher.terminate()
    code = watcher.wait(timeout=120)
    drift = [(at, a) for at, a in alerts if a["type"] == "drift"]
    seen: dict[tuple[str, str], list[float]] = {}
    unexpected = []
    for at, alert in drift:
        item = alert["item"]
        ports = (item.get("after") or {}).get("ports") or [""]
        key = (item["resource_id"], ports[0])
        if key in widenings and item["effect"] == "widened":
            seen.setdefault(key, []).append(at - widenings[key])
        else:
            unexpected.append(item["summary"])
    latencies = sorted(v[0] for v in seen.values())
    reads = [c for c in api_calls if c[0] == "ec2" and c[2].startswith(("Describe", "Get"))]
    lookups = [c for c in api_calls if c[0] == "cloudtrail"]
    return {
        "path": path, "exit": code, "changes": args.changes, "calls": calls_events,
        "widenings": len(widenings), "benign_calls": benign,
        "alerted_once": sum(1 for v in seen.values() if len(v) == 1),
        "alerted_twice_or_more": sum(1 for v in seen.values() if len(v) > 1),
        "missed": len(widenings) - len(seen), "unexpected_alerts": len(unexpected),
        "latency_p50": statistics.median(latencies) if latencies else None,
        "latency_p95": latencies[max(0, int(round(0.95 * len(latencies))) - 1)]
        if latencies else None,
        "latency_max": latencies[-1] if latencies else None,
        "ec2_reads": len(reads), "lookup_events_calls": len(lookups),
        "ec2_reads_per_event": len(reads) / max(1, calls_events),
        "read_actions": sorted({c[2] for c in reads}),
    }


def _seconds(text: str) -> float:
    from scanner.durations import parse_duration

    return parse_duration(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=20)
    parser.add_argument("--changes", type=int, default=60)
    parser.add_argument("--widening", type=float, default=0.2)
    parser.add_argument("--interval", default="10s")
    parser.add_argument("--pace", type=float, default=0.5, help="seconds between changes")
    parser.add_argument("--paths", default="logs,queue")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} "
          f"{os.getloadavg()[2]:.2f} on {os.cpu_count()} cores")
    moto, stub, env = _servers()
    try:
        start = time.perf_counter()
        groups = _estate(args.groups)
        print(f"estate: {args.groups} groups on {args.groups} public instances "
              f"({time.perf_counter() - start:.1f} s)")
        with tempfile.TemporaryDirectory() as scratch:
            store = Path(scratch) / "store.db"
            for command in (["scan", "--provider", "aws", "--regions", REGION, "--save",
                             "--format", "json", "--output", str(Path(scratch) / "r.json")],
                            ["baseline", "set", "prod", "--from-snapshot", "latest"]):
                done = _cli(env, store, *command)
                _, stderr = done.communicate(timeout=600)
                if done.returncode not in (0, 1):
                    raise SystemExit(stderr)
            for n, path in enumerate(args.paths.split(",")):
                result = run_path(path, args, env, stub, groups, store, 20000 + 10000 * n)
                print(json.dumps(result, sort_keys=True))
    finally:
        stub.stop()
        moto.stop()


if __name__ == "__main__":
    main()
