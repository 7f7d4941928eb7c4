"""Compute JSON -> model, on payloads shaped exactly as the Compute REST API returns them."""

from __future__ import annotations

import copy
import json

import pytest

from providers.gcp.normalize import (
    aggregated_instances,
    canonical,
    normalize_firewall,
    normalize_instance,
    normalize_policy_rule,
    normalize_scope,
)
from scanner.model import (
    Action,
    Asset,
    CollectionError,
    Direction,
    Network,
    PeerKind,
    RuleSet,
    RuleSetKind,
    Scope,
    Snapshot,
)
from scanner.netmath import PortSet, coverage

V1 = "https://www.googleapis.com/compute/v1/projects/proj-1"
SCOPE = Scope("gcp", "proj-1", "", name="Project One")


def fw(**fields):
    base = {
        "kind": "compute#firewall",
        "id": "6043187361205671035",
        "creationTimestamp": "2026-05-04T02:13:49.871-07:00",
        "name": "fw",
        "description": "",
        "network": f"{V1}/global/networks/prod",
        "priority": 1000,
        "sourceRanges": ["0.0.0.0/0"],
        "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}],
        "direction": "INGRESS",
        "logConfig": {"enable": False},
        "disabled": False,
        "selfLink": f"{V1}/global/firewalls/fw",
    }
    base.update(fields)
    return base


def by_protocol(rules):
    return {r.protocol: r for r in rules}


# --- protocols and ports ----------------------------------------------------------------------


def test_protocol_names_numbers_and_all():
    rules = by_protocol(normalize_firewall(fw(allowed=[
        {"IPProtocol": "6", "ports": ["22"]},
        {"IPProtocol": "udp"},
        {"IPProtocol": "esp"},
        {"IPProtocol": "132", "ports": ["3868"]},
        {"IPProtocol": "47"},
        {"IPProtocol": "ipip"},
        {"IPProtocol": "all"},
    ])))
    assert set(rules) == {"tcp", "udp", "esp", "sctp", "gre", "ipip", "all"}
    assert rules["tcp"].ports == PortSet.of(22)
    assert rules["tcp"].extra["IPProtocol"] == ["6"]  # what GCP said is kept
    assert rules["udp"].ports.is_all()  # no ports: every port
    assert rules["sctp"].ports == PortSet.of(3868)
    assert rules["all"].ports.is_all()
    assert rules["tcp"].native_id == "fw/tcp"
    assert all(r.name == "fw" for r in rules.values())


def test_empty_ports_list_means_all_ports_and_ranges_are_inclusive():
    rules = by_protocol(normalize_firewall(fw(allowed=[
        {"IPProtocol": "tcp", "ports": []},
        {"IPProtocol": "udp", "ports": ["53", "1000-2000", "2001"]},
    ])))
    assert rules["tcp"].ports.is_all()
    assert rules["udp"].ports == PortSet.of(53, (1000, 2001))
    assert 1500 in rules["udp"].ports and 2002 not in rules["udp"].ports


def test_one_protocol_listed_twice_is_one_rule_with_both_port_sets():
    rules = normalize_firewall(fw(allowed=[{"IPProtocol": "tcp", "ports": ["22"]},
                                           {"IPProtocol": "TCP", "ports": ["80-81"]}]))
    assert len(rules) == 1
    assert rules[0].ports == PortSet.of(22, (80, 81))


def test_icmp_has_all_ports():
    (rule,) = normalize_firewall(fw(allowed=[{"IPProtocol": "icmp"}]))
    assert rule.protocol == "icmp" and rule.ports.is_all()


# --- actions, priority, disabled, logging -----------------------------------------------------


def test_deny_rule_and_equal_priority_tie_sorts_deny_first():
    raw = {
        "networks": [{"kind": "compute#network", "name": "prod",
                      "selfLink": f"{V1}/global/networks/prod"}],
        "firewalls": [
            fw(name="a-allow-ssh", priority=1000),
            fw(name="z-deny-ssh", priority=1000, allowed=[],
               denied=[{"IPProtocol": "tcp", "ports": ["22"]}]),
        ],
    }
    (vpc,) = [i for i in normalize_scope(SCOPE, raw) if isinstance(i, RuleSet)]
    ingress = [r for r in vpc.rules if r.direction is Direction.INGRESS]
    assert [r.native_id for r in ingress] == ["z-deny-ssh/tcp", "a-allow-ssh/tcp",
                                              "implied-deny-ingress/all"]
    assert ingress[0].action is Action.DENY and ingress[0].priority == 1000


