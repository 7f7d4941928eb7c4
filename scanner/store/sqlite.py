"""The SQLite backend: one private file holding snapshots, baselines and their history.

Every write is one ``BEGIN IMMEDIATE`` transaction, so an interrupted scan leaves the store as it
was and concurrent scans serialise instead of corrupting it (WAL mode, a busy timeout).

Schema 2 stores snapshots by content (``scanner.store.content``): ``objects`` holds each distinct
rule set, asset, subnet, network, ... once, zlib-compressed; ``manifests`` holds each distinct
list of members (object row ids, delta-encoded); a snapshot row points to its manifest. Schema 1
files (one compressed document per snapshot) are read as they are and migrated on their first
write, after a private backup copy of the file is taken next to it (``scanner.store.migrate``).
"""

from __future__ import annotations

import json
import sqlite3
import stat
import zlib
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
from scanner.store.content import SnapshotParts, assemble_document
from scanner.store.files import create_private_file, is_regular_file, make_private_dirs

STORE_SCHEMA_VERSION = 2
READABLE_SCHEMAS = ("1", "2")
_APPLICATION_ID = 0x43574C31  # "CWL1": marks the file as a cloudwall store
_BUSY_TIMEOUT_MS = 30_000

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
CREATE INDEX baseline_events_name ON baseline_events (name, seq)
"""
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


def compress(body: bytes) -> bytes:
    return zlib.compress(body, 6)


def encode_members(sections: dict[str, list[int]]) -> bytes:
    """Object row ids per section as deltas: the ids of one scan are mostly consecutive, so the
    list compresses to a few bytes per thousand members."""
    previous, encoded = 0, {}
    for name in sorted(sections):
        deltas = []
        for object_id in sections[name]:
            deltas.append(object_id - previous)
            previous = object_id
        encoded[name] = deltas
    return zlib.compress(json.dumps(encoded, separators=(",", ":")).encode(), 9)


def decode_members(blob: bytes) -> dict[str, list[int]]:
    previous, sections = 0, {}
    for name, deltas in sorted(json.loads(zlib.decompress(blob)).items()):
        ids = []
        for delta in deltas:
            previous += delta
            ids.append(previous)
        sections[name] = ids
    return sections


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
            db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open store {self.path}: {exc}",
                "check the path and its permissions, or pass --store PATH",
            ) from exc
        try:
            db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            if db.execute("PRAGMA application_id").fetchone()[0] != _APPLICATION_ID:
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
            raise _open_error(self.path, exc) from exc
        except sqlite3.DatabaseError as exc:
            db.close()
            raise _corrupt(self.path, exc) from exc
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
        if not _is_blank(db):
            raise StoreError(
                f"{self.path} is not a cloudwall store",
                "pass --store with a cloudwall store file, or a new path to create one",
            )
        # Space freed by pruning goes back to the system; only settable before the first table.
        db.execute("PRAGMA auto_vacuum = INCREMENTAL")
        with _transaction(db):
            if db.execute("PRAGMA application_id").fetchone()[0] == _APPLICATION_ID:
                return  # another process created it while we waited for the lock
            if not _is_blank(db):
                raise StoreError(f"{self.path} is not a cloudwall store", "pass a new --store path")
            db.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
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
            raise _open_error(self.path, exc) from exc
        except sqlite3.DatabaseError as exc:
            raise _damaged(self.path, str(exc)) from exc
        if result != ["ok"]:
            raise _damaged(self.path, "; ".join(result))

    # --- transactions -------------------------------------------------------------------------

    @contextmanager
    def write(self) -> Iterator[None]:
        try:
            _enable_wal(self._db)
            with _transaction(self._db):
                self._migrated = False
                yield
            if self._migrated:
                from scanner.store.migrate import after_migration

                after_migration(self._db)
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise _open_error(self.path, exc) from exc
            raise _write_error(self.path, exc) from exc
        except sqlite3.DatabaseError as exc:
            raise _write_error(self.path, exc) from exc

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
        try:
            if row is None:
                raise ValueError("its manifest is missing")
            sections = decode_members(row[1])
            wanted = sorted({i for ids in sections.values() for i in ids})
            bodies = dict(self._db.execute(
                "SELECT id, body FROM objects WHERE id IN (SELECT value FROM json_each(?))",
                (json.dumps(wanted),),
            ))
            missing = [i for i in wanted if i not in bodies]
            if missing:
                raise ValueError(f"{len(missing)} of its objects are missing")
            plain = {i: zlib.decompress(body) for i, body in bodies.items()}
            return assemble_document(
                snapshot_id, row[0],
                {name: [plain[i] for i in ids] for name, ids in sections.items()})
        except (zlib.error, ValueError, KeyError, TypeError, IndexError) as exc:
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
        for name, body in parts.objects.items():
            found = db.execute("SELECT id FROM objects WHERE digest = ?", (name,)).fetchone()
            if found:
                ids[name] = found[0]
            else:
                ids[name] = db.execute("INSERT INTO objects (digest, body) VALUES (?, ?)",
                                       (name, compress(body))).lastrowid
        members = encode_members({section: [ids[d] for d in digests]
                                  for section, digests in parts.sections.items()})
        return db.execute("INSERT INTO manifests (digest, members) VALUES (?, ?)",
                          (parts.manifest_digest, members)).lastrowid

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


def _enable_wal(db: sqlite3.Connection) -> None:
    """WAL lets readers work while a scan writes. Switching needs a moment with no other
    connection busy; if there is none now, a later write switches (the store is correct either
    way, writers serialise in both modes)."""
    if db.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
        return
    with suppress(sqlite3.OperationalError):
        db.execute("PRAGMA journal_mode = WAL")


def _is_blank(db: sqlite3.Connection) -> bool:
    """No application id and no tables: a new file (or an empty database) we may set up."""
    app_id = db.execute("PRAGMA application_id").fetchone()[0]
    return app_id == 0 and db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
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


def _open_error(path: Path, exc: sqlite3.Error) -> StoreError:
    if "locked" in str(exc) or "busy" in str(exc):
        return StoreError(
            f"store {path} is locked ({exc})",
            "another cloudwall may be writing to it: wait for it, or pass another --store",
        )
    return _corrupt(path, exc)


def _corrupt(path: Path, exc: sqlite3.Error) -> StoreError:
    return StoreError(
        f"{path} is corrupt or not a cloudwall store ({exc})",
        "restore it from a backup, or pass --store with a new path",
    )


def _damaged(path: Path, detail: str) -> StoreError:
    return StoreError(
        f"store {path} is damaged (integrity check: {detail}); nothing was written to it",
        "restore it from a backup (or salvage it with `sqlite3 FILE .recover`), or pass "
        "--store with a new path",
    )


def _write_error(path: Path, exc: sqlite3.Error) -> StoreError:
    return StoreError(
        f"cannot write to store {path}: {exc}",
        "check free disk space and permissions; nothing was changed",
    )
