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

# The JSON formats of each registry again, as documents written while they are encoded
# (scanner.jsonenc.Streamed: the same bytes as the renderer's, never one giant bytes object).
STREAMS: dict[str, str] = {
    "json": "reports.json_report:stream",
    "sarif": "reports.sarif:stream",
    "navigator": "reports.navigator:stream",
    "asff": "reports.asff:stream",
    "ocsf": "reports.ocsf:stream",
}
COMPLIANCE_STREAMS: dict[str, str] = {"json": "reports.compliance_json:stream"}
TREND_STREAMS: dict[str, str] = {"json": "reports.trend_report:stream_json"}
_STREAMS_OF = {id(REGISTRY): STREAMS, id(COMPLIANCE_REGISTRY): COMPLIANCE_STREAMS,
               id(TREND_REGISTRY): TREND_STREAMS}

# Formats whose layout depends on the terminal (width, colour).
STYLED = frozenset({"table"})


def format_names() -> list[str]:
    return list(REGISTRY)


def _call(registry: dict[str, str], format_name: str, report: Any,
          style: Any = None, streamed: bool = False) -> Any:
    """The renderer's text or bytes; with ``streamed``, a JSON format's document as a
    ``Streamed`` instead (what the output writers take)."""
    streams = _STREAMS_OF[id(registry)]
    if streamed and format_name in streams:
        registry = streams
    module_name, _, function = registry[format_name].partition(":")
    renderer = getattr(importlib.import_module(module_name), function)
    if style is not None and format_name in STYLED:
        return renderer(report, style)
    return renderer(report)


def render(format_name: str, report: ScanReport, style: Any = None,
           streamed: bool = False) -> Any:
    return _call(REGISTRY, format_name, report, style, streamed)


def render_compliance(format_name: str, report: Any, style: Any = None,
                      streamed: bool = False) -> Any:
    return _call(COMPLIANCE_REGISTRY, format_name, report, style, streamed)


def render_trend(format_name: str, report: Any, style: Any = None,
                 streamed: bool = False) -> Any:
    return _call(TREND_REGISTRY, format_name, report, style, streamed)