def test_disabled_rule_is_kept_but_not_enabled():
    (rule,) = normalize_firewall(fw(disabled=True))
    assert rule.enabled is False


def test_log_config_and_missing_priority_default():
    raw = fw(logConfig={"enable": True, "metadata": "EXCLUDE_ALL_METADATA"})
    del raw["priority"]
    (rule,) = normalize_firewall(raw)
    assert rule.logging is True and rule.priority == 1000
    assert rule.extra["logMetadata"] == "EXCLUDE_ALL_METADATA"
    (plain,) = normalize_firewall(fw(logConfig={}))
    assert plain.logging is False


# --- sources, targets, families ---------------------------------------------------------------


def test_tags_and_service_accounts_without_ranges_admit_no_internet():
    raw = fw(sourceTags=["web"], sourceServiceAccounts=["app@proj-1.iam.gserviceaccount.com"])
    del raw["sourceRanges"]
    (rule,) = normalize_firewall(raw)
    kinds = {(p.kind, p.value) for p in rule.peers}
    assert kinds == {(PeerKind.NETWORK_TAG, "web"),
                     (PeerKind.SERVICE_ACCOUNT, "app@proj-1.iam.gserviceaccount.com")}
    addresses = tuple(a for p in rule.peers for a in p.addresses)
    assert addresses == () and not coverage(addresses).internet


def test_ranges_or_tags_keeps_both():
    (rule,) = normalize_firewall(fw(sourceRanges=["10.0.0.0/8"], sourceTags=["bastion"]))
    assert {p.kind for p in rule.peers} == {PeerKind.CIDR, PeerKind.NETWORK_TAG}


def test_targets_by_tag_and_service_account():
    (by_tag,) = normalize_firewall(fw(targetTags=["web", "api"]))
    assert [(t.kind, t.value) for t in by_tag.targets] == [
        (PeerKind.NETWORK_TAG, "web"), (PeerKind.NETWORK_TAG, "api")]
    (by_sa,) = normalize_firewall(fw(targetServiceAccounts=["sa@proj-1.iam.gserviceaccount.com"]))
    assert by_sa.targets[0].kind is PeerKind.SERVICE_ACCOUNT
    (everyone,) = normalize_firewall(fw())
    assert everyone.targets == ()


def test_ipv6_ranges():
    (rule,) = normalize_firewall(fw(sourceRanges=["::/0"]))
    cov = coverage(tuple(a for p in rule.peers for a in p.addresses))
    assert cov.internet_v6 and not cov.internet_v4
    (v4,) = normalize_firewall(fw(sourceRanges=["0.0.0.0/0"]))
    assert not coverage(tuple(v4.peers[0].addresses)).internet_v6


def test_egress_rule_uses_destination_ranges():
    raw = fw(direction="EGRESS", destinationRanges=["203.0.113.0/24", "2001:db8::/32"],
             sourceRanges=["10.0.0.5/32"], allowed=[], denied=[{"IPProtocol": "all"}])
    (rule,) = normalize_firewall(raw)
    assert rule.direction is Direction.EGRESS and rule.action is Action.DENY
    assert [p.value for p in rule.peers] == ["203.0.113.0/24", "2001:db8::/32"]
    assert rule.extra["sourceRanges"] == ["10.0.0.5/32"]


def test_egress_without_destination_is_everywhere():
    raw = fw(direction="EGRESS", allowed=[{"IPProtocol": "tcp", "ports": ["443"]}])
    del raw["sourceRanges"]
    (rule,) = normalize_firewall(raw)
    assert [p.value for p in rule.peers] == ["0.0.0.0/0"]


# --- implied rules, default network, networks -------------------------------------------------


