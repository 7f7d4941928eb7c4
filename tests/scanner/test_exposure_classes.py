"""Exposure per equivalence class, and reuse across scans, against per-asset analysis.

Random estates on the three clouds, templated the way real ones are (interfaces share groups,
NSGs, tags) but with every attribute that decides exposure varied: public addresses of each
family, routes, ACL and NSG rules with targets, tags and service accounts, regions, SKUs, load
balancer front ends, references to rule sets or subnets that are missing. The class-based
analysis must give every asset exactly what analysing that asset alone gives, and an analysis
that reuses an earlier scan's classes (``ExposureMemo``) exactly what a full one gives.
"""

from __future__ import annotations

import random
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.exposure import ExposureAnalysis, analyze_exposure
from scanner.exposure_classes import ExposureMemo
from scanner.model import (
    Action,
    Asset,
    Direction,
    Network,
    Peer,
    PeerKind,
    Rule,
    RuleSet,
    RuleSetKind,
    Scope,
    Snapshot,
    Subnet,
)
from scanner.netmath import PortSet
from tests.scanner.exposure_builders import TAKEN

IN, OUT = Direction.INGRESS, Direction.EGRESS
ALLOW, DENY, NEXT = Action.ALLOW, Action.DENY, Action.GOTO_NEXT
SOURCES = ("0.0.0.0/0", "::/0", "0.0.0.0/1", "34.0.0.0/8", "52.10.0.0/16", "10.0.0.0/8",
           "198.51.100.0/24", "2001:db8::/32", "2600::/16")
PORTS = ("22", "80", "443", "1000-2000", "*", "3389", "5432", "0-1023")
PROTOCOLS = ("tcp", "tcp", "udp", "all", "icmp")
TAGS = ("web", "db", "bastion", "batch")
ACCOUNTS = ("a@p.iam.gserviceaccount.com", "b@p.iam.gserviceaccount.com")
ASGS = ("/asg/web", "/asg/db", "/asg/ops")


def _rule(rng: random.Random, action: Action, priority: int | None, native_id: str,
          direction: Direction = IN, targets: tuple[Peer, ...] = ()) -> Rule:
    protocol = rng.choice(PROTOCOLS)
    ports = PortSet.parse(rng.choice(PORTS)) if protocol in ("tcp", "udp") else PortSet.all()
    peers = tuple(Peer.cidr(c) for c in rng.sample(SOURCES, rng.randint(1, 2)))
    return Rule(direction, action, protocol, ports, peers, priority, native_id=native_id,
                name=f"n-{native_id}" if rng.random() < 0.3 else "", targets=targets)


def _aws(rng: random.Random, out: list) -> None:
    account, region = "111122223333", "eu-west-1"
    for a in range(3):
        rules = []
        for direction, label in ((IN, "ingress"), (OUT, "egress")):
            for n in range(rng.randint(1, 5)):
                action = DENY if rng.random() < 0.3 else ALLOW
                rules.append(_rule(rng, action, 100 + 10 * n, f"{label}:{100 + 10 * n}",
                                   direction))
            rules.append(Rule(direction, DENY, "all", PortSet.all(),
                              (Peer.cidr("0.0.0.0/0"), Peer.cidr("::/0")), 32767,
                              native_id=f"{label}:*", is_default=True))
        out.append(RuleSet("aws", account, region, RuleSetKind.AWS_NETWORK_ACL, f"acl-{a}",
                           f"acl-{a}", tuple(rules), (), "vpc-1"))
    for s in range(4):
        routes = rng.choice((("0.0.0.0/0", "::/0"), ("0.0.0.0/0",), ("::/0",), (),
                             ("0.0.0.0/1",)))
        out.append(Subnet("aws", account, region, f"subnet-{s}", "vpc-1", f"s{s}",
                          (f"10.0.{s}.0/24",), (f"acl-{s % 3}",) if s < 3 else (), routes))
    for g in range(5):
        rules = tuple(_rule(rng, ALLOW, None, f"sgr-{g}-{i}") for i in range(rng.randint(0, 4)))
        out.append(RuleSet("aws", account, region, RuleSetKind.AWS_SECURITY_GROUP, f"sg-{g}",
                           f"sg-{g}", rules, (), "vpc-1"))
    roles = [(tuple(rng.sample([f"sg-{g}" for g in range(5)] + ["sg-missing"],
                               rng.randint(0, 3))),
              rng.choice(("subnet-0", "subnet-1", "subnet-2", "subnet-3", "subnet-gone", None)))
             for _ in range(5)]
    for i in range(rng.randint(8, 20)):
        groups, subnet = rng.choice(roles)
        if rng.random() < 0.5:
            groups = tuple(reversed(groups))  # the order of an interface's groups is not a class
        out.append(Asset("aws", account, region, "aws_network_interface", f"eni-{i}",
                         subnet=subnet, network="vpc-1", private_addresses=(f"10.0.0.{i}",),
                         public_addresses=(f"54.1.0.{i}",) if rng.random() < 0.7 else (),
                         ipv6_addresses=(f"2600:1f18::{i:x}",) if rng.random() < 0.4 else (),
                         rule_set_ids=groups))


