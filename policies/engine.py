"""Run policies over a snapshot: every rule set is visited once for all pack policies, its
rules' admitted traffic computed once and shared, then Python checks run on the context."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date

from policies.context import EvaluationContext
from policies.matching import judge_rule_set
from policies.packs import Pack, builtin_packs, check_unique, load_pack
from policies.policy import Policy, PolicySettings
from policies.registry import python_checks
from policies.suppressions import apply_suppressions, load_suppressions
from scanner.errors import ConfigError
from scanner.model import Finding, Snapshot


def all_packs(settings: PolicySettings | None = None) -> list[Pack]:
    settings = settings or PolicySettings()
    return builtin_packs() + [load_pack(path) for path in settings.extra_packs]


def available_policies(settings: PolicySettings | None = None,
                       packs: Sequence[Pack] | None = None) -> list[Policy]:
    """Built-in checks and packs plus the user's packs, before --only/--skip."""
    packs = all_packs(settings) if packs is None else packs
    policies = python_checks() + [p for pack in packs for p in pack.policies]
    check_unique(policies)
    return sorted(policies, key=lambda p: p.policy_id)


def select_policies(settings: PolicySettings, packs: Sequence[Pack] | None = None
                    ) -> list[Policy]:
    policies = available_policies(settings, packs)
    known = {p.policy_id for p in policies}
    from fnmatch import fnmatchcase

    for pattern in (*settings.only, *settings.skip):
        if not any(fnmatchcase(pid.upper(), pattern.upper()) for pid in known):
            from policies.schema import did_you_mean

            raise ConfigError(f"no policy matches {pattern!r}",
                              did_you_mean(pattern, known)
                              or "see `cloudwall policies list`")
    return settings.selected(policies)


def check_settings(settings: PolicySettings) -> None:
    """Read every pack and the suppressions file now, so a typo fails before any cloud call."""
    select_policies(settings)
    if settings.suppressions:
        load_suppressions(settings.suppressions)


def evaluate(snapshot: Snapshot, policies: Iterable[Policy],
             settings: PolicySettings | None = None, exposure: object = None) -> list[Finding]:
    """Findings of ``policies`` on ``snapshot`` (no suppressions applied)."""
    ctx = EvaluationContext(snapshot, settings, exposure)
    policies = list(policies)
    packed = [p for p in policies if p.match is not None]
    findings: list[Finding] = []
    for rule_set in snapshot.rule_sets:
        for policy in packed:
            meta, match = policy.meta, policy.match
            if meta.applies_to(rule_set.provider) and match.accepts_rule_set(rule_set):
                findings.extend(judge_rule_set(match, meta, ctx, rule_set))
        ctx.release(rule_set)
    for policy in policies:
        if policy.match is None:
            findings.extend(policy.evaluate(ctx, policy.meta))
    return sorted(findings, key=_order)


def _order(finding: Finding) -> tuple:
    return (-finding.severity.rank, finding.provider, finding.policy_id, finding.resource_id,
            finding.rule.identity() if finding.rule else finding.asset_id or "")


def evaluate_snapshot(snapshot: Snapshot, settings: PolicySettings | None = None,
                      exposure: object = None, today: date | None = None,
                      selected: Sequence[Policy] | None = None
                      ) -> tuple[list[Finding], list[dict]]:
    """Everything a scan does with policies: select (unless ``selected`` is given), evaluate,
    suppress.

    Returns the findings (suppressed ones marked) and the notices about suppressions
    (expired entries, entries that matched nothing).
    """
    settings = settings or PolicySettings()
    suppressions = load_suppressions(settings.suppressions) if settings.suppressions else []
    if selected is None:
        selected = select_policies(settings)
    findings = evaluate(snapshot, selected, settings, exposure)
    return apply_suppressions(findings, suppressions, today)