DEFAULT_NETWORK = {
    "kind": "compute#network",
    "id": "4711",
    "creationTimestamp": "2025-11-01T08:00:00.000-07:00",
    "name": "default",
    "description": "Default network for the project",
    "selfLink": f"{V1}/global/networks/default",
    "autoCreateSubnetworks": True,
    "subnetworks": [f"{V1}/regions/us-central1/subnetworks/default"],
    "routingConfig": {"routingMode": "REGIONAL"},
}
PREPOPULATED = [
    fw(name="default-allow-internal", network=f"{V1}/global/networks/default", priority=65534,
       sourceRanges=["10.128.0.0/9"], allowed=[{"IPProtocol": "tcp", "ports": ["0-65535"]},
                                               {"IPProtocol": "udp", "ports": ["0-65535"]},
                                               {"IPProtocol": "icmp"}]),
    fw(name="default-allow-ssh", network=f"{V1}/global/networks/default", priority=65534),
    fw(name="default-allow-rdp", network=f"{V1}/global/networks/default", priority=65534,
       allowed=[{"IPProtocol": "tcp", "ports": ["3389"]}]),
    fw(name="default-allow-icmp", network=f"{V1}/global/networks/default", priority=65534,
       allowed=[{"IPProtocol": "icmp"}]),
]


def test_default_network_prepopulated_and_implied_rules():
    items = list(normalize_scope(SCOPE, {"networks": [DEFAULT_NETWORK],
                                         "firewalls": PREPOPULATED}))
    (vpc,) = [i for i in items if isinstance(i, RuleSet)]
    (net,) = [i for i in items if isinstance(i, Network)]
    assert vpc.is_default and net.is_default
    assert vpc.resource_id == "projects/proj-1/global/networks/default/firewalls"
    assert vpc.network == net.network_id == "projects/proj-1/global/networks/default"
    assert [(a.target_kind, a.target_id) for a in vpc.attachments] == [("network", net.network_id)]
    ids = {r.native_id: r for r in vpc.rules}
    assert ids["default-allow-ssh/tcp"].extra["prepopulated"] is True
    assert coverage(ids["default-allow-rdp/tcp"].peers[0].addresses).internet
    implied = [r for r in vpc.rules if r.is_default]
    assert {(r.direction, r.action, r.priority, r.protocol) for r in implied} == {
        (Direction.INGRESS, Action.DENY, 65535, "all"),
        (Direction.EGRESS, Action.ALLOW, 65535, "all")}
    assert all(coverage(tuple(r.peers[0].addresses + r.peers[1].addresses)).internet_v6
               for r in implied)
    # Implied rules come last in each direction, after the priority-65534 ones.
    assert vpc.rules[-1].is_default
    assert net.enforcement_order == "AFTER_CLASSIC_FIREWALL"  # absent means the default
    assert net.extra["autoCreateSubnetworks"] is True


def test_network_without_firewalls_still_has_implied_rules():
    items = list(normalize_scope(SCOPE, {"networks": [dict(DEFAULT_NETWORK, name="lab",
                                                           selfLink=f"{V1}/global/networks/lab")],
                                         "firewalls": []}))
    (vpc,) = [i for i in items if isinstance(i, RuleSet)]
    assert [r.native_id for r in vpc.rules] == ["implied-allow-egress/all",
                                                "implied-deny-ingress/all"]
    assert not vpc.is_default


# --- firewall policies ------------------------------------------------------------------------


def policy_rule(**fields):
    base = {
        "kind": "compute#firewallPolicyRule",
        "description": "",
        "priority": 1000,
        "match": {"srcIpRanges": ["0.0.0.0/0"],
                  "layer4Configs": [{"ipProtocol": "tcp", "ports": ["22"]}]},
        "action": "allow",
        "direction": "INGRESS",
        "enableLogging": False,
        "ruleTupleCount": 4,
    }
    base.update(fields)
    return base


def test_policy_rule_goto_next_and_layer4_configs():
    rules = by_protocol(normalize_policy_rule(policy_rule(
        action="goto_next", priority=300,
        match={"srcIpRanges": ["0.0.0.0/0", "::/0"],
               "layer4Configs": [{"ipProtocol": "tcp", "ports": ["22", "2222-2223"]},
                                 {"ipProtocol": "udp"}, {"ipProtocol": "all"}]})))
    assert set(rules) == {"tcp", "udp", "all"}
    assert rules["tcp"].action is Action.GOTO_NEXT
    assert rules["tcp"].ports == PortSet.of(22, (2222, 2223))
    assert rules["udp"].ports.is_all()
    assert rules["tcp"].native_id == "300/tcp"
    assert coverage(tuple(a for p in rules["tcp"].peers for a in p.addresses)).internet_v6


