"""How the engine judges rules: through real normalizers, by what rules admit, with evidence."""

from __future__ import annotations

from datetime import datetime, timezone

from policies import PolicySettings, evaluate, select_policies
from policies.context import EvaluationContext
from providers.azure.normalize import normalize_nsg
from providers.gcp.normalize import normalize_vpc_rules
from scanner.exposure import analyze_exposure
from scanner.model import (
    Asset,
    Attachment,
    Direction,
    Finding,
    Peer,
    Rule,
    RuleSet,
    RuleSetKind,
    Scope,
    Snapshot,
    Subnet,
)
from scanner.netmath import PortSet

AZURE = Scope("azure", "sub-1")
GCP = Scope("gcp", "proj-1")
NSG_ID = "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Network/" \
         "networkSecurityGroups/nsg-1"


def _snapshot(*items, scopes=(AZURE, GCP)) -> Snapshot:
    return Snapshot.from_items("s", datetime(2026, 1, 1, tzinfo=timezone.utc), scopes, items,
                               [s.provider for s in scopes])


def _only(policy_id: str, settings: PolicySettings | None = None):
    return select_policies(PolicySettings(only=(policy_id,)) if settings is None else settings)


def _azure_rule(name, priority, **props):
    base = {"protocol": "Tcp", "access": "Allow", "direction": "Inbound", "priority": priority,
            "sourcePortRange": "*", "destinationAddressPrefix": "*"}
    return {"name": name, "id": f"{NSG_ID}/securityRules/{name}", "properties": {**base, **props}}


def test_azure_plural_fields_and_service_tags_through_the_normalizer():
    raw = {"id": NSG_ID, "name": "nsg-1", "location": "westeurope", "properties": {
        "securityRules": [
            # The plural fields: RDP is one entry of destinationPortRanges, and the Internet
            # tag one entry of sourceAddressPrefixes.
            _azure_rule("web-and-rdp", 100, destinationPortRanges=["443", "3380-3390"],
                        sourceAddressPrefixes=["10.0.0.0/8", "Internet"]),
            _azure_rule("vnet-ssh", 110, destinationPortRange="22",
                        sourceAddressPrefix="VirtualNetwork"),
            _azure_rule("deny-ssh", 120, access="Deny", destinationPortRange="22",
                        sourceAddressPrefix="*"),
            _azure_rule("ssh-any", 130, destinationPortRange="22", sourceAddressPrefix="*"),
        ]}}
    nsg = normalize_nsg(AZURE, raw, subnet_refs=["subnet-1"])
    findings = evaluate(_snapshot(nsg), _only("CW-NET-001"), PolicySettings())
    assert [f.rule.name for f in findings] == ["web-and-rdp"]  # ssh-any is shadowed
    finding = findings[0]
    assert finding.evidence["ports"] == {"ipv4": {"tcp": "3389"}, "ipv6": {"tcp": "3389"}}
    assert finding.evidence["services"] == ["rdp"]
    assert finding.evidence["peers"] == ["Internet"]  # the source that made it fail
    assert finding.compliance["cis-azure@2.1.0"] == ("6.1",)
    assert "aws-fsbp@1.0.0" not in finding.compliance  # AWS controls never land on Azure
    assert finding.finding_id == Finding.make_id("CW-NET-001", nsg.resource_id,
                                                 finding.rule.identity())
    shadowed = evaluate(_snapshot(nsg), _only("CW-SHADOW-001"), PolicySettings())
    assert [f.rule.name for f in shadowed] == ["ssh-any"]
    assert shadowed[0].evidence["decided_by"] == ["deny-ssh"]


