"""Benchmark drift: two snapshots of N rules (default 1,000,000) with a fraction changed (1%).

The two snapshots are built as separate objects (as two scans loaded from the store are), over a
mix of AWS security groups and network ACLs, Azure NSGs and GCP VPC rule sets with targets. The
changes are the kinds drift reports: rules edited in place (wider sources, more ports), removed,
added, disabled and moved. Reports the time of ``compare()`` and the peak memory of the process.

    .venv/bin/python bench/bench_drift.py [--rules 1000000] [--changed 0.01] [--per-set 50]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import time
from collections import Counter
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanner.drift.comparison import compare  # noqa: E402
from scanner.model import (  # noqa: E402
    Action,
    Attachment,
    Direction,
    Peer,
    PeerKind,
    Rule,
    RuleSet,
    RuleSetKind,
    Scope,
    Snapshot,
)
from scanner.netmath import PortSet  # noqa: E402

KINDS = {
    RuleSetKind.AWS_SECURITY_GROUP: "aws",
    RuleSetKind.AWS_NETWORK_ACL: "aws",
    RuleSetKind.AZURE_NSG: "azure",
    RuleSetKind.GCP_VPC_FIREWALL: "gcp",
}
T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)


def make_rule(rng: random.Random, kind: RuleSetKind, index: int) -> Rule:
    allow_only = kind is RuleSetKind.AWS_SECURITY_GROUP
    action = Action.ALLOW if allow_only or rng.random() < 0.7 else Action.DENY
    protocol = rng.choice(("tcp", "tcp", "tcp", "udp", "all", "icmp"))
    low = rng.randrange(1, 60000)
    ports = PortSet.of((low, low + rng.choice((0, 0, 10, 100)))) if protocol in ("tcp", "udp") \
        else PortSet.parse("*")
    if rng.random() < 0.1:
        peers = (Peer(PeerKind.NETWORK_TAG if kind is RuleSetKind.GCP_VPC_FIREWALL
                      else PeerKind.SECURITY_GROUP, f"peer-{rng.randrange(50)}"),)
    else:
        peers = (Peer.cidr(f"{rng.randrange(1, 223)}.{rng.randrange(256)}.0.0/"
                           f"{rng.choice((8, 16, 24))}"),)
    targets = ()
    if kind is RuleSetKind.GCP_VPC_FIREWALL and rng.random() < 0.3:
        targets = (Peer(PeerKind.NETWORK_TAG, f"tier-{rng.randrange(4)}"),)
    direction = Direction.INGRESS if rng.random() < 0.8 else Direction.EGRESS
    return Rule(direction, action, protocol, ports, peers,
                None if allow_only else 100 + index * 10, native_id=f"r-{index}",
                description=f"rule {index}", targets=targets)


def build(total: int, per_set: int, seed: int) -> list[RuleSet]:
    rng = random.Random(seed)
    kinds = list(KINDS)
    sets = []
    for n in range(total // per_set):
        kind = kinds[n % len(kinds)]
        rules = tuple(make_rule(rng, kind, i) for i in range(per_set))
        sets.append(RuleSet(KINDS[kind], "acct", "r1", kind, f"rs-{n}", f"set {n}", rules,
                            (Attachment("subnet", f"subnet-{n}"),)))
    return sets


def change(sets: list[RuleSet], fraction: float, seed: int) -> tuple[list[RuleSet], Counter]:
    rng = random.Random(seed + 1)
    total = sum(len(s.rules) for s in sets)
    chosen = rng.sample(range(total), int(total * fraction))
    per_set = len(sets[0].rules)
    by_set: dict[int, list[int]] = {}
    for position in chosen:
        by_set.setdefault(position // per_set, []).append(position % per_set)
    kinds: Counter = Counter()
    out = list(sets)
    for set_index, positions in by_set.items():
        rules = list(out[set_index].rules)
        drop = set()
        for p in positions:
            what = rng.choice(("widen", "ports", "remove", "add", "disable", "move", "text"))
            if out[set_index].kind is RuleSetKind.AWS_SECURITY_GROUP and what in ("disable",
                                                                                   "move"):
                what = "widen"
            kinds[what] += 1
            r = rules[p]
            if what == "widen":
                rules[p] = replace(r, peers=(Peer.cidr("0.0.0.0/0"),))
            elif what == "ports":
                rules[p] = replace(r, ports=PortSet.parse("0-65535"))
            elif what == "remove":
                drop.add(p)
            elif what == "add":
                rules.append(replace(r, native_id=f"new-{p}", ports=PortSet.of(22)))
            elif what == "disable":
                rules[p] = replace(r, enabled=False)
            elif what == "move":
                rules[p] = replace(r, priority=(r.priority or 0) + 5)
            else:
                rules[p] = replace(r, description="edited")
        kept = tuple(r for i, r in enumerate(rules) if i not in drop)
        out[set_index] = replace(out[set_index], rules=kept)
    return out, kinds


def snapshot(snapshot_id: str, sets: list[RuleSet]) -> Snapshot:
    scopes = [Scope(p, "acct", "r1") for p in sorted(set(KINDS.values()))]
    return Snapshot.from_items(snapshot_id, T0, scopes, sets)


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1_000_000)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--per-set", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    started = time.perf_counter()
    baseline = snapshot("baseline", build(args.rules, args.per_set, args.seed))
    # Built again from the same seed: equal content, separate objects, as two stored scans are.
    current_sets, kinds = change(build(args.rules, args.per_set, args.seed), args.changed,
                                 args.seed)
    current = snapshot("current", current_sets)
    built = time.perf_counter() - started
    before_compare = peak_mib()

    started, cpu = time.perf_counter(), time.process_time()
    items = compare(baseline, current)
    took, cpu = time.perf_counter() - started, time.process_time() - cpu

    effects = Counter(i.effect.value for i in items)
    print(f"rules: {baseline.rule_count():,} baseline, {current.rule_count():,} current, "
          f"in {len(baseline.rule_sets):,} rule sets ({args.per_set} rules each)")
    print(f"changes applied: {sum(kinds.values()):,} ({dict(sorted(kinds.items()))})")
    print(f"built both snapshots in {built:.1f} s; peak memory then {before_compare:,.0f} MiB")
    # CPU time too: on a shared machine the wall clock also counts other processes' turns.
    print(f"compare(): {took:.1f} s wall, {cpu:.1f} s CPU, {len(items):,} drift items "
          f"({dict(sorted(effects.items()))})")
    print(f"peak memory of the process: {peak_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
