"""The store from the command line: refusals that create and change nothing, integrity checks
before writes, lifecycle commands, baseline history, the demo's respect for a named store; on
SQLite and PostgreSQL (``store_target``) wherever the behaviour is not one backend's own."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner

from scanner.cli import main
from scanner.store import Store
from tests.scanner.store_builders import estate, store_state


def invoke(store, *args):
    return CliRunner().invoke(main, ["--store", str(store), *args], catch_exceptions=False)


def cloudwall(store, *args):
    return subprocess.run([sys.executable, "-m", "scanner.cli", "--store", str(store), *args],
                          capture_output=True, text=True, timeout=300)


def one_line_error(result, *fragments):
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: "), result.stderr
    assert lines[1].startswith("hint: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, result.stderr)


@pytest.fixture
def filled(store_target):
    """A store with six hourly snapshots (s-0 oldest), s-1 the baseline prod."""
    path = store_target
    with Store(path) as store:
        for n in range(6):
            store.save(estate(f"s-{n}", sets=4, minutes=60 * n, changed=n % 4))
        store.set_baseline("prod", "s-1", note="approved")
    return path


def ids(path):
    with Store(path) as store:
        return [i.snapshot_id for i in store.list()]


# --- refusals ---------------------------------------------------------------------------------


def test_nothing_creates_a_store_but_a_successful_save(tmp_path):
    path = tmp_path / "new" / "store.db"
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema_version": 1', encoding="utf-8")
    for args in (("snapshots", "list"), ("baseline", "list"), ("baseline", "log", "prod"),
                 ("snapshots", "import", str(bad)), ("snapshots", "prune", "--keep", "3"),
                 ("exposure",)):
        result = invoke(path, *args)
        assert result.exit_code == 2, (args, result.output)
        assert not path.exists() and not path.parent.exists(), args
    assert invoke(path, "scan", "--provider", "demo", "--save").exit_code in (0, 3)
    assert path.exists()


def test_an_empty_database_is_not_a_store_to_read_and_stays_empty(postgres_url):
    for args in (("snapshots", "list"), ("baseline", "list"), ("baseline", "log", "prod"),
                 ("snapshots", "prune", "--keep", "3"), ("exposure",)):
        result = invoke(postgres_url, *args)
        assert result.exit_code == 2, (args, result.output)
        one_line_error(result, "there is no store at postgresql://", "no cloudwall tables")
        assert store_state(postgres_url) == {}
    assert invoke(postgres_url, "scan", "--provider", "demo", "--save").exit_code in (0, 3)
    assert len(store_state(postgres_url)["snapshots"]) == 1


def test_an_empty_file_is_not_a_store_to_read(tmp_path):
    path = tmp_path / "store.db"
    path.touch()
    for args in (("snapshots", "list"), ("baseline", "list")):
        result = invoke(path, *args)
        assert result.exit_code == 2
        one_line_error(result, "there is no store", "empty")
    assert path.read_bytes() == b""


def test_a_failed_import_leaves_the_store_byte_identical(filled, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    dup = tmp_path / "dup.json"
    with Store(filled) as store:
        store.export("s-2", dup)
    before = store_state(filled)
    for path in (bad, dup, tmp_path / "absent.json"):
        result = invoke(filled, "snapshots", "import", str(path))
        assert result.exit_code == 2, result.output
    assert store_state(filled) == before


def corrupt(path):
    """Damage one b-tree page of the objects table, leaving the file header readable."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("PRAGMA journal_mode = DELETE")
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'objects'").fetchone()[0]
    db.close()
    data = bytearray(path.read_bytes())
    start = (root - 1) * page_size
    data[start:start + page_size] = b"\x7f" * page_size
    path.write_bytes(bytes(data))


def test_a_damaged_store_is_refused_for_writes_and_left_as_it_is(tmp_path):
    path = tmp_path / "store.db"
    assert cloudwall(path, "scan", "--provider", "demo", "--save").returncode in (0, 3)
    assert cloudwall(path, "baseline", "set", "prod").returncode == 0
    corrupt(path)
    before = path.read_bytes()
    exported = tmp_path / "x.json"
    for args in (("scan", "--provider", "demo", "--save"),
                 ("baseline", "set", "prod", "--force"), ("baseline", "delete", "prod"),
                 ("snapshots", "prune", "--keep", "0", "--apply"), ("demo", "--force")):
        result = cloudwall(path, *args)
        assert result.returncode == 2, (args, result.stderr)
        one_line_error(result, "damaged", "integrity check", "nothing was written")
        assert "backup" in result.stderr.splitlines()[1]
        assert result.stdout == ""
        assert path.read_bytes() == before
    assert not exported.exists()
    assert not any(p.name.startswith("store.db-") and p.stat().st_size
                   for p in tmp_path.iterdir())


# --- delete and prune -------------------------------------------------------------------------


def test_delete_refuses_a_baseline_snapshot_and_deletes_all_or_none(filled):
    before = store_state(filled)
    result = invoke(filled, "snapshots", "delete", "s-0", "s-1")
    assert result.exit_code == 2
    one_line_error(result, "snapshot s-1 is the baseline prod", "nothing was deleted")
    assert store_state(filled) == before
    result = invoke(filled, "snapshots", "delete", "s-0", "s-2")
    assert result.exit_code == 0, result.output
    assert result.stdout.split("\n")[:2] == ["deleted s-0", "deleted s-2"]
    assert ids(filled) == ["s-1", "s-3", "s-4", "s-5"]
    assert invoke(filled, "snapshots", "delete", "nope").exit_code == 2
    assert invoke(filled, "snapshots", "delete").exit_code == 2


