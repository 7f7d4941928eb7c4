"""The snapshot store: snapshots, named baselines and their history.

    core.py       the rules, for every backend (ids, baselines, deletion, prune, import/export)
    content.py    content addressing: a snapshot cut into objects named by their SHA-256
    lifecycle.py  which snapshots a prune removes
    backend.py    what a backend provides (records and primitive operations)
    locations.py  which backend a --store value names (a path, or a URL by its scheme)
    sqlite.py     the SQLite backend (one private file): sqlite_schema.py its file format,
                  migrate.py its schema 1 files
    postgres.py   the PostgreSQL backend (a shared database): postgres_schema.py and
                  pg_migrations/ its versioned schema
    compression.py, members.py  how both database backends encode objects and manifests
    files.py      private store files and folders; reading snapshot files
"""

from __future__ import annotations

import os
from pathlib import Path

from scanner.outputs import write_output
from scanner.outputs import write_output as write_atomic  # the older import path
from scanner.store.backend import Baseline, BaselineEvent, GarbageCollected, SnapshotInfo
from scanner.store.core import Store
from scanner.store.files import read_snapshot_file
from scanner.store.lifecycle import PrunePlan, parse_age

STORE_ENV = "CLOUDWALL_STORE"


def default_store_path() -> Path:
    """The per-user SQLite store, when neither --store nor ``$CLOUDWALL_STORE`` names one."""
    import platformdirs  # only needed when no store was named

    return Path(platformdirs.user_data_dir("cloudwall")) / "cloudwall.db"


def default_store() -> str:
    """``$CLOUDWALL_STORE`` (a path or a URL, kept as given), else the per-user store."""
    return os.environ.get(STORE_ENV) or str(default_store_path())


__all__ = [
    "STORE_ENV",
    "Baseline",
    "BaselineEvent",
    "GarbageCollected",
    "PrunePlan",
    "SnapshotInfo",
    "Store",
    "default_store",
    "default_store_path",
    "parse_age",
    "read_snapshot_file",
    "write_atomic",
    "write_output",
]
