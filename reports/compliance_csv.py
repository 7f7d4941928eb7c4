"""The compliance report as CSV, the way auditors import it: one row per control and resource.

Every assessed control has a row for each resource it was judged on (``pass``, ``fail``,
``suppressed``, or ``not_assessed`` when the resource's scope was not read completely), and a
row for each scope of its clouds that could not be read; a control that was not assessed at all
has one row without a resource, with why. Every cell goes through ``reports.text.csv_cell``, so
no name from a cloud is evaluated as a formula.
"""

from __future__ import annotations

import csv
import io

from reports.text import csv_cell
from scanner.compliance_model import NOT_ASSESSED, ComplianceReport, ControlResult, Framework

HEADER = ["framework", "framework_version", "control", "control_title", "control_status",
          "status", "provider", "account", "region", "resource_id", "resource_name",
          "resource_kind", "reason", "policies", "finding_ids", "snapshot_id", "taken_at"]


def _rows(report: ComplianceReport, fw: Framework, result: ControlResult) -> list[list[object]]:
    head = [fw.framework_id, fw.version, result.control.control_id, result.control.title,
            result.status]
    tail = [" ".join(result.policies), report.snapshot_id, report.taken_at]
    rows: list[list[object]] = []
    for r in result.resources:
        rows.append([*head, r.status, r.provider, r.account, r.region, r.resource_id,
                     r.resource_name, r.kind, r.reason, tail[0], " ".join(r.finding_ids),
                     *tail[1:]])
    for scope in result.unread_scopes:
        label = "/".join(x for x in (scope["provider"], scope["account"], scope["region"]) if x)
        rows.append([*head, NOT_ASSESSED, scope["provider"], scope["account"], scope["region"],
                     "", "", "scope", f"scope failed: {label} ({scope['status']}) could not be "
                     "read completely", tail[0], "", *tail[1:]])
    if not rows:
        rows.append([*head, result.status, "", "", "", "", "", "", result.reason, tail[0], "",
                     *tail[1:]])
    return rows


def render(report: ComplianceReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for fw in report.frameworks:
        for result in fw.results:
            for row in _rows(report, fw.framework, result):
                writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()
