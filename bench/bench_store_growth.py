"""Benchmark the store's growth: an unchanged estate of N rules (default 100,000) saved 24 times.

The estate is built with the model (AWS security groups and network ACLs, Azure NSGs, GCP VPC
rules, each attached to an interface that is an asset, over subnets and networks in several
scopes), as a scan would produce it; every scan is the same content under a new id and time.
Reports: the disk after 1 and after 24 scans and their ratio, the time of each save, load and
export/import (and whether the export round trip is byte-identical), a prune back to one
snapshot, the integrity check every writing command runs first, and the migration of a schema 1
store holding the same 24 scans (time, size before and after, backup size).

    .venv/bin/python bench/bench_store_growth.py [--rules 100000] [--scans 24] [--per-set 25]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
import zlib
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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
from scanner.store import Store  # noqa: E402

KINDS = {
    RuleSetKind.AWS_SECURITY_GROUP: "aws",
    RuleSetKind.AWS_NETWORK_ACL: "aws",
    RuleSetKind.AZURE_NSG: "azure",
    RuleSetKind.GCP_VPC_FIREWALL: "gcp",
}
ASSET_KIND = {"aws": "aws_network_interface", "azure": "azure_network_interface",
              "gcp": "gcp_instance_interface"}
T0 = datetime(2026, 12, 1, tzinfo=timezone.utc)
REGIONS = ("r1", "r2", "r3", "r4")


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
    direction = Direction.INGRESS if rng.random() < 0.8 else Direction.EGRESS
    return Rule(direction, action, protocol, ports, peers,
                None if allow_only else 100 + index * 10, native_id=f"r-{index}",
                description=f"rule {index} for service {rng.randrange(500)}")


def build_estate(total: int, per_set: int, seed: int) -> Snapshot:
    rng = random.Random(seed)
    kinds = list(KINDS)
    items: list = []
    scopes = set()
    for n in range(total // per_set):
        kind = kinds[n % len(kinds)]
        provider, region = KINDS[kind], REGIONS[(n // len(kinds)) % len(REGIONS)]
        account = f"acct-{provider}"
        scopes.add(Scope(provider, account, region))
        network, subnet = f"net-{provider}-{region}", f"subnet-{provider}-{region}-{n % 50}"
        rules = tuple(make_rule(rng, kind, i) for i in range(per_set))
        target = (Attachment("subnet", subnet) if kind is RuleSetKind.AWS_NETWORK_ACL
                  else Attachment("network_interface", f"nic-{n}"))
        items.append(RuleSet(provider, account, region, kind, f"rs-{n}", f"set {n}", rules,
                             (target,), network=network, tags={"team": f"t{n % 30}"}))
        items.append(Asset(provider, account, region, ASSET_KIND[provider], f"nic-{n}",
                           name=f"vm-{n}", instance_id=f"i-{n}", network=network, subnet=subnet,
                           private_addresses=(f"10.{n // 65536 % 256}.{n // 256 % 256}."
                                              f"{n % 256}",),
                           public_addresses=(f"203.0.{n // 256 % 256}.{n % 256}",)
                           if n % 3 == 0 else (),
                           rule_set_ids=(f"rs-{n}",), state="running"))
    for scope in scopes:
        network = f"net-{scope.provider}-{scope.region}"
        items.append(Network(scope.provider, scope.account, scope.region, network, network,
                             ("10.0.0.0/8",)))
        for s in range(50):
            items.append(Subnet(scope.provider, scope.account, scope.region,
                                f"subnet-{scope.provider}-{scope.region}-{s}", network,
                                cidrs=(f"10.{s}.0.0/16",), internet_routes=("0.0.0.0/0",)))
    return Snapshot.from_items("scan-00", T0, scopes, items, providers=sorted(KINDS.values()))


def scan(estate: Snapshot, n: int) -> Snapshot:
    """Scan n of the unchanged estate: same content, its own id and time (hourly)."""
    return replace(estate, snapshot_id=f"scan-{n:02d}", taken_at=T0 + timedelta(hours=n))


def disk(path: Path) -> int:
    """The store's size once SQLite has folded its WAL into the file (what stays on disk)."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