def test_policy_rule_dest_ranges_and_egress_objects():
    (rule,) = normalize_policy_rule(policy_rule(
        direction="EGRESS", action="deny",
        match={"destIpRanges": ["198.51.100.0/24"], "srcIpRanges": ["10.0.0.0/8"],
               "destFqdns": ["exfil.example.com"], "destRegionCodes": ["KP"],
               "destThreatIntelligences": ["iplist-tor-exit-nodes"],
               "destAddressGroups": ["projects/proj-1/locations/global/addressGroups/bad"],
               "layer4Configs": [{"ipProtocol": "all"}]}))
    assert rule.direction is Direction.EGRESS and rule.action is Action.DENY
    kinds = {(p.kind, p.value) for p in rule.peers}
    assert kinds == {
        (PeerKind.CIDR, "198.51.100.0/24"), (PeerKind.FQDN, "exfil.example.com"),
        (PeerKind.REGION_CODE, "KP"), (PeerKind.THREAT_INTELLIGENCE, "iplist-tor-exit-nodes"),
        (PeerKind.ADDRESS_GROUP, "projects/proj-1/locations/global/addressGroups/bad")}
    assert rule.extra["localMatch"] == {"srcIpRanges": ["10.0.0.0/8"]}


def test_policy_rule_secure_tags_service_accounts_and_logging():
    (rule,) = normalize_policy_rule(policy_rule(
        match={"srcSecureTags": [{"name": "tagValues/281484", "state": "EFFECTIVE"},
                                 {"name": "tagValues/999", "state": "INEFFECTIVE"}],
               "layer4Configs": [{"ipProtocol": "tcp", "ports": ["5432"]}]},
        targetSecureTags=[{"name": "tagValues/3001", "state": "EFFECTIVE"}],
        targetServiceAccounts=["db@proj-1.iam.gserviceaccount.com"],
        enableLogging=True, disabled=True, ruleName="db-from-app"))
    assert [(p.kind, p.value) for p in rule.peers] == [(PeerKind.NETWORK_TAG, "tagValues/281484")]
    assert {(t.kind, t.value) for t in rule.targets} == {
        (PeerKind.NETWORK_TAG, "tagValues/3001"),
        (PeerKind.SERVICE_ACCOUNT, "db@proj-1.iam.gserviceaccount.com")}
    assert rule.logging is True and rule.enabled is False and rule.name == "db-from-app"


def test_policy_default_rules_are_marked_default():
    (rule,) = normalize_policy_rule(policy_rule(
        priority=2147483647, action="goto_next",
        match={"srcIpRanges": ["0.0.0.0/0"], "layer4Configs": [{"ipProtocol": "all"}]}))
    assert rule.is_default and rule.action is Action.GOTO_NEXT


def org_policy(name, short, parent, targets, rules):
    return {
        "kind": "compute#firewallPolicy", "id": name, "name": name,
        "creationTimestamp": "2026-01-01T00:00:00.000-08:00",
        "selfLink": f"https://www.googleapis.com/compute/v1/locations/global/firewallPolicies/"
                    f"{name}",
        "rules": rules,
        "associations": [{"name": f"assoc-{t}", "attachmentTarget": t, "firewallPolicyId": name,
                          "shortName": short, "displayName": short} for t in targets],
        "fingerprint": "x7-aZy6ZVrE=", "ruleTupleCount": 8, "shortName": short,
        "displayName": short, "parent": parent,
    }


def net_policy(name, networks, region=None, rules=()):
    where = f"regions/{region}" if region else "global"
    out = {
        "kind": "compute#firewallPolicy", "id": "88", "name": name,
        "selfLink": f"{V1}/{where}/firewallPolicies/{name}",
        "rules": list(rules) or [policy_rule()],
        "associations": [{"name": f"a-{n}", "attachmentTarget": f"{V1}/global/networks/{n}"}
                         for n in networks],
        "fingerprint": "abc=", "ruleTupleCount": 4,
    }
    if region:
        out["region"] = f"{V1}/regions/{region}"
    return out


def project_raw(order):
    net = {"kind": "compute#network", "name": "prod", "selfLink": f"{V1}/global/networks/prod"}
    if order:
        net["networkFirewallPolicyEnforcementOrder"] = order
    return {
        "ancestry": ["organizations/1", "folders/2", "folders/3"],
        "hierarchicalFirewallPolicies": [
            org_policy("222", "folder-policy", "folders/2", ["folders/3"],
                       [policy_rule(action="deny")]),
            org_policy("111", "org-policy", "organizations/1", ["organizations/1"],
                       [policy_rule(action="goto_next")]),
            org_policy("333", "elsewhere", "organizations/1", ["folders/9"], [policy_rule()]),
        ],
        "networks": [net],
        "firewalls": [fw()],
        "networkFirewallPolicies": [net_policy("global-pol", ["prod"])],
        "regionNetworkFirewallPolicies": [net_policy("central-pol", ["prod"], "us-central1")],
    }


