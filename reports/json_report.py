"""The versioned JSON contract (documented in the README)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from reports.summary import scope_rows, summary
from scanner import TOOL_NAME
from scanner.catalogue import SERVICES_BY_KEY
from scanner.jsonenc import Streamed, encode, encode_lines
from scanner.model import Exposure, ScanReport, Snapshot, utc_timestamp

# 2: one contract for every command (``kind``; ``exposures``/``exposure_unknown`` in every
# document; ``tool: {name, version}`` everywhere; ``filters``).
JSON_SCHEMA_VERSION = 2


# What was collected, as the snapshot holds it: every rule set with its rules and attachments,
# every asset, subnet, network and detection IP list.
INVENTORY_KEYS = ("rule_sets", "assets", "subnets", "networks", "ip_lists")

# The published JSON Schema (draft 2020-12) of every document ``--format json`` writes.
SCHEMA_RESOURCE = "schemas/report.schema.json"


def schema_text() -> str:
    """The report JSON Schema as shipped in the package."""
    from importlib.resources import files

    return files("reports").joinpath(SCHEMA_RESOURCE).read_text(encoding="utf-8")


def schema() -> dict[str, Any]:
    return json.loads(schema_text())


def header(kind: str, snapshot: Snapshot, generated_at: str | None, tool_version: str,
           filters: Mapping[str, Any]) -> dict[str, Any]:
    """The keys every document starts with, the same in every command."""
    return {
        "schema_version": JSON_SCHEMA_VERSION,
        "kind": kind,
        "tool": {"name": TOOL_NAME, "version": tool_version},
        "generated_at": generated_at,
        "snapshot": {
            "id": snapshot.snapshot_id,
            "taken_at": utc_timestamp(snapshot.taken_at),
            "scopes": scope_rows(snapshot),
        },
        "filters": dict(filters),
    }


def error_rows(snapshot: Snapshot) -> list[dict[str, Any]]:
    return [
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
    ]


def exposure_rows(exposures: Iterable[Exposure], snapshot: Snapshot) -> list[dict[str, Any]]:
    """Exposures with the asset's name and the services' names, as every command shows them."""
    names = {a.asset_id: a.name for a in snapshot.assets}
    return [{**e.to_dict(), "asset_name": names.get(e.asset_id, ""),
             "service_names": service_names(e)} for e in exposures]


def unknown_rows(unknown: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"asset_id": asset_id, "reason": reason}
            for asset_id, reason in sorted(unknown.items())]


def to_document(report: ScanReport) -> dict[str, Any]:
    snapshot = report.snapshot
    snapshot_dict = snapshot.to_dict()
    generated = utc_timestamp(report.generated_at) if report.generated_at else None
    return {
        **header("scan", snapshot, generated, report.tool_version, report.filters),
        "baseline": {"name": report.baseline_name, "snapshot_id": report.baseline_snapshot_id}
        if report.baseline_snapshot_id else None,
        "findings": [f.to_dict() for f in report.findings],
        "drift": [d.to_dict() for d in report.drift],
        "exposures": exposure_rows(report.exposures, snapshot),
        "exposure_unknown": unknown_rows(report.exposure_unknown),
        "errors": error_rows(snapshot),
        "inventory": {key: snapshot_dict[key] for key in INVENTORY_KEYS},
        "summary": summary(report),
    }


def service_names(exposure: Exposure) -> list[str]:
    return [SERVICES_BY_KEY[k].name if k in SERVICES_BY_KEY else k for k in exposure.services]


def dumps(document: Any) -> bytes:
    """A report document as JSON (compact, or indented with ``--pretty``): scanner.jsonenc."""
    return encode(document)


def dumps_array(items: Iterable[Any]) -> bytes:
    """A JSON array with one compact element per line: fast to write for large reports, and a
    diff still shows which element changed (indented whole with ``--pretty``)."""
    return encode_lines(items)


def streamed(document: Any) -> Streamed:
    """``dumps(document)``, written as it is encoded (the output writers take it)."""
    return Streamed(document)


def streamed_array(items: Iterable[Any]) -> Streamed:
    """``dumps_array(items)``, written as it is encoded."""
    return Streamed(list(items), lines=True)


def render(report: ScanReport) -> bytes:
    return dumps(to_document(report))


def stream(report: ScanReport) -> Streamed:
    return streamed(to_document(report))
