"""Which backend a ``--store`` value names: a URL's scheme picks one from a registry; anything
that is not a URL is the path of a SQLite store file."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from scanner.errors import StoreError
from scanner.redact import redact
from scanner.store.backend import Backend

# scheme://... (a Windows drive letter such as C:\ has no //, so it stays a path)
_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*)://")


def _sqlite(target: str, create: bool) -> Backend:
    from scanner.store.sqlite import SqliteBackend

    return SqliteBackend(Path(target), create=create)


def _postgres(target: str, create: bool) -> Backend:
    from scanner.store.postgres import PostgresBackend

    return PostgresBackend(target, create=create)


# URL scheme -> opener(target, create); libpq takes both spellings of PostgreSQL's.
BACKENDS: dict[str, Callable[[str, bool], Backend]] = {
    "postgresql": _postgres,
    "postgres": _postgres,
}


def url_scheme(target: str | os.PathLike[str]) -> str | None:
    match = _URL.match(os.fspath(target))
    return match.group(1).lower() if match else None


def is_url(target: str | os.PathLike[str]) -> bool:
    return url_scheme(target) is not None


def open_backend(target: str | os.PathLike[str], create: bool) -> Backend:
    scheme = url_scheme(target)
    if scheme is None:
        return _sqlite(os.fspath(target), create)
    opener = BACKENDS.get(scheme)
    if opener is None:
        raise StoreError(
            f"--store {redact(os.fspath(target))}: no store backend for {scheme}://",
            "give a file path (SQLite) or a postgresql:// URL",
        )
    return opener(os.fspath(target), create)
