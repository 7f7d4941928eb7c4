"""Python checks: policies a pack cannot say, registered with the same metadata as pack policies.

    @check(id="CW-AZ-IPFWD", title="...", severity="medium", providers=["azure"],
           compliance={"azure-defender": ["ip-forwarding"]}, attack=["T1562.007"], ...)
    def ip_forwarding(ctx, meta):
        yield asset_finding(meta, asset, {...})

A check that judges each rule set on its own content (no other part of the snapshot) is declared
with ``rule_set_check`` and written as ``judge(ctx, meta, rule_set) -> Iterator[Judgement]``: the
engine then judges each distinct rule set once (``policies.reuse``).

Metadata goes through the same validation as a pack's (``packs.parse_meta``), so a check with
a misspelt control id fails at import, not in a compliance report.
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil
from typing import Any

from policies.policy import Policy

# What a check judges, one of each: the coverage reporters list (policies.coverage).
CHECK_SUBJECTS = ("rule", "rule_set", "asset", "subnet", "network", "ip_list")
CHECKS: dict[str, Policy] = {}
_LOADED = False


def check(**metadata: Any):
    """Register the decorated ``evaluate(ctx, meta) -> Iterator[Finding]`` as a policy."""

    def register(function):
        _register(metadata, function, function)
        return function

    return register


def rule_set_check(**metadata: Any):
    """Register the decorated ``judge(ctx, meta, rule_set) -> Iterator[Judgement]``: a check
    whose findings on a rule set follow from that rule set's content alone."""

    def register(function):
        def evaluate(ctx, meta):
            for rule_set in ctx.snapshot.rule_sets:
                if meta.applies_to(rule_set.provider):
                    for judged in function(ctx, meta, rule_set):
                        yield judged.finding

        _register(metadata, function, evaluate, judge_rule_set=function)
        return function

    return register


def _register(metadata: dict[str, Any], function, evaluate, judge_rule_set=None) -> None:
    from policies.packs import meta_from_mapping

    fields = dict(metadata)
    needs_exposure = bool(fields.pop("needs_exposure", False))
    subject = fields.pop("subject", "rule")
    if subject not in CHECK_SUBJECTS:
        raise ValueError(f"check {fields.get('id')}: unknown subject {subject!r}")
    meta = meta_from_mapping(fields, source=f"python:{function.__module__}")
    meta = dataclasses.replace(meta, subject=subject)
    if meta.policy_id in CHECKS:
        raise ValueError(f"check {meta.policy_id} is registered twice")
    CHECKS[meta.policy_id] = Policy(meta, evaluate, kind="python",
                                    definition={"module": function.__module__,
                                                "function": function.__name__},
                                    needs_exposure=needs_exposure,
                                    judge_rule_set=judge_rule_set)


def python_checks() -> list[Policy]:
    """Every built-in check (one module each under ``policies/checks/``)."""
    global _LOADED
    if not _LOADED:
        import policies.checks as package

        for module in sorted(m.name for m in pkgutil.iter_modules(package.__path__)):
            importlib.import_module(f"{package.__name__}.{module}")
        _LOADED = True
    return list(CHECKS.values())
