"""The PostgreSQL store's schema: plain numbered SQL files in ``pg_migrations/``, applied in order.

``NNNN_description.sql`` is schema version NNNN. The versions a database has are rows of
``cloudwall_schema``; every pending file is applied in one transaction, under the store's write
lock, so a database is at one version or the next, never between. A database at a version newer
than the newest file here was migrated by a newer cloudwall: it is refused, not read with a
schema this version does not know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from scanner.errors import StoreError

_FILE = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")
VERSIONS_TABLE = """
CREATE TABLE IF NOT EXISTS cloudwall_schema (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


@cache
def migrations() -> tuple[Migration, ...]:
    """Every migration shipped with this cloudwall, oldest first; versions are 1, 2, 3... with
    no gap, so a missing file cannot go unnoticed."""
    folder = resources.files("scanner.store") / "pg_migrations"
    found = []
    for entry in folder.iterdir():
        match = _FILE.fullmatch(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name,
                                   entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError(f"PostgreSQL migrations are not numbered 1..n: {found}")
    return tuple(found)


def latest_version() -> int:
    return migrations()[-1].version


def pending(current: int) -> tuple[Migration, ...]:
    return tuple(m for m in migrations() if m.version > current)


def refuse_newer(current: int, location: str) -> None:
    if current > latest_version():
        raise StoreError(
            f"store {location} has schema version {current}, newer than this cloudwall knows "
            f"({latest_version()})",
            "upgrade cloudwall to the version that migrated it, or use another database",
        )
