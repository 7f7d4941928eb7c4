"""Azure collection at scale: a large synthetic estate served over HTTPS, collected for real.

    .venv/bin/python bench/bench_azure.py [--subscriptions 4] [--nsgs 1000] [--rules 10]
                                          [--nics 2000] [--page-size 100] [--workers 8]

A local Resource Manager server (tests/servers/azure_arm.py, in its own process so it does not
share the scanner's interpreter) serves the estate with ``nextLink`` paging. The scanner then
collects every subscription through the real azure-mgmt-network SDK, as ``cloudwall scan
--provider azure`` does, and the normalization is timed again alone on the raw ARM JSON.
Prints counts, wall and CPU times (the machine may be shared: CPU time is the steadier figure),
requests made, and peak memory (process maximum RSS; the Python heap
peak of the normalization alone from tracemalloc).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import resource
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from providers.azure import AzureProvider, normalize_scope  # noqa: E402
from providers.azure.auth import StaticTokenCredential, resolve_endpoint  # noqa: E402
from providers.azure.fetch import RESOURCE_TYPES, ClientFactory, list_resources  # noqa: E402
from providers.base import ProviderSettings  # noqa: E402
from scanner.collect import collect_snapshot  # noqa: E402
from scanner.model import Scope  # noqa: E402
from tests.servers import azure_arm as arm  # noqa: E402

SOURCES = ["10.0.0.0/8", "10.20.0.0/16", "VirtualNetwork", "AzureLoadBalancer", "Internet", "*",
           "203.0.113.0/24", "Storage.WestEurope", ["10.1.0.0/24", "10.2.0.0/24", "192.0.2.10"]]
PORTS = ["22", "80", "443", "3389", "1433", "5432", "8080-8090", "*", ["80", "443"],
         ["1000-2000", "3000"]]
PROTOCOLS = ["Tcp", "Tcp", "Tcp", "Udp", "*", "Icmp"]


def subscription_id(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-{n:012x}"


def build(estate: arm.ArmEstate, subs: int, nsgs: int, rules: int, nics: int, seed: int) -> None:
    rng = random.Random(seed)
    for s in range(subs):
        sub = subscription_id(s + 1)
        estate.add_subscription(sub, f"bench-{s}")
        rg = "rg-bench"
        nsg_ids = [arm.network_id(sub, rg, "networkSecurityGroups", f"nsg-{i}")
                   for i in range(nsgs)]
        vnets, subnets = [], []
        for v in range(max(1, nsgs // 20)):
            entries = []
            for k in range(20):
                nsg_index = v * 20 + k
                nsg = nsg_ids[nsg_index] if nsg_index < nsgs and k % 4 else None
                entries.append((f"sn-{k}", f"10.{v % 250}.{k}.0/24", nsg))
            body = arm.vnet(sub, rg, f"vnet-{v}", [f"10.{v % 250}.0.0/16"], entries)
            vnets.append(body)
            subnets += [(sn["id"], sn["properties"].get("networkSecurityGroup", {}).get("id"))
                        for sn in body["properties"]["subnets"]]
        estate.add(sub, "virtualNetworks", *vnets)
        groups = []
        for i, nsg_id in enumerate(nsg_ids):
            custom = []
            for r in range(rules):
                custom.append(arm.security_rule(
                    nsg_id, f"rule-{r}", 100 + r * 10, rng.choice(["Allow", "Allow", "Deny"]),
                    rng.choice(["Inbound", "Inbound", "Outbound"]), rng.choice(PROTOCOLS),
                    rng.choice(PORTS), rng.choice(SOURCES), description=f"rule {r} of {i}"))
            attached = [sn for sn, nsg in subnets if nsg == nsg_id]
            groups.append(arm.nsg(sub, rg, f"nsg-{i}", custom, subnets=attached))
        estate.add(sub, "networkSecurityGroups", *groups)
        interfaces, addresses = [], []
        for n in range(nics):
            subnet_id, _ = subnets[n % len(subnets)]
            pip = arm.network_id(sub, rg, "publicIPAddresses", f"pip-{n}") if n % 3 == 0 else None
            nsg = nsg_ids[n % nsgs] if n % 2 else None
            body = arm.nic(sub, rg, f"nic-{n}", subnet_id, f"10.{n % 250}.{n % 20}.{4 + n % 200}",
                           pip, nsg_id=nsg, vm=f"vm-{n}")
            interfaces.append(body)
            if pip:
                addresses.append(arm.public_ip(
                    sub, rg, f"pip-{n}", f"20.{n % 200}.{(n // 200) % 250}.{n % 250}",
                    sku="Standard" if n % 2 else "Basic",
                    ip_config_id=f"{body['id']}/ipConfigurations/ipconfig1"))
        # A quarter of the NICs without a public IP of their own sit behind public load
        # balancers, ten to a backend pool.
        balancers = []
        behind = [b for b in interfaces
                  if "publicIPAddress" not in b["properties"]["ipConfigurations"][0]["properties"]
                  ][::4]
        for k in range(0, len(behind), 10):
            name = f"lb-{k // 10}"
            lb_id = arm.network_id(sub, rg, "loadBalancers", name)
            members = [f"{b['id']}/ipConfigurations/ipconfig1" for b in behind[k:k + 10]]
            pip_id = arm.network_id(sub, rg, "publicIPAddresses", f"pip-{name}")
            balancers.append(arm.load_balancer(sub, rg, name, pip_id, members, [80, 443]))
            addresses.append(arm.public_ip(
                sub, rg, f"pip-{name}", f"52.{k % 200}.{(k // 200) % 250}.1",
                ip_config_id=f"{lb_id}/frontendIPConfigurations/fe"))
        estate.add(sub, "networkInterfaces", *interfaces)
        estate.add(sub, "publicIPAddresses", *addresses)
        estate.add(sub, "loadBalancers", *balancers)
        estate.add(sub, "applicationSecurityGroups",
                   *[arm.asg(sub, rg, f"asg-{a}") for a in range(max(1, nsgs // 10))])


def serve(conn, args) -> None:
    """The server process: build the estate, serve it, report the request count on demand."""
    estate = arm.ArmEstate()
    estate.page_size = args.page_size
    build(estate, args.subscriptions, args.nsgs, args.rules, args.nics, args.seed)
    with arm.ArmServer(estate) as server:
        conn.send((server.url, server.ca_bundle, server.token))
        while conn.recv() == "count":
            conn.send(len(estate.requests))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=4)
    parser.add_argument("--nsgs", type=int, default=1000, help="per subscription")
    parser.add_argument("--rules", type=int, default=10, help="custom rules per NSG")
    parser.add_argument("--nics", type=int, default=2000, help="per subscription")
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.get_context("fork").Process(target=serve, args=(theirs, args),
                                                         daemon=True)
    server.start()
    url, ca_bundle, token = ours.recv()
    print(f"estate built and served in {time.perf_counter() - started:.1f}s at {url}")
    os.environ["REQUESTS_CA_BUNDLE"] = ca_bundle
    os.environ["CLOUDWALL_AZURE_TOKEN"] = token

    started = time.perf_counter()
    import azure.mgmt.network  # noqa: F401  (a large generated module: a fixed cost per run)
    import azure.mgmt.resource.subscriptions  # noqa: F401

    print(f"SDK import (once per run, not in the figures below): "
          f"{time.perf_counter() - started:.2f}s")
    settings = ProviderSettings(azure_endpoint=url, max_retries=0, request_timeout=120.0,
                                max_workers=args.workers)
    started, cpu_started = time.perf_counter(), time.process_time()
    snapshot = collect_snapshot([AzureProvider(settings)], max_workers=args.workers)
    collect_seconds = time.perf_counter() - started
    collect_cpu = time.process_time() - cpu_started
    ours.send("count")
    requests = ours.recv()
    assert not snapshot.errors, snapshot.errors
    print(f"full collection through the SDK over HTTPS: {collect_seconds:.2f}s wall, "
          f"{collect_cpu:.2f}s CPU in the scanner, {requests} requests "
          f"({args.page_size} items a page), {args.workers} workers")
    print(f"  {len(snapshot.scopes)} subscriptions, {len(snapshot.rule_sets)} NSGs, "
          f"{snapshot.rule_count()} rules (default rules included), {len(snapshot.assets)} "
          f"NICs, {len(snapshot.subnets)} subnets, "
          f"{sum(len(a.public_addresses) for a in snapshot.assets)} public addresses, "
          f"{sum(1 for a in snapshot.assets if a.extra.get('load_balancer_public_addresses'))} "
          "NICs behind public load balancers")
    rss_after_collect = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    # The raw JSON once more, then the normalizer alone on it.
    factory = ClientFactory(resolve_endpoint("public", url), StaticTokenCredential(token), 0, 120)
    raws = []
    for scope in snapshot.scopes:
        with factory.network(scope.account) as client:
            raws.append((scope, {t.key: list_resources(client, scope.account, t, url)
                                 for t in RESOURCE_TYPES}))
    started, cpu_started = time.perf_counter(), time.process_time()
    count = sum(1 for scope, raw in raws for _ in normalize_scope(scope, raw))
    normalize_seconds = time.perf_counter() - started
    normalize_cpu = time.process_time() - cpu_started
    tracemalloc.start()  # a second pass, traced; the model objects kept until measured
    items = [item for scope, raw in raws
             for item in normalize_scope(Scope(scope.provider, scope.account), raw)]
    retained, heap_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del items
    print(f"normalization alone: {normalize_seconds:.2f}s wall, {normalize_cpu:.2f}s CPU, "
          f"for {count} model objects "
          f"({snapshot.rule_count() / max(normalize_seconds, 1e-9):,.0f} rules/s wall, "
          f"{snapshot.rule_count() / max(normalize_cpu, 1e-9):,.0f} rules per CPU second)")
    print(f"peak memory: {rss_after_collect:.0f} MiB RSS after collection, "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB at the end; "
          f"normalization heap peak {heap_peak / 2**20:.0f} MiB, the model objects it built "
          f"{retained / 2**20:.1f} MiB (tracemalloc)")
    ours.send("stop")
    server.join(timeout=10)


if __name__ == "__main__":
    main()
