"""The snapshot store: one SQLite file holding snapshots and named baselines.

Every write is one ``BEGIN IMMEDIATE`` transaction, so an interrupted scan leaves the store as it
was and concurrent scans serialise instead of corrupting it (WAL mode, a busy timeout). Snapshots
are kept as zlib-compressed canonical JSON, with the figures a listing needs in indexed columns.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from scanner.errors import StoreError
from scanner.model import Snapshot, utc_timestamp
from scanner.outputs import write_output
from scanner.outputs import write_output as write_atomic  # noqa: F401  (older import path)

STORE_SCHEMA_VERSION = 1
STORE_ENV = "CLOUDWALL_STORE"
_APPLICATION_ID = 0x43574C31  # "CWL1": marks the file as a cloudwall store
_BUSY_TIMEOUT_MS = 30_000
_SNAPSHOT_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (
    snapshot_id TEXT PRIMARY KEY,
    taken_at TEXT NOT NULL,
    providers TEXT NOT NULL,
    scope_count INTEGER NOT NULL,
    rule_set_count INTEGER NOT NULL,
    rule_count INTEGER NOT NULL,
    error_count INTEGER NOT NULL,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS snapshots_taken_at ON snapshots (taken_at);
CREATE TABLE IF NOT EXISTS baselines (
    name TEXT PRIMARY KEY,
    snapshot_id TEXT NOT NULL REFERENCES snapshots (snapshot_id),
    set_at TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
"""


def default_store_path() -> Path:
    """``$CLOUDWALL_STORE``, else the per-user data directory."""
    if os.environ.get(STORE_ENV):
        return Path(os.environ[STORE_ENV])
    import platformdirs  # only needed when no path was given

    return Path(platformdirs.user_data_dir("cloudwall")) / "cloudwall.db"


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    snapshot_id: str
    taken_at: str
    providers: str
    scope_count: int
    rule_set_count: int
    rule_count: int
    error_count: int
    baselines: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Baseline:
    name: str
    snapshot_id: str
    set_at: str
    note: str


def _now() -> str:
    return utc_timestamp(datetime.now(timezone.utc))


def encode_snapshot(snapshot: Snapshot) -> bytes:
    # Compact canonical JSON: json's C encoder only runs without indent, several times faster
    # on a large estate. Exports keep the indented form (Snapshot.to_json) for clean git diffs.
    text = json.dumps(snapshot.to_dict(), sort_keys=True, ensure_ascii=False,
                      separators=(",", ":"))
    return zlib.compress(text.encode(), 6)


def _snapshot_row(snapshot: Snapshot) -> tuple:
    """The ``snapshots`` row of a snapshot: its id checked, the listing figures, the body."""
    snapshot_id = snapshot.snapshot_id
    # Ids of imported files are untrusted and are printed and typed back by users.
    if not isinstance(snapshot_id, str) or not _SNAPSHOT_ID.fullmatch(snapshot_id) or (
        snapshot_id == "latest"
    ):
        raise StoreError(
            f"snapshot id {snapshot_id!r} cannot be stored",
            "ids are 1-128 letters, digits and . _ : - (and not `latest`)",
        )
    return (snapshot_id, utc_timestamp(snapshot.taken_at), ",".join(snapshot.providers),
            len(snapshot.scopes), len(snapshot.rule_sets), snapshot.rule_count(),
            len(snapshot.errors), encode_snapshot(snapshot))


