"""Benchmark: collection of many AWS scopes on local threads and on a Dask cluster.

The local AWS stub (tests/servers/aws_stub.py, in a child process, no moto behind it) serves one
account with ``--scopes`` regions, each a small synthetic estate, and adds ``--latency`` seconds
to every answer, as a real endpoint's round trip does. The same collection then runs:

- on local threads (``--concurrency``, the scan's default 8);
- on a ``distributed.LocalCluster`` of worker processes with 1, then 2 workers (``--workers``),
  each with ``--threads`` threads: what ``cloudwall scan --executor dask`` does.

Each prints wall time and scopes per second, and the Dask snapshots are checked to hold exactly
what the local one holds. On one machine the workers share its cores with the stub and the
client: the figures show the overhead and the scaling shape, not a cluster's absolute speed.

    .venv/bin/python bench/bench_distributed.py [--scopes 200] [--latency 0.05] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
ACCOUNT = "123456789012"


def region_names(count: int) -> list[str]:
    return [f"bench-{n:04d}" for n in range(count)]


def _serve(args: argparse.Namespace, ready) -> None:
    from bench_aws import synthetic_estate

    from tests.servers.aws_stub import AwsStub

    stub = AwsStub(page_size=0).start()
    stub.cache_pages = True
    stub.record_events = False
    for offset, region in enumerate(region_names(args.scopes)):
        stub.ec2_estate[(ACCOUNT, region)] = synthetic_estate(region, args.groups, args.rules,
                                                              seed=offset)
        stub.guardduty[(ACCOUNT, region)] = {}
    stub.latency = args.latency
    ready.put(stub.url)
    while True:
        time.sleep(3600)


def content(snapshot) -> dict:
    data = snapshot.to_dict()
    data.pop("snapshot_id")
    data.pop("taken_at")
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scopes", type=int, default=200, help="regions of the one account")
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per API answer")
    parser.add_argument("--groups", type=int, default=20, help="security groups per scope")
    parser.add_argument("--rules", type=int, default=5, help="rules per security group")
    parser.add_argument("--concurrency", type=int, default=8, help="local threads")
    parser.add_argument("--threads", type=int, default=8, help="threads per Dask worker")
    parser.add_argument("--workers", default="1,2", help="Dask worker counts to time")
    args = parser.parse_args()

    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Queue()
    server = spawn.Process(target=_serve, args=(args, ready), daemon=True)
    started = time.perf_counter()
    server.start()
    url = ready.get(timeout=300)
    print(f"{args.scopes} scopes ({args.groups} groups x {args.rules} rules each) served in "
          f"{time.perf_counter() - started:.1f}s, {args.latency * 1000:.0f} ms per answer")
    # Set before any worker starts: the workers read their own environment, as in production.
    os.environ.update({
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_MAX_ATTEMPTS": "1", "AWS_ENDPOINT_URL": url, "NO_PROXY": "127.0.0.1"})

    import distributed

    from providers.aws import AwsProvider
    from providers.base import ProviderSettings
    from scanner.collect import collect_snapshot
    from scanner.executors import ExecutorSettings, make_executor

    settings = ProviderSettings(regions=tuple(region_names(args.scopes)), max_retries=0,
                                max_workers=args.concurrency, request_timeout=120)

    def timed(label: str, executor=None):
        started = time.perf_counter()
        snapshot = collect_snapshot([AwsProvider(settings)], args.concurrency,
                                    executor=executor)
        seconds = time.perf_counter() - started
        assert not snapshot.errors, snapshot.errors[:3]
        assert len(snapshot.scopes) == args.scopes
        print(f"{label:<34} {seconds:7.2f}s  {args.scopes / seconds:7.1f} scopes/s")
        return snapshot

    timed("warm-up (local, not counted)")
    reference = timed(f"local threads ({args.concurrency})")
    for workers in (int(n) for n in args.workers.split(",")):
        with distributed.LocalCluster(
                n_workers=workers, threads_per_worker=args.threads, processes=True,
                dashboard_address="127.0.0.1:0", host="127.0.0.1",
                silence_logs=logging.ERROR) as cluster:
            executor = make_executor(ExecutorSettings("dask", cluster.scheduler_address))
            timed(f"dask warm-up ({workers} worker)", executor)
            snapshot = timed(f"dask: {workers} worker(s) x {args.threads} threads", executor)
            assert content(snapshot) == content(reference), "dask snapshot differs"
    print(f"every Dask snapshot equals the local one; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    server.terminate()


if __name__ == "__main__":
    main()
