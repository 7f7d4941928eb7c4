"""Building findings: one per offending rule (or rule set, asset, subnet, network, IP list)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from policies.admitted import PORT_PROTOCOLS, Flows
from policies.policy import FindingFacts, PolicyMeta, Remediation
from scanner.catalogue import SERVICES, services_in
from scanner.model import Asset, Finding, IpList, Network, Rule, RuleSet, Severity, Subnet
from scanner.netmath import PortSet, coverage

_CATALOGUE_ORDER = {s.key: i for i, s in enumerate(SERVICES)}


def service_keys(flows: Flows) -> list[str]:
    """Catalogue services the flows reach, in catalogue order."""
    keys: dict[str, None] = {}
    for protocol, ports in flows.ports.items():
        for hit in services_in(protocol, ports):
            keys[hit.service.key] = None
    return sorted(keys, key=_CATALOGUE_ORDER.__getitem__)


def _port_hits(evidence_ports: Mapping[str, Mapping[str, str]],
               wanted: frozenset[int]) -> tuple[set[tuple[str, int]], set[str]]:
    """Which of ``wanted`` ports appear in ``{family: {protocol: "22,80-90"}}`` evidence, on
    which protocol; and the port-bearing protocols that have any port there."""
    hits: set[tuple[str, int]] = set()
    protocols: set[str] = set()
    for by_protocol in evidence_ports.values():
        for protocol, text in by_protocol.items():
            if protocol not in PORT_PROTOCOLS:
                continue
            found, some = _protocol_hits(protocol, text, wanted)
            if some:
                protocols.add(protocol)
            hits.update(found)
    return hits, protocols


@lru_cache(maxsize=8192)
def _protocol_hits(protocol: str, text: str, wanted: frozenset[int]
                   ) -> tuple[frozenset[tuple[str, int]], bool]:
    """Which ``wanted`` ports one protocol's evidence text names, and whether it names any:
    findings repeat a few texts ("22", "0-65535") by the thousand."""
    ports = PortSet.parse(text)
    return frozenset((protocol, p) for p in wanted if p in ports), bool(ports)


@lru_cache(maxsize=1024)
def _remediation_text(remediation: Remediation) -> str:
    """Spelt once per policy, not per finding."""
    return remediation.text()


def _wanted_ports(compliance: tuple) -> frozenset[int]:
    """The ports a policy's compliance mappings ask about (cheaper to build than to look up by
    the mappings, which hashes every one of them)."""
    return frozenset(p for ref in compliance for p in ref.when.ports)


def facts_for(meta: PolicyMeta, provider: str, kind: str, default_rule_set: bool,
              evidence: Mapping[str, Any]) -> FindingFacts:
    ports = evidence.get("ports") or {}
    wanted = _wanted_ports(meta.compliance) if ports else frozenset()
    hits, protocols = _port_hits(ports, wanted) if ports else (set(), set())
    return FindingFacts(
        provider=provider,
        kind=kind,
        families=frozenset(evidence.get("families") or ()),
        services=frozenset(evidence.get("services") or ()),
        port_hits=frozenset(hits),
        protocols=frozenset(protocols),
        default_rule_set=default_rule_set,
    )


def _finding(meta: PolicyMeta, *, provider: str, account: str, region: str, resource_id: str,
             resource_name: str, subject: str, kind: str, default_rule_set: bool,
             evidence: Mapping[str, Any], rule: Rule | None = None, asset_id: str | None = None,
             severity: Severity | None = None) -> Finding:
    facts = facts_for(meta, provider, kind, default_rule_set, evidence)
    return Finding(
        finding_id=Finding.make_id(meta.policy_id, resource_id, subject),
        policy_id=meta.policy_id,
        title=meta.title,
        severity=severity or meta.severity,
        provider=provider,
        account=account,
        region=region,
        resource_id=resource_id,
        resource_name=resource_name,
        rule=rule,
        asset_id=asset_id,
        evidence=dict(evidence),
        attack=meta.attack,
        compliance=meta.compliance_for(facts),
        remediation=_remediation_text(meta.remediation),
    )


def rule_finding(meta: PolicyMeta, rule_set: RuleSet, rule: Rule, evidence: Mapping[str, Any],
                 severity: Severity | None = None) -> Finding:
    return _finding(meta, provider=rule_set.provider, account=rule_set.account,
                    region=rule_set.region, resource_id=rule_set.resource_id,
                    resource_name=rule_set.name, subject=rule.identity(),
                    kind=rule_set.kind.value, default_rule_set=rule_set.is_default,
                    evidence=evidence, rule=rule, severity=severity)


def rule_set_finding(meta: PolicyMeta, rule_set: RuleSet, evidence: Mapping[str, Any],
                     severity: Severity | None = None, subject: str = "") -> Finding:
    """``subject`` tells apart several findings of one policy on one rule set (the pooled
    allows of each direction and class of machines, ``policies.combined``)."""
    return _finding(meta, provider=rule_set.provider, account=rule_set.account,
                    region=rule_set.region, resource_id=rule_set.resource_id,
                    resource_name=rule_set.name, subject=subject, kind=rule_set.kind.value,
                    default_rule_set=rule_set.is_default, evidence=evidence, severity=severity)


def asset_finding(meta: PolicyMeta, asset: Asset, evidence: Mapping[str, Any],
                  severity: Severity | None = None) -> Finding:
    return _finding(meta, provider=asset.provider, account=asset.account, region=asset.region,
                    resource_id=asset.asset_id, resource_name=asset.name,
                    subject=asset.asset_id, kind=asset.kind, default_rule_set=False,
                    evidence=evidence, asset_id=asset.asset_id, severity=severity)


def subnet_finding(meta: PolicyMeta, subnet: Subnet, evidence: Mapping[str, Any]) -> Finding:
    return _finding(meta, provider=subnet.provider, account=subnet.account,
                    region=subnet.region, resource_id=subnet.subnet_id,
                    resource_name=subnet.name, subject="", kind="subnet",
                    default_rule_set=False, evidence=evidence)


def network_finding(meta: PolicyMeta, network: Network, evidence: Mapping[str, Any]) -> Finding:
    return _finding(meta, provider=network.provider, account=network.account,
                    region=network.region, resource_id=network.network_id,
                    resource_name=network.name, subject="", kind="network",
                    default_rule_set=network.is_default, evidence=evidence)


def ip_list_finding(meta: PolicyMeta, ip_list: IpList, evidence: Mapping[str, Any],
                    severity: Severity | None = None) -> Finding:
    return _finding(meta, provider=ip_list.provider, account=ip_list.account,
                    region=ip_list.region, resource_id=ip_list.list_id,
                    resource_name=ip_list.name, subject="", kind="ip_list",
                    default_rule_set=False, evidence=evidence, severity=severity)


def peer_values(rule: Rule) -> list[str]:
    """The remote peers that bring public addresses: those that made an exposure fail."""
    out = []
    for peer in rule.peers:
        if peer.addresses:
            cover = coverage(tuple(peer.addresses))
            if cover.ipv4_public or cover.ipv6_public:
                out.append(peer.value)
    return out or [p.value for p in rule.peers]
