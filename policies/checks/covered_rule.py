"""A rule fully covered by other rules of the same rule set: removing it changes nothing."""

from __future__ import annotations

from policies.registry import rule_set_check
from policies.shadow import shadow_judgements


@rule_set_check(
    id="CW-SHADOW-003",
    title="Rule is fully covered by other rules",
    severity="info",
    providers=["aws", "azure", "gcp"],
    rationale="Redundant rules make rule sets longer than they need to be and reviews harder; "
              "PCI DSS asks that rule sets be maintained so that each rule has a purpose.",
    remediation={"summary": "Delete the redundant rule after checking the covering rules are "
                            "the intended ones."},
    compliance={"pci-dss-4.0": ["1.2.1"], "nist-800-53": ["CM-6"]},
)
def covered_rule(ctx, meta, rule_set):
    return shadow_judgements(ctx, meta, "covered", rule_set)
