"""Reporters: pure functions of a finished report, found by format name.

Three kinds of report, each with its own registry: a scan (``ScanReport``: ``scan``,
``snapshots show``, ``diff``, ``demo``), a compliance report (``ComplianceReport``) and a trend
(``TrendReport``). The ``table`` reporters also take a ``reports.grid.Style`` (terminal width
and colour); every other reporter's output is the same wherever it goes.
"""

from __future__ import annotations

import importlib
from typing import Any

from scanner.model import ScanReport

# format name -> "module:function"; each takes a ScanReport and returns text or bytes.
REGISTRY: dict[str, str] = {
    "table": "reports.table:render",
    "json": "reports.json_report:render",
    "csv": "reports.csv_report:render",
    "html": "reports.html:render",
    "markdown": "reports.markdown:render",
    "sarif": "reports.sarif:render",
    "junit": "reports.junit:render",
    "navigator": "reports.navigator:render",
    "asff": "reports.asff:render",
    "ocsf": "reports.ocsf:render",
}

# format name -> "module:function" taking a scanner.compliance_model.ComplianceReport.
COMPLIANCE_REGISTRY: dict[str, str] = {
    "table": "reports.compliance_table:render",
    "markdown": "reports.compliance_markdown:render",
    "csv": "reports.compliance_csv:render",
    "json": "reports.compliance_json:render",
    "html": "reports.html_compliance:render",
}

# format name -> "module:function" taking a scanner.trend.TrendReport.
TREND_REGISTRY: dict[str, str] = {
    "table": "reports.trend_report:render_table",
    "csv": "reports.trend_report:render_csv",
    "json": "reports.trend_report:render_json",
    "html": "reports.html_trend:render",
}

# Formats whose layout depends on the terminal (width, colour).
STYLED = frozenset({"table"})


def format_names() -> list[str]:
    return list(REGISTRY)


def _call(registry: dict[str, str], format_name: str, report: Any,
          style: Any = None) -> str | bytes:
    module_name, _, function = registry[format_name].partition(":")
    renderer = getattr(importlib.import_module(module_name), function)
    if style is not None and format_name in STYLED:
        return renderer(report, style)
    return renderer(report)


def render(format_name: str, report: ScanReport, style: Any = None) -> str | bytes:
    return _call(REGISTRY, format_name, report, style)


def render_compliance(format_name: str, report: Any, style: Any = None) -> str | bytes:
    return _call(COMPLIANCE_REGISTRY, format_name, report, style)


def render_trend(format_name: str, report: Any, style: Any = None) -> str | bytes:
    return _call(TREND_REGISTRY, format_name, report, style)
