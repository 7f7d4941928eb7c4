"""A sensitive service actually reachable from the internet, through every layer.

Built on the exposure analysis: the rules of every layer on the way (route, network ACL,
security group; subnet and NIC NSG; hierarchical policy, network policy, VPC rules) all let the
traffic through. It ranks one step above the rule-level findings, which say a rule is
permissive; this says something is listening behind it.
"""

from __future__ import annotations

from policies.findings import asset_finding
from policies.registry import check
from scanner.catalogue import SERVICES_BY_KEY
from scanner.model import Severity
from scanner.netmath import PortSet

_NOT_SENSITIVE = {"http", "https"}
_ONE_UP = {Severity.INFO: Severity.LOW, Severity.LOW: Severity.MEDIUM,
           Severity.MEDIUM: Severity.HIGH, Severity.HIGH: Severity.CRITICAL,
           Severity.CRITICAL: Severity.CRITICAL}


@check(
    id="CW-EXP-001",
    subject="asset",
    title="Sensitive service reachable from the internet",
    severity="critical",
    providers=["aws", "azure", "gcp"],
    rationale="Every layer between the internet and this machine admits a sensitive service "
              "from the port catalogue: it is not a permissive rule in theory, it is an open "
              "door in practice.",
    remediation={"summary": "Close the service at the layer you own (the rule named in the "
                            "path), or move the machine off its public address.",
                 "console": "Follow the finding's path: each step names the rule that admitted "
                            "the traffic."},
    compliance={
        "aws-fsbp": [{"control": "EC2.19", "when": {"services": [
            "ftp", "ssh", "telnet", "smtp", "pop3", "msrpc", "imap", "smb", "mssql",
            "web_admin", "mysql", "rdp", "postgresql", "vnc", "kibana", "elasticsearch"]}}],
        "azure-defender": [{"control": "close-management-ports",
                            "when": {"services": ["ssh", "rdp", "winrm"]}}],
        "nist-800-53": ["SC-7", "CM-7"],
        "pci-dss-4.0": ["1.3.1", "1.4.2"],
    },
    attack=["T1562.007"],
    needs_exposure=True,
)
def exposed_service(ctx, meta):
    analysis = ctx.exposure
    if analysis is None:
        return
    assets = ctx.assets_by_id
    for asset_id in analysis.exposed_assets():
        asset = assets.get(asset_id)
        if asset is None or not meta.applies_to(asset.provider):
            continue
        services: list[str] = []
        ports: dict[str, dict[str, PortSet]] = {}
        rules: list[dict[str, str]] = []
        for exposure in analysis.for_asset(asset_id):
            if exposure.source != "internet":
                continue
            hits = [s for s in exposure.services if s not in _NOT_SENSITIVE]
            if not hits:
                continue
            services += [s for s in hits if s not in services]
            family = ports.setdefault(exposure.family, {})
            # One exposure per admitting path: the same protocol can come in several times.
            family[exposure.protocol] = family.get(exposure.protocol, PortSet()) | exposure.ports
            for step in exposure.path:
                if step.decision == "allow" and step.rule_id:
                    entry = {"layer": step.layer, "rule_set": step.rule_set_id or "",
                             "rule": step.rule_id}
                    if entry not in rules:
                        rules.append(entry)
        if not services:
            continue
        worst = max((SERVICES_BY_KEY[s].severity for s in services if s in SERVICES_BY_KEY),
                    key=lambda s: s.rank, default=Severity.HIGH)
        shown = {fam: {proto: str(p) for proto, p in by_proto.items()}
                 for fam, by_proto in ports.items()}
        evidence = {"source": ["internet"], "families": sorted(ports), "ports": shown,
                    "services": services, "admitted_by": rules,
                    "public_addresses": list(asset.public_addresses + asset.ipv6_addresses)}
        yield asset_finding(meta, asset, evidence, _ONE_UP[worst])
