"""One self-contained HTML page; every string from the cloud is escaped."""

from __future__ import annotations

from html import escape

from reports.summary import attribution_text, ordered_drift, ordered_findings, summary_line
from reports.text import printable
from scanner.model import ScanReport, utc_timestamp

_STYLE = (
    "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}"
    "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
    ".critical{background:#f8d0d0}.high{background:#fbe3c8}.medium{background:#fdf5c8}"
)


def _text(value: object) -> str:
    """Escaped for HTML, and without control characters (not allowed in HTML, and a page
    printed to a terminal must not drive it)."""
    return escape(printable(value))


def _table(headers: list[str], rows: list[list[object]], classes: list[str]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        f'<tr class="{escape(cls)}">' + "".join(f"<td>{_text(c)}</td>" for c in row)
        + "</tr>"
        for row, cls in zip(rows, classes, strict=True)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render(report: ScanReport) -> str:
    snap = report.snapshot
    findings = ordered_findings(report.findings)
    drift = ordered_drift(report.drift)
    sections = [
        f"<h1>cloudwall report</h1><p>Snapshot {_text(snap.snapshot_id)} taken "
        f"{escape(utc_timestamp(snap.taken_at))}</p><p>{escape(summary_line(report))}</p>",
        "<h2>Findings</h2>" + _table(
            ["severity", "cloud", "policy", "title", "resource", "rule", "suppressed"],
            [[f.severity.value, f.provider, f.policy_id, f.title,
              f.resource_name or f.resource_id, f.rule.native_id if f.rule else "",
              f.suppressed] for f in findings],
            [f.severity.value for f in findings]),
        "<h2>Drift</h2>" + _table(
            ["severity", "cloud", "effect", "change", "summary", "ATT&CK", "operations", "who",
             "id"],
            [[d.severity.value, d.provider, d.effect.value, d.change.value, d.summary,
              " ".join(d.attack), " ".join(d.operations), attribution_text(d), d.drift_id]
             for d in drift],
            [d.severity.value for d in drift]),
        "<h2>Not collected</h2>" + _table(
            ["scope", "code", "reason", "hint"],
            [[e.scope_label(), e.code, e.reason, e.hint] for e in snap.errors],
            ["high"] * len(snap.errors)),
    ]
    return (
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>cloudwall report</title>"
        f"<style>{_STYLE}</style></head><body>" + "".join(sections) + "</body></html>\n"
    )
