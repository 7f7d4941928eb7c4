"""Benchmark: a full GCP collection of a large synthetic estate through the real clients.

The local Compute server (tests/servers/gcp_compute.py) runs in its own process and serves pages
of 500 items, as the real API does at most. Timed: discovery plus collection of every project
through google-cloud-compute over HTTP, then the normalization alone on the same raw payloads.

    .venv/bin/python bench/bench_gcp.py [--projects 5] [--networks 40] [--firewalls 25]
                                         [--instances 1000] [--zones 20]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from providers.demo.gcp import (  # noqa: E402
    default_network_firewalls,
    firewall,
    hierarchical_policy,
    instance,
    network,
    network_policy,
    policy_rule,
)
from tests.servers.gcp_compute import Estate, Project, serve  # noqa: E402

REGIONS = ("us-central1", "us-east1", "us-west1", "europe-west1", "europe-west4",
           "asia-east1", "asia-southeast1", "southamerica-east1", "australia-southeast1",
           "northamerica-northeast1")


def build_estate(projects: int, networks: int, firewalls: int, instances: int,
                 zones: int) -> Estate:
    zone_names = [f"{REGIONS[i % len(REGIONS)]}-{'abc'[i // len(REGIONS) % 3]}"
                  for i in range(zones)]
    org = "organizations/1"
    estate = Estate(page_size=500, folders={"folders/2": {"name": "folders/2", "parent": org,
                                                         "state": "ACTIVE"}})
    estate.hierarchical_policies = [
        hierarchical_policy(name, parent, [
            policy_rule(100 + i, ("deny", "allow", "goto_next")[i % 3],
                        layer4=[("tcp", [str(1000 + i)])], src_ranges=[f"198.51.{i % 250}.0/24"])
            for i in range(50)], attached_to=[parent])
        for name, parent in (("org", org), ("folder", "folders/2"))]
    for p_index in range(projects):
        pid = f"bench-{p_index:03d}"
        project = Project(pid, parent="folders/2", number=str(2000 + p_index),
                          zones=zone_names, regions=list(REGIONS))
        project.networks = [network(pid, "default", auto=True)] + [
            network(pid, f"net-{n:03d}", order=("AFTER_CLASSIC_FIREWALL",
                                                "BEFORE_CLASSIC_FIREWALL")[n % 2])
            for n in range(networks - 1)]
        project.firewalls = default_network_firewalls(pid)
        for n in range(networks - 1):
            for f in range(firewalls):
                kind = f % 5
                project.firewalls.append(firewall(
                    pid, f"net-{n:03d}", f"fw-{n:03d}-{f:03d}", priority=100 + f * 10,
                    allowed=[("tcp", [str(8000 + f), "443"]), ("udp", ["53"])]
                    if kind != 1 else (), denied=[("tcp", ["22"])] if kind == 1 else (),
                    source_ranges=[f"10.{n}.{f}.0/24", "0.0.0.0/0"] if kind != 2 else (),
                    source_tags=["web"] if kind == 2 else (),
                    target_tags=[f"tier-{f % 4}"] if kind == 3 else (),
                    disabled=kind == 4, log=kind == 0))
        project.network_policies = [
            network_policy(pid, f"policy-{k}", [
                policy_rule(1000 + r, "deny" if r % 2 else "allow",
                            layer4=[("tcp", [str(3000 + r)])], src_ranges=["0.0.0.0/0"])
                for r in range(20)], networks=[f"net-{k:03d}"],
                region=REGIONS[k % len(REGIONS)] if k % 2 else None)
            for k in range(min(10, networks - 1))]
        for i in range(instances):
            zone = zone_names[i % zones]
            project.instances.setdefault(zone, []).append(instance(
                pid, zone, f"vm-{i:05d}", net=f"net-{i % (networks - 1):03d}",
                ip=f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
                nat_ip=f"34.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}" if i % 3 == 0 else None,
                tags=[f"tier-{i % 4}", "web"], service_accounts=[f"sa-{i % 7}@{pid}.iam"]))
        estate.projects[pid] = project
    return estate


def _serve(args: argparse.Namespace, conn) -> None:
    estate = build_estate(args.projects, args.networks, args.firewalls, args.instances,
                          args.zones)
    with serve(estate) as server:
        conn.send(server.url)
        conn.recv()  # until the benchmark is done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=5)
    parser.add_argument("--networks", type=int, default=40)
    parser.add_argument("--firewalls", type=int, default=25, help="per network")
    parser.add_argument("--instances", type=int, default=1000, help="per project")
    parser.add_argument("--zones", type=int, default=20)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()

    parent, child = multiprocessing.Pipe()
    server = multiprocessing.Process(target=_serve, args=(args, child), daemon=True)
    server.start()
    url = parent.recv()
    os.environ["CLOUDWALL_GCP_TOKEN"] = "test-token"
    os.environ["NO_GCE_CHECK"] = "true"
    try:
        run(args, url)
    finally:
        parent.send("done")
        server.join(timeout=10)


def run(args: argparse.Namespace, url: str) -> None:
    started = time.perf_counter()
    from google.cloud import compute_v1, resourcemanager_v3  # noqa: F401  (the SDK's own cost)

    from providers.base import ProviderSettings
    from providers.gcp import GcpProvider, normalize_scope
    from providers.gcp.fetch import Ancestry, GcpApi, fetch_project
    from scanner.collect import collect_snapshot

    import_seconds = time.perf_counter() - started
    settings = ProviderSettings(gcp_endpoint=url, max_retries=0, max_workers=args.workers,
                                request_timeout=120.0)
    started, cpu = time.perf_counter(), time.process_time()
    snapshot = collect_snapshot([GcpProvider(settings)], max_workers=args.workers)
    scan_seconds, scan_cpu = time.perf_counter() - started, time.process_time() - cpu
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    api = GcpApi(settings)
    ancestry = Ancestry(api)
    scopes = list(snapshot.scopes)
    started = time.perf_counter()
    raws = [(scope, fetch_project(api, ancestry, scope.account)) for scope in scopes]
    fetch_seconds = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    items = [item for scope, raw in raws for item in normalize_scope(scope, raw)]
    normalize_seconds, normalize_cpu = time.perf_counter() - started, time.process_time() - cpu
    del items[:]
    tracemalloc.start()  # a second pass, traced, for the memory figure alone
    items = [item for scope, raw in raws for item in normalize_scope(scope, raw)]
    normalize_retained, normalize_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    firewalls = args.projects * ((args.networks - 1) * args.firewalls + 4)
    print(f"estate: {args.projects} projects, {args.projects * args.networks} networks, "
          f"{firewalls} VPC firewalls, {args.projects * args.instances} instances in "
          f"{args.zones} zones, {args.projects * min(10, args.networks - 1)} network policies, "
          "2 hierarchical policies")
    print(f"snapshot: {len(snapshot.rule_sets)} rule sets, {snapshot.rule_count()} rules, "
          f"{len(snapshot.assets)} assets, {len(snapshot.networks)} networks, "
          f"{len(snapshot.errors)} errors")
    print(f"SDK import                         {import_seconds:7.2f} s")
    print(f"full scan, {args.workers} workers (discover, fetch, normalize) {scan_seconds:7.2f} s "
          f"wall, {scan_cpu:.2f} s CPU in the scanning process")
    print(f"fetch only, projects one after another {fetch_seconds:7.2f} s")
    print(f"normalize only                     {normalize_seconds:7.2f} s wall, "
          f"{normalize_cpu:.2f} s CPU ({len(items)} items, "
          f"{len(items) / normalize_seconds:,.0f} items/s)")
    print(f"peak RSS of the scanning process   {rss_mb:7.0f} MB")
    print(f"normalize peak traced allocation   {normalize_peak / 2**20:7.1f} MB")
    print(f"model objects it built (retained)  {normalize_retained / 2**20:7.1f} MB")
    assert not snapshot.errors, snapshot.errors
    assert len(snapshot.assets) == args.projects * args.instances


if __name__ == "__main__":
    main()
