"""The versioned JSON contract (documented in the README)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from reports.summary import scope_rows, summary
from scanner import TOOL_NAME
from scanner.model import ScanReport, utc_timestamp

JSON_SCHEMA_VERSION = 1


# What was collected, as the snapshot holds it: every rule set with its rules and attachments,
# every asset, subnet, network and detection IP list.
INVENTORY_KEYS = ("rule_sets", "assets", "subnets", "networks", "ip_lists")


def to_document(report: ScanReport) -> dict[str, Any]:
    snapshot = report.snapshot
    snapshot_dict = snapshot.to_dict()
    return {
        "schema_version": JSON_SCHEMA_VERSION,
        "tool": {"name": TOOL_NAME, "version": report.tool_version},
        "generated_at": utc_timestamp(report.generated_at) if report.generated_at else None,
        "snapshot": {
            "id": snapshot.snapshot_id,
            "taken_at": snapshot_dict["taken_at"],
            "scopes": scope_rows(report),
        },
        "baseline": {"name": report.baseline_name, "snapshot_id": report.baseline_snapshot_id}
        if report.baseline_snapshot_id else None,
        "findings": [f.to_dict() for f in report.findings],
        "drift": [d.to_dict() for d in report.drift],
        "exposure": [e.to_dict() for e in report.exposures],
        "exposure_unknown": [{"asset_id": asset_id, "reason": reason}
                             for asset_id, reason in sorted(report.exposure_unknown.items())],
        "errors": [
            {
                "provider": e.provider,
                "scope": e.scope_label(),
                "account": e.account,
                "region": e.region,
                "resource_type": e.resource_type,
                "code": e.code,
                "reason": e.reason,
                "hint": e.hint,
            }
            for e in snapshot.errors
        ],
        "inventory": {key: snapshot_dict[key] for key in INVENTORY_KEYS},
        "summary": summary(report),
    }


# json.dumps escapes C0 controls but leaves C1 controls (U+0080-U+009F, which include an 8-bit
# CSI), bidi overrides, zero-width and line-separator characters raw; escaping them keeps the
# same JSON value and keeps a report printed to a terminal from driving or disguising it.
_ESCAPES = {
    c: f"\\u{c:04x}"
    for c in [*range(0x7F, 0xA0), *range(0x200B, 0x2010), *range(0x2028, 0x202F),
              *range(0x2066, 0x206A), 0xFEFF]
}


def dumps(document: Any, indent: int | None = 2) -> str:
    """A report document as JSON text, with the characters above escaped. ``indent=None`` is
    compact, which the C encoder writes several times faster than indented text."""
    separators = None if indent is not None else (",", ":")
    text = json.dumps(document, sort_keys=True, indent=indent, ensure_ascii=False,
                      separators=separators)
    return text.translate(_ESCAPES) + "\n"


def dumps_array(items: Iterable[Any]) -> str:
    """A JSON array with one compact element per line: fast to write for large reports, and a
    diff still shows which element changed."""
    lines = [dumps(item, indent=None).rstrip("\n") for item in items]
    return ("[\n" + ",\n".join(lines) + "\n]\n") if lines else "[]\n"


def render(report: ScanReport) -> str:
    return dumps(to_document(report))
