"""The compliance report as JSON (sorted keys; ``schema_version`` 1)."""

from __future__ import annotations

import json

from policies.compliance import ComplianceReport


def render(report: ComplianceReport) -> str:
    return json.dumps(report.to_dict(), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
