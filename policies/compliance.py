"""Compliance reports: every control of each framework with pass, fail or not assessed, and why.

A control passes only when every policy mapped to it ran, the snapshot covers its cloud, and
every scope of that cloud was read completely; a failed or partial scope makes it *not
assessed* (``scope failed``), never a pass. Suppressed findings do not fail a control but are
listed with it.

Below each assessed control, every resource its policies judge (rule sets for rule and rule
set policies, machines, subnets, networks or detection IP lists for the checks about those) is
listed with its own status, so an auditor sees what passed, not only what failed. The result is
a ``scanner.compliance_model.ComplianceReport``; reporters depend on that model only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from policies.conditions import resolve_kinds
from policies.policy import ControlRef, Policy
from scanner.compliance_model import (
    FAIL,
    NOT_ASSESSED,
    PASS,
    SUPPRESSED,
    ComplianceReport,
    Control,
    ControlResult,
    Framework,
    FrameworkResult,
    ResourceResult,
)
from scanner.model import Finding, Scope, Snapshot, utc_timestamp

# (provider, account, region, resource_id, resource_name, kind)
Resource = tuple[str, str, str, str, str, str]


def _mapped(framework: Framework, control: Control,
            policies: Iterable[Policy]) -> list[tuple[Policy, ControlRef]]:
    return [(p, ref) for p in policies for ref in p.meta.compliance
            if ref.framework == framework.framework_id and ref.version == framework.version
            and ref.control == control.control_id]


class _Universe:
    """What each policy judges in one snapshot, computed once per policy for every control."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._by_policy: dict[str, list[Resource]] = {}
        self._scope_status: dict[tuple[str, str, str], str] = {}

    def subjects(self, policy: Policy) -> list[Resource]:
        found = self._by_policy.get(policy.policy_id)
        if found is None:
            found = self._by_policy[policy.policy_id] = list(self._subjects(policy))
        return found

    def _subjects(self, policy: Policy) -> Iterator[Resource]:
        snap, meta = self.snapshot, policy.meta
        clouds = set(meta.providers)
        if meta.subject in ("rule", "rule_set"):
            kinds, default = _scoping(policy)
            for rs in snap.rule_sets:
                if rs.provider not in clouds or (kinds and rs.kind.value not in kinds):
                    continue
                if default is None or rs.is_default is default:
                    yield (rs.provider, rs.account, rs.region, rs.resource_id, rs.name,
                           rs.kind.value)
        elif meta.subject == "asset":
            for a in snap.assets:
                if a.provider in clouds:
                    yield a.provider, a.account, a.region, a.asset_id, a.name, a.kind
        elif meta.subject == "subnet":
            for s in snap.subnets:
                if s.provider in clouds:
                    yield s.provider, s.account, s.region, s.subnet_id, s.name, "subnet"
        elif meta.subject == "network":
            for n in snap.networks:
                if n.provider in clouds:
                    yield n.provider, n.account, n.region, n.network_id, n.name, "network"
        elif meta.subject == "ip_list":
            for i in snap.ip_lists:
                if i.provider in clouds:
                    yield i.provider, i.account, i.region, i.list_id, i.name, "ip_list"

    def scope_status(self, provider: str, account: str, region: str) -> str:
        key = (provider, account, region)
        status = self._scope_status.get(key)
        if status is None:
            status = self._scope_status[key] = self.snapshot.scope_status(Scope(*key))
        return status


def _scoping(policy: Policy) -> tuple[frozenset[str], bool | None]:
    """The rule sets a pack policy is about: its ``rule_set_kind`` and ``default_rule_set``
    conditions. Its other conditions (``attached: false``, ports, sources) are the judgement,
    so a rule set they clear is a pass, not out of scope."""
    match = (policy.definition or {}).get("match") or {}
    if not isinstance(match, dict):
        return frozenset(), None
    kinds = match.get("rule_set_kind") or ()
    kinds = resolve_kinds(tuple(kinds) if isinstance(kinds, list) else (str(kinds),)) \
        if kinds else frozenset()
    default = match.get("default_rule_set")
    return kinds, default if isinstance(default, bool) else None


def _applies(ref: ControlRef, resource: Resource) -> bool:
    """A conditional mapping (``when``) narrows which resources the control is judged on."""
    when = ref.when
    if when.providers and resource[0] not in when.providers:
        return False
    return not when.kinds or resource[5] in when.kinds


def _finding_reason(findings: Sequence[Finding]) -> str:
    parts = []
    for f in findings:
        rule = f.rule
        subject = (rule.name or rule.native_id or rule.identity()) if rule else ""
        parts.append(f"{f.policy_id} {f.title}" + (f" (rule {subject})" if subject else ""))
    return "; ".join(dict.fromkeys(parts))


def _suppressed_reason(findings: Sequence[Finding]) -> str:
    parts = []
    for f in findings:
        entry = f.suppression or {}
        parts.append(f"{f.policy_id} suppressed: {entry.get('reason', '')} (owner "
                     f"{entry.get('owner', '')}, until {entry.get('expires', '')})")
    return "; ".join(dict.fromkeys(parts))


