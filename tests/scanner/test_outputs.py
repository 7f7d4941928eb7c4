"""Output paths are user data: devices, FIFOs and symlinks survive; files are replaced whole."""

from __future__ import annotations

import io
import os
import stat
import threading
from pathlib import Path

import pytest

from scanner.outputs import write_output


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _char_device_or_fifo(path: Path) -> str:
    """A character device (the null device's numbers) where mknod is permitted, else a FIFO."""
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        return "device"
    except (PermissionError, AttributeError, OSError):
        os.mkfifo(path)
        return "fifo"


def _read_fifo(path: Path, into: list[bytes]) -> threading.Thread:
    def reader() -> None:
        with open(path, "rb") as handle:
            into.append(handle.read())

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    return thread


def test_new_file_follows_the_umask_and_parents_are_created(tmp_path):
    target = tmp_path / "out" / "report.json"
    write_output(target, "first\n")
    assert target.read_bytes() == b"first\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~_umask()


def test_existing_file_is_replaced_atomically_and_keeps_its_mode(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old\n")
    target.chmod(0o600)
    inode = target.stat().st_ino
    write_output(target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # not widened to the umask default
    assert target.stat().st_ino != inode  # a new file renamed over the old one
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_set_id_bits_are_never_carried_over(tmp_path):
    target = tmp_path / "tool"
    target.write_text("old")
    target.chmod(0o4750)
    write_output(target, "new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o750


def test_a_failed_write_leaves_the_old_content_and_no_temporary_file(tmp_path):
    target = tmp_path / "report.json"
    write_output(target, "first\n")
    with pytest.raises(TypeError):
        write_output(target, 12345)  # type: ignore[arg-type]
    assert target.read_text() == "first\n"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_character_device_or_fifo_is_written_in_place_never_replaced(tmp_path):
    node = tmp_path / "null"
    kind = _char_device_or_fifo(node)
    received: list[bytes] = []
    reader = _read_fifo(node, received) if kind == "fifo" else None
    write_output(node, "report\n")
    if reader is not None:
        reader.join(10)
        assert received == [b"report\n"]
    mode = node.stat().st_mode
    assert stat.S_ISCHR(mode) if kind == "device" else stat.S_ISFIFO(mode)
    assert [p.name for p in tmp_path.iterdir()] == ["null"]


def test_a_fifo_receives_the_whole_output(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = _read_fifo(fifo, received)
    payload = b"x" * 300_000  # larger than a pipe buffer: written through, not dropped
    write_output(fifo, payload)
    reader.join(10)
    assert received == [payload]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_a_symlink_is_followed_and_its_target_replaced(tmp_path):
    real = tmp_path / "real" / "report.json"
    real.parent.mkdir()
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_output(link, "new")
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert real.read_text() == "new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


def test_a_chain_of_symlinks_and_a_dangling_one_write_the_final_target(tmp_path):
    final = tmp_path / "final.json"
    (tmp_path / "b").symlink_to(final)  # dangling until written
    (tmp_path / "a").symlink_to(tmp_path / "b")
    write_output(tmp_path / "a", "data")
    assert final.read_text() == "data"
    assert (tmp_path / "a").is_symlink() and (tmp_path / "b").is_symlink()


def test_a_symlink_to_a_device_writes_the_device(tmp_path):
    node = tmp_path / "node"
    kind = _char_device_or_fifo(node)
    link = tmp_path / "out"
    link.symlink_to(node)
    received: list[bytes] = []
    reader = _read_fifo(node, received) if kind == "fifo" else None
    write_output(link, "x")
    if reader is not None:
        reader.join(10)
    assert link.is_symlink()
    assert not stat.S_ISREG(node.stat().st_mode)


def test_dash_is_stdout_not_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    stream = io.BytesIO()
    write_output("-", "hello\n", stdout=stream)
    assert stream.getvalue() == b"hello\n"
    assert not (tmp_path / "-").exists()


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(IsADirectoryError):
        write_output(tmp_path, "x")


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_root_replacing_another_users_file_keeps_its_owner(tmp_path):
    target = tmp_path / "report.json"
    target.write_text("old")
    os.chown(target, 1234, 5678)
    write_output(target, "new")
    status = target.stat()
    assert (status.st_uid, status.st_gid) == (1234, 5678)