def _azure(rng: random.Random, out: list) -> None:
    account, region = "00000000-0000-0000-0000-0000000000a1", "westeurope"
    defaults = (
        Rule(IN, ALLOW, "all", PortSet.all(),
             (Peer(PeerKind.SERVICE_TAG, "VirtualNetwork", ("10.0.0.0/8",)),), 65000,
             native_id="AllowVnetInBound", is_default=True),
        Rule(IN, DENY, "all", PortSet.all(),
             (Peer(PeerKind.ANY, "*", ("0.0.0.0/0", "::/0")),), 65500,
             native_id="DenyAllInBound", is_default=True),
    )
    for n in range(4):
        rules = []
        for i in range(rng.randint(1, 6)):
            roll = rng.random()
            targets: tuple[Peer, ...] = ()
            if roll < 0.25:
                targets = (Peer(PeerKind.APPLICATION_SECURITY_GROUP, rng.choice(ASGS)),)
            elif roll < 0.4:
                targets = (Peer.cidr(rng.choice(("10.1.0.0/25", "10.1.0.128/25"))),)
            action = DENY if rng.random() < 0.3 else ALLOW
            rules.append(_rule(rng, action, 100 + 10 * i, f"rule-{i}", targets=targets))
        rules.append(Rule(IN, ALLOW, "tcp", PortSet.of(443),
                          (Peer(PeerKind.SERVICE_TAG, "AzureCloud"),), 4000,
                          native_id="cloud"))
        out.append(RuleSet("azure", account, region, RuleSetKind.AZURE_NSG, f"/nsg/{n}",
                           f"nsg-{n}", (*rules, *defaults), (), "/vnet"))
    for s in range(3):
        out.append(Subnet("azure", account, region, f"/vnet/s/{s}", "/vnet", f"s{s}",
                          ("10.1.0.0/24",), (f"/nsg/{s}",) if s else ()))
    roles = [(rng.choice(("/vnet/s/0", "/vnet/s/1", "/vnet/s/2", "/vnet/s/gone")),
              rng.choice(("/nsg/3", "/nsg/1", None, None, "/nsg/gone")),
              tuple(rng.sample(ASGS, rng.randint(0, 2))),
              rng.choice(("Standard", "Basic", "")))
             for _ in range(5)]
    for i in range(rng.randint(8, 20)):
        subnet, nsg, asgs, sku = rng.choice(roles)
        extra: dict = {"public_ip_sku": sku} if sku else {}
        public = (f"20.1.0.{i}",) if rng.random() < 0.6 else ()
        if not public and rng.random() < 0.5:
            extra["load_balancer_public_addresses"] = ("20.9.9.9",)
        if rng.random() < 0.05:
            extra["unresolved_public_ips"] = [f"/pip/{i}"]
        out.append(Asset("azure", account, region, "azure_network_interface", f"/nic/{i}",
                         subnet=subnet, network="/vnet",
                         private_addresses=(f"10.1.0.{rng.choice((5, 6, 200, 201))}",),
                         public_addresses=public, rule_set_ids=(nsg,) if nsg else (),
                         application_security_groups=asgs, extra=extra))


