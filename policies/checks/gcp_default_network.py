"""GCP: the auto-created ``default`` network exists (SCC DEFAULT_NETWORK, CIS GCP 3.1)."""

from __future__ import annotations

from policies.findings import network_finding
from policies.registry import check


@check(
    id="CW-GCP-003",
    subject="network",
    title="The default network exists",
    severity="medium",
    providers=["gcp"],
    rationale="The default network comes with permissive pre-populated rules "
              "(default-allow-ssh and default-allow-rdp from 0.0.0.0/0, default-allow-internal) "
              "and subnets in every region; production workloads should use networks built "
              "for them.",
    remediation={"summary": "Move workloads to a purpose-built network and delete the default "
                            "one.",
                 "cli": "gcloud compute networks delete default"},
    compliance={"gcp-scc": ["DEFAULT_NETWORK"], "cis-gcp": ["3.1"], "nist-800-53": ["CM-6"],
                "pci-dss-4.0": ["1.2.1"]},
    attack=["T1562.007"],
)
def gcp_default_network(ctx, meta):
    defaults = [n for n in ctx.snapshot.networks if n.provider == "gcp" and n.is_default]
    if not defaults:
        return
    # One pass over the rule sets for all default networks (not one per network).
    prepopulated: dict[str, set[str]] = {n.network_id: set() for n in defaults}
    for rule_set in ctx.snapshot.rule_sets:
        names = prepopulated.get(rule_set.network)
        if names is not None:
            names.update(r.name for r in rule_set.rules if r.extra.get("prepopulated"))
    for network in defaults:
        yield network_finding(meta, network,
                              {"prepopulated_rules": sorted(prepopulated[network.network_id])})
