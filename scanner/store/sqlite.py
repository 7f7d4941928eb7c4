"""The SQLite backend: one private file holding snapshots, baselines and their history.

Every write is one ``BEGIN IMMEDIATE`` transaction, so an interrupted scan leaves the store as it
was and concurrent scans serialise instead of corrupting it (WAL mode, a busy timeout).

Schema 2 (``sqlite_schema``) stores snapshots by content (``scanner.store.content``): ``objects``
holds each distinct rule set, asset, subnet, network, ... once, compressed against the store's
dictionary (``scanner.store.compression``); ``manifests`` holds each distinct list of members
(object row ids, delta-encoded); a snapshot row points to its manifest. Schema 1
files (one compressed document per snapshot) are read as they are and migrated on their first
write, after a private backup copy of the file is taken next to it (``scanner.store.migrate``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from scanner.errors import StoreError
from scanner.store.backend import (
    Backend,
    Baseline,
    BaselineEvent,
    GarbageCollected,
    SnapshotInfo,
)
from scanner.store.compression import (
    UNREADABLE,
    compress,
    sample_dictionary,
    stored_document,
)
from scanner.store.content import SnapshotParts
from scanner.store.files import create_private_file, is_regular_file, make_private_dirs
from scanner.store.members import decode_members, encode_members
from scanner.store.sqlite_schema import (
    APPLICATION_ID,
    BASELINES_TABLE,
    BUSY_TIMEOUT_MS,
    CONTENT_TABLES,
    DICTIONARIES_TABLE,
    READABLE_SCHEMAS,
    SNAPSHOT_INDEXES,
    SNAPSHOTS_TABLE,
    STATE_TABLE,
    STORE_SCHEMA_VERSION,
    corrupt_error,
    damaged_error,
    enable_wal,
    is_blank,
    open_error,
    refuse_unusable_path,
    seed_event,
    statements,
    transaction,
    write_error,
)


class SqliteBackend(Backend):
    """A store file. ``create``: make the file (0600) and its folder (0700) when missing, and
    set up an empty file; otherwise the file must already be a store."""

    def __init__(self, path: Path, create: bool = True) -> None:
        self.path = path
        self.location = str(path)
        self._db = self._open(create)
        self._migrated = False

    # --- opening ------------------------------------------------------------------------------

    def _open(self, create: bool) -> sqlite3.Connection:
        refuse_unusable_path(self.path)
        if not create and not (is_regular_file(self.path) and self.path.stat().st_size):
            raise StoreError(
                f"there is no store at {self.path}"
                + (" (the file is empty)" if is_regular_file(self.path) else ""),
                "save a snapshot first (`cloudwall scan --save`), or pass --store with the "
                "right path",
            )
        try:
            if create:
                make_private_dirs(self.path.parent)
                create_private_file(self.path)
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open store {self.path}: {exc}",
                "check the path and its permissions, or pass --store PATH",
            ) from exc
        try:
            db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if db.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
                if not create:
                    raise StoreError(f"{self.path} is not a cloudwall store",
                                     "pass --store with a cloudwall store file")
                self._initialise(db)
            version = self._schema_version(db)
            if version not in READABLE_SCHEMAS:
                raise StoreError(
                    f"{self.path} has store schema {version!r}, this cloudwall reads "
                    f"{' and '.join(READABLE_SCHEMAS)}",
                    "use the cloudwall version that wrote it, or a new --store path",
                )
        except sqlite3.OperationalError as exc:
            db.close()
            raise open_error(self.path, exc) from exc
        except sqlite3.DatabaseError as exc:
            db.close()
            raise corrupt_error(self.path, exc) from exc
        except StoreError:
            db.close()
            raise
        return db

    @staticmethod
    def _schema_version(db: sqlite3.Connection) -> str | None:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return row[0] if row else None

    def _initialise(self, db: sqlite3.Connection) -> None:
        """Create the schema in a new, empty file; refuse any other file without writing to it.

        Two scans may create the same new store at once: both see an empty file, one wins the
        write lock and creates the schema, the other then finds it there and leaves it alone.
        """
        if not is_blank(db):
            raise StoreError(
                f"{self.path} is not a cloudwall store",
                "pass --store with a cloudwall store file, or a new path to create one",
            )
        # Space freed by pruning goes back to the system; only settable before the first table.
        db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        with transaction(db):
            if db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID:
                return  # another process created it while we waited for the lock
            if not is_blank(db):
                raise StoreError(f"{self.path} is not a cloudwall store", "pass a new --store path")
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            for statement in statements(CONTENT_TABLES):
                db.execute(statement)
            db.execute(SNAPSHOTS_TABLE.format(name="snapshots"))
            for statement in statements(SNAPSHOT_INDEXES):
                db.execute(statement)
            db.execute(BASELINES_TABLE)
            db.execute("INSERT INTO meta VALUES ('schema_version', ?)",
                       (str(STORE_SCHEMA_VERSION),))

    def close(self) -> None:
        self._db.close()

    def check_integrity(self) -> None:
        try:
            result = [row[0] for row in self._db.execute("PRAGMA quick_check(3)")]
        except sqlite3.OperationalError as exc:
            raise open_error(self.path, exc) from exc
        except sqlite3.DatabaseError as exc:
            raise damaged_error(self.path, str(exc)) from exc
        if result != ["ok"]:
            raise damaged_error(self.path, "; ".join(result))

    # --- transactions -------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[None]:
        try:
            enable_wal(self._db)
            with transaction(self._db):
                self._migrated = False
                yield
            if self._migrated:
                from scanner.store.migrate import after_migration

                after_migration(self._db)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise open_error(self.path, exc) from exc
            raise write_error(self.path, exc) from exc
        except sqlite3.DatabaseError as exc:
            raise write_error(self.path, exc) from exc

    @contextmanager
    def read(self) -> Iterator[None]:
        try:
            if self._db.in_transaction:
                yield
                return
            self._db.execute("BEGIN")
            try:
                yield
            finally:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"cannot read store {self.path}: {exc}",
                "the file may be corrupt: restore it from a backup",
            ) from exc

    def _upgrade(self) -> None:
        """Before the first change of a transaction: bring a schema 1 file to schema 2 (after
        a backup); the whole migration commits or rolls back with the change that caused it."""
        if self._schema_version(self._db) == str(STORE_SCHEMA_VERSION):
            return
        from scanner.store.migrate import migrate_v1

        migrate_v1(self._db, self.path, self._store_objects)
        self._migrated = True

    def compact(self) -> None:
        """Give the pages freed by a deletion back to the file system and fold the WAL into
        the file. Best effort, after the deletion committed: a busy store is compacted by a
        later run, and is complete either way."""
        db = self._db
        with suppress(sqlite3.OperationalError):
            if db.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
                # A file whose one-time conversion did not run yet (it needs a moment alone).
                db.execute("PRAGMA auto_vacuum = INCREMENTAL")
                db.execute("VACUUM")
            # executescript steps the pragma to the end; execute() frees a single page.
            db.executescript("PRAGMA incremental_vacuum;")
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def size_bytes(self) -> int | None:
        total = 0
        for suffix in ("", "-wal", "-shm"):
            with suppress(OSError):
                total += Path(f"{self.path}{suffix}").stat().st_size
        return total

    @property
    def schema_version(self) -> str | None:
        return self._schema_version(self._db)

    # --- snapshots ----------------------------------------------------------------------------

    def snapshot_infos(self) -> list[SnapshotInfo]:
        rows = self._db.execute(
            "SELECT snapshot_id, taken_at, providers, scope_count, rule_set_count, rule_count,"
            # rowid breaks ties the way `latest` does: the last one listed is `latest`.
            " error_count FROM snapshots ORDER BY taken_at, rowid"
        ).fetchall()
        return [SnapshotInfo(*row) for row in rows]

    def latest_snapshot_id(self) -> str | None:
        row = self._db.execute(
            "SELECT snapshot_id FROM snapshots ORDER BY taken_at DESC, rowid DESC LIMIT 1"
        ).fetchone()
        return row[0] if row else None

    def snapshot_ids_with_prefix(self, prefix: str, limit: int) -> list[str]:
        rows = self._db.execute(
            "SELECT snapshot_id FROM snapshots WHERE snapshot_id = ? OR "
            "substr(snapshot_id, 1, length(?)) = ? LIMIT ?",
            (prefix, prefix, prefix, limit),
        ).fetchall()
        return [row[0] for row in rows]

    def has_snapshot(self, snapshot_id: str) -> bool:
        return self._db.execute(
            "SELECT 1 FROM snapshots WHERE snapshot_id = ?", (snapshot_id,)
        ).fetchone() is not None

    def snapshot_document(self, snapshot_id: str) -> dict[str, Any]:
        if self._schema_version(self._db) == "1":
            from scanner.store.migrate import v1_document

            return v1_document(self._db, snapshot_id, self.location)
        row = self._db.execute(
            "SELECT s.taken_at, m.members FROM snapshots s JOIN manifests m "
            "ON m.id = s.manifest_id WHERE s.snapshot_id = ?", (snapshot_id,)
        ).fetchone()
        def bodies(ids: list[int]) -> dict[int, bytes]:
            return dict(self._db.execute(
                "SELECT id, body FROM objects WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(ids),)))

        try:
            if row is None:
                raise ValueError("its manifest is missing")
            return stored_document(snapshot_id, row[0], row[1], bodies, self._dictionary)
        except UNREADABLE as exc:
            raise StoreError(
                f"snapshot {snapshot_id} in {self.location} is unreadable ({exc})",
                "restore the store from a backup, or re-import the snapshot from JSON",
            ) from exc

    def insert_snapshot(self, parts: SnapshotParts) -> None:
        self._upgrade()
        manifest_id = self._store_objects(parts)
        self._db.execute(
            "INSERT INTO snapshots (snapshot_id, taken_at, providers, scope_count, "
            "rule_set_count, rule_count, error_count, manifest_id) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (parts.snapshot_id, parts.taken_at, ",".join(parts.providers), parts.scope_count,
             parts.rule_set_count, parts.rule_count, parts.error_count, manifest_id),
        )

    def _store_objects(self, parts: SnapshotParts) -> int:
        """The manifest row of ``parts``, storing it and any object not held yet."""
        db = self._db
        row = db.execute("SELECT id FROM manifests WHERE digest = ?",
                         (parts.manifest_digest,)).fetchone()
        if row:  # the same content as an earlier snapshot: every object is there already
            return row[0]
        ids: dict[bytes, int] = {}
        new = []
        for name in parts.objects:
            found = db.execute("SELECT id FROM objects WHERE digest = ?", (name,)).fetchone()
            if found:
                ids[name] = found[0]
            else:
                new.append(name)
        if new:
            dictionary_id, dictionary = self._current_dictionary(parts)
            for name in new:
                blob = compress(parts.objects[name], dictionary_id, dictionary)
                ids[name] = db.execute("INSERT INTO objects (digest, body) VALUES (?, ?)",
                                       (name, blob)).lastrowid
        members = encode_members({section: [ids[d] for d in digests]
                                  for section, digests in parts.sections.items()})
        return db.execute("INSERT INTO manifests (digest, members) VALUES (?, ?)",
                          (parts.manifest_digest, members)).lastrowid

    def _current_dictionary(self, parts: SnapshotParts) -> tuple[int | None, bytes]:
        """The store's compression dictionary, sampled from ``parts`` if it has none yet."""
        db = self._db
        db.execute(DICTIONARIES_TABLE)
        row = db.execute("SELECT id, body FROM dictionaries ORDER BY id DESC LIMIT 1").fetchone()
        if row:
            return row[0], row[1]
        sample = sample_dictionary(parts)
        if not sample:
            return None, b""
        return db.execute("INSERT INTO dictionaries (body) VALUES (?)",
                          (sample,)).lastrowid, sample

    def _dictionary(self, dictionary_id: int) -> bytes:
        row = self._db.execute("SELECT body FROM dictionaries WHERE id = ?",
                               (dictionary_id,)).fetchone()
        if row is None:
            raise KeyError(f"compression dictionary {dictionary_id} is missing")
        return row[0]

    def delete_snapshots(self, snapshot_ids: Sequence[str]) -> None:
        self._upgrade()
        self._db.executemany("DELETE FROM snapshots WHERE snapshot_id = ?",
                             [(i,) for i in snapshot_ids])

    def collect_garbage(self) -> GarbageCollected:
        self._upgrade()
        db = self._db
        orphans = db.execute(
            "SELECT id, members FROM manifests WHERE id NOT IN "
            "(SELECT manifest_id FROM snapshots)"
        ).fetchall()
        if not orphans:
            return GarbageCollected(0, 0)
        candidates = {i for _, blob in orphans for ids in decode_members(blob).values()
                      for i in ids}
        db.executemany("DELETE FROM manifests WHERE id = ?", [(m,) for m, _ in orphans])
        for (blob,) in db.execute("SELECT members FROM manifests"):
            for ids in decode_members(blob).values():
                candidates.difference_update(ids)
        db.executemany("DELETE FROM objects WHERE id = ?", [(i,) for i in sorted(candidates)])
        return GarbageCollected(len(orphans), len(candidates))

    # --- baselines ----------------------------------------------------------------------------

    def get_baseline(self, name: str) -> Baseline | None:
        row = self._db.execute(
            "SELECT name, snapshot_id, set_at, note FROM baselines WHERE name = ?", (name,)
        ).fetchone()
        return Baseline(*row) if row else None

    def list_baselines(self) -> list[Baseline]:
        rows = self._db.execute(
            "SELECT name, snapshot_id, set_at, note FROM baselines ORDER BY name"
        ).fetchall()
        return [Baseline(*row) for row in rows]

    def put_baseline(self, baseline: Baseline) -> None:
        self._upgrade()
        self._db.execute("INSERT OR REPLACE INTO baselines VALUES (?, ?, ?, ?)",
                         (baseline.name, baseline.snapshot_id, baseline.set_at, baseline.note))

    def delete_baseline(self, name: str) -> None:
        self._upgrade()
        self._db.execute("DELETE FROM baselines WHERE name = ?", (name,))

    def add_baseline_event(self, event: BaselineEvent) -> None:
        self._upgrade()
        self._db.execute(
            "INSERT INTO baseline_events (name, at, action, from_snapshot, to_snapshot, note, "
            "accepted) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (event.name, event.at, event.action, event.from_snapshot, event.to_snapshot,
             event.note, json.dumps(list(event.accepted))),
        )

    def baseline_events(self, name: str) -> list[BaselineEvent]:
        if self._schema_version(self._db) == "1":
            # No history was kept before schema 2: the baseline as it stands is its history.
            found = self.get_baseline(name)
            return [seed_event(found)] if found else []
        rows = self._db.execute(
            "SELECT name, at, action, from_snapshot, to_snapshot, note, accepted "
            "FROM baseline_events WHERE name = ? ORDER BY seq", (name,)
        ).fetchall()
        return [BaselineEvent(*row[:6], tuple(json.loads(row[6]))) for row in rows]

    # --- state --------------------------------------------------------------------------------

    def get_state(self, key: str) -> str | None:
        has_table = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'state'").fetchone()
        if not has_table:  # a store no long-running command has written to yet
            return None
        row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put_state(self, key: str, value: str) -> None:
        self._upgrade()
        self._db.execute(STATE_TABLE)
        self._db.execute("INSERT INTO state (key, value) VALUES (?, ?) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (key, value))
