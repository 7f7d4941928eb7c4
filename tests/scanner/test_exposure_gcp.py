"""GCP exposure: hierarchical policies -> network policies and VPC rules by enforcement order ->
implied deny; targets by tag and service account; disabled rules skipped."""

from __future__ import annotations

from scanner.exposure import analyze_exposure
from scanner.model import Peer, PeerKind
from scanner.netmath import PortSet
from tests.scanner.exposure_builders import (
    ALLOW,
    DENY,
    NET,
    NEXT,
    gcp_network,
    instance,
    policy,
    rule,
    snapshot,
    vpc_rules,
)

ASSET_ID = instance().asset_id


def estate(*rule_sets, order=None, asset=None, network_order=None):
    network = gcp_network(*(network_order or rule_sets), order=order)
    return snapshot(*rule_sets, network, asset or instance())


def fw(action, ports, priority, name, protocol="tcp", sources=("0.0.0.0/0",), **kw):
    return rule(action, protocol, ports, sources, priority, native_id=f"{name}/{protocol}",
                name=name, **kw)


def test_deny_and_allow_at_equal_priority_deny_wins():
    vpc = vpc_rules(fw(ALLOW, "22,80", 1000, "allow-web"), fw(DENY, "22", 1000, "deny-ssh"))
    analysis = analyze_exposure(estate(vpc))
    assert analysis.reachable(ASSET_ID) == {"tcp": PortSet.of(80)}
    assert analysis.is_live(vpc.resource_id, "allow-web/tcp")


def test_goto_next_hands_traffic_to_the_vpc_rules():
    org = policy("org", fw(NEXT, "22", 100, "to-vpc"), fw(DENY, "*", 200, "deny-all", "all"),
                 hierarchical=True)
    vpc = vpc_rules(fw(ALLOW, "22,80", 1000, "allow"))
    analysis = analyze_exposure(estate(org, vpc))
    assert analysis.reachable(ASSET_ID) == {"tcp": PortSet.of(22)}
    (ssh,) = analysis.for_asset(ASSET_ID)
    assert [(s.layer, s.decision, s.rule_id) for s in ssh.path] == [
        ("gcp_hierarchical_policy", "goto_next", "to-vpc/tcp"),
        ("gcp_vpc_firewall", "allow", "allow/tcp"),
    ]


def test_hierarchical_allow_decides_before_a_vpc_deny():
    org = policy("org", fw(ALLOW, "443", 100, "allow-https"), hierarchical=True)
    vpc = vpc_rules(fw(DENY, "*", 10, "deny-all", "all"))
    analysis = analyze_exposure(estate(org, vpc))
    assert analysis.reachable(ASSET_ID) == {"tcp": PortSet.of(443)}


def test_enforcement_order_after_vs_before_classic_firewall():
    network_policy = policy("net", fw(DENY, "22", 100, "deny-ssh"))
    vpc = vpc_rules(fw(ALLOW, "22", 1000, "allow-ssh"))
    # The listed order is deliberately the opposite of the enforcement order each time.
    after = analyze_exposure(estate(network_policy, vpc, order="AFTER_CLASSIC_FIREWALL",
                                    network_order=(network_policy, vpc)))
    assert after.reachable(ASSET_ID) == {"tcp": PortSet.of(22)}
    before = analyze_exposure(estate(network_policy, vpc, order="BEFORE_CLASSIC_FIREWALL",
                                     network_order=(vpc, network_policy)))
    assert before.reachable(ASSET_ID) == {}


def test_implied_rules_come_after_the_network_policy():
    network_policy = policy("net", fw(ALLOW, "443", 100, "allow-https"))
    vpc = vpc_rules()
    analysis = analyze_exposure(estate(network_policy, vpc, order="AFTER_CLASSIC_FIREWALL"))
    assert analysis.reachable(ASSET_ID) == {"tcp": PortSet.of(443)}
    assert analyze_exposure(estate(vpc)).exposures == ()


def test_disabled_rules_are_skipped():
    vpc = vpc_rules(fw(ALLOW, "22", 1000, "off", enabled=False),
                    fw(DENY, "80", 500, "deny-off", enabled=False),
                    fw(ALLOW, "80", 1000, "web"))
    assert analyze_exposure(estate(vpc)).reachable(ASSET_ID) == {"tcp": PortSet.of(80)}


