"""Azure: a subnet with no network security group."""

from __future__ import annotations

from policies.findings import subnet_finding
from policies.registry import check

# Subnets Azure reserves for its own services, where an NSG is not supported or not wanted.
EXEMPT = {"gatewaysubnet", "azurefirewallsubnet", "azurefirewallmanagementsubnet",
          "azurebastionsubnet", "routeserversubnet"}


@check(
    id="CW-AZ-004",
    subject="subnet",
    title="Subnet is not associated with a network security group",
    severity="medium",
    providers=["azure"],
    rationale="Without a subnet NSG every NIC in the subnet depends on its own NSG alone, and a "
              "NIC created without one is unfiltered.",
    remediation={"summary": "Associate an NSG with the subnet.",
                 "cli": "az network vnet subnet update -g RG --vnet-name VNET -n SUBNET "
                        "--network-security-group NSG"},
    compliance={"azure-defender": ["subnet-nsg"], "nist-800-53": ["SC-7"],
                "pci-dss-4.0": ["1.4.1"]},
)
def azure_subnet_without_nsg(ctx, meta):
    for subnet in ctx.snapshot.subnets:
        if subnet.provider != "azure" or subnet.rule_set_ids:
            continue
        if subnet.name.lower() in EXEMPT:
            continue
        yield subnet_finding(meta, subnet, {"cidrs": list(subnet.cidrs),
                                            "network": subnet.network})