def _resources(mapped: list[tuple[Policy, ControlRef]], hits: Sequence[Finding],
               universe: _Universe) -> tuple[ResourceResult, ...]:
    resources: dict[tuple[str, str], Resource] = {}
    for policy, ref in mapped:
        for resource in universe.subjects(policy):
            if _applies(ref, resource):
                resources.setdefault((resource[0], resource[3]), resource)
    by_resource: dict[tuple[str, str], list[Finding]] = {}
    for f in hits:
        key = (f.provider, f.resource_id)
        by_resource.setdefault(key, []).append(f)
        # A finding on something the universe does not list (a scope, an odd subject) is a row.
        resources.setdefault(key, (f.provider, f.account, f.region, f.resource_id,
                                   f.resource_name, ""))
    names = ", ".join(dict.fromkeys(p.policy_id for p, _ in mapped))
    out = []
    for key, resource in sorted(resources.items(), key=lambda kv: (kv[1][:4], kv[1][4])):
        findings = by_resource.get(key, [])
        active = [f for f in findings if not f.suppressed]
        quiet = [f for f in findings if f.suppressed]
        ids = tuple(f.finding_id for f in findings)
        if active:
            status, reason = FAIL, _finding_reason(active)
        elif quiet:
            status, reason = SUPPRESSED, _suppressed_reason(quiet)
        else:
            scope = universe.scope_status(resource[0], resource[1], resource[2])
            if scope != "ok":
                label = "/".join(x for x in resource[:3] if x)
                status, reason = NOT_ASSESSED, (f"scope failed: {label} ({scope}) could not be "
                                                "read completely")
            else:
                status, reason = PASS, f"no finding from {names}"
        out.append(ResourceResult(*resource, status=status, reason=reason, finding_ids=ids))
    return tuple(out)


def _scope_problems(snapshot: Snapshot, providers: set[str]) -> list[dict[str, str]]:
    problems = []
    for scope in snapshot.scopes:
        if scope.provider in providers:
            status = snapshot.scope_status(scope)
            if status != "ok":
                problems.append({**scope.to_dict(), "status": status})
    return problems


def _label(scope: dict[str, str]) -> str:
    where = "/".join(x for x in (scope["provider"], scope["account"], scope["region"]) if x)
    return f"{where} ({scope['status']})"


def _judge(framework: Framework, control: Control, available: Sequence[Policy],
           selected_ids: set[str], in_snapshot: set[str], hits: Sequence[Finding],
           universe: _Universe) -> ControlResult:
    mapped = _mapped(framework, control, available)
    ids = tuple(dict.fromkeys(p.policy_id for p, _ in mapped))
    if not control.collected:
        return ControlResult(control, NOT_ASSESSED, f"data not collected: {control.reason}", ids)
    if not mapped:
        return ControlResult(control, NOT_ASSESSED,
                             "out of scope: no policy assesses this control")
    if not all(pid in selected_ids for pid in ids):
        skipped = ", ".join(sorted(set(ids) - selected_ids))
        return ControlResult(control, NOT_ASSESSED, f"out of scope: policies not run ({skipped})",
                             ids)
    providers = set(framework.providers) & {pr for p, _ in mapped for pr in p.meta.providers}
    if not providers & in_snapshot:
        return ControlResult(
            control, NOT_ASSESSED,
            f"out of scope: the snapshot has no {'/'.join(sorted(providers))} scope", ids)
    active = tuple(f for f in hits if not f.suppressed)
    quiet = tuple(f for f in hits if f.suppressed)
    problems = _scope_problems(universe.snapshot, providers)
    resources = _resources([(p, r) for p, r in mapped if set(p.meta.providers) & providers],
                           hits, universe)
    unread = tuple(problems)
    if active:
        return ControlResult(control, FAIL, f"{len(active)} failing", ids, active, quiet,
                             resources, unread)
    if problems:
        return ControlResult(control, NOT_ASSESSED, "scope failed: "
                             + "; ".join(_label(p) for p in problems)
                             + " could not be read completely", ids, (), quiet, resources, unread)
    reason = f"{len(quiet)} suppressed" if quiet else ""
    return ControlResult(control, PASS, reason, ids, (), quiet, resources, unread)


def assess_framework(framework: Framework, snapshot: Snapshot, findings: Sequence[Finding],
                     available: Sequence[Policy], selected: Sequence[Policy],
                     universe: _Universe | None = None) -> FrameworkResult:
    universe = universe or _Universe(snapshot)
    selected_ids = {p.policy_id for p in selected}
    in_snapshot = {s.provider for s in snapshot.scopes}
    # Findings by the controls of this framework they fail, in one pass.
    by_control: dict[str, list[Finding]] = {}
    for finding in findings:
        for control_id in dict.fromkeys(finding.compliance.get(framework.key, ())):
            by_control.setdefault(control_id, []).append(finding)
    results = tuple(
        _judge(framework, control, available, selected_ids, in_snapshot,
               by_control.get(control.control_id, ()), universe)
        for control in framework.controls)
    return FrameworkResult(framework, results)


def assess(frameworks: Framework | Sequence[Framework], snapshot: Snapshot,
           findings: Sequence[Finding], available: Sequence[Policy],
           selected: Sequence[Policy], *, generated_at: str = "",
           tool_version: str = "") -> ComplianceReport:
    """Judge every control of each framework on one snapshot and its findings."""
    if isinstance(frameworks, Framework):
        frameworks = (frameworks,)
    universe = _Universe(snapshot)
    from reports.summary import scope_rows  # the scope rows every document shows

    scopes: list[dict[str, Any]] = scope_rows(snapshot)
    return ComplianceReport(
        snapshot_id=snapshot.snapshot_id,
        taken_at=utc_timestamp(snapshot.taken_at),
        frameworks=tuple(assess_framework(fw, snapshot, findings, available, selected, universe)
                         for fw in frameworks),
        generated_at=generated_at,
        tool_version=tool_version,
        scopes=tuple(scopes),
    )