def test_targets_by_tag_and_service_account():
    web_tag = Peer(PeerKind.NETWORK_TAG, "web")
    sa = Peer(PeerKind.SERVICE_ACCOUNT, "app@demo-project.iam.gserviceaccount.com")
    vpc = vpc_rules(fw(ALLOW, "80", 1000, "web", targets=(web_tag,)),
                    fw(ALLOW, "8443", 1000, "app", targets=(sa,)),
                    fw(DENY, "80", 900, "deny-db", targets=(Peer(PeerKind.NETWORK_TAG, "db"),)))
    tagged = analyze_exposure(estate(vpc, asset=instance(tags=("web",))))
    assert tagged.reachable(ASSET_ID) == {"tcp": PortSet.of(80)}
    with_sa = analyze_exposure(estate(vpc, asset=instance(accounts=(sa.value,))))
    assert with_sa.reachable(ASSET_ID) == {"tcp": PortSet.of(8443)}
    both = analyze_exposure(estate(vpc, asset=instance(tags=("web", "db"))))
    assert both.reachable(ASSET_ID) == {}
    assert analyze_exposure(estate(vpc)).exposures == ()


def test_source_tags_do_not_admit_the_internet():
    vpc = vpc_rules(rule(ALLOW, "tcp", "22", (Peer(PeerKind.NETWORK_TAG, "bastion"),), 1000,
                         native_id="from-bastion/tcp"))
    assert analyze_exposure(estate(vpc)).exposures == ()


def test_policy_target_networks_limit_where_a_rule_applies():
    other = Peer(PeerKind.OTHER, "projects/demo-project/global/networks/other")
    own = Peer(PeerKind.OTHER, NET)
    org = policy("org", fw(ALLOW, "22", 100, "elsewhere", targets=(other,)),
                 fw(ALLOW, "80", 110, "here", targets=(own,)), hierarchical=True)
    analysis = analyze_exposure(estate(org, vpc_rules()))
    assert analysis.reachable(ASSET_ID) == {"tcp": PortSet.of(80)}


def test_no_external_address_reaches_nothing_and_ipv6_is_its_own_family():
    vpc = vpc_rules(fw(ALLOW, "22", 1000, "ssh", sources=("0.0.0.0/0", "::/0")))
    assert analyze_exposure(estate(vpc, asset=instance(public=()))).exposures == ()
    internal_v6 = instance(public=(), ipv6=("fd20:1:2::5",))
    assert analyze_exposure(estate(vpc, asset=internal_v6)).exposures == ()
    external_v6 = analyze_exposure(estate(vpc, asset=instance(public=(),
                                                              ipv6=("2600:1900:4000::1",))))
    (ssh,) = external_v6.for_asset(ASSET_ID)
    assert (ssh.family, ssh.via, ssh.ports) == ("ipv6", "ipv6", PortSet.of(22))


def test_missing_network_or_rule_set_is_unknown():
    assert analyze_exposure(snapshot(instance())).unknown_assets == (ASSET_ID,)
    vpc = vpc_rules()
    dangling = snapshot(gcp_network(vpc), instance())
    assert analyze_exposure(dangling).unknown_assets == (ASSET_ID,)


def test_regional_network_policy_applies_only_in_its_region():
    here = policy("here", fw(ALLOW, "443", 100, "https"), region="europe-west1")
    there = policy("there", fw(ALLOW, "22", 100, "ssh"), region="us-central1")
    analysis = analyze_exposure(estate(vpc_rules(), here, there))
    assert analysis.reachable(ASSET_ID) == {"tcp": PortSet.of(443)}


def test_unresolvable_sources_are_noted_only_for_the_rules_that_apply():
    group = Peer(PeerKind.ADDRESS_GROUP, "projects/demo-project/locations/global/addressGroups/x")
    vpc = vpc_rules(
        rule(ALLOW, "tcp", "22", (group,), 1000, native_id="web-group/tcp",
             targets=(Peer(PeerKind.NETWORK_TAG, "web"),)),
        rule(DENY, "tcp", "23", (group,), 1000, native_id="db-group/tcp",
             targets=(Peer(PeerKind.NETWORK_TAG, "db"),)),
        fw(ALLOW, "80", 1000, "http"))
    web = analyze_exposure(estate(vpc, asset=instance(tags=("web",)))).notes[ASSET_ID]
    assert [n.split(" ")[1:3] for n in web] == [["web-group/tcp", "admits"]]
    db = analyze_exposure(estate(vpc, asset=instance(tags=("db",)))).notes[ASSET_ID]
    assert [n.split(" ")[1:3] for n in db] == [["db-group/tcp", "blocks"]]
    assert ASSET_ID not in analyze_exposure(estate(vpc)).notes