def _gcp(rng: random.Random, out: list) -> None:
    project = "proj"
    top = []
    for i in range(rng.randint(1, 4)):
        action = rng.choice((DENY, NEXT, NEXT, ALLOW))
        top.append(_rule(rng, action, 1000 + i, f"{1000 + i}/r"))
    top.append(Rule(IN, NEXT, "all", PortSet.all(), (Peer.cidr("0.0.0.0/0"),), 2147483647,
                    native_id="default/all", is_default=True))
    policy = RuleSet("gcp", project, "global", RuleSetKind.GCP_HIERARCHICAL_POLICY,
                     "locations/global/firewallPolicies/1", "org", tuple(top), ())
    regional = RuleSet("gcp", project, "us-east1", RuleSetKind.GCP_NETWORK_POLICY,
                       "projects/proj/regions/us-east1/firewallPolicies/p", "p",
                       (_rule(rng, ALLOW, 500, "500/r"),), ())
    out += [policy, regional]
    for n in range(2):
        net = f"projects/{project}/global/networks/n{n}"
        rules = []
        for i in range(rng.randint(1, 6)):
            roll = rng.random()
            targets: tuple[Peer, ...] = ()
            if roll < 0.4:
                targets = (Peer(PeerKind.NETWORK_TAG, rng.choice(TAGS)),)
            elif roll < 0.55:
                targets = (Peer(PeerKind.SERVICE_ACCOUNT, rng.choice(ACCOUNTS)),)
            action = DENY if rng.random() < 0.25 else ALLOW
            rules.append(_rule(rng, action, rng.randint(100, 2000), f"fw-{i}/r",
                               targets=targets))
        rules.append(Rule(IN, DENY, "all", PortSet.all(),
                          (Peer.cidr("0.0.0.0/0"), Peer.cidr("::/0")), 65535,
                          native_id="implied-deny-ingress/all", is_default=True))
        out.append(RuleSet("gcp", project, "global", RuleSetKind.GCP_VPC_FIREWALL,
                           f"{net}/firewalls", f"n{n}", tuple(rules), (), net))
        out.append(Network("gcp", project, "global", net, f"n{n}",
                           enforcement_order=rng.choice(("AFTER_CLASSIC_FIREWALL",
                                                         "BEFORE_CLASSIC_FIREWALL")),
                           rule_set_ids=(policy.resource_id, regional.resource_id,
                                         f"{net}/firewalls")))
    roles = [(rng.choice(("n0", "n1", "n0", "gone")),
              tuple(rng.sample(TAGS, rng.randint(0, 2))),
              tuple(rng.sample(ACCOUNTS, rng.randint(0, 1))),
              rng.choice(("us-east1", "us-central1")))
             for _ in range(5)]
    for i in range(rng.randint(8, 20)):
        network, tags, accounts, region = rng.choice(roles)
        out.append(Asset("gcp", project, region, "gcp_instance_interface",
                         f"projects/{project}/zones/{region}-b/instances/vm-{i}/nic0",
                         network=f"projects/{project}/global/networks/{network}",
                         private_addresses=(f"10.128.0.{i}",),
                         public_addresses=(f"35.1.0.{i}",) if rng.random() < 0.7 else (),
                         ipv6_addresses=(f"2600:1900::{i:x}",) if rng.random() < 0.2 else (),
                         network_tags=tags, service_accounts=accounts))


def estate(seed: int) -> Snapshot:
    rng = random.Random(seed)
    items: list = []
    _aws(rng, items)
    _azure(rng, items)
    _gcp(rng, items)
    scopes = [Scope("aws", "111122223333", "eu-west-1"),
              Scope("azure", "00000000-0000-0000-0000-0000000000a1"), Scope("gcp", "proj")]
    return Snapshot.from_items(f"s{seed}", TAKEN, scopes, items, ("aws", "azure", "gcp"))


