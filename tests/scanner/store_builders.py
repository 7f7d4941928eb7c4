"""Snapshots and store files for the store tests."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zlib
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from scanner.model import (
    Action,
    Asset,
    Attachment,
    Direction,
    Network,
    Peer,
    Rule,
    RuleSet,
    RuleSetKind,
    Scope,
    Snapshot,
    Subnet,
)
from scanner.netmath import PortSet

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def estate(snapshot_id: str, sets: int = 40, minutes: int = 0, changed: int | None = None,
           taken_at: datetime | None = None) -> Snapshot:
    """``sets`` security groups of 5 rules with an asset each; ``changed`` edits one rule."""
    scope = Scope("aws", "111122223333", "eu-west-1", "prod")
    items: list = [Network("aws", scope.account, scope.region, "vpc-1", "main", ("10.0.0.0/16",)),
                   Subnet("aws", scope.account, scope.region, "subnet-1", "vpc-1",
                          cidrs=("10.0.1.0/24",), internet_routes=("0.0.0.0/0",))]
    for n in range(sets):
        rules = tuple(
            Rule(Direction.INGRESS, Action.ALLOW, "tcp", PortSet.of(1000 + n * 10 + i),
                 (Peer.cidr(f"10.{n % 250}.{i}.0/24"),), native_id=f"sgr-{n}-{i}",
                 description=f"rule {i} of group {n}")
            for i in range(5)
        )
        if changed == n:
            rules = (replace(rules[0], peers=(Peer.cidr("0.0.0.0/0"),)), *rules[1:])
        items.append(RuleSet("aws", scope.account, scope.region, RuleSetKind.AWS_SECURITY_GROUP,
                             f"sg-{n:04d}", f"group {n}", rules,
                             (Attachment("network_interface", f"eni-{n:04d}"),), network="vpc-1"))
        items.append(Asset("aws", scope.account, scope.region, "aws_network_interface",
                           f"eni-{n:04d}", network="vpc-1", subnet="subnet-1",
                           private_addresses=(f"10.0.1.{n % 250}",), rule_set_ids=(f"sg-{n:04d}",)))
    when = taken_at or T0 + timedelta(minutes=minutes)
    return Snapshot.from_items(snapshot_id, when, [scope], items, providers=["aws"])


def execute(target, sql: str, params: tuple = ()) -> list[tuple]:
    """Run one statement straight on a store's database, SQLite or PostgreSQL (``?``
    placeholders), to look inside it or to damage it; committed."""
    target = str(target)
    if "://" in target:
        import psycopg

        with psycopg.connect(target, autocommit=True) as db:
            cursor = db.execute(sql.replace("?", "%s"), params)
            return cursor.fetchall() if cursor.description else []
    db = sqlite3.connect(target)
    try:
        rows = db.execute(sql, params).fetchall()
        db.commit()
        return rows
    finally:
        db.close()


def counts(target) -> dict[str, int]:
    return {table: execute(target, f"SELECT count(*) FROM {table}")[0][0]
            for table in ("snapshots", "manifests", "objects")}


def file_state(path: Path) -> dict[str, str]:
    """The bytes of the store file and a non-empty WAL, hashed: 'unchanged' means this."""
    out = {}
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-journal")):
        if candidate.exists() and candidate.stat().st_size:
            out[candidate.name] = hashlib.sha256(candidate.read_bytes()).hexdigest()
    return out


PG_TABLES = ("cloudwall_schema", "dictionaries", "objects", "manifests", "snapshots",
             "baselines", "baseline_events", "state")


def database_state(url: str) -> dict[str, list[tuple]]:
    """Every row of every table of a PostgreSQL store (none when it has no tables yet)."""
    import psycopg

    out = {}
    with psycopg.connect(url) as db:
        for table in PG_TABLES:
            if db.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is None:
                continue
            rows = db.execute(f"SELECT * FROM {table}").fetchall()
            out[table] = sorted(tuple(bytes(v) if isinstance(v, memoryview) else v
                                      for v in row) for row in rows)
    return out


def store_state(target) -> dict:
    """What 'unchanged' means for a store: a file's bytes, a database's rows."""
    target = str(target)
    return database_state(target) if "://" in target else file_state(Path(target))


V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE snapshots (
    snapshot_id TEXT PRIMARY KEY, taken_at TEXT NOT NULL, providers TEXT NOT NULL,
    scope_count INTEGER NOT NULL, rule_set_count INTEGER NOT NULL, rule_count INTEGER NOT NULL,
    error_count INTEGER NOT NULL, body BLOB NOT NULL);
CREATE INDEX snapshots_taken_at ON snapshots (taken_at);
CREATE TABLE baselines (
    name TEXT PRIMARY KEY, snapshot_id TEXT NOT NULL REFERENCES snapshots (snapshot_id),
    set_at TEXT NOT NULL, note TEXT NOT NULL DEFAULT '');
"""


def write_v1_store(path: Path, snapshots: list[Snapshot],
                   baselines: dict[str, tuple[str, str]]) -> None:
    """A store exactly as schema 1 wrote it: one compressed document per snapshot, WAL mode.
    ``baselines``: name -> (snapshot id, note)."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA application_id = 1129794609")
    db.executescript(V1_SCHEMA)
    db.execute("INSERT INTO meta VALUES ('schema_version', '1')")
    for s in snapshots:
        body = zlib.compress(json.dumps(s.to_dict(), sort_keys=True, ensure_ascii=False,
                                        separators=(",", ":")).encode(), 6)
        db.execute("INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (s.snapshot_id, s.taken_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    ",".join(s.providers), len(s.scopes), len(s.rule_sets), s.rule_count(),
                    len(s.errors), body))
    for name, (snapshot_id, note) in baselines.items():
        db.execute("INSERT INTO baselines VALUES (?, ?, '2026-03-02T00:00:00Z', ?)",
                   (name, snapshot_id, note))
    db.execute("PRAGMA journal_mode = WAL")
    db.close()
