"""An allow rule that never takes effect: earlier deny rules take all of its traffic."""

from __future__ import annotations

from policies.registry import rule_set_check
from policies.shadow import shadow_judgements


@rule_set_check(
    id="CW-SHADOW-001",
    title="Allow rule never takes effect (shadowed by earlier deny rules)",
    severity="low",
    providers=["aws", "azure", "gcp"],
    rationale="In first-match rule sets (network ACLs, NSGs, GCP firewall rules and policies) "
              "an allow below a deny that covers it is dead: whoever relies on it is "
              "mistaken, and whoever later removes the deny opens it without noticing.",
    remediation={"summary": "Delete the dead allow, or reorder the rules if it was meant to "
                            "win.",
                 "cli": "aws ec2 delete-network-acl-entry ...; az network nsg rule update "
                        "--priority N ...; gcloud compute firewall-rules update NAME "
                        "--priority=N"},
    compliance={"nist-800-53": ["CM-6"], "pci-dss-4.0": ["1.2.1"]},
)
def shadowed_allow(ctx, meta, rule_set):
    return shadow_judgements(ctx, meta, "shadowed_allow", rule_set)