def _reach_set(analysis: ExposureAnalysis) -> set[tuple]:
    """rule_reach flattened to (rule, family, source, protocols, ports, asset)."""
    return {(rule, r.family, r.source, r.protocols, r.ports, asset)
            for rule, found in analysis.rule_reach.items() for r in found for asset in r.assets}


def assert_same(a: ExposureAnalysis, b: ExposureAnalysis) -> None:
    assert a.exposures == b.exposures
    assert a.unknown_reasons == b.unknown_reasons
    assert a.unknown_assets == b.unknown_assets
    assert a.notes == b.notes
    assert a.live_rules == b.live_rules
    assert _reach_set(a) == _reach_set(b)
    for asset_id in {e.asset_id for e in a.exposures}:
        assert a.for_asset(asset_id) == b.for_asset(asset_id)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**32))
def test_class_answer_is_each_assets_own(seed):
    snapshot = estate(seed)
    together = analyze_exposure(snapshot, trusted_cidrs=("52.10.0.0/16",))
    exposures, live, reach, notes, unknown = [], {}, set(), {}, {}
    for asset in snapshot.assets:
        alone = analyze_exposure(replace(snapshot, assets=(asset,)),
                                 trusted_cidrs=("52.10.0.0/16",))
        assert alone.classes <= 1
        assert together.for_asset(asset.asset_id) == alone.for_asset(asset.asset_id)
        exposures.extend(alone.exposures)
        for rule, assets in alone.live_rules.items():
            live.setdefault(rule, set()).update(assets)
        reach |= _reach_set(alone)
        notes.update(alone.notes)
        unknown.update(alone.unknown_reasons)
    assert together.exposures == tuple(exposures)
    assert together.live_rules == {rule: frozenset(ids) for rule, ids in live.items()}
    assert _reach_set(together) == reach
    assert together.notes == notes
    assert together.unknown_reasons == unknown
    # Unknown assets belong to no class; every other one to exactly one.
    assert together.classes <= len(snapshot.assets) - len(unknown)


def test_members_of_a_role_share_one_class():
    # Five roles per cloud, each member with or without a public address of either family:
    # far fewer classes than assets.
    snapshot = estate(1)
    analysis = analyze_exposure(snapshot)
    known = len(snapshot.assets) - len(analysis.unknown_assets)
    assert 0 < analysis.classes < known * 0.6


def _changed(snapshot: Snapshot, rng: random.Random) -> Snapshot:
    """The next scan: a few random edits of the kinds that change exposure, or none."""
    rule_sets, assets = list(snapshot.rule_sets), list(snapshot.assets)
    subnets, networks = list(snapshot.subnets), list(snapshot.networks)
    for _ in range(rng.randint(0, 3)):
        what = rng.choice(("rule", "rule", "drop_rule", "asset", "route", "order", "nothing"))
        if what in ("rule", "drop_rule"):
            i = rng.randrange(len(rule_sets))
            rules = list(rule_sets[i].rules)
            if not rules:
                continue
            j = rng.randrange(len(rules))
            if what == "drop_rule" and not rules[j].is_default:
                del rules[j]
            else:
                rules[j] = replace(rules[j], ports=PortSet.parse(rng.choice(PORTS)),
                                   peers=(Peer.cidr(rng.choice(SOURCES)),),
                                   name=rng.choice(("", "renamed")))
            rule_sets[i] = replace(rule_sets[i], rules=tuple(rules))
        elif what == "asset":
            i = rng.randrange(len(assets))
            asset = assets[i]
            assets[i] = replace(asset, public_addresses=() if asset.public_addresses
                                else ("54.9.9.9",), network_tags=tuple(rng.sample(TAGS, 1)),
                                application_security_groups=tuple(rng.sample(ASGS, 1)))
        elif what == "route":
            i = rng.randrange(len(subnets))
            subnets[i] = replace(subnets[i], internet_routes=rng.choice(
                (("0.0.0.0/0",), ("::/0",), ("0.0.0.0/0", "::/0"), ())))
        elif what == "order" and networks:
            i = rng.randrange(len(networks))
            order = networks[i].enforcement_order
            networks[i] = replace(networks[i], enforcement_order="BEFORE_CLASSIC_FIREWALL"
                                  if order != "BEFORE_CLASSIC_FIREWALL"
                                  else "AFTER_CLASSIC_FIREWALL")
    # Each scan builds new objects: equal content must be found equal by its digest.
    return replace(snapshot, snapshot_id=snapshot.snapshot_id + "+", rule_sets=tuple(
        replace(rs) for rs in rule_sets), assets=tuple(assets), subnets=tuple(subnets),
        networks=tuple(networks))


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32))
def test_reuse_across_scans_equals_full_analysis(seed):
    rng = random.Random(seed)
    memo = ExposureMemo()
    snapshot = estate(seed)
    first = analyze_exposure(snapshot, memo=memo)
    assert first.reused == 0
    assert memo.stats.computed == len(memo) > 0
    for _ in range(3):
        snapshot = _changed(snapshot, rng)
        incremental = analyze_exposure(snapshot, memo=memo)
        full = analyze_exposure(snapshot)
        assert_same(incremental, full)
        assert incremental.reused == memo.stats.reused
        assert memo.stats.reused + memo.stats.computed == len(memo)


