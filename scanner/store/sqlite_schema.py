"""The SQLite backend's file format and the low-level helpers around it.

Schema 2: ``objects`` (each distinct part of a snapshot, compressed), ``manifests`` (each distinct
member list), ``snapshots`` (one row per snapshot, pointing to its manifest), ``baselines`` and
``baseline_events`` (their history), ``dictionaries`` (compression), ``meta``.
"""

from __future__ import annotations

import sqlite3
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from scanner.errors import StoreError
from scanner.store.backend import Baseline, BaselineEvent

STORE_SCHEMA_VERSION = 2
READABLE_SCHEMAS = ("1", "2")
APPLICATION_ID = 0x43574C31  # "CWL1": marks the file as a cloudwall store
BUSY_TIMEOUT_MS = 30_000

SNAPSHOTS_TABLE = """
CREATE TABLE {name} (
    seq INTEGER PRIMARY KEY,
    snapshot_id TEXT NOT NULL UNIQUE,
    taken_at TEXT NOT NULL,
    providers TEXT NOT NULL,
    scope_count INTEGER NOT NULL,
    rule_set_count INTEGER NOT NULL,
    rule_count INTEGER NOT NULL,
    error_count INTEGER NOT NULL,
    manifest_id INTEGER NOT NULL REFERENCES manifests (id)
)"""
# Compression dictionaries (``scanner.store.compression``); created on first use in stores
# made before they existed.
DICTIONARIES_TABLE = ("CREATE TABLE IF NOT EXISTS dictionaries "
                      "(id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
# Progress of long-running commands, by key (``Backend.get_state``); created on first use.
STATE_TABLE = "CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL)"
CONTENT_TABLES = """
CREATE TABLE objects (id INTEGER PRIMARY KEY, digest BLOB NOT NULL UNIQUE, body BLOB NOT NULL);
CREATE TABLE manifests (id INTEGER PRIMARY KEY, digest BLOB NOT NULL UNIQUE,
                        members BLOB NOT NULL);
CREATE TABLE baseline_events (
    seq INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    at TEXT NOT NULL,
    action TEXT NOT NULL,
    from_snapshot TEXT,
    to_snapshot TEXT,
    note TEXT NOT NULL DEFAULT '',
    accepted TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX baseline_events_name ON baseline_events (name, seq);
""" + DICTIONARIES_TABLE
SNAPSHOT_INDEXES = """
CREATE INDEX snapshots_taken_at ON snapshots (taken_at, seq);
CREATE INDEX snapshots_manifest ON snapshots (manifest_id)
"""
BASELINES_TABLE = """
CREATE TABLE baselines (
    name TEXT PRIMARY KEY,
    snapshot_id TEXT NOT NULL REFERENCES snapshots (snapshot_id),
    set_at TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
)"""


def statements(script: str) -> list[str]:
    return [s for s in script.split(";") if s.strip()]


def seed_event(baseline: Baseline) -> BaselineEvent:
    """The history entry of a baseline set before history was recorded."""
    return BaselineEvent(baseline.name, baseline.set_at, "set", None, baseline.snapshot_id,
                         baseline.note)


def refuse_unusable_path(path: Path) -> None:
    """Only a regular file (or a new path) can be a store: SQLite would write into a device or
    block on a FIFO, and a dangling symlink would create a file somewhere else."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        if path.is_symlink():
            raise StoreError(f"{path} is a symbolic link to nothing",
                             "point it at a store, or pass --store with another path") from None
        return
    except OSError as exc:
        raise StoreError(f"cannot open store {path}: {exc.strerror}",
                         "check the path and its permissions, or pass --store PATH") from exc
    if not stat.S_ISREG(mode):
        raise StoreError(f"{path} is not a regular file, so it cannot be a store",
                         "pass --store with the path of a store file")


def enable_wal(db: sqlite3.Connection) -> None:
    """WAL lets readers work while a scan writes. Switching needs a moment with no other
    connection busy; if there is none now, a later write switches (the store is correct either
    way, writers serialise in both modes)."""
    if db.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        return
    with suppress(sqlite3.OperationalError):
        db.execute("PRAGMA journal_mode = WAL")


def is_blank(db: sqlite3.Connection) -> bool:
    """No application id and no tables: a new file (or an empty database) we may set up."""
    app_id = db.execute("PRAGMA application_id").fetchone()[0]
    return app_id == 0 and db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        # SQLite may already have rolled back (an interrupt, a full disk); a second ROLLBACK
        # would raise and hide the real error.
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def open_error(path: Path, exc: sqlite3.Error) -> StoreError:
    if "locked" in str(exc) or "busy" in str(exc):
        return StoreError(
            f"store {path} is locked ({exc})",
            "another cloudwall may be writing to it: wait for it, or pass another --store",
        )
    return corrupt_error(path, exc)


def corrupt_error(path: Path, exc: sqlite3.Error) -> StoreError:
    return StoreError(
        f"{path} is corrupt or not a cloudwall store ({exc})",
        "restore it from a backup, or pass --store with a new path",
    )


def damaged_error(path: Path, detail: str) -> StoreError:
    return StoreError(
        f"store {path} is damaged (integrity check: {detail}); nothing was written to it",
        "restore it from a backup (or salvage it with `sqlite3 FILE .recover`), or pass "
        "--store with a new path",
    )


def write_error(path: Path, exc: sqlite3.Error) -> StoreError:
    return StoreError(
        f"cannot write to store {path}: {exc}",
        "check free disk space and permissions; nothing was changed",
    )
