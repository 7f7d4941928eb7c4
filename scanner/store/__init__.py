"""The snapshot store: snapshots, named baselines and their history.

    core.py       the rules, for every backend (ids, baselines, deletion, prune, import/export)
    content.py    content addressing: a snapshot cut into objects named by their SHA-256
    lifecycle.py  which snapshots a prune removes
    backend.py    what a backend provides (records and primitive operations)
    sqlite.py     the SQLite backend (one private file): sqlite_schema.py its file format,
                  compression.py its object compression, migrate.py its schema 1 files
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
    """``$CLOUDWALL_STORE``, else the per-user data directory."""
    if os.environ.get(STORE_ENV):
        return Path(os.environ[STORE_ENV])
    import platformdirs  # only needed when no path was given

    return Path(platformdirs.user_data_dir("cloudwall")) / "cloudwall.db"


__all__ = [
    "STORE_ENV",
    "Baseline",
    "BaselineEvent",
    "GarbageCollected",
    "PrunePlan",
    "SnapshotInfo",
    "Store",
    "default_store_path",
    "parse_age",
    "read_snapshot_file",
    "write_atomic",
    "write_output",
]
