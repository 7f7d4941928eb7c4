"""GCP: a legacy (pre-subnet) network exists (SCC LEGACY_NETWORK, CIS GCP 3.2)."""

from __future__ import annotations

from policies.findings import network_finding
from policies.registry import check


@check(
    id="CW-GCP-004",
    subject="network",
    title="A legacy network exists",
    severity="medium",
    providers=["gcp"],
    rationale="Legacy networks have one global IPv4 range and no subnets, so they cannot have "
              "per-subnet flow logs or private access and cannot be segmented.",
    remediation={"summary": "Migrate to a VPC network with subnets and delete the legacy one."},
    compliance={"gcp-scc": ["LEGACY_NETWORK"], "cis-gcp": ["3.2"], "nist-800-53": ["CM-6"]},
)
def gcp_legacy_network(ctx, meta):
    for network in ctx.snapshot.networks:
        if network.provider == "gcp" and network.extra.get("legacy"):
            yield network_finding(meta, network, {"ipv4_range": list(network.cidrs)})
