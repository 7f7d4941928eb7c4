"""Schema 1 stores: read as they are, migrated on the first write after a private backup."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scanner.errors import StoreError
from scanner.store import Store
from tests.scanner.store_builders import estate, file_state, write_v1_store

SNAPSHOTS = [estate("s-1"), estate("s-2", minutes=5, changed=2), estate("s-3", minutes=10),
             estate("s-0", minutes=10)]  # s-3 and s-0 tie on taken_at: `latest` is s-0


@pytest.fixture
def v1_path(tmp_path):
    path = tmp_path / "old.db"
    write_v1_store(path, SNAPSHOTS, {"prod": ("s-1", "approved"), "qa": ("s-2", "")})
    return path


def schema(path) -> str:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    finally:
        db.close()


def backups(path):
    return sorted(path.parent.glob(f"{path.name}.v1-backup-*"))


def test_reading_a_v1_store_works_and_changes_nothing(v1_path, tmp_path):
    before = file_state(v1_path)
    with Store(v1_path, create=False) as store:
        assert [i.snapshot_id for i in store.list()] == ["s-1", "s-2", "s-3", "s-0"]
        assert store.resolve("latest") == "s-0"
        for snapshot in SNAPSHOTS:
            assert store.load(snapshot.snapshot_id).to_json() == snapshot.to_json()
        assert store.baseline("prod").snapshot_id == "s-1"
        [event] = store.baseline_log("prod")
        assert (event.action, event.to_snapshot, event.note) == ("set", "s-1", "approved")
        store.export("s-2", tmp_path / "s-2.json")
        assert store.plan_prune(keep=1, older_than=None).remove == ("s-3",)
    assert (tmp_path / "s-2.json").read_text() == SNAPSHOTS[1].to_json()
    assert file_state(v1_path) == before
    assert schema(v1_path) == "1"
    assert backups(v1_path) == []


def test_the_first_write_backs_up_then_migrates(v1_path):
    rows_before = sqlite3.connect(v1_path).execute(
        "SELECT snapshot_id, body FROM snapshots ORDER BY rowid").fetchall()
    with Store(v1_path) as store:
        store.save(estate("s-4", minutes=20))
        [backup] = backups(v1_path)
        assert stat.S_IMODE(backup.stat().st_mode) == 0o600
        assert schema(v1_path) == "2"
        assert [i.snapshot_id for i in store.list()] == ["s-1", "s-2", "s-3", "s-0", "s-4"]
        for snapshot in SNAPSHOTS:
            assert store.load(snapshot.snapshot_id).to_json() == snapshot.to_json()
        assert {b.name: b.snapshot_id for b in store.baselines()} == {"prod": "s-1", "qa": "s-2"}
        assert [e.action for e in store.baseline_log("prod")] == ["set"]
        store.set_baseline("prod", "s-4", force=True)
        assert [(e.action, e.from_snapshot, e.to_snapshot)
                for e in store.baseline_log("prod")] == [("set", None, "s-1"),
                                                          ("move", "s-1", "s-4")]
    # The backup is the schema 1 store exactly as it was, complete in one file.
    assert schema(backup) == "1"
    copy = sqlite3.connect(backup)
    assert copy.execute("SELECT snapshot_id, body FROM snapshots ORDER BY rowid").fetchall() \
        == rows_before
    assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    migrated = sqlite3.connect(v1_path)
    assert migrated.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert migrated.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
    # Unchanged content is shared: s-1, s-3 and s-0 hold the same estate.
    assert migrated.execute("SELECT count(*) FROM manifests").fetchone()[0] == 2
    # Opening again neither migrates nor backs up again.
    with Store(v1_path) as store:
        store.save(estate("s-5", minutes=30))
    assert len(backups(v1_path)) == 1


def test_a_refused_write_does_not_migrate(v1_path):
    before = file_state(v1_path)
    with Store(v1_path) as store:
        with pytest.raises(StoreError, match="already in the store"):
            store.save(estate("s-1"))
        with pytest.raises(StoreError, match="already exists"):
            store.set_baseline("prod", "s-2")
        with pytest.raises(StoreError, match="is the baseline prod"):
            store.delete_snapshots(["s-1"])
    assert schema(v1_path) == "1"
    assert backups(v1_path) == []
    assert file_state(v1_path) == before


def test_an_interrupted_migration_leaves_the_v1_store_as_it_was(v1_path):
    before = file_state(v1_path)
    with Store(v1_path) as store:
        calls = []

        def abort_later() -> int:
            calls.append(1)
            return 1 if len(calls) > 150 else 0  # part-way through the rebuild

        store.backend._db.set_progress_handler(abort_later, 10)
        with pytest.raises(StoreError, match="cannot write") as caught:
            store.save(estate("s-4", minutes=20))
        assert "nothing was changed" in caught.value.hint
        store.backend._db.set_progress_handler(None, 50)
        assert schema(v1_path) == "1"
        assert store.load("s-2").to_json() == SNAPSHOTS[1].to_json()
    assert file_state(v1_path) == before
    with Store(v1_path) as store:  # and the next write migrates it
        store.save(estate("s-4", minutes=20))
        assert schema(v1_path) == "2"


_WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[3])
    from tests.scanner.store_builders import estate
    from scanner.store import Store

    with Store(sys.argv[1]) as store:
        for i in range(int(sys.argv[2])):
            store.save(estate(f"{sys.argv[4]}-{i:02d}", sets=6, minutes=100 + i,
                              changed=i % 6))
            store.list()
    """
)


def test_two_processes_writing_a_v1_store_migrate_it_once(v1_path):
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), *sys.path])}
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(v1_path), "8", str(root),
                               name], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for name in ("alpha", "beta")]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    assert len(backups(v1_path)) == 1
    assert schema(v1_path) == "2"
    with Store(v1_path) as store:
        listed = [i.snapshot_id for i in store.list()]
        assert sorted(listed) == sorted(["s-0", "s-1", "s-2", "s-3"]
                                        + [f"{n}-{i:02d}" for n in ("alpha", "beta")
                                           for i in range(8)])
        for snapshot in SNAPSHOTS:
            assert store.load(snapshot.snapshot_id).to_json() == snapshot.to_json()
        assert store.load("beta-05") == estate("beta-05", sets=6, minutes=105, changed=5)
    assert sqlite3.connect(v1_path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
