"""``cloudwall exposure`` output: exposed assets, their ports and services, and the path that
admits each; what could not be decided; notes. Pure functions of a snapshot and its analysis."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from reports.grid import PLAIN, Style, grid
from reports.json_report import (
    dumps,
    error_rows,
    exposure_rows,
    header,
    service_names,
    streamed,
    unknown_rows,
)
from reports.text import printable
from scanner import __version__
from scanner.exposure import ExposureAnalysis
from scanner.jsonenc import Streamed
from scanner.model import PathStep, Snapshot, utc_timestamp


def step_text(step: PathStep, names: dict[str, str] | None = None) -> str:
    """``acl-1 ingress:100``, ``azure_nsg_nic: none``, ``internet route``; rule sets by name."""
    if step.layer == "route":
        return "internet route"
    if step.decision == "absent":
        return f"{step.layer}: none"
    where = step.rule_set_id or step.layer
    if names and step.rule_set_id in names:
        where = names[step.rule_set_id]
    what = step.rule_id or step.decision
    text = f"{where} {what}"
    if step.decision not in ("allow",):
        text += f" [{step.decision}]"
    return text


def path_text(path: tuple[PathStep, ...], names: dict[str, str] | None = None) -> str:
    return " > ".join(step_text(s, names) for s in path if s.decision != "no_match")


def summary(snapshot: Snapshot, analysis: ExposureAnalysis) -> dict[str, Any]:
    exposed = {e.asset_id for e in analysis.exposures}
    internet = {e.asset_id for e in analysis.exposures if e.source == "internet"}
    providers = sorted({e.provider for e in analysis.exposures})
    return {
        "assets": analysis.assets_checked,
        "exposed_assets": len(exposed),
        "internet_exposed_assets": len(internet),
        "unknown_assets": len(analysis.unknown_assets),
        "providers": providers,
        "complete": snapshot.complete and not analysis.unknown_assets,
    }


def summary_line(snapshot: Snapshot, analysis: ExposureAnalysis) -> str:
    s = summary(snapshot, analysis)
    line = (f"{s['exposed_assets']} of {s['assets']} assets exposed "
            f"({s['internet_exposed_assets']} to the whole internet)")
    if s["unknown_assets"]:
        line += f"; {s['unknown_assets']} unknown (not decided, not safe)"
    return line


def render_table(snapshot: Snapshot, analysis: ExposureAnalysis, style: Style = PLAIN) -> str:
    names = {a.asset_id: a.name for a in snapshot.assets}
    set_names = {rs.resource_id: rs.name or rs.resource_id for rs in snapshot.rule_sets}
    parts = [f"Exposure of snapshot {printable(snapshot.snapshot_id)}"]
    ordered = sorted(analysis.exposures, key=lambda e: (
        e.provider, e.asset_id, e.source != "internet", e.family, e.protocol, e.ports.intervals))
    if ordered:
        rows = [[e.provider, names.get(e.asset_id) or e.asset_id, e.via, e.source,
                 e.family, e.protocol, str(e.ports), ", ".join(service_names(e)),
                 path_text(e.path, set_names)] for e in ordered]
        parts.append(grid(["cloud", "asset", "via", "from", "family", "protocol", "ports",
                           "services", "admitted by"], rows, style, keep=(0, 2, 3, 4, 5)))
    else:
        parts.append("No asset is reachable from the internet or a broad public range.")
    if analysis.unknown_assets:
        parts.append(style.fill("Unknown (could not be decided from the snapshot; not safe)"))
        rows = [[names.get(a) or a, analysis.unknown_reasons[a]] for a in analysis.unknown_assets]
        parts.append(grid(["asset", "why"], rows, style))
    if analysis.notes:
        parts.append("Notes")
        rows = [[names.get(a) or a, note]
                for a, notes in sorted(analysis.notes.items()) for note in notes]
        parts.append(grid(["asset", "note"], rows, style))
    parts.append(style.fill(summary_line(snapshot, analysis)))
    return "\n\n".join(parts) + "\n"


def to_document(snapshot: Snapshot, analysis: ExposureAnalysis,
                filters: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The exposure document: the same header, exposure keys, errors and scope rows as every
    other command's JSON, plus what only this command reports."""
    return {
        **header("exposure", snapshot, utc_timestamp(datetime.now(timezone.utc)), __version__,
                 filters or {}),
        "trusted_cidrs": list(analysis.trusted_cidrs),
        "broad_prefix": analysis.broad_prefix,
        "exposures": exposure_rows(analysis.exposures, snapshot),
        "exposure_unknown": unknown_rows(analysis.unknown_reasons),
        "exposure_notes": {a: list(n) for a, n in sorted(analysis.notes.items())},
        "live_rules": [{"rule_set_id": rs, "rule_id": rule, "assets": sorted(assets)}
                       for (rs, rule), assets in sorted(analysis.live_rules.items())],
        "errors": error_rows(snapshot),
        "summary": summary(snapshot, analysis),
    }


def render_json(snapshot: Snapshot, analysis: ExposureAnalysis,
                filters: Mapping[str, Any] | None = None) -> bytes:
    return dumps(to_document(snapshot, analysis, filters))


def stream_json(snapshot: Snapshot, analysis: ExposureAnalysis,
                filters: Mapping[str, Any] | None = None) -> Streamed:
    return streamed(to_document(snapshot, analysis, filters))
