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
    for network in ctx.snapshot.networks:
        if network.provider == "gcp" and network.is_default:
            prepopulated = sorted({
                r.name for rs in ctx.snapshot.rule_sets if rs.network == network.network_id
                for r in rs.rules if r.extra.get("prepopulated")})
            yield network_finding(meta, network, {"prepopulated_rules": prepopulated})