def test_prune_is_a_dry_run_unless_applied(filled):
    before = store_state(filled)
    for extra in ((), ("--dry-run",)):
        result = invoke(filled, "snapshots", "prune", "--keep", "2", *extra)
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines() == ["would delete s-0", "would delete s-2",
                                              "would delete s-3", "kept s-1: baseline prod"]
        assert "nothing was deleted" in result.stderr and "--apply" in result.stderr
        assert store_state(filled) == before
    result = invoke(filled, "snapshots", "prune", "--keep", "2", "--apply")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[:3] == ["deleted s-0", "deleted s-2", "deleted s-3"]
    assert "store size" in result.stderr
    assert ids(filled) == ["s-1", "s-4", "s-5"]
    with Store(filled) as store:
        assert store.load("s-4") == estate("s-4", sets=4, minutes=240, changed=0)


def test_prune_by_age_keeps_recent_snapshots(filled):
    # Every fixture snapshot is from March 2026: months old. A new one is not.
    with Store(filled) as store:
        from datetime import datetime, timezone

        store.save(estate("now", sets=4, taken_at=datetime.now(timezone.utc)))
    result = invoke(filled, "snapshots", "prune", "--older-than", "30d", "--apply")
    assert result.exit_code == 0, result.output
    assert ids(filled) == ["s-1", "now"]


@pytest.mark.parametrize(("args", "fragment"), [
    ((), "needs --keep N, --older-than AGE"),
    (("--keep", "1", "--apply", "--dry-run"), "contradict"),
    (("--older-than", "30"), "is not an age"),
    (("--older-than", "0d"), "is not an age"),
    (("--keep", "-1"), "-1"),
])
def test_prune_usage_errors(filled, args, fragment):
    before = store_state(filled)
    result = invoke(filled, "snapshots", "prune", *args)
    assert result.exit_code == 2, result.output
    one_line_error(result, fragment)
    assert store_state(filled) == before


# --- baselines --------------------------------------------------------------------------------


def test_baseline_history_table_and_json(filled):
    assert invoke(filled, "baseline", "set", "prod", "--from-snapshot", "s-3").exit_code == 2
    assert invoke(filled, "baseline", "set", "prod", "--from-snapshot", "s-3", "--force",
                  "--note", "new release").exit_code == 0
    with Store(filled) as store:
        snapshot = estate("s-3b", sets=4, minutes=181, changed=3)
        store.save_as_baseline(snapshot, "prod", "accepted one", "s-3", ["CWD-aaa", "CWD-bbb"])
    deleted = invoke(filled, "baseline", "delete", "prod", "--note", "retired")
    assert deleted.exit_code == 0 and "was s-3b" in deleted.stdout
    assert invoke(filled, "baseline", "show", "prod").exit_code == 2
    result = invoke(filled, "baseline", "log", "prod", "--format", "json")
    assert result.exit_code == 0, result.output
    events = json.loads(result.stdout)["events"]
    assert [(e["action"], e["from_snapshot"], e["to_snapshot"], e["note"], e["accepted"])
            for e in events] == [
        ("set", None, "s-1", "approved", []),
        ("move", "s-1", "s-3", "new release", []),
        ("accept", "s-3", "s-3b", "accepted one", ["CWD-aaa", "CWD-bbb"]),
        ("delete", "s-3b", None, "retired", []),
    ]
    assert all(e["at"].endswith("Z") for e in events)
    table = invoke(filled, "baseline", "log", "prod").stdout.splitlines()
    assert table[0].split() == ["at", "action", "from", "to", "accepted", "note"]
    assert "CWD-aaa,CWD-bbb" in table[4] and "accept" in table[4]
    assert invoke(filled, "baseline", "log", "nope").exit_code == 2
    # Its snapshot is no longer protected.
    assert invoke(filled, "snapshots", "delete", "s-1").exit_code == 0


def test_baseline_delete_unknown(filled):
    before = store_state(filled)
    result = invoke(filled, "baseline", "delete", "qa")
    assert result.exit_code == 2
    one_line_error(result, "no baseline named 'qa'")
    assert store_state(filled) == before


# --- the demo and a named store -------------------------------------------------------------


def test_the_demo_never_moves_a_named_stores_baseline_unasked(store_target):
    path = store_target
    assert invoke(path, "demo").exit_code in (0, 3)
    with Store(path) as store:
        first = store.baseline("demo").snapshot_id
        count = len(store.list())
    before = store_state(path)
    result = invoke(path, "demo")
    assert result.exit_code == 2
    one_line_error(result, "already has a baseline 'demo'", first)
    assert "--force" in result.stderr
    assert store_state(path) == before
    assert invoke(path, "demo", "--force").exit_code in (0, 3)
    with Store(path) as store:
        assert store.baseline("demo").snapshot_id != first
        assert len(store.list()) == count + 2
        assert [e.action for e in store.baseline_log("demo")] == ["set", "move"]
