"""Files around the store: private creation of the store and its folder, exported snapshots."""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path

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


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write a file so that a reader sees the old or the new content, never half of it.

    Text is written as UTF-8 with ``\\n`` line ends on every platform (reports and exported
    snapshots are compared byte for byte).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); give it the mode a plain write would have.
        if hasattr(os, "fchmod"):
            os.fchmod(fd, _file_mode(path))
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8") if isinstance(text, str) else text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _file_mode(path: Path) -> int:
    """The existing file's mode, else what the umask gives a new file."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


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
