"""Exposure analysis at scale: a synthetic estate on all three clouds, timed and measured.

    .venv/bin/python bench/bench_exposure.py [--assets 100000] [--rules 1000000] [--seed 7]

The estate is shaped like real ones: interfaces come in roles (instance templates, auto
scaling groups) that share security groups, NSGs and network tags; rule sources are mostly
private ranges and tags, some specific public ranges, a few the whole internet. Prints the
time to build the snapshot, the time of ``analyze_exposure``, how many distinct layer
combinations were walked, the exposures found, and peak memory (process maximum RSS, and the
Python heap peak of the analysis alone measured with tracemalloc in a second run unless
``--no-tracemalloc``); ``--graph`` also builds and times the networkx exposure graph.

The reuse rate is assets per equivalence class (assets with the same filtering share one walk).
``--rescan`` then analyses the same estate again, rebuilt as new objects as the next scan's
would be, with the ``ExposureMemo`` of a first analysis: the cost of an unchanged scheduled
scan. ``--scaling 25000,50000,100000`` instead runs the analysis at those asset counts (ten
rules per asset) and prints the exponent of CPU time against size (1.0 is linear).
"""

from __future__ import annotations

import argparse
import math
import random
import resource
import sys
import time
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanner.exposure import ExposureMemo, analyze_exposure, graph  # noqa: E402
from scanner.model import (  # noqa: E402
    Action,
    Asset,
    Attachment,
    Direction,
    Network,
    Peer,
    PeerKind,
    Rule,
    RuleSet,
    RuleSetKind,
    Scope,
    Snapshot,
    Subnet,
)
from scanner.netmath import PortSet  # noqa: E402

IN, OUT = Direction.INGRESS, Direction.EGRESS
ALLOW, DENY, NEXT = Action.ALLOW, Action.DENY, Action.GOTO_NEXT
PORTS = [PortSet.of(p) for p in (22, 80, 443, 3389, 5432, 3306, 8080, 6379, 9200, 25)] + [
    PortSet.of((1000, 2000)), PortSet.of((8000, 8999)), PortSet.all()]


