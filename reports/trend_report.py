"""``cloudwall report trend`` output: one row per stored snapshot, oldest first.

Counts only (findings by severity, suppressed, drift by effect, exposed assets, scopes not
read); the ids and timestamps come from the store, the rest is computed. A snapshot with
nothing to compare with has no drift figure ("-" in the table, empty in CSV, null in JSON),
never a zero.
"""

from __future__ import annotations

import csv
import io

from reports.grid import PLAIN, Style, grid
from reports.json_report import dumps, streamed
from reports.text import csv_cell, printable
from scanner.jsonenc import Streamed
from scanner.model import utc_timestamp
from scanner.trend import EFFECTS, SEVERITIES, TrendReport


def _alarm(level: str):
    """Non-zero counts of this kind stand out on a terminal."""
    colour = {"critical": {"fg": "red", "bold": True}, "high": {"fg": "red"},
              "drift": {"fg": "yellow"}, "exposed": {"fg": "magenta"},
              "unread": {"fg": "red"}}[level]
    return lambda text: colour if text.strip() not in ("", "0", "-") else None


def _reference(report: TrendReport) -> str:
    if report.reference == "baseline":
        return (f"drift against baseline {printable(report.baseline_name or '')} "
                f"({printable(report.baseline_snapshot_id or '')})")
    return "drift against the previous snapshot of the same clouds"


def summary_line(report: TrendReport) -> str:
    s = report.summary()
    if not s["snapshots"]:
        return "no stored snapshot in the period"
    line = (f"{s['snapshots']} snapshots; findings {s['findings_first']} -> "
            f"{s['findings_last']}; {s['drift_total']} drift items; "
            f"{s['exposed_assets_last']} exposed assets now")
    if s["incomplete_snapshots"]:
        line += f"; {s['incomplete_snapshots']} snapshots not read completely"
    return line


def render_table(report: TrendReport, style: Style = PLAIN) -> str:
    since = f" since {utc_timestamp(report.since)}" if report.since else ""
    parts = [style.fill(f"Trend of {len(report.points)} stored snapshots{since}; "
                        f"{_reference(report)}")]
    if report.points:
        rows = []
        for p in report.points:
            drift = "-" if p.drift is None else str(p.total_drift)
            widened = "-" if p.widened_attack is None else str(p.widened_attack)
            rows.append([utc_timestamp(p.taken_at), p.snapshot_id, ",".join(p.providers),
                         *(str(p.findings[s]) for s in SEVERITIES), str(p.suppressed), drift,
                         widened, str(p.exposed_assets), str(p.scopes_not_read)])
        headers = ["taken at", "snapshot", "clouds", *SEVERITIES, "suppressed", "drift",
                   "T1562.007", "exposed", "not read"]
        parts.append(grid(headers, rows, style, paint={
            3: _alarm("critical"), 4: _alarm("high"), 9: _alarm("drift"),
            10: _alarm("drift"), 11: _alarm("exposed"), 12: _alarm("unread")},
            keep=tuple(range(len(headers)))))
    parts.append(style.fill(summary_line(report)))
    return "\n\n".join(parts) + "\n"


CSV_HEADER = ["snapshot_id", "taken_at", "providers", *SEVERITIES, "findings_total",
              "suppressed", "compared_with", *(f"drift_{e}" for e in EFFECTS), "drift_total",
              "widened_attack", "exposed_assets", "internet_exposed_assets", "unknown_assets",
              "scopes", "scopes_not_read", "complete"]


def render_csv(report: TrendReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for p in report.points:
        drift = [""] * len(EFFECTS) if p.drift is None else [p.drift[e] for e in EFFECTS]
        row = [p.snapshot_id, utc_timestamp(p.taken_at), " ".join(p.providers),
               *(p.findings[s] for s in SEVERITIES), p.total_findings, p.suppressed,
               p.compared_with or "", *drift,
               "" if p.total_drift is None else p.total_drift,
               "" if p.widened_attack is None else p.widened_attack,
               p.exposed_assets, p.internet_exposed_assets, p.unknown_assets, p.scopes,
               p.scopes_not_read, str(p.complete).lower()]
        writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()


def render_json(report: TrendReport) -> bytes:
    return dumps(report.to_dict())


def stream_json(report: TrendReport) -> Streamed:
    return streamed(report.to_dict())
