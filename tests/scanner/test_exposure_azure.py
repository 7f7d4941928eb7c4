"""Azure exposure: public IP (or load balancer) -> subnet NSG -> NIC NSG, both must allow."""

from __future__ import annotations

from scanner.exposure import analyze_exposure
from scanner.model import Peer, PeerKind
from scanner.netmath import PortSet
from tests.scanner.exposure_builders import (
    ALLOW,
    DENY,
    INTERNET,
    SUB,
    azure_subnet,
    nic,
    nsg,
    rule,
    snapshot,
)

NIC_ID = nic().asset_id


def estate(subnet_nsg=None, nic_nsg=None, **nic_kw):
    sets = [s for s in (subnet_nsg, nic_nsg) if s is not None]
    return snapshot(*sets, azure_subnet(nsg_set=subnet_nsg), nic(nsg_set=nic_nsg, **nic_kw))


def allow(ports, priority, name, protocol="tcp", sources=(INTERNET,), **kw):
    return rule(ALLOW, protocol, ports, sources, priority, native_id=name, **kw)


def deny(ports, priority, name, protocol="tcp", sources=(INTERNET,), **kw):
    return rule(DENY, protocol, ports, sources, priority, native_id=name, **kw)


def test_two_nsgs_disagreeing_expose_only_what_both_allow():
    subnet = nsg("subnet-nsg", allow("22", 100, "ssh"), allow("3389", 110, "rdp"))
    nic_nsg = nsg("nic-nsg", allow("22", 100, "ssh-nic"), allow("443", 120, "https"))
    analysis = analyze_exposure(estate(subnet, nic_nsg))
    assert analysis.reachable(NIC_ID) == {"tcp": PortSet.of(22)}
    (ssh,) = analysis.for_asset(NIC_ID)
    assert [(s.layer, s.decision, s.rule_id) for s in ssh.path] == [
        ("azure_nsg_subnet", "allow", "ssh"), ("azure_nsg_nic", "allow", "ssh-nic")]
    assert not analysis.is_live(subnet.resource_id, "rdp")
    assert not analysis.is_live(nic_nsg.resource_id, "https")


def test_deny_at_higher_priority_wins_over_a_later_allow():
    nic_nsg = nsg("nic-nsg", deny("22", 100, "no-ssh"), allow("22,80", 200, "web"))
    analysis = analyze_exposure(estate(None, nic_nsg))
    assert analysis.reachable(NIC_ID) == {"tcp": PortSet.of(80)}
    (web,) = analysis.for_asset(NIC_ID)
    assert web.path[0] == web.path[0].__class__("azure_nsg_subnet", "absent", None, None,
                                                "no NSG at this level")


def test_default_deny_all_inbound_closes_what_no_custom_rule_allows():
    analysis = analyze_exposure(estate(nsg("subnet-nsg"), None))
    assert analysis.exposures == ()


def test_no_nsg_standard_sku_is_closed_and_basic_sku_is_open():
    assert analyze_exposure(estate(None, None, sku="Standard")).exposures == ()
    basic = analyze_exposure(estate(None, None, sku="Basic"))
    assert basic.reachable(NIC_ID) == {"all": PortSet.all()}
    assert any("Basic" in n for n in basic.notes[NIC_ID])


def test_any_source_and_port_ranges():
    any_source = Peer(PeerKind.ANY, "*", ("0.0.0.0/0", "::/0"))
    nic_nsg = nsg("nic-nsg", allow("1000-2000", 100, "range", protocol="udp",
                                   sources=(any_source,)))
    analysis = analyze_exposure(estate(None, nic_nsg))
    assert analysis.reachable(NIC_ID) == {"udp": PortSet.of((1000, 2000))}


def test_destination_targets_decide_whether_a_rule_applies_to_the_nic():
    asg = f"/subscriptions/{SUB}/resourcegroups/rg/providers/microsoft.network/" \
          "applicationsecuritygroups/web"
    web_asg = Peer(PeerKind.APPLICATION_SECURITY_GROUP, asg)
    other_host = Peer.cidr("10.0.1.99/32")
    own_host = Peer.cidr("10.0.1.0/28")
    nic_nsg = nsg("nic-nsg",
                  allow("80", 100, "to-asg", targets=(web_asg,)),
                  allow("22", 110, "to-other", targets=(other_host,)),
                  allow("443", 120, "to-own", targets=(own_host,)))
    member = analyze_exposure(estate(None, nic_nsg, asgs=(asg.upper(),)))
    assert member.reachable(NIC_ID) == {"tcp": PortSet.of(80, 443)}
    outsider = analyze_exposure(estate(None, nic_nsg))
    assert outsider.reachable(NIC_ID) == {"tcp": PortSet.of(443)}


def test_a_deny_for_another_destination_does_not_block_this_nic():
    nic_nsg = nsg("nic-nsg", deny("22", 100, "deny-db", targets=(Peer.cidr("10.0.9.0/24"),)),
                  allow("22", 200, "ssh"))
    assert analyze_exposure(estate(None, nic_nsg)).reachable(NIC_ID) == {"tcp": PortSet.of(22)}


def test_no_public_ip_reaches_nothing_and_a_load_balancer_front_end_is_noted():
    nic_nsg = nsg("nic-nsg", allow("443", 100, "https"))
    assert analyze_exposure(estate(None, nic_nsg, public=(), sku=None)).exposures == ()
    behind = analyze_exposure(estate(None, nic_nsg, public=(), sku=None,
                                     load_balancer_public_addresses=["20.9.9.9"]))
    (https,) = behind.for_asset(NIC_ID)
    assert (https.via, https.ports) == ("load_balancer", PortSet.of(443))


def test_vnet_only_rule_does_not_admit_the_internet():
    vnet_only = Peer(PeerKind.SERVICE_TAG, "VirtualNetwork", ("10.0.0.0/16",))
    nic_nsg = nsg("nic-nsg", allow("22", 100, "vnet-ssh", sources=(vnet_only,)))
    assert analyze_exposure(estate(None, nic_nsg)).exposures == ()


def test_unread_public_ip_or_missing_nsg_is_unknown():
    unread = analyze_exposure(estate(None, None, unresolved_public_ips=["pip-x"]))
    assert unread.unknown_assets == (NIC_ID,)
    missing = snapshot(azure_subnet(), nic(nsg_set=nsg("gone")))
    assert analyze_exposure(missing).unknown_assets == (NIC_ID,)


def test_unresolvable_service_tag_sources_are_noted_not_counted():
    cloud = Peer(PeerKind.SERVICE_TAG, "AzureCloud")
    nic_nsg = nsg("nic-nsg", allow("443", 100, "from-azure", sources=(cloud,)))
    analysis = analyze_exposure(estate(None, nic_nsg))
    assert analysis.exposures == ()
    assert any("AzureCloud" in n and "not counted" in n for n in analysis.notes[NIC_ID])
