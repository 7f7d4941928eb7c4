"""Azure: IP forwarding is enabled on a network interface."""

from __future__ import annotations

from policies.findings import asset_finding
from policies.registry import check


@check(
    id="CW-AZ-005",
    subject="asset",
    title="IP forwarding is enabled on a network interface",
    severity="medium",
    providers=["azure"],
    rationale="A NIC with IP forwarding accepts and forwards traffic not addressed to it, so a "
              "VM can become a router around the network's security groups; only network "
              "virtual appliances need it.",
    remediation={"summary": "Disable IP forwarding unless the VM is a network appliance.",
                 "cli": "az network nic update -g RG -n NIC --ip-forwarding false"},
    compliance={"azure-defender": ["ip-forwarding"], "nist-800-53": ["SC-7"],
                "pci-dss-4.0": ["1.4.1"]},
    attack=["T1562.007"],
)
def azure_ip_forwarding(ctx, meta):
    for asset in ctx.snapshot.assets:
        if asset.provider == "azure" and asset.extra.get("ip_forwarding") is True:
            yield asset_finding(meta, asset, {"virtual_machine": asset.instance_id,
                                              "private_addresses": list(asset.private_addresses)})
