"""Drift over model-level snapshots: every change kind, on every kind of rule set, and its reverse.

Each case builds a baseline and a changed snapshot directly, checks the item that compare()
finds (kind, effect, ATT&CK mapping, operations), then swaps the two snapshots: the reverse of a
widening must be narrowed or neutral.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest

from scanner.drift.comparison import compare
from scanner.model import (
    Action,
    Asset,
    Attachment,
    ChangeKind,
    CollectionError,
    Direction,
    Effect,
    IpList,
    Network,
    Peer,
    PeerKind,
    Rule,
    RuleSet,
    RuleSetKind,
    Scope,
    Severity,
    Snapshot,
)
from scanner.netmath import PortSet

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
ANY4 = "0.0.0.0/0"


def rule(action, protocol, ports, cidrs=(ANY4,), priority=None, native_id=None, direction=None,
         **kw) -> Rule:
    peers = kw.pop("peers", tuple(Peer.cidr(c) for c in cidrs))
    return Rule(direction or Direction.INGRESS, action, protocol, PortSet.parse(ports), peers,
                priority, native_id=native_id, **kw)


def rule_set(kind, rules, rs_id="rs-1", provider="aws", attachments=None, **kw) -> RuleSet:
    if attachments is None:
        attachments = (Attachment("subnet", "subnet-1"),)
    return RuleSet(provider, "111", "us-east-1", kind, rs_id, kw.pop("name", rs_id),
                   tuple(rules), tuple(attachments), **kw)


def snap(*items, scopes=None, snapshot_id="s") -> Snapshot:
    providers = {getattr(i, "provider", "aws") for i in items} or {"aws"}
    scopes = scopes if scopes is not None else [Scope(p, "111", "us-east-1") for p in providers]
    return Snapshot.from_items(snapshot_id, T0, scopes, items)


def only(items, change=None):
    found = [i for i in items if i.change is not ChangeKind.SCOPE_UNKNOWN]
    if change is not None:
        found = [i for i in found if i.change is change]
    assert len(found) == 1, [(i.change, i.summary) for i in found]
    return found[0]


def both_ways(before, after, change, effect):
    """The forward item has ``effect``; the reverse is narrowed or neutral."""
    forward = only(compare(snap(*before), snap(*after)), change)
    assert forward.effect is effect, forward.summary
    reverse = [i for i in compare(snap(*after), snap(*before))
               if i.change is not ChangeKind.SCOPE_UNKNOWN]
    assert reverse, "the reverse change was not found"
    if effect is Effect.WIDENED:
        assert all(i.effect in (Effect.NARROWED, Effect.NEUTRAL) for i in reverse), \
            [(i.change, i.effect, i.summary) for i in reverse]
    return forward


FIRST_MATCH = [RuleSetKind.AWS_NETWORK_ACL, RuleSetKind.AZURE_NSG, RuleSetKind.GCP_VPC_FIREWALL,
               RuleSetKind.GCP_HIERARCHICAL_POLICY, RuleSetKind.GCP_NETWORK_POLICY]
PROVIDER_OF = {RuleSetKind.AWS_NETWORK_ACL: "aws", RuleSetKind.AWS_SECURITY_GROUP: "aws",
               RuleSetKind.AZURE_NSG: "azure", RuleSetKind.GCP_VPC_FIREWALL: "gcp",
               RuleSetKind.GCP_HIERARCHICAL_POLICY: "gcp", RuleSetKind.GCP_NETWORK_POLICY: "gcp"}


def fm(kind, rules, **kw):
    return rule_set(kind, rules, provider=PROVIDER_OF[kind], **kw)


# --- security groups (union) ------------------------------------------------------------------


def sg(rules, **kw):
    return rule_set(RuleSetKind.AWS_SECURITY_GROUP, rules, rs_id="sg-1",
                    attachments=kw.pop("attachments", (Attachment("network_interface",
                                                                  "eni-1"),)), **kw)


def test_security_group_rule_added_to_internet_ssh_is_critical_and_mapped():
    base = sg([rule(Action.ALLOW, "tcp", "443", native_id="sgr-1")])
    changed = sg([*base.rules, rule(Action.ALLOW, "tcp", "22", native_id="sgr-2")])
    item = both_ways([base], [changed], ChangeKind.RULE_ADDED, Effect.WIDENED)
    assert item.severity is Severity.CRITICAL
    assert item.attack == ("T1562.007",) and item.tactic == "TA0005"
    assert item.detection == "Firewall Rule Modification"
    assert item.operations == ("AuthorizeSecurityGroupIngress",)
    assert "tcp 22 (SSH) from the whole internet (IPv4)" in item.summary
    reverse = only(compare(snap(changed), snap(base)))
    assert reverse.operations == ("RevokeSecurityGroupIngress",) and reverse.attack == ()
    assert reverse.severity is Severity.INFO


@pytest.mark.parametrize("before,after", [
    (dict(ports="22"), dict(ports="20-25")),  # more ports
    (dict(cidrs=("10.0.0.0/16",)), dict(cidrs=("10.0.0.0/8",))),  # wider sources
    (dict(protocol="tcp"), dict(protocol="all")),  # more protocols
    (dict(peers=(Peer(PeerKind.SECURITY_GROUP, "sg-a"),)),
     dict(peers=(Peer(PeerKind.SECURITY_GROUP, "sg-a"), Peer(PeerKind.SECURITY_GROUP, "sg-b")))),
    (dict(protocol="icmp", icmp_type=8), dict(protocol="icmp")),  # every ICMP type now
])
def test_security_group_rule_edited_in_place_is_one_widening(before, after):
    spec = dict(protocol="tcp", ports="22", cidrs=("10.0.0.0/16",))
    a = {**spec, **before}
    b = {**spec, **after}
    base = sg([rule(Action.ALLOW, a.pop("protocol"), a.pop("ports"), native_id="sgr-1", **a)])
    changed = sg([rule(Action.ALLOW, b.pop("protocol"), b.pop("ports"), native_id="sgr-1", **b)])
    item = both_ways([base], [changed], ChangeKind.RULE_MODIFIED, Effect.WIDENED)
    assert item.operations[0] == "ModifySecurityGroupRules"
    assert item.attack == ("T1562.007",)


def test_description_only_change_is_neutral_without_technique():
    base = sg([rule(Action.ALLOW, "tcp", "22", native_id="sgr-1", description="ops")])
    changed = sg([replace(base.rules[0], description="<script>x</script>")])
    item = only(compare(snap(base), snap(changed)))
    assert (item.change, item.effect, item.attack) == (ChangeKind.RULE_MODIFIED, Effect.NEUTRAL,
                                                       ())
    assert item.operations[0] == "UpdateSecurityGroupRuleDescriptionsIngress"


def test_rule_covered_by_another_rule_of_the_group_is_neutral():
    base = sg([rule(Action.ALLOW, "all", "*", native_id="sgr-1")])
    changed = sg([*base.rules, rule(Action.ALLOW, "tcp", "22", native_id="sgr-2")])
    assert only(compare(snap(base), snap(changed))).effect is Effect.NEUTRAL


def test_unattached_group_widening_ranks_below_an_attached_one():
    add = rule(Action.ALLOW, "tcp", "22", native_id="sgr-2")
    attached = only(compare(snap(sg([])), snap(sg([add]))))
    loose = only(compare(snap(sg([], attachments=())), snap(sg([add], attachments=()))))
    assert attached.severity is Severity.CRITICAL and loose.severity is Severity.HIGH
    assert loose.effect is Effect.WIDENED


def test_group_put_on_an_interface_widens_beyond_its_other_groups():
    other = rule_set(RuleSetKind.AWS_SECURITY_GROUP, [rule(Action.ALLOW, "tcp", "443",
                                                           native_id="sgr-9")], rs_id="sg-0",
                     attachments=(Attachment("network_interface", "eni-1"),))
    group = sg([rule(Action.ALLOW, "tcp", "22", native_id="sgr-1")], attachments=())
    eni = Asset("aws", "111", "us-east-1", "aws_network_interface", "eni-1",
                rule_set_ids=("sg-0",))
    put = replace(group, attachments=(Attachment("network_interface", "eni-1"),))
    eni_after = replace(eni, rule_set_ids=("sg-0", "sg-1"))
    item = both_ways([other, group, eni], [other, put, eni_after], ChangeKind.ATTACHMENT_ADDED,
                     Effect.WIDENED)
    assert item.details["target"] == "network_interface eni-1"
    assert "ModifyNetworkInterfaceAttribute" in item.operations
    # The same rule already granted by the other group: putting this one on adds nothing.
    same = replace(other, rules=(rule(Action.ALLOW, "tcp", "22", native_id="sgr-9"),))
    item = only(compare(snap(same, group, eni), snap(same, put, eni_after)))
    assert item.effect is Effect.NEUTRAL


def test_rule_recreated_under_a_new_id_is_one_neutral_change():
    """Revoke and authorize the same rule again: AWS gives it a new id, nothing new is open."""
    before = sg([rule(Action.ALLOW, "tcp", "22", ["10.0.0.0/8"], native_id="sgr-old")])
    after = sg([rule(Action.ALLOW, "tcp", "22", ["10.0.0.0/8"], native_id="sgr-new")])
    item = only(compare(snap(before), snap(after)))
    assert (item.change, item.effect) == (ChangeKind.RULE_MODIFIED, Effect.NEUTRAL)
    assert "sgr-old" in item.summary and not item.attack


def test_nacl_entry_moved_to_another_rule_number_is_a_priority_change():
    allow = rule(Action.ALLOW, "tcp", "22", priority=200, native_id="ingress:200")
    deny = rule(Action.DENY, "tcp", "22", priority=100, native_id="ingress:100")
    moved = replace(deny, priority=300, native_id="ingress:300")
    nacl = RuleSetKind.AWS_NETWORK_ACL
    item = both_ways([fm(nacl, [deny, allow])], [fm(nacl, [moved, allow])],
                     ChangeKind.PRIORITY_CHANGED, Effect.WIDENED)
    assert item.attack == ("T1562.007",)


def test_group_created_and_deleted():
    group = sg([rule(Action.ALLOW, "tcp", "3389", native_id="sgr-1"),
                rule(Action.ALLOW, "all", "*", native_id="sgr-e", direction=Direction.EGRESS)])
    item = both_ways([], [group], ChangeKind.RULE_SET_CREATED, Effect.WIDENED)
    assert item.operations == ("CreateSecurityGroup", "DeleteSecurityGroup")
    # AWS's own default egress rule on a new group is not a widening.
    plain = sg([rule(Action.ALLOW, "all", "*", native_id="sgr-e", direction=Direction.EGRESS)])
    assert only(compare(snap(), snap(plain))).effect is Effect.NEUTRAL


# --- first-match sets ---------------------------------------------------------------------------


def deny_then_allow(kind):
    deny = rule(Action.DENY, "tcp", "22", priority=100, native_id="deny-ssh")
    allow = rule(Action.ALLOW, "tcp", "0-1024", priority=200, native_id="allow-low")
    return fm(kind, [deny, allow])


@pytest.mark.parametrize("kind", FIRST_MATCH)
def test_removing_a_deny_that_lets_a_later_allow_win_widens(kind):
    base = deny_then_allow(kind)
    changed = replace(base, rules=base.rules[1:])
    item = both_ways([base], [changed], ChangeKind.RULE_REMOVED, Effect.WIDENED)
    assert item.severity is Severity.CRITICAL
    assert "tcp 22 (SSH) from the whole internet (IPv4)" in item.summary
    assert item.details["opened"][0]["ports"] == ["22"]


@pytest.mark.parametrize("kind", FIRST_MATCH)
def test_disabling_a_deny_widens_and_is_firewall_disable(kind):
    base = deny_then_allow(kind)
    changed = replace(base, rules=(replace(base.rules[0], enabled=False), base.rules[1]))
    item = both_ways([base], [changed], ChangeKind.RULE_DISABLED, Effect.WIDENED)
    assert item.detection == "Firewall Disable"


@pytest.mark.parametrize("kind", FIRST_MATCH)
def test_moving_the_deny_after_the_allow_widens(kind):
    base = deny_then_allow(kind)
    changed = replace(base, rules=(replace(base.rules[0], priority=300), base.rules[1]))
    item = both_ways([base], [changed], ChangeKind.PRIORITY_CHANGED, Effect.WIDENED)
    assert item.details["opened"][0]["ports"] == ["22"]


@pytest.mark.parametrize("kind", FIRST_MATCH)
def test_change_masked_by_an_earlier_deny_is_neutral(kind):
    deny = rule(Action.DENY, "all", "*", priority=100, native_id="deny-all")
    allow = rule(Action.ALLOW, "tcp", "22", ["10.0.0.0/8"], priority=200, native_id="allow")
    base = fm(kind, [deny, allow])
    changed = replace(base, rules=(deny, replace(allow, peers=(Peer.cidr(ANY4),))))
    assert only(compare(snap(base), snap(changed))).effect is Effect.NEUTRAL


@pytest.mark.parametrize("kind", FIRST_MATCH)
def test_deny_turned_into_allow_widens(kind):
    base = fm(kind, [rule(Action.DENY, "tcp", "3306", priority=100, native_id="r")])
    changed = replace(base, rules=(replace(base.rules[0], action=Action.ALLOW),))
    item = both_ways([base], [changed], ChangeKind.RULE_MODIFIED, Effect.WIDENED)
    assert "MySQL" in item.summary


def test_gcp_policy_deny_turned_goto_next_with_no_network_below_is_unknown():
    """The policy alone hands the traffic on; what the levels below make of it is what the
    change did, and no network of the snapshot shows them (tests/scanner/test_drift_fidelity.py
    judges the chain when it is there)."""
    base = fm(RuleSetKind.GCP_HIERARCHICAL_POLICY,
              [rule(Action.DENY, "tcp", "5432", priority=1000, native_id="1000/tcp")])
    changed = replace(base, rules=(replace(base.rules[0], action=Action.GOTO_NEXT),))
    item = both_ways([base], [changed], ChangeKind.RULE_MODIFIED, Effect.UNKNOWN)
    assert "compute.firewallPolicies.patchRule" in item.operations
    assert item.details["delegation"]["to"] == []
    assert item.attack == ("T1562.007",)  # an undecided effect is kept for review


def test_gcp_equal_priority_deny_wins_so_adding_an_allow_there_is_neutral():
    deny = rule(Action.DENY, "tcp", "22", priority=1000, native_id="d/tcp")
    base = fm(RuleSetKind.GCP_VPC_FIREWALL, [deny])
    changed = replace(base, rules=(deny, rule(Action.ALLOW, "tcp", "22", priority=1000,
                                              native_id="a/tcp")))
    assert only(compare(snap(base), snap(changed))).effect is Effect.NEUTRAL


def test_targets_are_judged_where_they_apply():
    web = Peer(PeerKind.NETWORK_TAG, "web")
    db = Peer(PeerKind.NETWORK_TAG, "db")
    deny_db = rule(Action.DENY, "tcp", "5432", priority=100, native_id="deny-db", targets=(db,))
    allow_web = rule(Action.ALLOW, "tcp", "5432", priority=200, native_id="allow",
                     targets=(web,))
    base = fm(RuleSetKind.GCP_VPC_FIREWALL, [deny_db, allow_web])
    # Removing the deny on db machines widens for machines tagged both db and web.
    gone = replace(base, rules=(allow_web,))
    assert only(compare(snap(base), snap(gone))).effect is Effect.WIDENED
    # Retargeting the allow to another tag is a widening, never neutral.
    moved = replace(base, rules=(deny_db, replace(allow_web, targets=(
        Peer(PeerKind.NETWORK_TAG, "api"),))))
    assert only(compare(snap(base), snap(moved))).effect is Effect.WIDENED


def test_symbolic_peer_behind_a_partial_deny_is_not_called_neutral():
    deny = rule(Action.DENY, "tcp", "22", ["10.0.0.0/8"], priority=100, native_id="deny")
    allow = rule(Action.ALLOW, "tcp", "22", priority=200, native_id="allow",
                 peers=(Peer(PeerKind.NETWORK_TAG, "bastion"),))
    base = fm(RuleSetKind.GCP_VPC_FIREWALL, [deny, allow])
    # The deny may have covered the bastion's addresses: removing it may open them.
    assert only(compare(snap(base), snap(replace(base, rules=(allow,))))).effect is \
        Effect.WIDENED
    # Another tag behind the partial deny may not be covered by it: a widening.
    other = replace(allow, peers=(Peer(PeerKind.NETWORK_TAG, "ops"),))
    assert only(compare(snap(base), snap(replace(base, rules=(deny, other))))).effect is \
        Effect.WIDENED


def test_unmodelled_field_change_is_unknown_not_neutral():
    allow = rule(Action.ALLOW, "tcp", "22", priority=100, native_id="r",
                 extra={"sourcePortRanges": ["1024"]})
    base = fm(RuleSetKind.AZURE_NSG, [allow])
    changed = replace(base, rules=(replace(allow, extra={}),))
    item = only(compare(snap(base), snap(changed)))
    assert item.effect is Effect.UNKNOWN and item.attack == ("T1562.007",)


# --- attachments --------------------------------------------------------------------------------


def test_nsg_taken_off_a_subnet_widens_and_put_on_narrows():
    nsg = fm(RuleSetKind.AZURE_NSG, [rule(Action.DENY, "all", "*", priority=65500,
                                          native_id="DenyAllInBound", is_default=True)])
    off = replace(nsg, attachments=())
    item = both_ways([nsg], [off], ChangeKind.ATTACHMENT_REMOVED, Effect.WIDENED)
    assert item.detection == "Firewall Disable"
    assert "Microsoft.Network/virtualNetworks/subnets/write" in item.operations
    # An NSG that allows everything narrows nothing when it is put on.
    open_nsg = replace(nsg, rules=tuple(
        rule(Action.ALLOW, "all", "*", ["0.0.0.0/0", "::/0"], priority=100, native_id=d.value,
             direction=d) for d in Direction))
    assert only(compare(snap(replace(open_nsg, attachments=())),
                        snap(open_nsg))).effect is Effect.NEUTRAL


def test_nacl_association_replaced_is_one_item_comparing_both_acls():
    strict = fm(RuleSetKind.AWS_NETWORK_ACL,
                [rule(Action.DENY, "tcp", "22", priority=100, native_id="ingress:100"),
                 rule(Action.ALLOW, "all", "*", priority=200, native_id="ingress:200")],
                rs_id="acl-strict")
    loose = fm(RuleSetKind.AWS_NETWORK_ACL,
               [rule(Action.ALLOW, "all", "*", priority=100, native_id="ingress:100")],
               rs_id="acl-loose", attachments=())
    moved = [replace(strict, attachments=()), replace(loose, attachments=strict.attachments)]
    item = both_ways([strict, loose], moved, ChangeKind.ATTACHMENT_ADDED, Effect.WIDENED)
    assert item.resource_id == "acl-loose" and item.details["replaces"] == "acl-strict"
    assert item.operations[0] == "ReplaceNetworkAclAssociation"
    assert item.details["opened"][0]["ports"] == ["22"]


def test_gcp_policy_association_on_a_network_judged_with_the_vpc_rules():
    net_id = "projects/p/global/networks/prod"
    vpc = fm(RuleSetKind.GCP_VPC_FIREWALL,
             [rule(Action.ALLOW, "tcp", "3306", priority=1000, native_id="mysql/tcp"),
              rule(Action.DENY, "all", "*", ["0.0.0.0/0", "::/0"], priority=65535,
                   native_id="implied-deny-ingress/all", is_default=True)],
             rs_id=f"{net_id}/firewalls", attachments=(Attachment("network", net_id),))
    policy = fm(RuleSetKind.GCP_NETWORK_POLICY,
                [rule(Action.DENY, "tcp", "3306", priority=1000, native_id="1000/tcp")],
                rs_id="projects/p/global/firewallPolicies/pol",
                attachments=(Attachment("network", net_id),))
    network = Network("gcp", "111", "us-east-1", net_id, "prod",
                      enforcement_order="BEFORE_CLASSIC_FIREWALL",
                      rule_set_ids=(policy.resource_id, vpc.resource_id))
    detached = replace(policy, attachments=())
    net_after = replace(network, rule_set_ids=(vpc.resource_id,))
    item = both_ways([vpc, policy, network], [vpc, detached, net_after],
                     ChangeKind.ATTACHMENT_REMOVED, Effect.WIDENED)
    assert "MySQL" in item.summary
    # After the VPC rules, the policy's deny never sees the traffic the VPC allow decides.
    after_classic = replace(network, enforcement_order="AFTER_CLASSIC_FIREWALL",
                            rule_set_ids=(vpc.resource_id, policy.resource_id))
    net_after = replace(after_classic, rule_set_ids=(vpc.resource_id,))
    item = only(compare(snap(vpc, policy, after_classic), snap(vpc, detached, net_after)))
    assert item.effect is Effect.NEUTRAL


def test_enforcement_order_change_is_computed_from_the_chain():
    net_id = "projects/p/global/networks/prod"
    vpc = fm(RuleSetKind.GCP_VPC_FIREWALL,
             [rule(Action.ALLOW, "tcp", "22", priority=1000, native_id="ssh/tcp")],
             rs_id=f"{net_id}/firewalls", attachments=(Attachment("network", net_id),))
    policy = fm(RuleSetKind.GCP_NETWORK_POLICY,
                [rule(Action.DENY, "tcp", "22", priority=1000, native_id="1000/tcp")],
                rs_id="pol", attachments=(Attachment("network", net_id),))
    before = Network("gcp", "111", "us-east-1", net_id, "prod",
                     enforcement_order="BEFORE_CLASSIC_FIREWALL",
                     rule_set_ids=("pol", vpc.resource_id))
    after = replace(before, enforcement_order="AFTER_CLASSIC_FIREWALL",
                    rule_set_ids=(vpc.resource_id, "pol"))
    item = both_ways([vpc, policy, before], [vpc, policy, after],
                     ChangeKind.ENFORCEMENT_ORDER_CHANGED, Effect.WIDENED)
    assert item.operations == ("v1.compute.networks.patch", "v1.compute.networks.update")


# --- GuardDuty ----------------------------------------------------------------------------------


def ip_set(status="ACTIVE", list_type="trusted", location="s3://b/ips.txt"):
    return IpList("aws", "111", "us-east-1", "ipset-1", "ops", list_type, status, location)


def test_trusted_ip_set_added_while_active_is_a_blinding_widening():
    item = both_ways([], [ip_set()], ChangeKind.IP_LIST_ADDED, Effect.WIDENED)
    assert item.severity is Severity.HIGH and item.detection == "Firewall Disable"
    assert item.operations == ("CreateIPSet", "UpdateIPSet", "DeleteIPSet")
    assert only(compare(snap(), snap(ip_set("INACTIVE")))).effect is Effect.NEUTRAL
    changed = only(compare(snap(ip_set()), snap(ip_set(location="s3://evil/ips.txt"))))
    assert changed.effect is Effect.WIDENED and changed.change is ChangeKind.IP_LIST_CHANGED
    activated = only(compare(snap(ip_set("INACTIVE")), snap(ip_set())))
    assert activated.effect is Effect.WIDENED


def test_threat_list_deactivated_is_widening():
    threat = ip_set(list_type="threat")
    item = only(compare(snap(threat), snap(replace(threat, status="INACTIVE"))))
    assert item.effect is Effect.WIDENED and "CreateThreatIntelSet" in item.operations


# --- scopes -------------------------------------------------------------------------------------


def test_failed_scope_reports_unknown_and_no_false_removals():
    base = sg([rule(Action.ALLOW, "tcp", "22", native_id="sgr-1")])
    failed = CollectionError("aws", "111", "us-east-1", "AccessDenied", code="AccessDenied")
    items = compare(snap(base), snap(failed))
    assert [i.change for i in items] == [ChangeKind.SCOPE_UNKNOWN]
    assert items[0].effect is Effect.UNKNOWN and "current snapshot" in items[0].summary
    # Region "" means the whole account, every region of it.
    account = CollectionError("aws", "111", "", "cannot assume role")
    items = compare(snap(base, account), snap(sg([])))
    assert all(i.change is ChangeKind.SCOPE_UNKNOWN for i in items)


def test_guardduty_failure_leaves_rule_sets_comparable_but_ip_lists_unknown():
    base = sg([rule(Action.ALLOW, "tcp", "443", native_id="sgr-1")])
    gd = CollectionError("aws", "111", "us-east-1", "denied", resource_type="GuardDutyIPSets")
    changed = sg([*base.rules, rule(Action.ALLOW, "tcp", "22", native_id="sgr-2")])
    items = compare(snap(base, ip_set()), snap(changed, gd))
    kinds = sorted(i.change.value for i in items)
    assert kinds == ["rule_added", "scope_unknown"]


def test_failed_resource_type_makes_only_what_it_feeds_unknown():
    """Unreadable organization policies leave a project's VPC rules comparable, and the
    other way round; a deleted-looking NACL behind a failed NACL read is never 'deleted'."""
    vpc_before = fm(RuleSetKind.GCP_VPC_FIREWALL, [rule(Action.DENY, "tcp", "22", priority=900,
                                                        native_id="deny-ssh/tcp")], rs_id="fw")
    vpc_after = replace(vpc_before, rules=(replace(vpc_before.rules[0], enabled=False),))
    hier = fm(RuleSetKind.GCP_HIERARCHICAL_POLICY,
              [rule(Action.DENY, "tcp", "23", priority=10, native_id="10/tcp")], rs_id="hp")
    no_org = CollectionError("gcp", "111", "", "denied",
                             resource_type="hierarchicalFirewallPolicies")
    items = compare(snap(vpc_before, hier), snap(vpc_after, no_org))
    assert only(items).change is ChangeKind.RULE_DISABLED
    assert sum(i.change is ChangeKind.SCOPE_UNKNOWN for i in items) == 1
    no_firewalls = CollectionError("gcp", "111", "", "denied", resource_type="firewalls")
    items = compare(snap(vpc_before, hier), snap(hier, no_firewalls))
    assert [i.change for i in items] == [ChangeKind.SCOPE_UNKNOWN]
    nacl = fm(RuleSetKind.AWS_NETWORK_ACL, [rule(Action.DENY, "tcp", "22", priority=90)],
              rs_id="acl-1")
    no_nacls = CollectionError("aws", "111", "us-east-1", "denied", resource_type="NetworkAcls")
    assert {i.change for i in compare(snap(nacl), snap(no_nacls))} == {ChangeKind.SCOPE_UNKNOWN}


def test_organization_policy_read_through_another_project_is_not_created_or_deleted():
    policy = fm(RuleSetKind.GCP_HIERARCHICAL_POLICY,
                [rule(Action.DENY, "tcp", "22", priority=10, native_id="10/tcp")],
                rs_id="locations/global/firewallPolicies/1",
                attachments=(Attachment("organization", "organizations/100"),))
    via_beta = replace(policy, account="beta")
    scopes = [Scope("gcp", "111"), Scope("gcp", "beta")]
    assert compare(snap(policy, scopes=scopes), snap(via_beta, scopes=scopes)) == []
    widened = replace(via_beta, rules=(replace(policy.rules[0], enabled=False),))
    item = only(compare(snap(policy, scopes=scopes), snap(widened, scopes=scopes)))
    assert (item.change, item.effect) == (ChangeKind.RULE_DISABLED, Effect.WIDENED)


def test_scope_not_scanned_is_unknown_not_deleted():
    base = sg([rule(Action.ALLOW, "tcp", "22", native_id="sgr-1")])
    other_region = Scope("aws", "111", "eu-west-1")
    items = compare(snap(base), snap(scopes=[other_region]))
    assert {i.change for i in items} == {ChangeKind.SCOPE_UNKNOWN}
    assert len(items) == 2  # us-east-1 only in the baseline, eu-west-1 only in the current


def test_unchanged_estate_has_no_drift_and_ids_are_stable():
    base = deny_then_allow(RuleSetKind.AZURE_NSG)
    assert compare(snap(base), snap(base)) == []
    changed = replace(base, rules=base.rules[1:])
    assert compare(snap(base), snap(changed))[0].drift_id == \
        compare(snap(base), snap(changed))[0].drift_id


def test_the_watched_operations_hold_every_operation_a_drift_item_can_list():
    from scanner import attack
    from scanner.model import Direction

    watched = attack.watched_operations()
    for change in ChangeKind:
        for kind in (None, *RuleSetKind):
            for direction in (None, Direction.INGRESS, Direction.EGRESS):
                for description_only in (False, True):
                    for list_type in (None, "threat", "trusted"):
                        try:
                            ops = attack.operations(change, kind, direction, description_only,
                                                    list_type)
                        except KeyError:  # no such change for that kind
                            continue
                        assert set(ops) <= watched, (change, kind, ops)
    assert {"AuthorizeSecurityGroupIngress", "CreateIPSet",
            "v1.compute.firewalls.patch"} <= watched
    assert "DescribeSecurityGroups" not in watched
