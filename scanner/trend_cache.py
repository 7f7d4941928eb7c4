"""A cache of trend points, so ``report trend`` over hundreds of snapshots judges only the new.

A point is keyed by everything it depends on (``scanner.trend_build.point_key``: cloudwall's
version, the policy settings and the contents of packs and suppressions, the snapshot and its
reference) plus the store's path and the snapshot's listing figures, so a different snapshot
that happens to reuse an id is never answered from the cache.

The cache is a private SQLite file (``$CLOUDWALL_CACHE_DIR/trend.db``, else the per-user cache
directory), separate from the store. It is only ever an optimisation: when it cannot be opened,
read or written (a read-only home, a symlink or device where the file should be, a corrupt
file), the point is computed and the report is the same.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
from pathlib import Path

from scanner.trend import TrendPoint

CACHE_ENV = "CLOUDWALL_CACHE_DIR"
_MAX_ROWS = 200_000  # about 100 MB at most; the oldest entries go first


def default_cache_path() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]) / "trend.db"
    import platformdirs

    return Path(platformdirs.user_cache_dir("cloudwall")) / "trend.db"


class TrendCache:
    def __init__(self, path: Path, namespace: str) -> None:
        self.path = path
        self.namespace = namespace  # the store, and the listing figures live in the keys
        self._db: sqlite3.Connection | None = None
        self._broken = False
        self.hits = 0
        self.misses = 0

    def _open(self) -> sqlite3.Connection | None:
        if self._db is not None or self._broken:
            return self._db
        try:
            self._db = _connect(self.path)
        except (OSError, sqlite3.Error):
            self._broken = True  # computing every point is slower, never wrong
        return self._db

    def get(self, key: str) -> TrendPoint | None:
        db = self._open()
        if db is None:
            self.misses += 1
            return None
        try:
            row = db.execute("SELECT point FROM points WHERE key = ?",
                             (f"{self.namespace}|{key}",)).fetchone()
            point = TrendPoint.from_dict(json.loads(row[0])) if row else None
        except (sqlite3.Error, ValueError, KeyError, TypeError):
            point = None
        if point is None:
            self.misses += 1
        else:
            self.hits += 1
        return point

    def put(self, key: str, point: TrendPoint) -> None:
        db = self._open()
        if db is None:
            return
        try:
            with db:
                db.execute("INSERT OR REPLACE INTO points (key, point) VALUES (?, ?)",
                           (f"{self.namespace}|{key}", json.dumps(point.to_dict(),
                                                                  sort_keys=True)))
        except sqlite3.Error:
            self._broken = True

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                with self._db:
                    self._db.execute(
                        "DELETE FROM points WHERE rowid <= (SELECT MAX(rowid) FROM points) - ?",
                        (_MAX_ROWS,))
                self._db.close()
            self._db = None


def _connect(path: Path) -> sqlite3.Connection:
    """Open the cache file, creating it (and its directory) private; never through a symlink
    or onto anything but a regular file."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                     0o600)
        os.close(fd)
    except FileExistsError:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{path} is not a regular file") from None
    db = sqlite3.connect(path, timeout=5)
    db.execute("CREATE TABLE IF NOT EXISTS points (key TEXT PRIMARY KEY, point TEXT NOT NULL)")
    return db
