"""Reporters: pure functions of a finished report, found by format name."""

from __future__ import annotations

import importlib

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
    "ocsf": "reports.ocsf:render",
}


def format_names() -> list[str]:
    return list(REGISTRY)


def render(format_name: str, report: ScanReport) -> str | bytes:
    module_name, _, function = REGISTRY[format_name].partition(":")
    return getattr(importlib.import_module(module_name), function)(report)
