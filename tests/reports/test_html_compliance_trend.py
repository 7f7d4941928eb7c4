"""The compliance and trend reports as HTML: escaping, the policy, content, and golden pages."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

from reports import render_compliance, render_trend
from reports.html_trend import axis_labels
from scanner.cli import main
from scanner.model import Severity
from scanner.trend import SEVERITIES, TrendPoint, TrendReport
from tests.reports.demo_report import demo_compliance
from tests.reports.test_html import OUR_TAGS, Page, csp_of, sha256
from tests.reports.test_reporters import ANSI, HTML

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
UPDATE = os.environ.get("CLOUDWALL_UPDATE_GOLDEN") == "1"
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=timezone.utc)


def trend_report() -> TrendReport:
    def point(day: int, critical: int, drift, exposed: int, not_read: int = 0,
              snapshot_id: str | None = None) -> TrendPoint:
        findings = {s: 0 for s in SEVERITIES}
        findings.update(critical=critical, high=2 * critical, low=10)
        return TrendPoint(
            snapshot_id=snapshot_id or f"2026110{day}T090000Z-0000000{day}",
            taken_at=T0.replace(day=day), providers=("aws", "gcp"), findings=findings,
            suppressed=1, exposed_assets=exposed, internet_exposed_assets=exposed,
            unknown_assets=0, scopes=4, scopes_not_read=not_read,
            compared_with=None if drift is None else "prev",
            drift=None if drift is None else {"widened": drift, "narrowed": 1, "neutral": 0,
                                              "unknown": 0},
            widened_attack=drift)

    return TrendReport(
        points=(point(1, 1, None, 2), point(2, 1, 0, 2), point(3, 4, 3, 5, not_read=1,
                                                              snapshot_id=f"{HTML}{ANSI}"),
                point(4, 2, 1, 3)),
        generated_at=datetime(2026, 11, 5, tzinfo=timezone.utc), tool_version="0.1.0")


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), "run CLOUDWALL_UPDATE_GOLDEN=1 .venv/bin/pytest tests/reports"
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} changed; if intended, regenerate with CLOUDWALL_UPDATE_GOLDEN=1 "
        ".venv/bin/pytest tests/reports and review the diff")


def _safe(text: str) -> Page:
    page = Page(text)
    assert {tag for tag, _ in page.tags} <= OUR_TAGS
    csp = csp_of(page)
    assert csp["script-src"] == sha256(page.raw["script"][0])
    assert csp["style-src"] == sha256(page.raw["style"][0])
    assert "\x1b" not in text and "\u202e" not in text
    return page


@pytest.fixture(scope="module")
def compliance() -> str:
    return render_compliance("html", demo_compliance())


def test_compliance_page(compliance):
    page = _safe(compliance)
    report = demo_compliance()
    summary = report.summary()
    assert (f"Of {summary['controls']} controls in {summary['frameworks']} frameworks: "
            f"{summary['pass']} pass, {summary['fail']} fail, "
            f"{summary['not_assessed']} not assessed.") in compliance
    # One section per framework, each control with its status, in the report's order.
    sections = [a["id"] for a in page.all("section") if "framework" in (a.get("class") or "")]
    assert len(sections) == len(report.frameworks)
    positions = [compliance.index(f'id="{s}"') for s in sections]
    assert positions == sorted(positions)
    statuses = [a["class"] for a in page.all("tbody") if "control" in (a.get("class") or "")]
    assert len(statuses) == summary["controls"]
    assert statuses.count("control status-fail") == summary["fail"]
    # A failing control opens to the failing rule, its evidence and remediation, and every
    # resource judged.
    assert "Every resource judged" in compliance and "Remediation" in compliance
    assert "data not collected" in compliance  # why a control is not assessed
    assert any(a.get("aria-label", "").startswith("Controls by framework:")
               for a in page.all("svg"))


def test_compliance_escapes_what_the_cloud_named(tmp_path):
    report = demo_compliance()
    fw = report.frameworks[0]
    result = next(r for r in fw.results if r.findings)
    finding = replace(result.findings[0], resource_name=HTML, title=ANSI)
    hostile = replace(report, frameworks=(replace(fw, results=(
        replace(result, findings=(finding,)),)),), snapshot_id=HTML)
    text = render_compliance("html", hostile)
    page = _safe(text)
    assert not page.all("img") and len(page.all("script")) == 1
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in text
    assert HTML in "".join(page.text) and "?[31mRED" in text


def test_incomplete_compliance_says_so():
    report = demo_compliance()
    scopes = tuple({**s, "status": "failed"} if i == 0 else s
                   for i, s in enumerate(report.scopes))
    text = render_compliance("html", replace(report, scopes=scopes))
    assert 'id="not-collected"' in text and "not assessed, never passed" in text
    assert "every scope read" not in text


def test_compliance_golden(compliance):
    _golden("compliance-demo.html", compliance)


def test_trend_page():
    text = render_trend("html", trend_report())
    page = _safe(text)
    svgs = [a.get("aria-label", "") for a in page.all("svg")]
    assert svgs == ["Findings by severity", "Drift and exposure"]
    # A snapshot with nothing to compare with has no drift figure, never a zero: its line
    # starts at the second point.
    drift_path = text[text.index('class="series drift"'):]
    drift_path = drift_path[drift_path.index('d="') + 3:]
    drift_path = drift_path[:drift_path.index('"')]
    assert drift_path.count("M") == 1 and drift_path.count("L") == 2
    rows = text[text.index("<tbody>"):text.index("</tbody>")]
    assert rows.index("20261104T") < rows.index("20261101T")  # newest first
    assert "—" in rows and "1 of 4" in rows
    assert "snapshots were not read completely" in text
    assert "findings went from 13 to 16 (2 critical now)" in text
    assert HTML in "".join(page.text)


def test_trend_page_without_snapshots():
    text = render_trend("html", TrendReport(points=()))
    _safe(text)
    assert "No stored snapshot in the period." in text and "<svg" not in text


def test_trend_golden():
    _golden("trend.html", render_trend("html", trend_report()))


def test_axis_labels_are_as_short_as_they_can_be():
    days = [T0.replace(day=d) for d in (1, 2)]
    assert axis_labels(days) == ["11-01", "11-02"]
    minutes = [T0, T0.replace(minute=5)]
    assert axis_labels(minutes) == ["09:00", "09:05"]
    seconds = [T0, T0.replace(second=7)]
    assert axis_labels(seconds) == ["09:00:00", "09:00:07"]


def test_cli_trend_and_compliance_html(tmp_path):
    store = str(tmp_path / "store.db")

    def run(*args: str) -> None:
        result = CliRunner().invoke(main, ["--store", store, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output

    run("scan", "--provider", "demo", "--save")
    run("scan", "--provider", "demo", "--demo-stage", "changed", "--save")
    run("report", "trend", "--format", "html", "--no-cache", "--output",
        str(tmp_path / "trend.html"))
    run("report", "compliance", "--framework", "cis-aws,pci-dss-4.0", "--format", "html",
        "--output", str(tmp_path / "compliance.html"))
    trend = (tmp_path / "trend.html").read_text(encoding="utf-8")
    _safe(trend)
    assert "Findings by severity" in trend and trend.count('class="series ') == 7
    compliance = (tmp_path / "compliance.html").read_text(encoding="utf-8")
    _safe(compliance)
    assert "Compliance: 2 frameworks" in compliance and "pci-dss-4.0" in compliance
    assert Severity.CRITICAL.value in compliance