def test_gcp_disabled_rules_protocols_and_logging_through_the_normalizer():
    network = {"name": "prod", "selfLink": "projects/proj-1/global/networks/prod"}
    firewalls = [
        {"name": "db-open", "network": network["selfLink"], "direction": "INGRESS",
         "priority": 1000, "sourceRanges": ["0.0.0.0/0"],
         "allowed": [{"IPProtocol": "tcp", "ports": ["5432", "6379"]}, {"IPProtocol": "udp"}],
         "logConfig": {"enable": False}},
        {"name": "old-ssh", "network": network["selfLink"], "direction": "INGRESS",
         "priority": 900, "sourceRanges": ["0.0.0.0/0"], "disabled": True,
         "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}], "logConfig": {"enable": True}},
    ]
    vpc = normalize_vpc_rules(GCP, network, firewalls)
    snapshot = _snapshot(vpc)
    admin = evaluate(snapshot, _only("CW-NET-001"), PolicySettings())
    # The disabled SSH rule admits nothing; "udp, every port" includes RDP over UDP.
    assert [(f.rule.native_id, f.evidence["services"]) for f in admin] == [("db-open/udp",
                                                                            ["rdp"])]
    sensitive = evaluate(snapshot, _only("CW-NET-002"), PolicySettings())
    # One finding per offending rule: db-open is one rule per protocol in the model.
    assert sorted(f.rule.native_id for f in sensitive) == ["db-open/tcp", "db-open/udp"]
    tcp = next(f for f in sensitive if f.rule.protocol == "tcp")
    assert tcp.evidence["services"] == ["postgresql", "redis"]
    assert set(tcp.compliance["gcp-scc@sha"]) == {"OPEN_POSTGRESQL_PORT", "OPEN_REDIS_PORT"}
    assert tcp.severity.value == "high"  # the catalogue's severity for these services
    logging = evaluate(snapshot, _only("CW-GCP-001"), PolicySettings())
    assert sorted(f.rule.native_id for f in logging) == ["db-open/tcp", "db-open/udp"]


def _sg(rules, resource_id="sg-1", attachments=("eni-1",)) -> RuleSet:
    return RuleSet("aws", "111122223333", "us-east-1", RuleSetKind.AWS_SECURITY_GROUP,
                   resource_id, resource_id, tuple(rules),
                   tuple(Attachment("network_interface", a) for a in attachments), "vpc-1")


def _rule(ports, *cidrs, direction=Direction.INGRESS, protocol="tcp", native_id="r1"):
    return Rule(direction, __import__("scanner.model").model.Action.ALLOW, protocol,
                PortSet.parse(ports), tuple(Peer.cidr(c) for c in cidrs), native_id=native_id)


def test_one_finding_per_rule_with_every_service_it_covers_and_stable_ids():
    sg = _sg([_rule("20-3389", "0.0.0.0/0", "::/0")])
    first = evaluate(_snapshot(sg, scopes=(Scope("aws", "111122223333", "us-east-1"),)),
                     _only("CW-NET-001"), PolicySettings())
    assert len(first) == 1
    evidence = first[0].evidence
    assert evidence["families"] == ["ipv4", "ipv6"]
    assert evidence["services"] == ["ssh", "rdp", "telnet"]
    assert set(first[0].compliance["aws-fsbp@1.0.0"]) == {"EC2.13", "EC2.14", "EC2.53",
                                                          "EC2.54"}
    again = evaluate(_snapshot(sg, scopes=(Scope("aws", "111122223333", "us-east-1"),)),
                     _only("CW-NET-001"), PolicySettings())
    assert [f.finding_id for f in again] == [f.finding_id for f in first]


def test_rule_level_findings_say_whether_the_exposure_is_live():
    acl = RuleSet("aws", "111122223333", "us-east-1", RuleSetKind.AWS_NETWORK_ACL, "acl-1",
                  "acl", (Rule(Direction.INGRESS, _rule("0", "0.0.0.0/0").action, "all",
                               peers=(Peer.cidr("0.0.0.0/0"),), priority=100,
                               native_id="ingress:100"),
                          Rule(Direction.EGRESS, _rule("0", "0.0.0.0/0").action, "all",
                               peers=(Peer.cidr("0.0.0.0/0"),), priority=100,
                               native_id="egress:100")),
                  (Attachment("subnet", "subnet-1"),), "vpc-1")
    live = _sg([_rule("22", "0.0.0.0/0", native_id="sgr-live")], "sg-live")
    latent = _sg([_rule("22", "0.0.0.0/0", native_id="sgr-latent")], "sg-latent", ("eni-2",))
    subnet = Subnet("aws", "111122223333", "us-east-1", "subnet-1", "vpc-1",
                    rule_set_ids=("acl-1",), internet_routes=("0.0.0.0/0",))
    public = Asset("aws", "111122223333", "us-east-1", "aws_network_interface", "eni-1",
                   subnet="subnet-1", network="vpc-1", public_addresses=("54.1.2.3",),
                   rule_set_ids=("sg-live",))
    private = Asset("aws", "111122223333", "us-east-1", "aws_network_interface", "eni-2",
                    subnet="subnet-1", network="vpc-1", rule_set_ids=("sg-latent",))
    snapshot = _snapshot(acl, live, latent, subnet, public, private,
                         scopes=(Scope("aws", "111122223333", "us-east-1"),))
    exposure = analyze_exposure(snapshot)
    findings = evaluate(snapshot, _only("CW-NET-001"), PolicySettings(), exposure)
    by_set = {f.resource_id: f.evidence for f in findings}
    assert by_set["sg-live"]["exposure"] == "live"
    assert by_set["sg-live"]["exposed_assets"] == ["eni-1"]
    assert by_set["sg-latent"]["exposure"] == "latent"
    exposed = evaluate(snapshot, _only("CW-EXP-001"), PolicySettings(), exposure)
    assert [(f.asset_id, f.severity.value) for f in exposed] == [("eni-1", "critical")]
    assert exposed[0].evidence["admitted_by"][-1]["rule"] == "sgr-live"


def test_trusted_ranges_and_the_broad_threshold_are_settings():
    sg = _sg([_rule("22", "11.0.0.0/8")])
    scopes = (Scope("aws", "111122223333", "us-east-1"),)
    assert evaluate(_snapshot(sg, scopes=scopes), _only("CW-NET-004"), PolicySettings())
    trusted = PolicySettings(trusted_cidrs=("11.0.0.0/9", "11.128.0.0/9"))
    assert not evaluate(_snapshot(sg, scopes=scopes), _only("CW-NET-004"), trusted)
    narrow = PolicySettings(broad_prefix=7)
    assert not evaluate(_snapshot(sg, scopes=scopes), _only("CW-NET-004"), narrow)


def test_traffic_of_a_rule_is_computed_once_and_shared():
    same = [_rule("22", "0.0.0.0/0", native_id=f"r{i}") for i in range(50)]
    snapshot = _snapshot(_sg(same), scopes=(Scope("aws", "111122223333", "us-east-1"),))
    ctx = EvaluationContext(snapshot, PolicySettings())
    view = ctx.view(snapshot.rule_sets[0])
    levels = {id(view.levels(r, 4)) for r in same}
    assert len(levels) == 1
    assert not view.levels(same[0], 4).internet.is_empty()


def test_family_condition_and_protocol_all():
    from policies.cases import run_cases
    from policies.packs import load_pack_text

    pack = load_pack_text("""
policies:
  - id: V6-001
    title: anything from the IPv6 internet on all protocols
    severity: low
    match: {direction: ingress, source: internet, family: ipv6, protocol: all}
cases:
  - {policy: V6-001, expect: fail, kinds: [security_group, nsg, vpc_firewall],
     rules: [{protocol: all, peers: ["::/0"]}]}
  - {policy: V6-001, expect: pass, kinds: [security_group, nsg, vpc_firewall],
     rules: [{protocol: all, peers: ["0.0.0.0/0"]}]}
  - {policy: V6-001, expect: pass, kinds: [security_group, nsg, vpc_firewall],
     rules: [{protocol: tcp, peers: ["::/0"]}]}
""", "v6.yaml")
    results = run_cases(pack.cases, pack.policies)
    assert len(results) == 9 and all(r.passed for r in results), \
        [(r.label, r.message) for r in results if not r.passed]
