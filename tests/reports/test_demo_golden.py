"""Golden reports of the demo estate in every format but HTML: a scan with drift against the
demo baseline and attribution, ``exposure``, ``report compliance --framework all`` and
``report trend``. Times and snapshot ids are pinned, so every byte is reproducible.

The expected outputs live in ``tests/golden/demo/``. After an intended change, regenerate and
review the diff:

    CLOUDWALL_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/reports
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path

import pytest

import reports
from policies import PolicySettings, available_policies, select_policies
from policies.compliance import assess
from policies.frameworks import frameworks
from providers.base import ProviderSettings
from providers.demo import DemoProvider
from reports.exposure_report import render_json, render_table
from reports.grid import Style
from scanner.collect import collect_snapshot
from scanner.engine import analyze, with_attribution
from scanner.exposure import analyze_exposure, graph
from scanner.model import Snapshot, utc_timestamp
from scanner.store import Store
from scanner.trend_build import build_trend

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "demo"
UPDATE = os.environ.get("CLOUDWALL_UPDATE_GOLDEN") == "1"
T0 = datetime(2026, 5, 1, 9, 0, tzinfo=timezone.utc)
T1 = T0 + timedelta(days=1)


def _snapshot(stage: str, taken_at: datetime, snapshot_id: str) -> Snapshot:
    snapshot = collect_snapshot([DemoProvider(ProviderSettings(demo_stage=stage))], 1,
                                taken_at=taken_at)
    return replace(snapshot, snapshot_id=snapshot_id)


@cache
def stages() -> tuple[Snapshot, Snapshot]:
    return (_snapshot("baseline", T0, "20260501T090000Z-demo0001"),
            _snapshot("changed", T1, "20260502T090000Z-demo0002"))


@cache
def scan_report():
    baseline, changed = stages()
    report = analyze(changed, ("demo", baseline))
    report = with_attribution(report, baseline,
                              [DemoProvider(ProviderSettings(demo_stage="changed"))])
    return replace(report, generated_at=T1, tool_version="0.1.0")


def compliance_report():
    _, changed = stages()
    settings = PolicySettings()
    available = available_policies(settings)
    findings = analyze(changed).findings
    return assess(frameworks(["all"], available), changed, findings, available,
                  select_policies(settings), generated_at=utc_timestamp(T1),
                  tool_version="0.1.0")


def trend_report(tmp_path):
    baseline, changed = stages()
    with Store(tmp_path / "trend.db") as store:
        store.save(baseline)
        store.save(changed)
        store.save(replace(baseline, snapshot_id="20260503T090000Z-demo0003",
                           taken_at=T1 + timedelta(days=1)))
        report = build_trend(store, now=T1 + timedelta(days=2))
    return replace(report, tool_version="0.1.0")


def check(name: str, output: str | bytes) -> None:
    data = output.encode("utf-8") if isinstance(output, str) else output
    path = GOLDEN / name
    if UPDATE:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    assert path.exists(), (f"no golden file {name}: run CLOUDWALL_UPDATE_GOLDEN=1 "
                           ".venv/bin/python -m pytest tests/reports, then review it")
    assert data == path.read_bytes(), (
        f"{name} changed; if intended, regenerate with CLOUDWALL_UPDATE_GOLDEN=1 "
        ".venv/bin/python -m pytest tests/reports and review the diff")


# HTML has its own golden and browser tests.
SCAN_FORMATS = sorted(set(reports.REGISTRY) - {"html"})
COMPLIANCE_FORMATS = sorted(set(reports.COMPLIANCE_REGISTRY) - {"html"})
TREND_FORMATS = sorted(set(reports.TREND_REGISTRY) - {"html"})


@pytest.mark.parametrize("fmt", SCAN_FORMATS)
def test_scan(fmt):
    check(f"scan.{fmt}", reports.render(fmt, scan_report()))


def test_scan_table_on_a_terminal():
    """The layout a 100-column colour terminal gets: wrapped, never cut."""
    check("scan.table-100-columns", reports.render("table", scan_report(),
                                                   Style(width=100, color=True)))


@pytest.mark.parametrize("fmt", ["table", "json", "dot"])
def test_exposure(fmt):
    _, changed = stages()
    analysis = analyze_exposure(changed)
    if fmt == "dot":
        from reports.dot import render_graph

        output = render_graph(graph(changed, analysis))
    else:
        output = (render_json if fmt == "json" else render_table)(changed, analysis)
    if fmt == "json":  # the exposure document stamps the running version and the time
        import re

        from scanner import __version__

        output = output.decode("utf-8").replace(f'"version":"{__version__}"',
                                                '"version":"0.1.0"')
        output = re.sub(r'"generated_at":"[^"]*"', f'"generated_at":"{utc_timestamp(T1)}"',
                        output, count=1)
    check(f"exposure.{fmt}", output)


@pytest.mark.parametrize("fmt", COMPLIANCE_FORMATS)
def test_compliance_all_frameworks(fmt):
    check(f"compliance.{fmt}", reports.render_compliance(fmt, compliance_report()))


@pytest.mark.parametrize("fmt", TREND_FORMATS)
def test_trend(fmt, tmp_path):
    check(f"trend.{fmt}", reports.render_trend(fmt, trend_report(tmp_path)))


def test_every_demo_golden_file_is_checked():
    expected = ({f"scan.{f}" for f in SCAN_FORMATS} | {"scan.table-100-columns"}
                | {f"exposure.{f}" for f in ("table", "json", "dot")}
                | {f"compliance.{f}" for f in COMPLIANCE_FORMATS}
                | {f"trend.{f}" for f in TREND_FORMATS})
    assert {p.name for p in GOLDEN.glob("*")} <= expected
