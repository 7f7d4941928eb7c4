"""``report trend --format html``: findings, drift and exposure over the stored snapshots, as
charts and as a table. A pure function of ``scanner.trend.TrendReport``."""

from __future__ import annotations

from typing import Any

from reports.charts import line_chart
from reports.html_page import render_page
from reports.html_view import cloud_name
from scanner.model import utc_timestamp
from scanner.trend import SEVERITIES, TrendReport


def axis_labels(times) -> list[str]:
    """The shortest form that tells the snapshots apart: the day, else the minute, else the
    second (``2026-12-01T09:00:00Z`` -> ``12-01``, ``09:00``, ``09:00:00``)."""
    texts = [utc_timestamp(t) for t in times]
    for cut in (slice(5, 10), slice(11, 16), slice(11, 19)):
        labels = [t[cut] for t in texts]
        if len(set(labels)) == len(labels):
            return labels
    return [t[11:19] for t in texts]


def trend_context(report: TrendReport) -> dict[str, Any]:
    points = report.points
    labels = axis_labels(p.taken_at for p in points)
    findings = line_chart("Findings by severity", labels, [
        (s, s, [p.findings[s] for p in points]) for s in SEVERITIES])
    since = "the baseline" if report.reference == "baseline" else "the previous snapshot"
    drift = line_chart("Drift and exposure", labels, [
        (f"drift items (since {since})", "drift", [p.total_drift for p in points]),
        ("exposed machines", "exposed", [p.exposed_assets for p in points]),
    ])
    summary = report.summary()
    if report.reference == "baseline":
        reference = (f"Drift is counted against the baseline {report.baseline_name or ''} "
                     f"(snapshot {report.baseline_snapshot_id or ''}).")
    else:
        reference = ("Drift is counted against the previous snapshot of the same clouds; the "
                     "first has nothing to compare with (shown as —).")
    headline = []
    if points:
        first, last = points[0], points[-1]
        headline.append(f"{len(points)} snapshots from {utc_timestamp(first.taken_at)} to "
                        f"{utc_timestamp(last.taken_at)}: findings went from "
                        f"{first.total_findings} to {last.total_findings} "
                        f"({last.findings['critical']} critical now).")
        headline.append(f"{summary['drift_total']} drift items over the period; "
                        f"{last.exposed_assets} machines reachable from the internet now.")
        if summary["incomplete_snapshots"]:
            headline.append(f"{summary['incomplete_snapshots']} snapshots were not read "
                            "completely: their counts are a lower bound.")
    else:
        headline.append("No stored snapshot in the period.")
    rows = [{
        "taken_at": utc_timestamp(p.taken_at),
        "snapshot_id": p.snapshot_id,
        "clouds": ", ".join(cloud_name(c) for c in p.providers),
        "findings": [p.findings[s] for s in SEVERITIES],
        "total": p.total_findings,
        "suppressed": p.suppressed,
        "drift": "—" if p.total_drift is None else str(p.total_drift),
        "attack": "—" if p.widened_attack is None else str(p.widened_attack),
        "exposed": p.exposed_assets,
        "internet": p.internet_exposed_assets,
        "not_read": p.scopes_not_read,
        "scopes": p.scopes,
    } for p in reversed(points)]  # newest first: what people look for
    last = points[-1] if points else None
    return {
        "header": {
            "title": "Trend report",
            "snapshot_id": last.snapshot_id if last else "",
            "taken_at": utc_timestamp(last.taken_at) if last else "",
            "generated_at": utc_timestamp(report.generated_at) if report.generated_at else "",
            "tool_version": report.tool_version,
            "since": utc_timestamp(report.since) if report.since else "",
            "errors": [],
        },
        "headline": headline,
        "reference": reference,
        "severities": list(SEVERITIES),
        "charts": [findings, drift] if points else [],
        "rows": rows,
    }


def render(report: TrendReport) -> str:
    return render_page("trend.html.j2", **trend_context(report))
