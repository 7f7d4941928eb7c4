"""CSV of everything a scan reports, one row per record, for spreadsheets and SIEM imports.

The first column, ``kind``, says what a row is: ``finding``, ``drift``, ``exposure``,
``exposure_unknown``, ``collection_error`` or ``summary`` (one last row with the counts,
suppressed findings included, so a sheet of a filtered view still says what it left out). Every
kind fills the columns that mean something for it and leaves the others empty; no column means
two things. Every cell goes through ``reports.text.csv_cell``, so nothing a cloud said is
evaluated as a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from reports.exposure_report import path_text, service_names
from reports.summary import (
    attribution_text,
    ordered_drift,
    ordered_findings,
    summary,
    summary_line,
)
from reports.text import csv_cell
from scanner.drift.describe import describe_rule
from scanner.model import Rule, ScanReport

HEADER = [
    "kind", "id", "severity", "provider", "account", "region", "resource_id", "resource_name",
    "policy_id", "title", "change", "effect", "rule_id", "direction", "action", "protocol",
    "ports", "peers", "before", "after", "asset_id", "source", "services", "admitted_by",
    "attack", "remediation", "suppressed", "suppression", "attribution", "code", "reason",
    "hint",
]


def _rule_fields(rule: Rule | None) -> dict[str, Any]:
    if rule is None:
        return {}
    return {"rule_id": rule.native_id or rule.identity(), "direction": rule.direction.value,
            "action": rule.action.value, "protocol": rule.protocol,
            "ports": "all" if rule.ports.is_all() else str(rule.ports),
            "peers": " ".join(p.value for p in rule.peers)}


def _suppression(entry) -> str:
    if not entry:
        return ""
    return (f"{entry.get('reason', '')} (owner {entry.get('owner', '')}, until "
            f"{entry.get('expires', '')}{', expired' if entry.get('expired') else ''})")


def _records(report: ScanReport) -> Iterator[dict[str, Any]]:
    snapshot = report.snapshot
    for f in ordered_findings(report.findings):
        yield {"kind": "finding", "id": f.finding_id, "severity": f.severity.value,
               "provider": f.provider, "account": f.account, "region": f.region,
               "resource_id": f.resource_id, "resource_name": f.resource_name,
               "policy_id": f.policy_id, "title": f.title, **_rule_fields(f.rule),
               "asset_id": f.asset_id or "",
               "services": " ".join(f.evidence.get("services") or ()),
               "attack": " ".join(f.attack), "remediation": f.remediation,
               "suppressed": str(f.suppressed).lower(),
               "suppression": _suppression(f.suppression)}
    for d in ordered_drift(report.drift):
        rule = d.after or d.before
        yield {"kind": "drift", "id": d.drift_id, "severity": d.severity.value,
               "provider": d.provider, "account": d.account, "region": d.region,
               "resource_id": d.resource_id, "resource_name": d.resource_name,
               "title": d.summary, "change": d.change.value, "effect": d.effect.value,
               **_rule_fields(rule), "rule_id": d.rule_key or "",
               "before": describe_rule(d.before) if d.before else "",
               "after": describe_rule(d.after) if d.after else "",
               "asset_id": " ".join(sorted({str(e.get("asset_id")) for e in d.newly_exposed})),
               "attack": " ".join(d.attack), "attribution": attribution_text(d)}
    set_names = {rs.resource_id: rs.name or rs.resource_id for rs in snapshot.rule_sets}
    names = {a.asset_id: a.name for a in snapshot.assets}
    for e in sorted(report.exposures, key=lambda e: (e.provider, e.asset_id, e.family,
                                                      e.protocol, e.ports.intervals)):
        yield {"kind": "exposure", "provider": e.provider, "account": e.account,
               "region": e.region, "resource_id": e.asset_id,
               "resource_name": names.get(e.asset_id, ""), "asset_id": e.asset_id,
               "protocol": e.protocol, "ports": str(e.ports), "source": e.source,
               "direction": "ingress", "title": f"{e.family} via {e.via}",
               "services": " ".join(service_names(e)),
               "admitted_by": path_text(e.path, set_names)}
    for asset_id, why in sorted(report.exposure_unknown.items()):
        yield {"kind": "exposure_unknown", "resource_id": asset_id, "asset_id": asset_id,
               "resource_name": names.get(asset_id, ""), "reason": why}
    for err in snapshot.errors:
        yield {"kind": "collection_error", "provider": err.provider, "account": err.account,
               "region": err.region, "resource_id": err.resource_type or "",
               "title": err.scope_label(), "code": err.code, "reason": err.reason,
               "hint": err.hint}
    yield {"kind": "summary", "id": snapshot.snapshot_id, "title": summary_line(report),
           "suppressed": summary(report)["suppressed"]}


def render(report: ScanReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for record in _records(report):
        writer.writerow([csv_cell(record.get(column, "")) for column in HEADER])
    return out.getvalue()
