"""``report trend``: per stored snapshot, what a scan of it says; drift against the previous
snapshot of the same clouds or a baseline; the point cache; the CLI in every format."""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from click.testing import CliRunner

from policies import PolicySettings
from providers.base import ProviderSettings
from scanner.cli import main
from scanner.engine import ScanRequest, analyze, run_scan
from scanner.errors import ConfigError
from scanner.model import CollectionError, Scope, Snapshot
from scanner.store import Store
from scanner.trend import TrendReport, parse_since
from scanner.trend_build import build_trend
from scanner.trend_cache import TrendCache

T0 = datetime(2026, 5, 1, tzinfo=timezone.utc)


def _demo(stage: str, taken_at: datetime, snapshot_id: str) -> Snapshot:
    report = run_scan(ScanRequest(("demo",), ProviderSettings(demo_stage=stage)), None)
    return replace(report.snapshot, taken_at=taken_at, snapshot_id=snapshot_id)


@pytest.fixture(scope="module")
def stages():
    return {"baseline": _demo("baseline", T0, "a"), "changed": _demo("changed", T0, "b")}


def _store(tmp_path, stages, plan) -> Store:
    """``plan``: (stage, days after T0, id) saved in that order."""
    store = Store(tmp_path / "store.db")
    for stage, days, snapshot_id in plan:
        store.save(replace(stages[stage], taken_at=T0 + timedelta(days=days),
                           snapshot_id=snapshot_id))
    return store


def _severities(report) -> dict[str, int]:
    counts: dict[str, int] = {}
    for f in report.findings:
        if not f.suppressed:
            counts[f.severity.value] = counts.get(f.severity.value, 0) + 1
    return counts


def test_points_say_what_a_scan_of_each_snapshot_says(tmp_path, stages):
    store = _store(tmp_path, stages, [("baseline", 0, "s1"), ("changed", 1, "s2"),
                                      ("changed", 2, "s3")])
    trend = build_trend(store)
    assert [p.snapshot_id for p in trend.points] == ["s1", "s2", "s3"]
    first, second, third = trend.points
    assert first.drift is None and first.compared_with is None  # nothing before it
    expected = analyze(store.load("s2"), ("prev", store.load("s1")))
    assert {k: v for k, v in second.findings.items() if v} == _severities(expected)
    assert second.compared_with == "s1"
    assert second.total_drift == len(expected.drift) > 0
    assert second.drift["widened"] == sum(1 for d in expected.drift
                                          if d.effect.value == "widened")
    assert second.widened_attack == sum(1 for d in expected.drift if d.attack)
    assert second.exposed_assets == len({e.asset_id for e in expected.exposures})
    assert third.total_drift == 0  # unchanged since s2: a real zero, not "nothing to compare"
    assert second.exposed_assets > first.exposed_assets


def test_previous_means_the_previous_snapshot_of_the_same_clouds(tmp_path, stages):
    store = _store(tmp_path, stages, [("baseline", 0, "d1")])
    other = Snapshot.from_items("g1", T0 + timedelta(days=1), (Scope("gcp", "p1"),),
                                [CollectionError("gcp", "p1", "", "denied")], ["gcp"])
    store.save(other)
    store.save(replace(stages["changed"], taken_at=T0 + timedelta(days=2), snapshot_id="d2"))
    points = {p.snapshot_id: p for p in build_trend(store).points}
    assert points["d2"].compared_with == "d1"
    assert points["g1"].compared_with is None
    assert points["g1"].scopes_not_read == 1 and not points["g1"].complete


def test_since_keeps_the_reference_from_before_the_window(tmp_path, stages):
    store = _store(tmp_path, stages, [("baseline", 0, "s1"), ("changed", 10, "s2")])
    trend = build_trend(store, since=T0 + timedelta(days=5))
    assert [p.snapshot_id for p in trend.points] == ["s2"]
    assert trend.points[0].compared_with == "s1" and trend.points[0].total_drift > 0


