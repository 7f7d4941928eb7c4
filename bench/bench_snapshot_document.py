"""Time the checks every snapshot document goes through before use (snapshot files and every
store read): JSON parsing, the JSON Schema, the semantic checks and the model, against
``Snapshot.from_dict`` alone.

    .venv/bin/python bench/bench_snapshot_document.py [--rules 100000] [--per-set 50]
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from datetime import datetime, timezone

from scanner import snapshot_document
from scanner.model import (
    Action,
    Direction,
    Peer,
    Rule,
    RuleSet,
    RuleSetKind,
    Scope,
    Snapshot,
)
from scanner.netmath import PortSet


def build(rules: int, per_set: int) -> str:
    peers = (Peer.cidr("10.0.0.0/8"), Peer.cidr("2001:db8::/32"))
    sets = []
    for n in range((rules + per_set - 1) // per_set):
        rule_list = tuple(
            Rule(Direction.INGRESS, Action.ALLOW, "tcp", PortSet.parse(str(1000 + i % 5000)),
                 peers, None, True, f"sgr-{n}-{i}", description=f"rule {i}")
            for i in range(per_set))
        sets.append(RuleSet("aws", "123456789012", "us-east-1", RuleSetKind.AWS_SECURITY_GROUP,
                            f"sg-{n:08x}", f"group {n}", rule_list, network="vpc-1"))
    snapshot = Snapshot("bench", datetime(2026, 1, 1, tzinfo=timezone.utc),
                        (Scope("aws", "123456789012", "us-east-1"),), tuple(sets),
                        providers=("aws",))
    return json.dumps(snapshot.to_dict())


def timed(label: str, work) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    print(f"{label:<34} wall {time.perf_counter() - wall:7.2f} s   "
          f"cpu {time.process_time() - cpu:7.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rules", type=int, default=100_000)
    parser.add_argument("--per-set", type=int, default=50)
    args = parser.parse_args()
    text = build(args.rules, args.per_set)
    print(f"document: {len(text) / 1e6:.1f} MB, {args.rules} rules")
    snapshot_document._validator()  # compile the schema once, outside the timing
    timed("json.loads + Snapshot.from_dict", lambda: Snapshot.from_dict(json.loads(text)))
    timed("snapshot_document.parse (checked)", lambda: snapshot_document.parse(text))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    main()
