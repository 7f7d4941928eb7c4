"""Writing what the user asked for (``--output``, ``snapshots export``) without destroying paths.

An output path is user data, and cloudwall often runs as root. The rules:

- ``-`` is standard output, never a file named ``-``.
- A symlink is resolved and its target written; the link itself is never replaced.
- A regular file, or a path that does not exist yet, is replaced atomically: the new content is
  written to a temporary file in the same directory and renamed over it, so a reader sees the
  old or the new content, never half of it. An existing file keeps its mode (never widened)
  and, where permitted, its owner; a new file gets the mode the umask gives a plain write.
- Anything else (a character or block device such as ``/dev/null``, a FIFO, a socket) is
  opened and written in place: renaming a regular file over ``/dev/null`` would destroy the
  system's device.

The data is text, bytes, or a document written as it is encoded (``scanner.jsonenc.Streamed``,
or any iterable of byte chunks). Streamed into a file, the chunks go to the temporary file, so
an error while encoding (or writing) leaves the old file as it was and no temporary file. A
device or FIFO has no old content to keep, so a streamed document is encoded whole first, as
before: the reader at the other end never gets half a document. Standard output is written as
the chunks come: an encoding error there (a bug: ``EncodingError``, exit 70) ends the output
mid-document, and the exit code, not the output, says it failed.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from scanner.jsonenc import Streamed

# Text, bytes, or byte chunks to write in turn (an iterable: re-iterable when one output goes to
# several places, as Streamed is).
Data = str | bytes | Iterable[bytes]

STDOUT = "-"


def _as_bytes(data: str | bytes) -> bytes:
    # Text is UTF-8 with the line ends it was given, on every platform: reports and exported
    # snapshots are compared byte for byte.
    return data.encode("utf-8") if isinstance(data, str) else data


def is_stdout(target: str | os.PathLike[str]) -> bool:
    return os.fspath(target) == STDOUT


def _chunks(data: Data) -> Iterable[bytes]:
    if isinstance(data, (str, bytes)):
        return (_as_bytes(data),)
    if isinstance(data, (bytearray, memoryview)) or not isinstance(data, Iterable):
        raise TypeError(f"output data must be str, bytes or byte chunks, not "
                        f"{type(data).__name__}")
    return data


def _whole(data: Data) -> bytes:
    if isinstance(data, Streamed):
        return data.encode()  # one orjson call: faster than joining the chunks
    return b"".join(_chunks(data))


def write_output(target: str | os.PathLike[str], data: Data,
                 stdout: BinaryIO | None = None) -> None:
    """Write ``data`` to ``target`` following the rules above; raises OSError on failure (and
    whatever producing a chunk raises, say ``EncodingError``)."""
    chunks = _chunks(data)
    if is_stdout(target):
        stream = stdout if stdout is not None else sys.stdout.buffer
        for chunk in chunks:
            stream.write(chunk)
        stream.flush()
        return
    path = Path(os.path.realpath(target))  # through every symlink, dangling ones included
    try:
        status = path.stat()
    except FileNotFoundError:
        status = None
    if status is not None and stat.S_ISDIR(status.st_mode):
        raise IsADirectoryError(21, "Is a directory", str(target))
    if status is not None and not stat.S_ISREG(status.st_mode):
        _write_in_place(path, _whole(data))
    else:
        _replace_atomically(path, chunks, status)


def _write_in_place(path: Path, data: bytes) -> None:
    """A device, FIFO or socket: open the existing node, never create or truncate a path."""
    fd = os.open(path, os.O_WRONLY | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _replace_atomically(path: Path, chunks: Iterable[bytes],
                        existing: os.stat_result | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp creates a new name with O_EXCL (never an existing path or a planted symlink),
    # private (0600) while the content is incomplete.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
            handle.flush()
            # Complete: the existing file's permission bits (set-id bits dropped: new content
            # must not inherit them), or what a plain write would get under the umask. Never
            # anything wider.
            if hasattr(os, "fchmod"):  # POSIX; Windows has no modes to keep
                os.fchmod(fd, existing.st_mode & 0o777 if existing else _new_file_mode())
            if existing is not None and hasattr(os, "fchown"):
                _keep_owner(fd, existing)
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:  # Ctrl-C included: never leave the temporary file behind
        Path(tmp).unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)


def _keep_owner(fd: int, existing: os.stat_result) -> None:
    """Root replacing another user's file gives it back to that user."""
    if (existing.st_uid, existing.st_gid) == (os.geteuid(), os.getegid()):
        return
    with contextlib.suppress(PermissionError):
        os.fchown(fd, existing.st_uid, existing.st_gid)


def _new_file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _sync_directory(directory: Path) -> None:
    """Make the rename itself durable; best effort (not every filesystem allows it)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