def test_against_a_named_baseline(tmp_path, stages):
    store = _store(tmp_path, stages, [("baseline", 0, "s1"), ("changed", 1, "s2"),
                                      ("changed", 2, "s3")])
    store.set_baseline("prod", "s1")
    trend = build_trend(store, baseline="prod")
    assert trend.reference == "baseline" and trend.baseline_snapshot_id == "s1"
    drift = [p.total_drift for p in trend.points]
    assert drift[0] == 0 and drift[1] == drift[2] > 0  # accumulated, not per interval
    assert {p.compared_with for p in trend.points} == {"s1"}


def test_the_cache_answers_repeated_runs_and_never_a_changed_question(tmp_path, stages):
    store = _store(tmp_path, stages, [("baseline", 0, "s1"), ("changed", 1, "s2")])
    cache_path = tmp_path / "cache" / "trend.db"
    first_cache = TrendCache(cache_path, "store-a")
    first = build_trend(store, cache=first_cache, now=T0)
    assert (first_cache.hits, first_cache.misses) == (0, 2)
    first_cache.close()
    again = TrendCache(cache_path, "store-a")
    assert build_trend(store, cache=again, now=T0) == first
    assert (again.hits, again.misses) == (2, 0)
    assert oct(cache_path.stat().st_mode & 0o777) == "0o600"
    # Other settings are another question: not answered from the cache.
    skipping = build_trend(store, cache=again, settings=PolicySettings(skip=("CW-NET-*",)),
                           now=T0)
    assert again.misses == 2
    assert skipping.points[1].total_findings < first.points[1].total_findings
    # Another store (namespace) does not see these points either.
    other = TrendCache(cache_path, "store-b")
    build_trend(store, cache=other, now=T0)
    assert other.hits == 0


def test_a_cache_path_that_is_not_a_regular_file_is_never_used(tmp_path, stages):
    store = _store(tmp_path, stages, [("baseline", 0, "s1")])
    target = tmp_path / "elsewhere.db"
    target.write_bytes(b"")
    (tmp_path / "cache").mkdir()
    link = tmp_path / "cache" / "trend.db"
    os.symlink(target, link)
    cache = TrendCache(link, "x")
    assert build_trend(store, cache=cache).points[0].snapshot_id == "s1"
    assert target.read_bytes() == b""  # nothing written through the link
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"not sqlite at all" * 100)
    assert build_trend(store, cache=TrendCache(corrupt, "x")).points[0].snapshot_id == "s1"


def test_since_parsing():
    now = datetime(2026, 6, 1, tzinfo=timezone.utc)
    assert parse_since("30d", now) == now - timedelta(days=30)
    assert parse_since("12h", now) == now - timedelta(hours=12)
    assert parse_since("2W", now) == now - timedelta(weeks=2)
    assert parse_since("2026-05-01", now) == datetime(2026, 5, 1, tzinfo=timezone.utc)
    for bad in ("thirty days", "30x", "-3d", ""):
        with pytest.raises(ConfigError):
            parse_since(bad, now)


@pytest.mark.parametrize("fmt", ["table", "csv", "json"])
def test_cli_every_format(tmp_path, stages, fmt):
    _store(tmp_path, stages, [("baseline", 0, "s1"), ("changed", 1, "s2")]).close()
    result = CliRunner().invoke(main, ["--store", str(tmp_path / "store.db"), "report",
                                       "trend", "--format", fmt, "--no-cache"])
    assert result.exit_code == 0, result.output
    if fmt == "json":
        report = TrendReport.from_dict(json.loads(result.stdout))
        assert [p.snapshot_id for p in report.points] == ["s1", "s2"]
        assert report.points[0].drift is None
    elif fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        assert [r["snapshot_id"] for r in rows] == ["s1", "s2"]
        assert rows[0]["drift_total"] == "" and int(rows[1]["drift_total"]) > 0
    else:
        lines = result.stdout.splitlines()
        assert lines[0].startswith("Trend of 2 stored snapshots")
        assert lines[-1].startswith("2 snapshots; findings ")
    assert "2 snapshots; findings" in result.stderr or fmt == "table"


def test_cli_bad_input(tmp_path, stages):
    _store(tmp_path, stages, [("baseline", 0, "s1")]).close()
    for args in (["--since", "soon"], ["--baseline", "nope"]):
        result = CliRunner().invoke(main, ["--store", str(tmp_path / "store.db"), "report",
                                           "trend", "--no-cache", *args])
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith("error: ") and "Traceback" not in result.output
