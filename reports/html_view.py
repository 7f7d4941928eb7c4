"""View pieces the HTML reports share: the scope header, exposure per machine, display text.

A view is plain data (strings, numbers, lists and dicts of them) that a template only lays out.
Everything here reads the model (``scanner.model``) and nothing else of the scanner's insides.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from reports.charts import bar_chart
from reports.summary import scope_rows
from scanner.catalogue import SERVICES_BY_KEY
from scanner.model import Exposure, PathStep, ScanReport, Severity, Snapshot, utc_timestamp

CLOUD_NAMES = {"aws": "AWS", "azure": "Azure", "gcp": "Google Cloud"}
SEVERITIES = tuple(reversed(Severity))  # critical first
LAYER_NAMES = {
    "route": "internet route",
    "aws_network_acl": "network ACL",
    "aws_security_group": "security group",
    "azure_nsg_subnet": "subnet NSG",
    "azure_nsg_nic": "NIC NSG",
    "gcp_hierarchical_policy": "hierarchical policy",
    "gcp_network_policy": "network firewall policy",
    "gcp_vpc_firewall": "VPC firewall rule",
    "implied": "implied rule",
}
VIA_NAMES = {"public_ip": "public IP", "ipv6": "global IPv6", "load_balancer": "load balancer"}


def cloud_name(provider: str) -> str:
    return CLOUD_NAMES.get(provider, provider)


def humanize(key: str) -> str:
    return key.replace("_", " ")


def value_text(value: Any) -> str:
    """Any JSON-safe value (evidence, details) as one line a person reads."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        parts = []
        for key, item in value.items():
            if isinstance(item, Mapping):
                parts.append(f"{key} ({value_text(item)})")
            else:
                parts.append(f"{key}: {value_text(item)}")
        return ", ".join(parts) or "—"
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        # Plain values read as a list; records (dicts, lists) need a stronger separator.
        joiner = "; " if any(isinstance(v, Mapping | list | tuple) for v in items) else ", "
        return joiner.join(value_text(v) for v in items) or "none"
    return str(value)


def service_names(keys: Iterable[str]) -> list[str]:
    return [SERVICES_BY_KEY[k].name if k in SERVICES_BY_KEY else k for k in keys]


