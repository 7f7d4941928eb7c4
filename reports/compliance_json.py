"""The compliance report as JSON (sorted keys; ``schema_version`` 2: one document holds every
framework asked for)."""

from __future__ import annotations

from reports.json_report import dumps, streamed
from scanner.compliance_model import ComplianceReport
from scanner.jsonenc import Streamed


def render(report: ComplianceReport) -> bytes:
    # Failing rules quote cloud names and descriptions: the same escaping as every JSON report.
    return dumps(report.to_dict())


def stream(report: ComplianceReport) -> Streamed:
    return streamed(report.to_dict())
