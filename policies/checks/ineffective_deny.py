"""A deny rule that does not do what it says: earlier allows decide its traffic first, or the
rules after it deny the same traffic anyway."""

from __future__ import annotations

from policies.registry import rule_set_check
from policies.shadow import shadow_judgements
from scanner.model import Severity


def _severity(verdict):
    # A deny that earlier allows override gives false assurance; one that changes nothing is
    # only clutter.
    return Severity.MEDIUM if "allow" in verdict.reason else Severity.INFO


@rule_set_check(
    id="CW-SHADOW-002",
    title="Deny rule never takes effect",
    severity="medium",
    providers=["aws", "azure", "gcp"],
    rationale="A deny placed below an allow that covers its traffic blocks nothing: the traffic "
              "it is meant to stop is admitted first. A deny whose traffic the following rules "
              "deny anyway changes nothing and hides the real policy.",
    remediation={"summary": "Move the deny above the allows it should override (lower rule "
                            "number / priority), or delete it if it is redundant."},
    compliance={"nist-800-53": ["CM-6", "SC-7"], "pci-dss-4.0": ["1.2.1"]},
    attack=["T1562.007"],
)
def ineffective_deny(ctx, meta, rule_set):
    return shadow_judgements(ctx, meta, "ineffective_deny", rule_set, _severity)
