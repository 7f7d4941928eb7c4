"""The compliance report as JSON (sorted keys; ``schema_version`` 1)."""

from __future__ import annotations

from policies.compliance import ComplianceReport
from reports.json_report import dumps


def render(report: ComplianceReport) -> str:
    # Failing rules quote cloud names and descriptions: the same escaping as every JSON report.
    return dumps(report.to_dict())
