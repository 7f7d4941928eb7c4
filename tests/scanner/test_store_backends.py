"""The store's rules, held against every backend: SQLite, PostgreSQL (a real server the suite
starts, ``tests/servers/postgres.py``) and a reference one in memory. A new backend joins the
``store`` fixture and must pass the same tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from scanner.errors import StoreError
from scanner.store import Store
from tests.scanner.memory_backend import MemoryBackend
from tests.scanner.store_builders import T0, estate


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
def store(request, tmp_path):
    if request.param == "sqlite":
        opened = Store(tmp_path / "store.db")
    elif request.param == "postgresql":
        opened = Store(request.getfixturevalue("postgres_url"))
    else:
        opened = Store(backend=MemoryBackend())
    yield opened
    opened.close()


def test_round_trip_latest_and_prefixes(store):
    for n, sid in enumerate(["b-2", "a-1", "a-3"]):  # a-3 and a-1 tie: saved later is latest
        store.save(estate(sid, sets=3, minutes=min(n, 1), changed=n))
    assert [i.snapshot_id for i in store.list()] == ["b-2", "a-1", "a-3"]
    assert store.resolve("latest") == "a-3"
    assert store.resolve("b") == "b-2"
    with pytest.raises(StoreError, match="ambiguous"):
        store.resolve("a-")
    assert store.load("a-1").to_json() == estate("a-1", sets=3, minutes=1, changed=1).to_json()
    info = store.list()[0]
    assert (info.rule_set_count, info.rule_count, info.scope_count, info.providers) == (
        3, 15, 1, "aws")
    with pytest.raises(StoreError, match="already in the store"):
        store.save(estate("b-2", sets=3))


def test_baseline_rules_and_history(store):
    store.save(estate("s-1", sets=3))
    store.save(estate("s-2", sets=3, minutes=1, changed=1))
    store.set_baseline("prod", "s-1", "first")
    with pytest.raises(StoreError, match="already exists"):
        store.set_baseline("prod", "s-2")
    store.set_baseline("prod", "s-2", "second", force=True)
    with pytest.raises(StoreError, match="moved while"):
        store.save_as_baseline(estate("s-3", sets=3, minutes=2), "prod", "", "s-1", ["x"])
    assert not any(i.snapshot_id == "s-3" for i in store.list())  # all or nothing
    store.save_as_baseline(estate("s-3", sets=3, minutes=2), "prod", "ok", "s-2", ["CWD-1"])
    store.delete_baseline("prod", "done")
    assert [(e.action, e.from_snapshot, e.to_snapshot, e.accepted)
            for e in store.baseline_log("prod")] == [
        ("set", None, "s-1", ()), ("move", "s-1", "s-2", ()),
        ("accept", "s-2", "s-3", ("CWD-1",)), ("delete", "s-3", None, ())]
    with pytest.raises(StoreError, match="no baseline named"):
        store.baseline_log("qa")


def test_deletion_and_prune_rules(store):
    for n in range(6):
        store.save(estate(f"s-{n}", sets=3, minutes=60 * n, changed=n % 3))
    store.set_baseline("prod", "s-0")
    with pytest.raises(StoreError, match="s-0 is the baseline prod"):
        store.delete_snapshots(["s-1", "s-0"])
    assert len(store.list()) == 6
    assert store.delete_snapshots(["s-1", "s-1"]) == ["s-1"]
    now = T0 + timedelta(hours=5, minutes=30)
    plan = store.plan_prune(keep=1, older_than=timedelta(hours=2), now=now)
    assert (plan.remove, dict(plan.protected)) == (("s-2", "s-3"), {"s-0": ("prod",)})
    assert [i.snapshot_id for i in store.list()] == ["s-0", "s-2", "s-3", "s-4", "s-5"]
    plan, _ = store.prune(keep=1, older_than=timedelta(hours=2), now=now)
    assert [i.snapshot_id for i in store.list()] == ["s-0", "s-4", "s-5"]
    for sid, n in (("s-0", 0), ("s-4", 4), ("s-5", 5)):
        assert store.load(sid) == estate(sid, sets=3, minutes=60 * n, changed=n % 3)
    _, collected = store.prune(keep=0, older_than=None)
    assert collected.objects > 0
    assert [i.snapshot_id for i in store.list()] == ["s-0"]
    assert store.load("s-0") == estate("s-0", sets=3, changed=0)


def test_a_failure_inside_a_write_changes_nothing(store):
    store.save(estate("s-1", sets=3))
    before = [(i.snapshot_id, i.baselines) for i in store.list()]
    with pytest.raises(RuntimeError), store.backend.write():
        store.backend.delete_snapshots(["s-1"])
        raise RuntimeError("half-way")
    assert [(i.snapshot_id, i.baselines) for i in store.list()] == before
    assert store.load("s-1") == estate("s-1", sets=3)


def test_prune_by_age_alone(store):
    now = datetime(2026, 3, 2, tzinfo=timezone.utc)
    for n in range(3):
        store.save(estate(f"s-{n}", sets=2, minutes=60 * n))
    plan = store.plan_prune(keep=None, older_than=timedelta(hours=11), now=now)
    assert plan.remove == ("s-0",)


def test_state_is_kept_by_key_and_written_with_a_snapshot_or_not_at_all(store):
    assert store.state("watch:prod") is None
    store.put_state("watch:prod", '{"a": 1}')
    store.put_state("watch:prod", '{"a": 2}')
    store.put_state("other", "x")
    assert (store.state("watch:prod"), store.state("other")) == ('{"a": 2}', "x")
    store.save(estate("s-1", sets=1), state={"watch:prod": '{"a": 3}'})
    assert store.state("watch:prod") == '{"a": 3}'
    with pytest.raises(StoreError, match="already in the store"):
        store.save(estate("s-1", sets=1), state={"watch:prod": '{"a": 4}'})
    assert store.state("watch:prod") == '{"a": 3}'  # the failed save wrote no state either


def test_a_partial_snapshot_keeps_its_mark_through_the_store(store):
    from dataclasses import replace

    partial = replace(estate("p-2", sets=2), partial_of="s-1")
    store.save(partial)
    assert store.load("p-2").partial_of == "s-1"
    assert store.load("p-2").to_json() == partial.to_json()
