"""The SQLite snapshot store: round trips, baselines, refusals that change nothing, concurrency."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from scanner.errors import StoreError
from scanner.model import (
    Action,
    CollectionError,
    Direction,
    Peer,
    Rule,
    RuleSet,
    RuleSetKind,
    Scope,
    Snapshot,
)
from scanner.netmath import PortSet
from scanner.store import (
    Store,
    default_store,
    default_store_path,
    read_snapshot_file,
    write_atomic,
)

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def make_snapshot(snapshot_id: str, minutes: int = 0, port: int = 22) -> Snapshot:
    scope = Scope("aws", "111122223333", "eu-west-1", "prod")
    rule = Rule(Direction.INGRESS, Action.ALLOW, "tcp", PortSet.of(port),
                (Peer.cidr("0.0.0.0/0"),), native_id=f"sgr-{port}", description="ssh <b>")
    rule_set = RuleSet("aws", scope.account, scope.region, RuleSetKind.AWS_SECURITY_GROUP,
                       "sg-1", "web",
                       (rule, replace(rule, native_id="sgr-x", ports=PortSet.of(80))))
    error = CollectionError("aws", scope.account, "us-east-1", "denied", "grant ec2:Describe*",
                            resource_type="network_acls", code="AccessDenied")
    return Snapshot.from_items(snapshot_id, T0 + timedelta(minutes=minutes), [scope],
                               [rule_set, error], providers=["aws"])


def file_state(path: Path) -> dict[str, str]:
    """The bytes of the store file and its WAL companions, hashed: 'unchanged' means this."""
    out = {}
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-journal")):
        if candidate.exists():
            out[candidate.name] = hashlib.sha256(candidate.read_bytes()).hexdigest()
    return out


def rows(path: Path) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        return (db.execute("SELECT snapshot_id, taken_at FROM snapshots ORDER BY 1").fetchall()
                + db.execute("SELECT name, snapshot_id, note FROM baselines ORDER BY 1").fetchall())
    finally:
        db.close()


@pytest.fixture
def store(store_path):
    with Store(store_path) as opened:
        yield opened


# --- snapshots --------------------------------------------------------------------------------


def test_save_list_load(store):
    first, second = make_snapshot("20260301T120000Z-aaaa1111"), make_snapshot(
        "20260301T130000Z-bbbb2222", minutes=60, port=3389)
    store.save(second)
    store.save(first)
    listing = store.list()
    assert [i.snapshot_id for i in listing] == [first.snapshot_id, second.snapshot_id]
    info = listing[0]
    assert (info.taken_at, info.providers, info.scope_count, info.rule_set_count,
            info.rule_count, info.error_count, info.baselines) == (
        "2026-03-01T12:00:00Z", "aws", 1, 1, 2, 1, ())
    assert store.load(first.snapshot_id) == first
    assert store.load("latest") == second
    assert store.load("20260301T13") == second  # a unique prefix
    assert store.load(first.snapshot_id).to_json() == first.to_json()


def test_latest_is_the_last_listed_even_within_one_second(store):
    for suffix in ("ffff", "0000", "8888"):
        store.save(make_snapshot(f"20260301T120000Z-{suffix}"))
    assert store.list()[-1].snapshot_id == "20260301T120000Z-8888"
    assert store.resolve("latest") == "20260301T120000Z-8888"


def test_latest_on_an_empty_store_and_unknown_or_ambiguous_ids(store):
    with pytest.raises(StoreError, match="no snapshots yet"):
        store.load("latest")
    store.save(make_snapshot("20260301T120000Z-aaaa1111"))
    store.save(make_snapshot("20260301T120000Z-aaaa2222"))
    with pytest.raises(StoreError, match="no snapshot 'nope'"):
        store.load("nope")
    with pytest.raises(StoreError, match="ambiguous"):
        store.load("20260301T120000Z-aaaa")
    with pytest.raises(StoreError, match="empty"):
        store.load("")
    # "%" and "_" are not wildcards in an id prefix.
    with pytest.raises(StoreError, match="no snapshot"):
        store.load("2026%")


def test_saving_the_same_snapshot_twice_is_refused_and_changes_nothing(store, store_path):
    snapshot = make_snapshot("s-1")
    store.save(snapshot)
    before = rows(store_path)
    with pytest.raises(StoreError, match="already in the store") as caught:
        store.save(snapshot)
    assert caught.value.hint
    assert rows(store_path) == before


@pytest.mark.parametrize("snapshot_id", ["latest", "", "a b", "\x1b[31mred", "x" * 129, "a\nb"])
def test_unusable_snapshot_ids_are_refused(store, store_path, snapshot_id):
    before = rows(store_path)
    with pytest.raises(StoreError, match="cannot be stored"):
        store.save(make_snapshot(snapshot_id))
    assert rows(store_path) == before


def test_a_damaged_snapshot_body_is_a_store_error(store, store_path):
    store.save(make_snapshot("s-1"))
    db = sqlite3.connect(store_path)
    db.execute("UPDATE objects SET body = ?", (b"not zlib",))
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="unreadable"):
        store.load("s-1")


# --- baselines --------------------------------------------------------------------------------


def test_baselines_set_show_list_and_force(store):
    store.save(make_snapshot("s-1"))
    store.save(make_snapshot("s-2", minutes=5))
    made = store.set_baseline("prod", "s-1", note="approved")
    assert (made.name, made.snapshot_id, made.note) == ("prod", "s-1", "approved")
    assert store.baseline("prod").snapshot_id == "s-1"
    assert store.load_baseline("prod").snapshot_id == "s-1"
    store.set_baseline("audit", "latest")
    assert [b.name for b in store.baselines()] == ["audit", "prod"]
    assert store.baseline("audit").snapshot_id == "s-2"
    assert {i.snapshot_id: i.baselines for i in store.list()} == {"s-1": ("prod",),
                                                                 "s-2": ("audit",)}
    with pytest.raises(StoreError, match="already exists") as caught:
        store.set_baseline("prod", "s-2")
    assert "--force" in caught.value.hint
    assert store.baseline("prod").snapshot_id == "s-1"
    store.set_baseline("prod", "s-2", force=True)
    assert store.baseline("prod").snapshot_id == "s-2"


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_unusable_baseline_names_are_refused(store, name):
    store.save(make_snapshot("s-1"))
    with pytest.raises(StoreError, match="baseline name"):
        store.set_baseline(name, "s-1")
    assert store.baselines() == []


def test_unknown_baseline_and_unknown_snapshot_change_nothing(store, store_path):
    store.save(make_snapshot("s-1"))
    store.set_baseline("prod", "s-1")
    before, state = rows(store_path), file_state(store_path)
    with pytest.raises(StoreError, match="no baseline named 'qa'") as caught:
        store.baseline("qa")
    assert "baseline list" in caught.value.hint
    with pytest.raises(StoreError, match="no baseline"):
        store.load_baseline("qa")
    with pytest.raises(StoreError, match="no snapshot 'zz'"):
        store.set_baseline("qa", "zz")
    assert rows(store_path) == before
    assert file_state(store_path) == state


# --- export / import --------------------------------------------------------------------------


def test_export_then_import_into_another_store_is_identical(store, tmp_path):
    original = make_snapshot("s-1")
    store.save(original)
    exported = tmp_path / "git" / "baseline.json"
    assert store.export("latest", exported) == "s-1"
    text = exported.read_text(encoding="utf-8")
    assert text == original.to_json()
    assert json.loads(text)["schema_version"] == 1
    with Store(tmp_path / "other.db") as other:
        imported = other.import_file(exported)
        assert imported == original
        assert other.load("s-1").to_json() == original.to_json()
        with pytest.raises(StoreError, match="already in the store"):
            other.import_file(exported)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "not valid snapshot JSON"),  # truncated half-way
        ("", "not valid snapshot JSON"),
        ("[1, 2]", "not a cloudwall snapshot"),
        ('{"schema_version": 99}', "schema_version"),
        ('{"schema_version": 1}', "not a cloudwall snapshot"),
        (b"\xff\xfe\x00garbage", "not a cloudwall snapshot"),
        ('{"schema_version": 1, "snapshot_id": "x", "taken_at": 5}', "not a cloudwall snapshot"),
        ("[" * 100_000 + "]" * 100_000, "snapshot"),
    ],
)
def test_bad_snapshot_files_are_refused_and_change_nothing(store, store_path, tmp_path, content,
                                                           message):
    store.save(make_snapshot("s-1"))
    bad = tmp_path / "bad.json"
    full = make_snapshot("s-2").to_json()
    if content is None:
        bad.write_text(full[: len(full) // 2], encoding="utf-8")
    elif isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        bad.write_text(content, encoding="utf-8")
    before = rows(store_path)
    with pytest.raises(StoreError, match=message) as caught:
        store.import_file(bad)
    assert caught.value.hint
    assert "\n" not in str(caught.value)
    assert rows(store_path) == before


def test_a_snapshot_file_with_a_bad_address_is_refused(tmp_path):
    data = make_snapshot("s-1").to_dict()
    data["rule_sets"][0]["rules"][0]["peers"] = [{"kind": "cidr", "value": "999.0.0.0/8"}]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(StoreError, match="not a cloudwall snapshot"):
        read_snapshot_file(bad)


def test_missing_snapshot_file(tmp_path):
    with pytest.raises(StoreError, match="cannot read"):
        read_snapshot_file(tmp_path / "absent.json")


# --- files that are not stores ----------------------------------------------------------------


def test_a_corrupt_store_file_is_refused_unchanged(tmp_path):
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"this is not a database at all\x00" * 200)
    before = file_state(path)
    with pytest.raises(StoreError, match="corrupt or not a cloudwall store") as caught:
        Store(path)
    assert caught.value.hint
    assert file_state(path) == before


def test_a_truncated_store_file_is_refused_unchanged(store_path):
    with Store(store_path) as store:
        for i in range(20):
            store.save(make_snapshot(f"s-{i}", minutes=i))
    db = sqlite3.connect(store_path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = store_path.read_bytes()
    store_path.write_bytes(data[: len(data) // 3])
    before = file_state(store_path)
    with pytest.raises(StoreError), Store(store_path) as store:
        store.list()
        for i in range(20):
            store.load(f"s-{i}")
    assert file_state(store_path) == before


def test_another_programs_sqlite_file_is_refused_unchanged(tmp_path):
    path = tmp_path / "app.db"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE users (name TEXT)")
    db.execute("INSERT INTO users VALUES ('alice')")
    db.commit()
    db.close()
    before = file_state(path)
    with pytest.raises(StoreError, match="not a cloudwall store"):
        Store(path)
    assert file_state(path) == before
    assert sqlite3.connect(path).execute("PRAGMA application_id").fetchone()[0] == 0


def test_a_store_from_another_schema_version_is_refused(store_path):
    Store(store_path).close()
    db = sqlite3.connect(store_path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="store schema '99'"):
        Store(store_path)


def test_an_empty_file_becomes_a_store(tmp_path):
    path = tmp_path / "new" / "nested" / "store.db"
    with Store(path) as store:
        store.save(make_snapshot("s-1"))
    path2 = tmp_path / "touched.db"
    path2.touch()
    with Store(path2) as store:
        assert store.list() == []


def test_default_store_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("CLOUDWALL_STORE", str(tmp_path / "env.db"))
    assert default_store() == str(tmp_path / "env.db")
    monkeypatch.setenv("CLOUDWALL_STORE", "postgresql://cw@db.internal:5432/cw")
    assert default_store() == "postgresql://cw@db.internal:5432/cw"  # a URL, kept as given
    monkeypatch.delenv("CLOUDWALL_STORE")
    assert default_store() == str(default_store_path())
    assert default_store_path().name == "cloudwall.db"
    assert "cloudwall" in str(default_store_path().parent)


# --- interrupted and concurrent writes --------------------------------------------------------


def test_an_exception_inside_the_transaction_leaves_the_store_as_it_was(store, store_path):
    store.save(make_snapshot("s-1"))
    store.set_baseline("prod", "s-1")
    before = rows(store_path)
    with pytest.raises(KeyboardInterrupt), store.backend.write():
        store.backend._db.execute("DELETE FROM baselines")
        store.backend._db.execute("DELETE FROM snapshots")
        raise KeyboardInterrupt  # Ctrl-C half-way through
    assert rows(store_path) == before
    store.save(make_snapshot("s-2", minutes=1))  # the handle is still usable
    assert [i.snapshot_id for i in store.list()] == ["s-1", "s-2"]


def test_sqlite_interrupting_a_save_leaves_the_store_as_it_was(store, store_path):
    store.save(make_snapshot("s-1"))
    before = rows(store_path)
    # SQLite aborts the statement mid-way, as it does when the process is interrupted.
    store.backend._db.set_progress_handler(lambda: 1, 1)
    with pytest.raises(StoreError, match="cannot write") as caught:
        store.save(make_snapshot("s-2", minutes=1))
    assert "nothing was changed" in caught.value.hint
    store.backend._db.set_progress_handler(None, 1)
    assert rows(store_path) == before
    store.save(make_snapshot("s-2", minutes=1))
    assert len(store.list()) == 2


_WRITER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[3])
    from test_store import make_snapshot
    from scanner.store import Store

    store = Store(sys.argv[1])
    for i in range(int(sys.argv[2])):
        store.save(make_snapshot(f"{sys.argv[4]}-{i:03d}", minutes=i, port=1000 + i))
        if i % 5 == 0:
            store.set_baseline(sys.argv[4], "latest", force=True)
            store.list()
    store.close()
    """
)


