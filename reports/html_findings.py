"""Findings as the HTML report lists them: one row per rule (or per rule set or machine where no
single rule is at fault) with every policy, control and severity it triggers, and each
finding's evidence and remediation behind it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from reports.html_view import SEVERITIES, cloud_name, humanize, value_text
from reports.summary import ordered_findings
from scanner.drift.describe import describe_rule
from scanner.model import Finding, Severity

# Evidence keys already shown in the row itself.
_SHOWN_IN_ROW = {"exposure"}
# Rows whose findings carry their evidence and remediation in the page (a few megabytes); an
# estate with more keeps the page light enough to open, and says so.
DETAIL_LIMIT = 2000


def _group_key(f: Finding) -> tuple[str, ...]:
    subject = f"rule:{f.rule.identity()}" if f.rule else f"asset:{f.asset_id or ''}"
    return (f.provider, f.account, f.region, f.resource_id, subject)


def _controls(compliance: Mapping[str, Iterable[str]], versions: bool = True) -> str:
    """``cis-aws-3.0 5.2; aws-fsbp EC2.13``; ``versions`` keeps a framework's ``@version``."""
    return "; ".join(f"{framework if versions else framework.split('@')[0]} {', '.join(controls)}"
                     for framework, controls in sorted(compliance.items()))


def _exposure(findings: list[Finding], exposed: set[str]) -> str:
    """``live`` when traffic a finding is about reaches a machine, ``latent`` when the rule
    admits it but nothing is reachable through it, "" when the policy does not say."""
    states = {f.evidence.get("exposure") for f in findings}
    if "live" in states or any(f.asset_id in exposed for f in findings if not f.rule):
        return "live"
    return "latent" if "latent" in states else ""


def _subject(f: Finding, asset_names: Mapping[str, str]) -> dict[str, str]:
    if f.rule is not None:
        rule = f.rule
        label = rule.native_id or ""
        return {
            "rule_id": label,
            "rule_name": rule.name if rule.name and rule.name != label else "",
            "rule_text": describe_rule(rule),
            "description": rule.description,
        }
    if f.asset_id:
        return {"rule_id": "", "rule_name": "",
                "rule_text": f"machine {asset_names.get(f.asset_id, f.asset_id)}",
                "description": ""}
    return {"rule_id": "", "rule_name": "", "rule_text": "the rule set as a whole",
            "description": ""}


def _evidence(items: list[Finding]) -> tuple[list[dict[str, str]], list[list[dict[str, str]]]]:
    """What every finding of a row says alike (shown once), and what each says besides."""
    shown = [{k: value_text(v) for k, v in sorted(f.evidence.items()) if k not in _SHOWN_IN_ROW}
             for f in items]
    common = dict(shown[0]) if len(shown) > 1 else {}
    for other in shown[1:]:
        common = {k: v for k, v in common.items() if other.get(k) == v}
    own = [[{"key": humanize(k), "value": v} for k, v in each.items() if k not in common]
           for each in shown]
    return [{"key": humanize(k), "value": v} for k, v in common.items()], own


def _finding(f: Finding, evidence: list[dict[str, str]], detailed: bool) -> dict[str, Any]:
    return {
        "id": f.finding_id,
        "policy_id": f.policy_id,
        "title": f.title,
        "severity": f.severity.value,
        "evidence": evidence if detailed else [],
        "remediation": f.remediation if detailed else "",
        "attack": ", ".join(f.attack),
        "controls": _controls(f.compliance),
    }


def finding_groups(findings: Iterable[Finding], account_names: Mapping[tuple[str, str], str],
                   asset_names: Mapping[str, str], exposed: set[str],
                   detail_limit: int = DETAIL_LIMIT) -> list[dict[str, Any]]:
    """One row per rule (or rule set, or machine), most severe first. The first
    ``detail_limit`` rows carry every finding's evidence and remediation; past that a page
    would grow too heavy for a browser to open, so the rest name their findings (by id, for
    ``--format json``) and policies, without the evidence."""
    groups: dict[tuple[str, ...], list[Finding]] = {}
    for f in ordered_findings(findings):
        groups.setdefault(_group_key(f), []).append(f)
    rows = []
    for number, (key, items) in enumerate(groups.items()):
        detailed = number < detail_limit
        common, own = _evidence(items) if detailed else ([], [[] for _ in items])
        first = items[0]
        worst = max((f.severity for f in items), key=lambda s: s.rank)
        policies: dict[str, dict[str, Any]] = {}
        for f in items:
            entry = policies.setdefault(f.policy_id, {
                "policy_id": f.policy_id, "title": f.title, "severity": f.severity.value,
                "rank": f.severity.rank, "compliance": {}})
            if f.severity.rank > entry["rank"]:
                entry["severity"], entry["rank"] = f.severity.value, f.severity.rank
            for framework, controls in f.compliance.items():
                known = entry["compliance"].setdefault(framework, [])
                known.extend(c for c in controls if c not in known)
        ordered = sorted(policies.values(), key=lambda p: (-p["rank"], p["policy_id"]))
        account = account_names.get((first.provider, first.account), "")
        rows.append({
            "key": "/".join(key),
            "severity": worst.value,
            "rank": worst.rank,
            "provider": first.provider,
            "cloud": cloud_name(first.provider),
            "account": first.account,
            "account_name": account,
            "region": first.region or "global",
            "resource_name": first.resource_name or first.resource_id,
            "resource_id": first.resource_id,
            **_subject(first, asset_names),
            "exposure": _exposure(items, exposed),
            "policies": [{**p, "controls": _controls(p["compliance"], versions=False)}
                         for p in ordered],
            "detailed": detailed,
            "evidence": common,
            "findings": [_finding(f, e, detailed) for f, e in zip(items, own, strict=True)],
        })
    return rows


def filters(groups: list[dict[str, Any]], titles: Mapping[str, str]) -> dict[str, Any]:
    """The choices of the filter bar: only values that occur."""
    accounts = sorted({(g["cloud"], g["account"], g["account_name"]) for g in groups})
    policies = sorted({p["policy_id"] for g in groups for p in g["policies"]})
    return {
        "severities": [{"rank": s.rank, "name": s.value} for s in SEVERITIES],
        "clouds": sorted({(g["provider"], g["cloud"]) for g in groups}),
        "accounts": [{"value": a, "label": f"{c} {a}" + (f" ({n})" if n else "")}
                     for c, a, n in accounts],
        "policies": [{"value": p, "label": f"{p} {titles.get(p, '')}".strip()}
                     for p in policies],
    }


def suppressed(findings: Iterable[Finding]) -> list[dict[str, Any]]:
    return [{
        "severity": f.severity.value,
        "policy_id": f.policy_id,
        "title": f.title,
        "resource": f.resource_name or f.resource_id,
        "rule": f.rule.native_id or describe_rule(f.rule) if f.rule else "",
        "why": value_text(dict(f.suppression)) if f.suppression else "",
    } for f in ordered_findings(f for f in findings if f.suppressed)]


def severity_counts(findings: Iterable[Finding]) -> dict[str, int]:
    counts = {s.value: 0 for s in Severity}
    for f in findings:
        counts[f.severity.value] += 1
    return counts
