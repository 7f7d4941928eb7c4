"""CSV of findings and drift, one row each, every cell neutralised against formula injection."""

from __future__ import annotations

import csv
import io

from reports.summary import attribution_text
from reports.text import csv_cell
from scanner.model import ScanReport

HEADER = ["record", "id", "severity", "provider", "account", "region", "resource_id",
          "resource_name", "policy_or_change", "title_or_summary", "rule_native_id", "attack",
          "suppressed_or_effect", "attribution"]


def render(report: ScanReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for f in report.findings:
        writer.writerow([csv_cell(v) for v in (
            "finding", f.finding_id, f.severity.value, f.provider, f.account, f.region,
            f.resource_id, f.resource_name, f.policy_id, f.title,
            f.rule.native_id if f.rule else "", " ".join(f.attack), f.suppressed, "")])
    for d in report.drift:
        writer.writerow([csv_cell(v) for v in (
            "drift", d.drift_id, d.severity.value, d.provider, d.account, d.region,
            d.resource_id, d.resource_name, d.change.value, d.summary, d.rule_key or "",
            " ".join(d.attack), d.effect.value, attribution_text(d))])
    for e in report.snapshot.errors:
        writer.writerow([csv_cell(v) for v in (
            "error", "", "", e.provider, e.account, e.region, e.resource_type or "", "",
            e.code, e.reason, "", "", e.hint, "")])
    return out.getvalue()
