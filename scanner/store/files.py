"""Files around the store: private creation of the store and its folder, snapshot files."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from scanner import snapshot_document
from scanner.errors import StoreError
from scanner.model import Snapshot

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def make_private_dirs(path: Path) -> None:
    """Create ``path`` and any missing parents as 0700 whatever the umask; folders that exist
    already keep their mode (never widened, never changed)."""
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            continue  # made meanwhile by another process: its mode is its own
        os.chmod(folder, PRIVATE_DIR)  # mkdir's mode is filtered by the umask


def create_private_file(path: Path) -> bool:
    """Create an empty 0600 file at ``path`` unless something is there already (which is left
    exactly as it is). Returns whether the file was created here."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                     PRIVATE_FILE)
    except FileExistsError:
        return False
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, PRIVATE_FILE)  # os.open's mode is filtered by the umask
    finally:
        os.close(fd)
    return True


def is_regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.stat().st_mode)
    except OSError:
        return False


def read_snapshot_file(path: Path) -> Snapshot:
    """Read an exported snapshot, checked whole (scanner.snapshot_document); anything
    truncated, oversized or malformed is a StoreError naming the JSON path."""
    limit = snapshot_document.MAX_DOCUMENT_BYTES
    try:
        with path.open("rb") as handle:  # never more than the limit, whatever the file is
            data = handle.read(limit + 1)
        text = data.decode("utf-8")
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {exc.strerror}", "check the path") from exc
    except UnicodeDecodeError as exc:
        raise StoreError(
            f"{path} is not a cloudwall snapshot (not UTF-8 text at byte {exc.start})",
            "export snapshots with `cloudwall snapshots export`",
        ) from exc
    try:
        return snapshot_document.parse(text)
    except snapshot_document.DocumentError as exc:
        if exc.syntax:
            raise StoreError(f"{path} is not valid snapshot JSON ({exc.message})",
                             "the file is truncated or corrupt; export it again with "
                             "`cloudwall snapshots export`") from None
        raise StoreError(f"{path} is not a cloudwall snapshot: {exc}",
                         "snapshot files are what `cloudwall snapshots export` writes (their "
                         "JSON Schema is scanner/schemas/snapshot.schema.json)") from None