def test_two_concurrent_writers_both_succeed(tmp_path):
    path = tmp_path / "shared.db"  # does not exist yet: both processes race to create it
    count = 40
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), str(count),
                          str(Path(__file__).parent), name],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for name in ("alpha", "beta")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err.decode()
    with Store(path) as store:
        ids = [i.snapshot_id for i in store.list()]
        assert sorted(ids) == sorted(f"{n}-{i:03d}" for n in ("alpha", "beta")
                                     for i in range(count))
        for snapshot_id in ids:
            snapshot = store.load(snapshot_id)
            assert snapshot.snapshot_id == snapshot_id
            port = 1000 + int(snapshot_id.rsplit("-", 1)[1])
            assert snapshot.rule_sets[0].rules[0].ports == PortSet.of(port)
        assert {b.name for b in store.baselines()} == {"alpha", "beta"}
    assert sqlite3.connect(path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# --- atomic files -----------------------------------------------------------------------------


def test_write_atomic_replaces_whole_files_only(tmp_path):
    target = tmp_path / "out" / "report.json"
    write_atomic(target, "first\n")
    assert target.read_text() == "first\n"
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask

    with pytest.raises(TypeError):
        write_atomic(target, 12345)  # type: ignore[arg-type]  # fails mid-write
    assert target.read_text() == "first\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]