@pytest.mark.parametrize("order,expected_tail", [
    (None, ["vpc", "global", "regional"]),
    ("AFTER_CLASSIC_FIREWALL", ["vpc", "global", "regional"]),
    ("BEFORE_CLASSIC_FIREWALL", ["global", "regional", "vpc"]),
])
def test_network_rule_set_order_follows_hierarchy_and_enforcement_order(order, expected_tail):
    items = list(normalize_scope(SCOPE, project_raw(order)))
    (net,) = [i for i in items if isinstance(i, Network)]
    names = {
        "locations/global/firewallPolicies/111": "org",
        "locations/global/firewallPolicies/222": "folder",
        "projects/proj-1/global/networks/prod/firewalls": "vpc",
        "projects/proj-1/global/firewallPolicies/global-pol": "global",
        "projects/proj-1/regions/us-central1/firewallPolicies/central-pol": "regional",
    }
    assert [names[i] for i in net.rule_set_ids] == ["org", "folder", *expected_tail]
    assert net.enforcement_order == (order or "AFTER_CLASSIC_FIREWALL")
    rule_sets = {rs.resource_id: rs for rs in items if isinstance(rs, RuleSet)}
    # A policy attached to another folder does not apply to this project.
    assert "locations/global/firewallPolicies/333" not in rule_sets
    org = rule_sets["locations/global/firewallPolicies/111"]
    assert org.kind is RuleSetKind.GCP_HIERARCHICAL_POLICY and org.name == "org-policy"
    assert [(a.target_kind, a.target_id) for a in org.attachments] == [
        ("organization", "organizations/1")]
    folder = rule_sets["locations/global/firewallPolicies/222"]
    assert [(a.target_kind, a.target_id) for a in folder.attachments] == [("folder", "folders/3")]
    regional = rule_sets["projects/proj-1/regions/us-central1/firewallPolicies/central-pol"]
    assert regional.kind is RuleSetKind.GCP_NETWORK_POLICY and regional.region == "us-central1"
    assert [(a.target_kind, a.target_id) for a in regional.attachments] == [
        ("network", "projects/proj-1/global/networks/prod")]


def test_effective_firewalls_stand_in_for_unreadable_hierarchical_policies():
    raw = project_raw(None)
    del raw["hierarchicalFirewallPolicies"], raw["ancestry"]
    raw["effectiveFirewalls"] = {"projects/proj-1/global/networks/prod": {
        "firewalls": [fw()],
        "firewallPolicys": [
            {"name": "111", "type": "HIERARCHY", "shortName": "org-policy",
             "displayName": "org-policy", "rules": [policy_rule(action="goto_next")]},
            {"name": "222", "type": "HIERARCHY", "shortName": "folder-policy",
             "rules": [policy_rule(action="deny", priority=10)]},
            {"name": "global-pol", "type": "NETWORK", "rules": [policy_rule()]},
        ]}}
    raw["errors"] = [{"resourceType": "hierarchicalFirewallPolicies", "code": "403",
                      "reason": "could not read the organization policies", "hint": "grant"}]
    items = list(normalize_scope(SCOPE, raw))
    (error,) = [i for i in items if isinstance(i, CollectionError)]
    assert error.resource_type == "hierarchicalFirewallPolicies" and error.account == "proj-1"
    hier = [i for i in items if isinstance(i, RuleSet)
            and i.kind is RuleSetKind.GCP_HIERARCHICAL_POLICY]
    assert {h.resource_id for h in hier} == {"locations/global/firewallPolicies/111",
                                             "locations/global/firewallPolicies/222"}
    assert all(h.extra["source"] == "effective_firewalls" for h in hier)
    assert all([(a.target_kind, a.target_id) for a in h.attachments]
               == [("network", "projects/proj-1/global/networks/prod")] for h in hier)
    (net,) = [i for i in items if isinstance(i, Network)]
    assert net.rule_set_ids[:2] == ("locations/global/firewallPolicies/111",
                                    "locations/global/firewallPolicies/222")


# --- instances --------------------------------------------------------------------------------


