"""Schema 1 stores: read as they are, migrated to schema 2 on their first write.

Schema 1 kept each snapshot as one compressed document in ``snapshots.body``. The migration runs
inside the transaction of the write that triggered it, under the store's write lock: first a
backup of the whole file is written next to it (``<store>.v1-backup-<time>``, mode 0600), then
every document is cut into content-addressed objects, the snapshot table is rebuilt pointing to
manifests, and each baseline's history starts with its current setting. If anything fails, the
transaction rolls back and the file is as it was (the backup copy stays). A read never migrates.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from scanner.errors import StoreError
from scanner.model import utc_timestamp
from scanner.store.content import SnapshotParts, split_document
from scanner.store.files import create_private_file


def v1_document(db: sqlite3.Connection, snapshot_id: str, location: str) -> dict[str, Any]:
    row = db.execute("SELECT body FROM snapshots WHERE snapshot_id = ?", (snapshot_id,)).fetchone()
    try:
        return json.loads(zlib.decompress(row[0]).decode())
    except (zlib.error, ValueError, TypeError) as exc:
        raise StoreError(
            f"snapshot {snapshot_id} in {location} is unreadable ({exc})",
            "restore the store from a backup, or re-import the snapshot from JSON",
        ) from exc


def backup_path(path: Path) -> Path:
    stamp = utc_timestamp(datetime.now(timezone.utc)).replace("-", "").replace(":", "")
    candidate = path.with_name(f"{path.name}.v1-backup-{stamp}")
    counter = 1
    while candidate.exists() or candidate.is_symlink():
        counter += 1
        candidate = path.with_name(f"{path.name}.v1-backup-{stamp}-{counter}")
    return candidate


def take_backup(path: Path) -> Path:
    """A complete, self-contained copy of the store as it is now, private to its owner.

    The caller holds the write lock, so the copy is exactly what is about to be migrated;
    another connection reads it (SQLite cannot copy from inside its own write transaction).
    """
    target = backup_path(path)
    if not create_private_file(target):
        raise StoreError(f"cannot create the backup {target}", "remove it and run again")
    source = sqlite3.connect(path)
    try:
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode = DELETE")  # one file, no WAL beside it
        finally:
            copy.close()
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    return target


def migrate_v1(db: sqlite3.Connection, path: Path,
               store_objects: Callable[[SnapshotParts], int]) -> Path:
    """Rebuild a schema 1 store as schema 2 inside the caller's transaction."""
    from scanner.store.sqlite_schema import (
        CONTENT_TABLES,
        SNAPSHOT_INDEXES,
        SNAPSHOTS_TABLE,
        STORE_SCHEMA_VERSION,
        seed_event,
        statements,
    )

    backup = take_backup(path)
    for statement in statements(CONTENT_TABLES):
        db.execute(statement)
    db.execute(SNAPSHOTS_TABLE.format(name="snapshots_v2"))
    rows = db.execute(
        "SELECT snapshot_id, taken_at, providers, scope_count, rule_set_count, rule_count, "
        "error_count FROM snapshots ORDER BY rowid"  # rowid order keeps `latest` as it was
    ).fetchall()
    for row in rows:
        parts = split_document(v1_document(db, row[0], str(path)))
        db.execute("INSERT INTO snapshots_v2 (snapshot_id, taken_at, providers, scope_count, "
                   "rule_set_count, rule_count, error_count, manifest_id) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (*row, store_objects(parts)))
    db.execute("DROP TABLE snapshots")
    db.execute("ALTER TABLE snapshots_v2 RENAME TO snapshots")
    for statement in statements(SNAPSHOT_INDEXES):
        db.execute(statement)
    from scanner.store.backend import Baseline

    for baseline in db.execute("SELECT name, snapshot_id, set_at, note FROM baselines ORDER BY "
                               "set_at, name").fetchall():
        event = seed_event(Baseline(*baseline))
        db.execute("INSERT INTO baseline_events (name, at, action, from_snapshot, to_snapshot, "
                   "note, accepted) VALUES (?, ?, ?, ?, ?, ?, '[]')",
                   (event.name, event.at, event.action, event.from_snapshot, event.to_snapshot,
                    event.note))
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
               (str(STORE_SCHEMA_VERSION),))
    return backup


def after_migration(db: sqlite3.Connection) -> None:
    """Once the migration is committed: rewrite the file compactly, with incremental vacuum
    from now on (schema 1 files had none). Best effort: the store is complete without it."""
    with suppress(sqlite3.OperationalError):
        db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