class Store:
    """A handle on one store file. Opening creates it (and its folder) when missing."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open store {self.path}: {exc}",
                "check the path and its permissions, or pass --store PATH",
            ) from exc
        try:
            db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            if db.execute("PRAGMA application_id").fetchone()[0] != _APPLICATION_ID:
                self._initialise(db)
            version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if version is None or version[0] != str(STORE_SCHEMA_VERSION):
                raise StoreError(
                    f"{self.path} has store schema {version and version[0]!r}, "
                    f"this cloudwall reads {STORE_SCHEMA_VERSION}",
                    "use the cloudwall version that wrote it, or a new --store path",
                )
            _enable_wal(db)
        except sqlite3.OperationalError as exc:
            db.close()
            if "locked" not in str(exc):
                raise StoreError(
                    f"{self.path} is corrupt or not a cloudwall store ({exc})",
                    "restore it from a backup, or pass --store with a new path",
                ) from exc
            raise StoreError(
                f"store {self.path} is locked ({exc})",
                "another cloudwall may be writing to it: wait for it, or pass another --store",
            ) from exc
        except sqlite3.DatabaseError as exc:
            db.close()
            raise StoreError(
                f"{self.path} is corrupt or not a cloudwall store ({exc})",
                "restore it from a backup, or pass --store with a new path",
            ) from exc
        except StoreError:
            db.close()
            raise
        return db

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
        with _transaction(db):
            if db.execute("PRAGMA application_id").fetchone()[0] == _APPLICATION_ID:
                return  # another process created it while we waited for the lock
            if not _is_blank(db):
                raise StoreError(f"{self.path} is not a cloudwall store", "pass a new --store path")
            db.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                (str(STORE_SCHEMA_VERSION),),
            )

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- snapshots ----------------------------------------------------------------------------

    def save(self, snapshot: Snapshot) -> None:
        row = _snapshot_row(snapshot)
        with self._write():
            self._insert(row)

    def _insert(self, row: tuple) -> None:
        """Add a snapshot row inside the caller's transaction; an id is stored once."""
        if self._db.execute("SELECT 1 FROM snapshots WHERE snapshot_id = ?", (row[0],)).fetchone():
            raise StoreError(
                f"snapshot {row[0]} is already in the store",
                "it was imported before; use the stored copy",
            )
        self._db.execute("INSERT INTO snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?)", row)

    def list(self) -> list[SnapshotInfo]:
        baselines: dict[str, list[str]] = {}
        with self._read():
            for name, snapshot_id in self._db.execute("SELECT name, snapshot_id FROM baselines"):
                baselines.setdefault(snapshot_id, []).append(name)
            rows = self._db.execute(
                "SELECT snapshot_id, taken_at, providers, scope_count, rule_set_count, rule_count,"
                # rowid breaks ties the way `latest` does: the last one listed is `latest`.
                " error_count FROM snapshots ORDER BY taken_at, rowid"
            ).fetchall()
        return [SnapshotInfo(*row, tuple(sorted(baselines.get(row[0], ())))) for row in rows]

    def resolve(self, ref: str) -> str:
        """``latest``, a full snapshot id, or a unique prefix of one."""
        if not ref.strip():
            raise StoreError("an empty snapshot id", "give an id, an id prefix or `latest`")
        with self._read():
            if ref == "latest":
                row = self._db.execute(
                    "SELECT snapshot_id FROM snapshots ORDER BY taken_at DESC, rowid DESC LIMIT 1"
                ).fetchone()
                if row is None:
                    raise StoreError(
                        "the store has no snapshots yet",
                        "run `cloudwall scan --save` first, or pass --store",
                    )
                return row[0]
            rows = self._db.execute(
                "SELECT snapshot_id FROM snapshots WHERE snapshot_id = ? OR "
                "substr(snapshot_id, 1, length(?)) = ? LIMIT 3",
                (ref, ref, ref),
            ).fetchall()
        ids = [r[0] for r in rows]
        if ref in ids:
            return ref
        if len(ids) == 1:
            return ids[0]
        if not ids:
            raise StoreError(
                f"no snapshot {ref!r} in {self.path}", "list them with `cloudwall snapshots list`"
            )
        raise StoreError(f"snapshot id {ref!r} is ambiguous", "give more characters of the id")

    def load(self, ref: str) -> Snapshot:
        snapshot_id = self.resolve(ref)
        with self._read():
            row = self._db.execute(
                "SELECT body FROM snapshots WHERE snapshot_id = ?", (snapshot_id,)
            ).fetchone()
        try:
            return Snapshot.from_json(zlib.decompress(row[0]).decode())
        except (zlib.error, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StoreError(
                f"snapshot {snapshot_id} in {self.path} is unreadable ({exc})",
                "restore the store from a backup, or re-import the snapshot from JSON",
            ) from exc

    # --- baselines ----------------------------------------------------------------------------

    def set_baseline(self, name: str, ref: str, note: str = "", force: bool = False) -> Baseline:
        if not name or not name.strip() or len(name) > 200:
            raise StoreError(f"{name!r} is not a usable baseline name", "use a short, plain name")
        snapshot_id = self.resolve(ref)
        with self._write():
            existing = self._db.execute(
                "SELECT snapshot_id FROM baselines WHERE name = ?", (name,)
            ).fetchone()
            if existing and not force:
                raise StoreError(
                    f"baseline {name!r} already exists (snapshot {existing[0]})",
                    "pass --force to move it, or choose another name",
                )
            set_at = _now()
            self._db.execute(
                "INSERT OR REPLACE INTO baselines VALUES (?, ?, ?, ?)",
                (name, snapshot_id, set_at, note),
            )
        return Baseline(name, snapshot_id, set_at, note)

    def save_as_baseline(self, snapshot: Snapshot, name: str, note: str,
                         expected_snapshot_id: str) -> Baseline:
        """Store ``snapshot`` and move baseline ``name`` to it, both or neither.

        ``expected_snapshot_id`` is the snapshot the new one was derived from: if the baseline
        moved meanwhile (another run accepted something), nothing is written.
        """
        row = _snapshot_row(snapshot)
        with self._write():
            existing = self._db.execute(
                "SELECT snapshot_id FROM baselines WHERE name = ?", (name,)
            ).fetchone()
            if existing is None or existing[0] != expected_snapshot_id:
                raise StoreError(
                    f"baseline {name!r} moved while the change was being accepted",
                    "run the command again",
                )
            self._insert(row)
            set_at = _now()
            self._db.execute("INSERT OR REPLACE INTO baselines VALUES (?, ?, ?, ?)",
                             (name, snapshot.snapshot_id, set_at, note))
        return Baseline(name, snapshot.snapshot_id, set_at, note)

    def baseline(self, name: str) -> Baseline:
        with self._read():
            row = self._db.execute(
                "SELECT name, snapshot_id, set_at, note FROM baselines WHERE name = ?", (name,)
            ).fetchone()
        if row is None:
            raise StoreError(
                f"no baseline named {name!r} in {self.path}",
                "list them with `cloudwall baseline list`, "
                "or set one with `cloudwall baseline set`",
            )
        return Baseline(*row)

    def baselines(self) -> list[Baseline]:
        with self._read():
            rows = self._db.execute(
                "SELECT name, snapshot_id, set_at, note FROM baselines ORDER BY name"
            ).fetchall()
        return [Baseline(*row) for row in rows]

    def load_baseline(self, name: str) -> Snapshot:
        return self.load(self.baseline(name).snapshot_id)

    # --- import / export ----------------------------------------------------------------------

    def export(self, ref: str, path: str | os.PathLike[str]) -> str:
        snapshot = self.load(ref)
        write_output(path, snapshot.to_json())
        return snapshot.snapshot_id

    def import_file(self, path: str | os.PathLike[str]) -> Snapshot:
        snapshot = read_snapshot_file(Path(path))
        self.save(snapshot)
        return snapshot

    # --- plumbing -----------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[None]:
        try:
            with _transaction(self._db):
                yield
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"cannot write to store {self.path}: {exc}",
                "check free disk space and permissions; nothing was changed",
            ) from exc

    @contextmanager
    def _read(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"cannot read store {self.path}: {exc}",
                "the file may be corrupt: restore it from a backup",
            ) from exc


def _enable_wal(db: sqlite3.Connection) -> None:
    """WAL lets readers work while a scan writes. Switching needs a moment with no other
    connection busy; if there is none now, a later open switches (the store is correct either
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


def read_snapshot_file(path: Path) -> Snapshot:
    """Read an exported snapshot; anything truncated or malformed is a StoreError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}", "check the path") from exc
    except UnicodeDecodeError as exc:
        raise StoreError(
            f"{path} is not a cloudwall snapshot (not UTF-8 text at byte {exc.start})",
            "export snapshots with `cloudwall snapshots export`",
        ) from exc
    try:
        return Snapshot.from_json(text)
    except json.JSONDecodeError as exc:
        raise StoreError(
            f"{path} is not valid snapshot JSON (line {exc.lineno}: {exc.msg})",
            "the file is truncated or corrupt; export it again with `cloudwall snapshots export`",
        ) from exc
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        raise StoreError(
            f"{path} is not a cloudwall snapshot ({type(exc).__name__}: {exc})",
            "export snapshots with `cloudwall snapshots export`",
        ) from exc
