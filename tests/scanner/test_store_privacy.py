"""Stores hold an organization's network map: created private whatever the umask, never
widened, side files included."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from scanner.errors import StoreError
from scanner.store import Store
from tests.scanner.store_builders import estate


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    old = os.umask(0)  # the worst case: everything would be world-writable
    yield
    os.umask(old)


def test_a_new_store_and_its_folders_are_private(tmp_path, open_umask):
    path = tmp_path / "a" / "b" / "store.db"
    with Store(path) as store:
        store.save(estate("s-1", sets=3))
        store.set_baseline("prod", "s-1")
        # The WAL and shared-memory files exist while the store is open: private too.
        side = [Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert all(p.exists() for p in side)
        assert {p.name: mode(p) for p in side} == {p.name: 0o600 for p in side}
        assert mode(path) == 0o600
    assert mode(tmp_path / "a") == 0o700
    assert mode(tmp_path / "a" / "b") == 0o700


def test_existing_folders_and_files_keep_their_mode(tmp_path, open_umask):
    folder = tmp_path / "shared"
    folder.mkdir()
    os.chmod(folder, 0o751)
    path = folder / "store.db"
    path.touch()
    os.chmod(path, 0o640)  # an admin's choice: group-readable
    with Store(path) as store:
        store.save(estate("s-1", sets=3))
        assert mode(Path(f"{path}-wal")) == 0o640  # never wider than the store itself
    assert mode(folder) == 0o751
    assert mode(path) == 0o640



@pytest.mark.parametrize("kind", ["fifo", "directory", "dangling"])
@pytest.mark.parametrize("create", [True, False])
def test_only_a_regular_file_can_be_a_store(tmp_path, kind, create):
    path = tmp_path / "store.db"
    if kind == "fifo":
        os.mkfifo(path)  # SQLite would block on it forever
    elif kind == "directory":
        path.mkdir()
    else:
        path.symlink_to(tmp_path / "elsewhere" / "x.db")
    with pytest.raises(StoreError) as caught:
        Store(path, create=create)
    assert caught.value.hint
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store.db"]
    assert not (tmp_path / "elsewhere").exists()


def test_a_symlink_to_a_store_is_used(tmp_path):
    real = tmp_path / "real.db"
    with Store(real) as store:
        store.save(estate("s-1", sets=2))
    link = tmp_path / "link.db"
    link.symlink_to(real)
    with Store(link, create=False) as store:
        assert [i.snapshot_id for i in store.list()] == ["s-1"]
    assert link.is_symlink()