def services_text(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def severity_chart(counts: Mapping[str, int], title: str):
    return bar_chart(title, [
        (s.value.capitalize(), [(s.value, counts.get(s.value, 0),
                                 f"{counts.get(s.value, 0)} {s.value}")])
        for s in SEVERITIES])


def services_chart(exposures: Iterable[Exposure], limit: int = 6):
    """How many machines the internet reaches on each sensitive service, the most first."""
    machines: dict[str, set[str]] = {}
    for e in exposures:
        for key in e.services:
            machines.setdefault(key, set()).add(e.asset_id)

    def severity(key: str) -> Severity:
        return SERVICES_BY_KEY[key].severity if key in SERVICES_BY_KEY else Severity.INFO

    top = sorted(machines, key=lambda k: (-len(machines[k]), -severity(k).rank, k))[:limit]
    return bar_chart("Exposed services (machines)", [
        (service_names([k])[0], [(severity(k).value, len(machines[k]),
                                  f"{len(machines[k])} machines reachable on {k}")])
        for k in top])


def scope_header(rows: list[Mapping[str, Any]], *, title: str, snapshot_id: str, taken_at: str,
                 regions: Iterable[str] = (), generated_at: str = "", tool_version: str = "",
                 errors: list[dict[str, str]] | None = None,
                 inventory: Mapping[str, int] | None = None,
                 baseline: Mapping[str, str] | None = None) -> dict[str, Any]:
    """What a report covers, from its scope rows (``provider``, ``account``, ``region``,
    ``name``, ``status`` and, where known, ``error``): clouds, accounts, regions, time,
    baseline, and, prominently, what could not be collected."""
    names = {(r["provider"], r["account"]): r.get("name") or "" for r in rows}
    # The clouds read (a scope each); a provider name such as "demo" is not a cloud.
    providers = sorted({r["provider"] for r in rows})
    accounts = sorted({(r["provider"], r["account"]) for r in rows})
    failed = [r for r in rows if r["status"] != "ok"]
    if errors is None:  # only each scope's status is known
        errors = [{"scope": "/".join(p for p in (r["provider"], r["account"], r["region"]) if p),
                   "resource_type": "some resource types" if r["status"] == "partial"
                   else "every resource type",
                   "code": "", "reason": r.get("error") or f"scope {r['status']}", "hint": ""}
                  for r in failed]
    return {
        "title": title,
        "snapshot_id": snapshot_id,
        "taken_at": taken_at,
        "generated_at": generated_at,
        "tool_version": tool_version,
        "clouds": ", ".join(cloud_name(p) for p in providers),
        "accounts": [{"cloud": cloud_name(p), "account": a, "name": names.get((p, a), "")}
                     for p, a in accounts],
        "regions": ", ".join(sorted({r["region"] for r in rows if r["region"]} | set(regions))),
        "scopes": [{
            "cloud": cloud_name(r["provider"]),
            "account": r["account"],
            "name": r.get("name") or "",
            "region": r["region"] or "all regions",
            "status": r["status"],
            "error": r.get("error") or "",
        } for r in rows],
        "baseline": dict(baseline) if baseline else None,
        "complete": not failed and not errors,
        "not_read": len(failed),
        "scope_count": len(rows),
        "errors": errors,
        "inventory": dict(inventory) if inventory else None,
    }


def header(snapshot: Snapshot, *, title: str, generated_at=None, tool_version: str = "",
           baseline_name: str | None = None,
           baseline_snapshot_id: str | None = None) -> dict[str, Any]:
    """The header of a report on one snapshot."""
    return scope_header(
        scope_rows(ScanReport(snapshot)),
        title=title,
        snapshot_id=snapshot.snapshot_id,
        taken_at=utc_timestamp(snapshot.taken_at),
        regions={r.region for r in snapshot.rule_sets if r.region}
        | {a.region for a in snapshot.assets if a.region},
        generated_at=utc_timestamp(generated_at) if generated_at else "",
        tool_version=tool_version,
        errors=[{
            "scope": e.scope.label(),
            "resource_type": e.resource_type or "every resource type",
            "code": e.code,
            "reason": e.reason,
            "hint": e.hint,
        } for e in snapshot.errors],
        inventory={
            "rule_sets": len(snapshot.rule_sets),
            "rules": snapshot.rule_count(),
            "assets": len(snapshot.assets),
        },
        baseline={"name": baseline_name or "", "snapshot_id": baseline_snapshot_id}
        if baseline_snapshot_id else None,
    )


def _step(step: PathStep, set_names: Mapping[str, str]) -> dict[str, str]:
    if step.layer == "route":
        where = "route to an internet gateway" if step.decision != "absent" else ""
    else:
        where = set_names.get(step.rule_set_id or "", step.rule_set_id or "")
    return {
        "layer": LAYER_NAMES.get(step.layer, humanize(step.layer)),
        "where": where,
        "rule": step.rule_id or "",
        "decision": "no rule set" if step.decision == "absent" else humanize(step.decision),
        "note": step.note,
    }


def _exposure_rank(exposures: list[Exposure]) -> tuple:
    internet = any(e.source == "internet" for e in exposures)
    services = {s for e in exposures for s in e.services}
    return (not internet, -len(services))


def exposed_assets(snapshot: Snapshot, exposures: Iterable[Exposure],
                   unknown: Mapping[str, str], notes: Mapping[str, Iterable[str]] | None = None
                   ) -> dict[str, Any]:
    """Each exposed machine with its ports, services and the path that admits each, the
    machines that could not be decided, and notes."""
    exposures = list(exposures)
    assets = {a.asset_id: a for a in snapshot.assets}
    set_names = {rs.resource_id: rs.name or rs.resource_id for rs in snapshot.rule_sets}
    by_asset: dict[str, list[Exposure]] = {}
    for e in exposures:
        by_asset.setdefault(e.asset_id, []).append(e)
    shown = []
    for asset_id in sorted(by_asset, key=lambda a: (_exposure_rank(by_asset[a]),
                                                    assets[a].name if a in assets else a, a)):
        items = sorted(by_asset[asset_id], key=lambda e: (
            e.source != "internet", e.family, e.protocol, e.ports.intervals))
        asset = assets.get(asset_id)
        services = list(dict.fromkeys(s for e in items for s in service_names(e.services)))
        shown.append({
            "asset_id": asset_id,
            "name": (asset.name if asset else "") or asset_id,
            "cloud": cloud_name(items[0].provider),
            "account": items[0].account,
            "region": items[0].region or "global",
            "addresses": ", ".join((*asset.public_addresses, *asset.ipv6_addresses))
            if asset else "",
            "instance": (asset.instance_id or "") if asset else "",
            "internet": any(e.source == "internet" for e in items),
            "services": services_text(services),
            "rows": [{
                "source": "whole internet" if e.source == "internet" else "broad range",
                "source_css": e.source,
                "family": "IPv6" if e.family == "ipv6" else "IPv4",
                "protocol": e.protocol,
                "ports": str(e.ports),
                "services": ", ".join(service_names(e.services)),
                "via": VIA_NAMES.get(e.via, humanize(e.via)),
                "path": [_step(s, set_names) for s in e.path if s.decision != "no_match"],
            } for e in items],
        })
    names = {a.asset_id: a.name or a.asset_id for a in snapshot.assets}
    machines: dict[str, set[str]] = {}
    for e in exposures:
        for key in e.services:
            machines.setdefault(key, set()).add(e.asset_id)
    top = min(machines, key=lambda k: (-len(machines[k]), k)) if machines else None
    return {
        "assets": shown,
        "top_service": (service_names([top])[0], len(machines[top])) if top else None,
        "internet_assets": sum(1 for a in shown if a["internet"]),
        "unknown": [{"name": names.get(a, a), "asset_id": a, "reason": reason}
                    for a, reason in sorted(unknown.items())],
        "notes": [{"name": names.get(a, a), "note": note}
                  for a, items in sorted((notes or {}).items()) for note in items],
        "checked": len(snapshot.assets),
    }
