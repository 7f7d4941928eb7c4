"""Drift as the HTML report tells it: T1562.007 changes first, each with the rule before and
after, what it newly lets in, who did it, the operations that make such a change, and the
command that accepts it into the baseline."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from typing import Any

from reports.charts import bar_chart
from reports.html_view import SEVERITIES, cloud_name, humanize, service_names, value_text
from reports.summary import baseline_is_file
from scanner import attack
from scanner.drift.describe import describe_rule, entry_service_names, family_label
from scanner.model import ChangeKind, DriftItem, Effect, utc_timestamp

EFFECT_ORDER = (Effect.WIDENED, Effect.UNKNOWN, Effect.NARROWED, Effect.NEUTRAL)


def accept_command(baseline_name: str | None, snapshot_id: str, drift_id: str) -> str:
    """The command that accepts one item into the stored baseline ("" for a baseline file,
    which cloudwall does not rewrite)."""
    if not baseline_name or baseline_is_file(baseline_name):
        return ""
    return (f"cloudwall baseline set {shlex.quote(baseline_name)} --accept "
            f"{shlex.quote(drift_id)} --from-snapshot {shlex.quote(snapshot_id)}")


def _rule_text(item: DriftItem, side: str) -> str:
    rule = item.before if side == "before" else item.after
    if rule is not None:
        return describe_rule(rule)
    if item.before is not None or item.after is not None:
        return "(none)"
    value = item.details.get(side)
    return "" if value is None else value_text(value)


def _opened(entries: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    return [{
        "direction": str(e.get("direction", "")),
        "family": family_label(e.get("family", "")),
        "what": str(e.get("what", "")),
        "sources": "the whole internet" if e.get("internet") else
        ", ".join(str(s) for s in e.get("sources", ())),
        "internet": "internet" if e.get("internet") else "",
        "services": ", ".join(str(s) for s in entry_service_names(e)),
    } for e in entries]


def _newly_exposed(item: DriftItem, asset_names: Mapping[str, str]) -> list[dict[str, str]]:
    machines: dict[str, list[str]] = {}
    for entry in item.newly_exposed:
        asset_id = str(entry.get("asset_id", ""))
        ports = ",".join(str(p) for p in entry.get("ports", ()))
        services = service_names(str(s) for s in entry.get("services", ()))
        what = f"{entry.get('protocol', '')} {ports}".strip()
        if services:
            what += f" ({', '.join(services)})"
        if entry.get("source") == "broad":
            what += " from a broad range"
        machines.setdefault(asset_id, []).append(what)
    return [{"asset_id": a, "name": asset_names.get(a, a), "what": "; ".join(w)}
            for a, w in sorted(machines.items(), key=lambda kv: asset_names.get(kv[0], kv[0]))]


def _attribution(item: DriftItem) -> dict[str, Any]:
    known = [{
        "actor": a.actor,
        "time": utc_timestamp(a.time) if a.time else "",
        "source": a.source_address or "",
        "operation": a.operation or "",
    } for a in item.attribution if a.actor]
    reasons = [a.unavailable_reason for a in item.attribution
               if a.unavailable_reason and not a.actor]
    return {"looked_up": bool(item.attribution), "known": known, "unavailable": reasons}


def _item(item: DriftItem, baseline_name: str | None, snapshot_id: str,
          asset_names: Mapping[str, str]) -> dict[str, Any]:
    return {
        "id": item.drift_id,
        "severity": item.severity.value,
        "effect": item.effect.value,
        "change": humanize(item.change.value),
        "cloud": cloud_name(item.provider),
        "account": item.account,
        "region": item.region or "global",
        "resource_name": item.resource_name or item.resource_id,
        "resource_id": item.resource_id,
        "rule_key": item.rule_key or "",
        "summary": item.summary,
        "target": value_text(item.details["target"]) if item.details.get("target") else "",
        "before": _rule_text(item, "before"),
        "after": _rule_text(item, "after"),
        "opened": _opened(item.details.get("opened") or ()),
        "newly_exposed": _newly_exposed(item, asset_names),
        "attribution": _attribution(item),
        "operations": list(item.operations),
        "technique": ", ".join(item.attack),
        "technique_name": attack.TECHNIQUE_NAME if attack.TECHNIQUE in item.attack else "",
        "tactic": item.tactic or "",
        "detection": item.detection or "",
        "accept": accept_command(baseline_name, snapshot_id, item.drift_id),
    }


def drift_view(drift: Iterable[DriftItem], baseline_name: str | None, snapshot_id: str,
               asset_names: Mapping[str, str]) -> dict[str, Any]:
    items = sorted(drift, key=lambda d: (not d.attack, -d.severity.rank, d.provider,
                                         d.resource_id, d.drift_id))
    unknown_scope = [d for d in items if d.change is ChangeKind.SCOPE_UNKNOWN]
    techniques = [d for d in items if d.attack and d.change is not ChangeKind.SCOPE_UNKNOWN]
    others = [d for d in items if not d.attack and d.change is not ChangeKind.SCOPE_UNKNOWN]
    counts: dict[tuple[Effect, str], int] = {}
    for d in items:
        counts[(d.effect, d.severity.value)] = counts.get((d.effect, d.severity.value), 0) + 1
    chart = bar_chart("Drift by effect", [
        (effect.value.capitalize(), [
            (s.value, counts.get((effect, s.value), 0),
             f"{counts.get((effect, s.value), 0)} {effect.value}, {s.value}")
            for s in SEVERITIES])
        for effect in EFFECT_ORDER])
    return {
        "total": len(items),
        "technique": attack.TECHNIQUE,
        "technique_name": attack.TECHNIQUE_NAME,
        "changes": [_item(d, baseline_name, snapshot_id, asset_names) for d in techniques],
        "others": [_item(d, baseline_name, snapshot_id, asset_names) for d in others],
        "unknown_scopes": [_item(d, baseline_name, snapshot_id, asset_names)
                           for d in unknown_scope],
        "file_baseline": baseline_is_file(baseline_name),
        "chart": chart,
        "widened": sum(1 for d in items if d.effect is Effect.WIDENED),
    }