INSTANCE = {
    "kind": "compute#instance",
    "id": "3456789012345678901",
    "name": "web-1",
    "tags": {"items": ["web", "ssh"], "fingerprint": "XYZ"},
    "machineType": f"{V1}/zones/us-central1-a/machineTypes/e2-small",
    "status": "RUNNING",
    "zone": f"{V1}/zones/us-central1-a",
    "networkInterfaces": [
        {"kind": "compute#networkInterface", "network": f"{V1}/global/networks/prod",
         "subnetwork": f"{V1}/regions/us-central1/subnetworks/web", "networkIP": "10.0.0.2",
         "name": "nic0",
         "accessConfigs": [{"kind": "compute#accessConfig", "type": "ONE_TO_ONE_NAT",
                            "name": "External NAT", "natIP": "34.67.1.2",
                            "networkTier": "PREMIUM"}],
         "ipv6AccessConfigs": [{"kind": "compute#accessConfig", "type": "DIRECT_IPV6",
                                "name": "external-ipv6", "externalIpv6": "2600:1900:4000:9::",
                                "externalIpv6PrefixLength": 96, "networkTier": "PREMIUM"}],
         "stackType": "IPV4_IPV6", "fingerprint": "abc"},
        {"kind": "compute#networkInterface", "network": f"{V1}/global/networks/mgmt",
         "subnetwork": f"{V1}/regions/us-central1/subnetworks/mgmt", "networkIP": "10.9.0.2",
         "name": "nic1", "ipv6Address": "fd20:1:2:3::", "stackType": "IPV4_IPV6",
         "aliasIpRanges": [{"ipCidrRange": "10.9.1.0/28"}]},
    ],
    "serviceAccounts": [{"email": "web@proj-1.iam.gserviceaccount.com",
                         "scopes": ["https://www.googleapis.com/auth/cloud-platform"]}],
    "selfLink": f"{V1}/zones/us-central1-a/instances/web-1",
    "labels": {"team": "shop"},
}


def test_instance_interfaces_become_assets():
    nic0, nic1 = normalize_instance(SCOPE, INSTANCE)
    assert nic0.asset_id == "projects/proj-1/zones/us-central1-a/instances/web-1/nic0"
    assert nic0.instance_id == "projects/proj-1/zones/us-central1-a/instances/web-1"
    assert nic0.kind == "gcp_instance_interface" and nic0.region == "us-central1"
    assert nic0.network == "projects/proj-1/global/networks/prod"
    assert nic0.subnet == "projects/proj-1/regions/us-central1/subnetworks/web"
    assert nic0.private_addresses == ("10.0.0.2",)
    assert nic0.public_addresses == ("34.67.1.2",)
    assert nic0.ipv6_addresses == ("2600:1900:4000:9::",)
    assert nic0.network_tags == ("web", "ssh")
    assert nic0.service_accounts == ("web@proj-1.iam.gserviceaccount.com",)
    assert nic0.state == "RUNNING" and nic0.tags == {"team": "shop"}
    assert nic0.extra["zone"] == "us-central1-a" and nic0.extra["external_ipv6"] is True
    assert nic1.public_addresses == () and nic1.ipv6_addresses == ("fd20:1:2:3::",)
    assert nic1.network == "projects/proj-1/global/networks/mgmt"
    assert nic1.extra["aliasIpRanges"] == ["10.9.1.0/28"]


def test_ephemeral_access_config_without_address_is_still_external():
    raw = copy.deepcopy(INSTANCE)
    raw["status"] = "TERMINATED"
    del raw["networkInterfaces"][0]["accessConfigs"][0]["natIP"]
    nic0, _ = normalize_instance(SCOPE, raw)
    assert nic0.public_addresses == () and nic0.extra["external_ipv4"] is True
    assert nic0.state == "TERMINATED"


def test_aggregated_list_items_with_empty_zones():
    items = {
        "zones/us-central1-a": {"instances": [INSTANCE]},
        "zones/us-east1-b": {"warning": {
            "code": "NO_RESULTS_ON_PAGE",
            "message": "There are no results for scope 'zones/us-east1-b' on this page.",
            "data": [{"key": "scope", "value": "zones/us-east1-b"}]}},
    }
    assert [i["name"] for i in aggregated_instances(items)] == ["web-1"]
    assets = [i for i in normalize_scope(SCOPE, {"instances": items}) if isinstance(i, Asset)]
    assert len(assets) == 2