def test_unchanged_estate_is_all_reused_and_a_changed_rule_set_is_walked_again():
    snapshot = estate(11)
    memo = ExposureMemo()
    analyze_exposure(snapshot, memo=memo)
    classes = len(memo)
    again = analyze_exposure(replace(snapshot, rule_sets=tuple(replace(rs)
                                                               for rs in snapshot.rule_sets)),
                             memo=memo)
    assert (memo.stats.reused, memo.stats.computed) == (classes, 0)
    assert again.reused == classes
    # Open one security group to the world on 22: only its classes are walked again, and the
    # answer is the full analysis's.
    used = [g for a in snapshot.assets if a.provider == "aws" and a.public_addresses
            and a.subnet in ("subnet-0", "subnet-1", "subnet-2") and "sg-missing" not in
            a.rule_set_ids for g in a.rule_set_ids]
    group = next(rs for rs in snapshot.rule_sets if rs.resource_id == max(set(used),
                                                                          key=used.count))
    wider = replace(group, rules=(*group.rules, Rule(IN, ALLOW, "tcp", PortSet.of(22),
                                                     (Peer.cidr("0.0.0.0/0"),),
                                                     native_id="sgr-open")))
    changed = replace(snapshot, rule_sets=tuple(wider if rs is group else rs
                                                for rs in snapshot.rule_sets))
    incremental = analyze_exposure(changed, memo=memo)
    assert_same(incremental, analyze_exposure(changed))
    assert 0 < memo.stats.computed < classes
    assert memo.stats.reused + memo.stats.computed == classes


def test_digests_from_the_caller_are_trusted_and_settings_are_part_of_the_key():
    snapshot = estate(5)
    digests = {rs.resource_id: f"v1:{rs.resource_id}" for rs in snapshot.rule_sets}
    memo = ExposureMemo(digests=digests)
    analyze_exposure(snapshot, memo=memo)
    analyze_exposure(snapshot, memo=memo)
    assert memo.stats.computed == 0
    # Other trusted ranges: nothing of the earlier answers applies.
    other = analyze_exposure(snapshot, trusted_cidrs=("34.0.0.0/8",), memo=memo)
    assert memo.stats.reused == 0
    assert_same(other, analyze_exposure(snapshot, trusted_cidrs=("34.0.0.0/8",)))
    # A new digest for one rule set walks its classes again.
    memo.set_digests({**digests, "/nsg/1": "v2"})
    analyze_exposure(snapshot, trusted_cidrs=("34.0.0.0/8",), memo=memo)
    assert 0 < memo.stats.computed < len(memo)