def write_v1(path: Path, snapshots: list[Snapshot]) -> None:
    """A store as schema 1 wrote it: one compressed document per snapshot."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA application_id = 1129794609")
    db.executescript("""
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE snapshots (snapshot_id TEXT PRIMARY KEY, taken_at TEXT NOT NULL,
            providers TEXT NOT NULL, scope_count INTEGER NOT NULL,
            rule_set_count INTEGER NOT NULL, rule_count INTEGER NOT NULL,
            error_count INTEGER NOT NULL, body BLOB NOT NULL);
        CREATE INDEX snapshots_taken_at ON snapshots (taken_at);
        CREATE TABLE baselines (name TEXT PRIMARY KEY, snapshot_id TEXT NOT NULL,
            set_at TEXT NOT NULL, note TEXT NOT NULL DEFAULT '');
        INSERT INTO meta VALUES ('schema_version', '1');
    """)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("BEGIN")
    for s in snapshots:
        text = json.dumps(s.to_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        db.execute("INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (s.snapshot_id, s.taken_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    ",".join(s.providers), len(s.scopes), len(s.rule_sets), s.rule_count(),
                    len(s.errors), zlib.compress(text.encode(), 6)))
    db.execute("INSERT INTO baselines VALUES ('prod', ?, '2026-12-01T00:00:00Z', '')",
               (snapshots[0].snapshot_id,))
    db.execute("COMMIT")
    db.close()


def mib(size: int) -> str:
    return f"{size / 1048576:,.2f} MiB"


def timed(action):
    started, cpu = time.perf_counter(), time.process_time()
    result = action()
    return result, time.perf_counter() - started, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=100_000)
    parser.add_argument("--scans", type=int, default=24)
    parser.add_argument("--per-set", type=int, default=25)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    estate, built, _ = timed(lambda: build_estate(args.rules, args.per_set, args.seed))
    print(f"estate: {estate.rule_count():,} rules in {len(estate.rule_sets):,} rule sets, "
          f"{len(estate.assets):,} assets, {len(estate.subnets):,} subnets, "
          f"{len(estate.networks):,} networks, {len(estate.scopes)} scopes "
          f"(built in {built:.1f} s); JSON export {len(estate.to_json()) / 1048576:,.1f} MiB")

    with tempfile.TemporaryDirectory(prefix="cloudwall-bench-") as tmp:
        root = Path(tmp)
        path = root / "store.db"
        walls, cpus = [], []
        with Store(path) as store:
            for n in range(args.scans):
                _, wall, cpu = timed(lambda n=n: store.save(scan(estate, n)))
                walls.append(wall)
                cpus.append(cpu)
                if n == 0:
                    one = disk(path)
        many = disk(path)
        print(f"disk after 1 scan: {mib(one)}; after {args.scans} scans: {mib(many)}; "
              f"ratio {many / one:.3f}")
        print(f"save: first {walls[0]:.2f} s wall / {cpus[0]:.2f} s CPU; the other "
              f"{args.scans - 1}: median {statistics.median(walls[1:]):.2f} s wall / "
              f"{statistics.median(cpus[1:]):.2f} s CPU (max {max(walls[1:]):.2f} s)")

        with Store(path) as store:
            loaded, wall, cpu = timed(lambda: store.load("latest"))
            assert loaded == scan(estate, args.scans - 1)
            print(f"load one snapshot: {wall:.2f} s wall / {cpu:.2f} s CPU")
            _, wall, cpu = timed(store.check_writable)
            print(f"integrity check (PRAGMA quick_check) before a write: {wall:.2f} s wall")
            exported, again = root / "scan.json", root / "again.json"
            _, wall, cpu = timed(lambda: store.export("scan-05", exported))
        with Store(root / "other.db") as other:
            _, wall_in, cpu_in = timed(lambda: other.import_file(exported))
            other.export("scan-05", again)
        same = exported.read_bytes() == again.read_bytes() == scan(estate, 5).to_json().encode()
        print(f"export {wall:.2f} s wall / {cpu:.2f} s CPU, import {wall_in:.2f} s wall / "
              f"{cpu_in:.2f} s CPU; export -> import -> export byte-identical: {same}")

        with Store(path) as store:
            store.set_baseline("prod", "scan-00")
            (plan, collected), wall, _ = timed(lambda: store.prune(keep=1, older_than=None))
        print(f"prune --keep 1 (baseline scan-00 kept): {len(plan.remove)} snapshots deleted in "
              f"{wall:.2f} s; {collected.objects} objects collected; disk {mib(disk(path))}")
        changed = replace(scan(estate, 99), rule_sets=tuple(
            replace(rs, description="edited") if i % 100 == 0 else rs
            for i, rs in enumerate(estate.rule_sets)))
        with Store(path) as store:
            before = disk(path)
            _, wall, cpu = timed(lambda: store.save(changed))
        print(f"a scan with 1% of rule sets changed: {wall:.2f} s wall / {cpu:.2f} s CPU, adds "
              f"{(disk(path) - before) / 1024:,.0f} KiB")

        old = root / "v1.db"
        write_v1(old, [scan(estate, n) for n in range(args.scans)])
        size_v1 = disk(old)
        with Store(old) as store:
            _, wall, cpu = timed(lambda: store.save(scan(estate, args.scans)))
        backup = next(root.glob("v1.db.v1-backup-*"))
        print(f"schema 1 store with the same {args.scans} scans: {mib(size_v1)}; migrated on "
              f"the first write in {wall:.2f} s wall / {cpu:.2f} s CPU (backup, conversion, "
              f"VACUUM); after: {mib(disk(old))}; backup {mib(backup.stat().st_size)}")
    print(f"peak memory of the process: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")


if __name__ == "__main__":
    main()