# --- errors and the whole project -------------------------------------------------------------


def test_failed_firewall_read_is_an_error_not_an_empty_rule_set():
    raw = {"networks": [DEFAULT_NETWORK], "errors": [
        {"resourceType": "firewalls", "code": "403", "reason": "could not read firewalls",
         "hint": "needs compute.firewalls.list"}]}
    items = list(normalize_scope(SCOPE, raw))
    assert not [i for i in items if isinstance(i, RuleSet)]
    (error,) = [i for i in items if isinstance(i, CollectionError)]
    assert error.resource_type == "firewalls" and error.code == "403"
    (net,) = [i for i in items if isinstance(i, Network)]
    assert net.rule_set_ids == ()


def test_canonical_ids_ignore_the_host():
    assert canonical("http://127.0.0.1:8080/compute/v1/projects/p/global/networks/n") == \
        "projects/p/global/networks/n"
    assert canonical("projects/p/global/networks/n") == "projects/p/global/networks/n"
    assert canonical("organizations/1") == "organizations/1"


def test_snapshot_round_trip_keeps_everything():
    from datetime import datetime, timezone

    items = list(normalize_scope(SCOPE, project_raw("BEFORE_CLASSIC_FIREWALL")))
    items += list(normalize_scope(SCOPE, {"instances": {"zones/us-central1-a":
                                                        {"instances": [INSTANCE]}}}))
    snap = Snapshot.from_items("s1", datetime(2026, 1, 1, tzinfo=timezone.utc), [SCOPE], items)
    assert Snapshot.from_json(snap.to_json()) == snap


def test_policy_rule_network_scope_without_ranges_is_not_the_internet():
    (intra,) = normalize_policy_rule(policy_rule(
        match={"srcNetworkScope": "INTRA_VPC", "layer4Configs": [{"ipProtocol": "tcp"}]}))
    assert [(p.kind, p.value, p.addresses) for p in intra.peers] == [
        (PeerKind.OTHER, "networkScope:INTRA_VPC", ())]
    (internet,) = normalize_policy_rule(policy_rule(
        match={"srcNetworkScope": "INTERNET", "layer4Configs": [{"ipProtocol": "tcp"}]}))
    assert coverage(tuple(a for p in internet.peers for a in p.addresses)).internet
    assert internet.extra["networkScope"] == "INTERNET"


def _fresh(payload):
    """The payload as parsed from its own API answer: every string a new object."""
    return json.loads(json.dumps(payload))


def test_repeated_strings_and_equal_peers_are_shared_objects():
    one, two = (_fresh(fw(name=name, sourceRanges=["10.0.0.0/8"], sourceTags=["lb"],
                          targetServiceAccounts=["web@proj-1.iam.gserviceaccount.com"],
                          logConfig={"enable": True, "metadata": "INCLUDE_ALL_METADATA"}))
                for name in ("fw-1", "fw-2"))
    (r1,), (r2,) = normalize_firewall(one), normalize_firewall(two)
    assert r1.protocol is r2.protocol
    assert all(x is y for x, y in zip(r1.peers, r2.peers, strict=True))
    assert r1.targets[0] is r2.targets[0]
    assert r1.extra["logMetadata"] is r2.extra["logMetadata"]
    p1, p2 = (normalize_policy_rule(_fresh(policy_rule(priority=10 + n))) for n in range(2))
    assert all(x is y for x, y in zip(p1[0].peers, p2[0].peers, strict=True))
    first = _fresh(INSTANCE)
    second = _fresh({**INSTANCE, "name": "web-2",
                     "selfLink": f"{V1}/zones/us-central1-a/instances/web-2"})
    (a0, a1), (b0, b1) = normalize_instance(SCOPE, first), normalize_instance(SCOPE, second)
    assert a0.network is b0.network and a0.subnet is b0.subnet and a1.network is b1.network
    assert a0.region is b0.region and a0.extra["zone"] is b0.extra["zone"]
    assert a0.network_tags[0] is b0.network_tags[0]
    assert a0.service_accounts[0] is b0.service_accounts[0]
    assert a0.tags["team"] is b0.tags["team"] and a0.state is b0.state
    assert a0.extra["accessConfigs"][0]["type"] is b0.extra["accessConfigs"][0]["type"]
    assert a0.tags is not a1.tags  # each asset its own (mutable) dict
