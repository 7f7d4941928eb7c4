"""The snapshot store: one SQLite file holding snapshots and named baselines.

Every write is one ``BEGIN IMMEDIATE`` transaction, so an interrupted scan leaves the store as it
was and concurrent scans serialise instead of corrupting it (WAL mode, a busy timeout). Snapshots
are kept as zlib-compressed canonical JSON, with the figures a listing needs in indexed columns.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from scanner.errors import StoreError
from scanner.model import Snapshot

STORE_SCHEMA_VERSION = 1
STORE_ENV = "CLOUDWALL_STORE"
_APPLICATION_ID = 0x43574C31  # "CWL1": marks the file as a cloudwall store
_BUSY_TIMEOUT_MS = 30_000

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
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def encode_snapshot(snapshot: Snapshot) -> bytes:
    return zlib.compress(snapshot.to_json().encode(), 6)


class Store:
    """A handle on one store file. Opening creates it (and its folder) when missing."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            existed = self.path.exists() and self.path.stat().st_size > 0
            db = sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open store {self.path}: {exc}",
                "check the path and its permissions, or pass --store PATH",
            ) from exc
        try:
            db.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            app_id = db.execute("PRAGMA application_id").fetchone()[0]
            if existed and app_id != _APPLICATION_ID:
                raise StoreError(
                    f"{self.path} is not a cloudwall store",
                    "pass --store with a cloudwall store file, or a new path to create one",
                )
            if not existed:
                db.execute("PRAGMA journal_mode = WAL")
                with _transaction(db):
                    db.execute(f"PRAGMA application_id = {_APPLICATION_ID}")
                    for statement in filter(str.strip, _SCHEMA.split(";")):
                        db.execute(statement)
                    db.execute(
                        "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)",
                        (str(STORE_SCHEMA_VERSION),),
                    )
            version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if version is None or int(version[0]) != STORE_SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} has store schema {version and version[0]!r}, "
                    f"this cloudwall reads {STORE_SCHEMA_VERSION}",
                    "use the cloudwall version that wrote it, or a new --store path",
                )
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

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- snapshots ----------------------------------------------------------------------------

    def save(self, snapshot: Snapshot) -> None:
        body = encode_snapshot(snapshot)
        row = (
            snapshot.snapshot_id,
            snapshot.to_dict()["taken_at"],
            ",".join(snapshot.providers),
            len(snapshot.scopes),
            len(snapshot.rule_sets),
            snapshot.rule_count(),
            len(snapshot.errors),
            body,
        )
        with self._write():
            exists = self._db.execute(
                "SELECT 1 FROM snapshots WHERE snapshot_id = ?", (snapshot.snapshot_id,)
            ).fetchone()
            if exists:
                raise StoreError(
                    f"snapshot {snapshot.snapshot_id} is already in the store",
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
                " error_count FROM snapshots ORDER BY taken_at, snapshot_id"
            ).fetchall()
        return [SnapshotInfo(*row, tuple(sorted(baselines.get(row[0], ())))) for row in rows]

    def resolve(self, ref: str) -> str:
        """``latest``, a full snapshot id, or a unique prefix of one."""
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
        except (zlib.error, ValueError, KeyError, TypeError) as exc:
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

    def baseline(self, name: str) -> Baseline:
        with self._read():
            row = self._db.execute(
                "SELECT name, snapshot_id, set_at, note FROM baselines WHERE name = ?", (name,)
            ).fetchone()
        if row is None:
            raise StoreError(
                f"no baseline named {name!r} in {self.path}",
                "list them with `cloudwall baseline list`, or set one with `cloudwall baseline set`",
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
        write_atomic(Path(path), snapshot.to_json())
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


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def write_atomic(path: Path, text: str) -> None:
    """Write a file so that a reader sees the old or the new content, never half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_snapshot_file(path: Path) -> Snapshot:
    """Read an exported snapshot; anything truncated or malformed is a StoreError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}", "check the path") from exc
    try:
        return Snapshot.from_json(text)
    except json.JSONDecodeError as exc:
        raise StoreError(
            f"{path} is not valid snapshot JSON (line {exc.lineno}: {exc.msg})",
            "the file is truncated or corrupt; export it again with `cloudwall snapshots export`",
        ) from exc
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StoreError(
            f"{path} is not a cloudwall snapshot ({type(exc).__name__}: {exc})",
            "export snapshots with `cloudwall snapshots export`",
        ) from exc
