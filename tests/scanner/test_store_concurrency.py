"""Concurrency drill, on every backend: sixteen `cloudwall scan --save` processes at once into a
new store, then processes racing to set and to accept into the same baseline without --force.
Writers take turns: every snapshot is there and readable, exactly one racer wins each race, the
others get a clear error, and the store is consistent afterwards."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys

from scanner.store import Store

SCANNERS = 16
RACERS = 4


def start(target, *args):
    return subprocess.Popen([sys.executable, "-m", "scanner.cli", "--quiet", "--store", target,
                             *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=os.environ.copy())


def finish(procs):
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        results.append((proc.returncode, out, err))
    return results


def assert_consistent(target):
    with Store(target) as store:
        with store.backend.write():
            # Nothing orphaned: every manifest is a snapshot's, every object a manifest's.
            collected = store.backend.collect_garbage()
            assert (collected.manifests, collected.objects) == (0, 0)
        if store.path is not None:
            db = sqlite3.connect(store.path)
            assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            db.close()


def test_sixteen_concurrent_scans_and_baseline_races_lose_nothing(store_target):
    # 1. Sixteen scans save into a store that does not exist yet: they race to create it too.
    scans = finish([start(store_target, "scan", "--provider", "demo", "--save",
                          "--format", "json") for _ in range(SCANNERS)])
    saved = []
    for code, out, err in scans:
        assert code == 0, err
        saved.append(json.loads(out)["snapshot"]["id"])
    assert len(set(saved)) == SCANNERS
    with Store(store_target, create=False) as store:
        assert sorted(i.snapshot_id for i in store.list()) == sorted(saved)
        first = store.load(saved[0])
        for snapshot_id in saved:
            snapshot = store.load(snapshot_id)
            assert snapshot.snapshot_id == snapshot_id
            assert snapshot.rule_sets == first.rule_sets and snapshot.scopes == first.scopes
    assert_consistent(store_target)

    # 2. Each racer sets baseline "race" to its own snapshot, without --force: one wins.
    racers = finish([start(store_target, "baseline", "set", "race", "--from-snapshot", sid)
                     for sid in saved[:RACERS]])
    winners = [n for n, (code, _, _) in enumerate(racers) if code == 0]
    assert len(winners) == 1, racers
    for code, out, err in (racers[n] for n in range(RACERS) if n not in winners):
        assert code == 2 and out == "", err
        assert "baseline 'race' already exists" in err and "--force" in err
    baseline_id = saved[winners[0]]
    with Store(store_target) as store:
        assert store.baseline("race").snapshot_id == baseline_id
        assert [e.action for e in store.baseline_log("race")] == ["set"]

    # 3. The estate changes; racers each accept the same drift item into the baseline.
    changed = finish([start(store_target, "scan", "--provider", "demo", "--demo-stage",
                            "changed", "--baseline", "race", "--save", "--format", "json")])
    code, out, err = changed[0]
    assert code in (0, 1), err
    report = json.loads(out)
    item = report["drift"][0]["id"]
    accepters = finish([start(store_target, "baseline", "set", "race", "--from-snapshot",
                              report["snapshot"]["id"], "--accept", item)
                        for _ in range(RACERS)])
    winners = [n for n, (code, _, _) in enumerate(accepters) if code == 0]
    assert len(winners) == 1, accepters
    assert f"accepted {item}" in accepters[winners[0]][1]
    for code, out, err in (accepters[n] for n in range(RACERS) if n not in winners):
        # Lost the race at the write (the baseline moved) or before it (no such drift left).
        assert code == 2 and out == "" and err.startswith("error: "), err
        assert "moved while the change was being accepted" in err or item[:8] in err, err
    with Store(store_target) as store:
        log = store.baseline_log("race")
        assert [e.action for e in log] == ["set", "accept"]
        assert log[1].accepted == (item,) and log[1].from_snapshot == baseline_id
        assert len(store.list()) == SCANNERS + 2  # the changed scan and the accepted baseline
        for info in store.list():
            store.load(info.snapshot_id)
    assert_consistent(store_target)

