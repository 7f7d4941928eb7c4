"""Azure: a network interface with a public IP and no NSG on it or on its subnet."""

from __future__ import annotations

from policies.findings import asset_finding
from policies.registry import check


@check(
    id="CW-AZ-003",
    subject="asset",
    title="Internet-facing virtual machine is not protected by a network security group",
    severity="high",
    providers=["azure"],
    rationale="With no NSG on the NIC or its subnet nothing filters what reaches the public "
              "address; a Basic SKU public IP is then open on every port.",
    remediation={"summary": "Associate an NSG with the NIC or its subnet, allowing only what the "
                            "VM serves.",
                 "cli": "az network nic update -g RG -n NIC --network-security-group NSG"},
    compliance={"azure-defender": ["internet-facing-vm-nsg"], "nist-800-53": ["SC-7"],
                "pci-dss-4.0": ["1.4.1"]},
    attack=["T1562.007"],
)
def azure_vm_without_nsg(ctx, meta):
    subnets = ctx.subnets_by_id
    for asset in ctx.snapshot.assets:
        if asset.provider != "azure" or asset.rule_set_ids:
            continue
        public = asset.public_addresses or asset.extra.get("public_ip_ids")
        if not public:
            continue
        subnet = subnets.get(asset.subnet or "")
        if subnet is None or subnet.rule_set_ids:
            continue  # guarded at the subnet, or its subnet was not read (unknown)
        yield asset_finding(meta, asset, {
            "public_addresses": list(asset.public_addresses),
            "public_ip_sku": asset.extra.get("public_ip_sku"),
            "subnet": subnet.subnet_id,
            "virtual_machine": asset.instance_id,
        })
