"""Accepting one drift item into a baseline: exactly that change, stored atomically."""

from __future__ import annotations

import importlib
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from scanner.cli import main
from scanner.drift.accept import accept
from scanner.drift.comparison import compare
from scanner.errors import ConfigError
from scanner.model import ChangeKind, Snapshot
from scanner.store import Store

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def demo_snapshot(stage: str) -> Snapshot:
    items, scopes = [], []
    for cloud in ("azure", "gcp"):
        for scope, raw in importlib.import_module(f"providers.demo.{cloud}").estate(stage):
            scopes.append(scope)
            items += importlib.import_module(f"providers.{cloud}").normalize_scope(scope, raw)
    taken = T0 if stage == "baseline" else T0.replace(hour=13)
    return Snapshot.from_items(f"demo-{stage}", taken, scopes, items, providers=["demo"])


@pytest.mark.parametrize("index", range(7))
def test_accepting_one_item_removes_it_and_keeps_the_others(index):
    base, current = demo_snapshot("baseline"), demo_snapshot("changed")
    drift = [i for i in compare(base, current) if i.change is not ChangeKind.SCOPE_UNKNOWN]
    if index >= len(drift):
        index = len(drift) - 1
    chosen = drift[index]
    accepted, items = accept(base, current, [chosen.drift_id[:12]])
    assert [i.drift_id for i in items] == [chosen.drift_id]
    assert accepted.taken_at == base.taken_at and accepted.snapshot_id != base.snapshot_id
    after = {i.drift_id for i in compare(accepted, current)}
    assert chosen.drift_id not in after
    # Every other change is still drift, under the same id.
    assert {i.drift_id for i in drift} - {chosen.drift_id} <= after
    # Survives the snapshot JSON round trip (what the store keeps).
    assert Snapshot.from_json(accepted.to_json()) == accepted


def test_accepting_everything_leaves_no_drift():
    base, current = demo_snapshot("baseline"), demo_snapshot("changed")
    ids = [i.drift_id for i in compare(base, current)]
    accepted, _ = accept(base, current, ids)
    assert compare(accepted, current) == []


def test_unknown_or_ambiguous_ids_are_one_line_errors():
    base, current = demo_snapshot("baseline"), demo_snapshot("changed")
    with pytest.raises(ConfigError, match="no drift item"):
        accept(base, current, ["CWD-nope"])
    with pytest.raises(ConfigError, match="ambiguous"):
        accept(base, current, ["CWD-"])


def test_baseline_set_accept_cli(store_path):
    with Store(store_path) as store:
        store.save(demo_snapshot("baseline"))
        store.save(demo_snapshot("changed"))
        store.set_baseline("prod", "demo-baseline", "as built")
    base, current = demo_snapshot("baseline"), demo_snapshot("changed")
    chosen = compare(base, current)[0]
    runner = CliRunner()
    result = runner.invoke(main, ["--store", str(store_path), "baseline", "set", "prod",
                                  "--from-snapshot", "demo-changed", "--accept",
                                  chosen.drift_id])
    assert result.exit_code == 0, result.output
    assert f"accepted {chosen.drift_id}" in result.output
    with Store(store_path) as store:
        moved = store.baseline("prod")
        assert moved.snapshot_id != "demo-baseline" and moved.note == "as built"
        remaining = compare(store.load(moved.snapshot_id), store.load("demo-changed"))
    assert chosen.drift_id not in {i.drift_id for i in remaining}
    assert len(remaining) == len(compare(base, current)) - 1
    bad = runner.invoke(main, ["--store", str(store_path), "baseline", "set", "prod",
                               "--from-snapshot", "demo-changed", "--accept", "CWD-nope"])
    assert bad.exit_code == 2 and "no drift item" in bad.output