class Sources:
    """Peers drawn in realistic proportions (interned: a loaded snapshot shares none of these,
    but the analysis cost does not depend on that)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.private = [Peer.cidr(f"10.{i}.0.0/16") for i in range(256)]
        self.public = [Peer.cidr(f"{a}.{b}.0.0/16") for a in (34, 52, 81, 151, 185)
                       for b in range(0, 256, 8)]
        self.public += [Peer.cidr(f"198.{b}.{c}.0/24") for b in (20, 21) for c in range(64)]
        self.world = [Peer.cidr("0.0.0.0/0"), Peer.cidr("::/0")]
        self.tags = [Peer(PeerKind.NETWORK_TAG, f"role-{i}") for i in range(40)]

    def draw(self, allow_tags: bool = False) -> tuple[Peer, ...]:
        roll = self.rng.random()
        if roll < 0.55:
            return (self.rng.choice(self.private),)
        if roll < 0.85:
            return tuple(self.rng.sample(self.public, self.rng.randint(1, 3)))
        if roll < 0.93 or not allow_tags:
            return (self.world[0],) if self.rng.random() < 0.8 else tuple(self.world)
        return (self.rng.choice(self.tags),)


def _rule(rng, sources, action, priority, native_id, direction=IN, targets=(), tags=False,
          protocol=None):
    protocol = protocol or rng.choice(("tcp", "tcp", "tcp", "udp", "all", "icmp"))
    ports = rng.choice(PORTS) if protocol in ("tcp", "udp") else PortSet.all()
    return Rule(direction, action, protocol, ports, sources.draw(tags), priority,
                native_id=native_id, targets=targets)


def aws(rng, sources, assets, rules, out):
    account, region = "111122223333", "us-east-1"
    acl_count, acl_rules = max(1, assets // 200), 50
    group_count = max(1, (rules - acl_count * acl_rules) // 40)
    for a in range(acl_count):
        entries = []
        for direction, label in ((IN, "ingress"), (OUT, "egress")):
            for n in range(acl_rules // 2 - 1):
                action = DENY if rng.random() < 0.3 else ALLOW
                entries.append(_rule(rng, sources, action, 100 + n * 10, f"{label}:{n}",
                                     direction))
            entries.append(Rule(direction, ALLOW, "all", PortSet.all(), tuple(sources.world),
                                32000, native_id=f"{label}:open"))
            entries.append(Rule(direction, DENY, "all", PortSet.all(), tuple(sources.world),
                                32767, native_id=f"{label}:*", is_default=True))
        out.append(RuleSet("aws", account, region, RuleSetKind.AWS_NETWORK_ACL, f"acl-{a}",
                           f"acl-{a}", tuple(entries), (Attachment("subnet", f"subnet-{a}"),),
                           "vpc-1"))
        out.append(Subnet("aws", account, region, f"subnet-{a}", "vpc-1", f"subnet-{a}",
                          (f"10.{a % 256}.0.0/24",), (f"acl-{a}",),
                          ("0.0.0.0/0", "::/0") if a % 3 else ()))
    for g in range(group_count):
        group_rules = tuple(_rule(rng, sources, ALLOW, None, f"sgr-{g}-{i}") for i in range(40))
        out.append(RuleSet("aws", account, region, RuleSetKind.AWS_SECURITY_GROUP, f"sg-{g}",
                           f"sg-{g}", group_rules, (), "vpc-1"))
    # A role (an auto scaling group, a template) has its groups and spans a few subnets.
    roles = [(tuple(f"sg-{rng.randrange(group_count)}" for _ in range(rng.randint(1, 3))),
              rng.sample(range(acl_count), min(acl_count, 3)))
             for _ in range(max(1, assets // 10))]
    for i in range(assets):
        groups, subnets = rng.choice(roles)
        subnet = rng.choice(subnets)
        out.append(Asset("aws", account, region, "aws_network_interface", f"eni-{i}",
                         subnet=f"subnet-{subnet}", network="vpc-1",
                         private_addresses=(f"10.{subnet % 256}.{i // 256 % 256}.{i % 256}",),
                         public_addresses=(f"54.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",)
                         if i % 2 else (),
                         rule_set_ids=groups))
    return acl_count * acl_rules + group_count * 40


def azure(rng, sources, assets, rules, out):
    account, region = "00000000-0000-0000-0000-00000000b000", "westeurope"
    per = 100
    count = max(2, rules // per)
    defaults = (
        Rule(IN, ALLOW, "all", PortSet.all(), (Peer(PeerKind.SERVICE_TAG, "VirtualNetwork",
                                                    ("10.0.0.0/8",)),), 65000,
             native_id="AllowVnetInBound", is_default=True),
        Rule(IN, ALLOW, "all", PortSet.all(), (Peer(PeerKind.SERVICE_TAG, "AzureLoadBalancer"),),
             65001, native_id="AllowAzureLoadBalancerInBound", is_default=True),
        Rule(IN, DENY, "all", PortSet.all(), (Peer(PeerKind.ANY, "*", ("0.0.0.0/0", "::/0")),),
             65500, native_id="DenyAllInBound", is_default=True),
    )
    asgs = [f"/asg/{i}" for i in range(20)]
    for n in range(count):
        custom = []
        for i in range(per - len(defaults)):
            targets = ((Peer(PeerKind.APPLICATION_SECURITY_GROUP, rng.choice(asgs)),)
                       if rng.random() < 0.1 else ())
            action = DENY if rng.random() < 0.25 else ALLOW
            custom.append(_rule(rng, sources, action, 100 + i * 10, f"rule-{i}",
                                targets=targets))
        out.append(RuleSet("azure", account, region, RuleSetKind.AZURE_NSG, f"/nsg/{n}",
                           f"nsg-{n}", tuple(custom) + defaults, (), "/vnet"))
    subnets = count // 2
    for s in range(subnets):
        out.append(Subnet("azure", account, region, f"/vnet/subnets/{s}", "/vnet", f"s{s}",
                          (f"10.{s % 256}.0.0/24",), (f"/nsg/{s}",) if s % 4 else ()))
    roles = [(rng.randrange(subnets), f"/nsg/{subnets + rng.randrange(count - subnets)}"
              if rng.random() < 0.6 else None, tuple(rng.sample(asgs, rng.randint(0, 2))))
             for _ in range(max(1, assets // 10))]
    for i in range(assets):
        subnet, nsg, groups = rng.choice(roles)
        out.append(Asset("azure", account, region, "azure_network_interface", f"/nic/{i}",
                         subnet=f"/vnet/subnets/{subnet}", network="/vnet",
                         private_addresses=(f"10.{subnet % 256}.{i // 256 % 256}.{i % 256}",),
                         public_addresses=(f"20.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",)
                         if i % 3 == 0 else (),
                         rule_set_ids=(nsg,) if nsg else (), application_security_groups=groups,
                         extra={"public_ip_sku": "Standard"}))
    return count * per


def gcp(rng, sources, assets, rules, out):
    project = "bench-project"
    networks = 100
    hierarchical = []
    for h in range(2):
        policy_rules = []
        for i in range(2000):
            action = rng.choice((DENY, NEXT, NEXT, ALLOW))
            policy_rules.append(_rule(rng, sources, action, 1000 + i, f"{1000 + i}/r"))
        policy_rules.append(Rule(IN, NEXT, "all", PortSet.all(), tuple(sources.world),
                                 2147483647, native_id="default/all", is_default=True))
        rule_set = RuleSet("gcp", project, "global", RuleSetKind.GCP_HIERARCHICAL_POLICY,
                           f"locations/global/firewallPolicies/{h}", f"policy-{h}",
                           tuple(policy_rules), ())
        hierarchical.append(rule_set)
        out.append(rule_set)
    per = max(1, (rules - 4002) // networks)
    for n in range(networks):
        net = f"projects/{project}/global/networks/n{n}"
        vpc = []
        for i in range(per - 1):
            targets = ((rng.choice(sources.tags),) if rng.random() < 0.7 else ())
            action = DENY if rng.random() < 0.2 else ALLOW
            vpc.append(_rule(rng, sources, action, rng.randint(100, 60000), f"fw-{i}/r",
                             targets=targets, tags=True))
        vpc.append(Rule(IN, DENY, "all", PortSet.all(), tuple(sources.world), 65535,
                        native_id="implied-deny-ingress/all", is_default=True))
        out.append(RuleSet("gcp", project, "global", RuleSetKind.GCP_VPC_FIREWALL,
                           f"{net}/firewalls", f"n{n}", tuple(vpc), (), net))
        out.append(Network("gcp", project, "global", net, f"n{n}",
                           enforcement_order="AFTER_CLASSIC_FIREWALL",
                           rule_set_ids=(*(h.resource_id for h in hierarchical),
                                         f"{net}/firewalls")))
    roles = [(rng.randrange(networks), tuple(t.value for t in rng.sample(sources.tags, 2)),
              (f"sa-{rng.randrange(10)}@{project}.iam.gserviceaccount.com",))
             for _ in range(max(1, assets // 30))]
    for i in range(assets):
        network, tags, accounts = rng.choice(roles)
        out.append(Asset("gcp", project, "us-central1", "gcp_instance_interface",
                         f"projects/{project}/zones/us-central1-a/instances/vm-{i}/nic0",
                         network=f"projects/{project}/global/networks/n{network}",
                         private_addresses=(f"10.128.{i // 256 % 256}.{i % 256}",),
                         public_addresses=(f"35.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",)
                         if i % 2 else (),
                         network_tags=tags, service_accounts=accounts))
    return 4002 + networks * per


def build(assets: int, rules: int, seed: int) -> Snapshot:
    rng = random.Random(seed)
    sources = Sources(rng)
    items: list = []
    split = (0.4, 0.3, 0.3)
    made = 0
    made += aws(rng, sources, int(assets * split[0]), int(rules * split[0]), items)
    made += azure(rng, sources, int(assets * split[1]), int(rules * split[1]), items)
    made += gcp(rng, sources, assets - int(assets * split[0]) - int(assets * split[1]),
                rules - made, items)
    scopes = [Scope("aws", "111122223333", "us-east-1"),
              Scope("azure", "00000000-0000-0000-0000-00000000b000"),
              Scope("gcp", "bench-project")]
    return Snapshot.from_items("bench", datetime.now(timezone.utc), scopes, items,
                               ("aws", "azure", "gcp"))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--rules", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-tracemalloc", action="store_true")
    parser.add_argument("--graph", action="store_true",
                        help="also build the exposure graph (networkx) and time it")
    parser.add_argument("--rescan", action="store_true",
                        help="time an unchanged second scan reusing the first one's classes")
    parser.add_argument("--scaling", default="",
                        help="comma-separated asset counts: fit time against size")
    args = parser.parse_args()
    if args.scaling:
        scaling([int(n) for n in args.scaling.split(",")], args.seed)
        return

    started = time.perf_counter()
    snapshot = build(args.assets, args.rules, args.seed)
    built = time.perf_counter() - started
    rss_before = _rss_mb()
    print(f"snapshot: {len(snapshot.assets):,} assets, {snapshot.rule_count():,} rules, "
          f"{len(snapshot.rule_sets):,} rule sets (built in {built:.1f}s, "
          f"max RSS {rss_before:.0f} MB)")

    started, cpu = time.perf_counter(), time.process_time()
    analysis = analyze_exposure(snapshot)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    exposed = len(analysis.exposed_assets())
    by_cloud: dict[str, int] = {}
    for exposure in analysis.exposures:
        by_cloud[exposure.provider] = by_cloud.get(exposure.provider, 0) + 1
    print(f"analyze_exposure: {elapsed:.1f}s wall, {cpu:.1f}s CPU; {exposed:,} exposed assets, "
          f"{len(analysis.exposures):,} exposures {by_cloud}, "
          f"{len(analysis.unknown_assets):,} unknown, {len(analysis.live_rules):,} live rules")
    print(f"equivalence classes: {analysis.classes:,}; reuse rate {_rate(analysis):.1f} "
          "assets per class")
    print(f"max RSS after analysis: {_rss_mb():.0f} MB (+{_rss_mb() - rss_before:.0f} MB "
          "over the snapshot)")

    if args.rescan:
        memo = ExposureMemo()
        started, cpu = time.perf_counter(), time.process_time()
        analyze_exposure(snapshot, memo=memo)
        print(f"first scan with a memo (digests included): {time.perf_counter() - started:.1f}s "
              f"wall, {time.process_time() - cpu:.1f}s CPU")
        again = build(args.assets, args.rules, args.seed)  # the next scan's objects, same content
        started, cpu = time.perf_counter(), time.process_time()
        repeat = analyze_exposure(again, memo=memo)
        print(f"unchanged rescan: {time.perf_counter() - started:.1f}s wall, "
              f"{time.process_time() - cpu:.1f}s CPU; {repeat.reused:,} of {repeat.classes:,} "
              f"classes reused; same answer: {repeat == analysis}")

    if args.graph:
        started = time.perf_counter()
        g = graph(snapshot, analysis)
        print(f"graph: {g.number_of_nodes():,} nodes, {g.number_of_edges():,} edges in "
              f"{time.perf_counter() - started:.1f}s; max RSS {_rss_mb():.0f} MB")
        del g

    if not args.no_tracemalloc:
        tracemalloc.start()
        started = time.perf_counter()
        analyze_exposure(snapshot)
        traced = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"analysis heap peak (tracemalloc): {peak / 2**20:.0f} MB "
              f"(that run took {traced:.1f}s under tracing)")


def _rate(analysis) -> float:
    return (analysis.assets_checked - len(analysis.unknown_assets)) / max(1, analysis.classes)


def scaling(sizes: list[int], seed: int) -> None:
    points = []
    for assets in sizes:
        snapshot = build(assets, assets * 10, seed)
        started, cpu = time.perf_counter(), time.process_time()
        analysis = analyze_exposure(snapshot)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        points.append((assets, cpu))
        print(f"{assets:>9,} assets, {snapshot.rule_count():>10,} rules: {wall:6.1f}s wall, "
              f"{cpu:6.1f}s CPU, {analysis.classes:,} classes (reuse {_rate(analysis):.1f}), "
              f"max RSS {_rss_mb():.0f} MB")
        del snapshot, analysis
    xs = [math.log(n) for n, _ in points]
    ys = [math.log(t) for _, t in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = (sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
             / sum((x - mx) ** 2 for x in xs))
    print(f"CPU time grows as size^{slope:.2f} (least squares over {len(points)} sizes)")


if __name__ == "__main__":
    main()
