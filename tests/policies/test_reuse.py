"""Each distinct rule set is judged once, and a memo kept between scans judges only what changed:
the findings must be exactly those of judging every rule set of the snapshot on its own, on
templated estates and over random sequences of changes, with and without exposure."""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timezone

import pytest

from policies.engine import evaluate, select_policies
from policies.policy import PolicySettings
from policies.reuse import RuleSetMemo
from scanner.content_digest import SnapshotDigests
from scanner.exposure import analyze_exposure
from scanner.model import (
    Action,
    Asset,
    Attachment,
    Direction,
    Peer,
    PeerKind,
    Rule,
    RuleSet,
    RuleSetKind,
    Scope,
    Snapshot,
    Subnet,
    fingerprint,
)
from scanner.netmath import PortSet

SETTINGS = PolicySettings()
POLICIES = select_policies(SETTINGS)
ACCOUNTS = ("111122223333", "444455556666")
# Sources chosen so that rules pool (two halves of the internet), get shadowed and covered.
SOURCES = ("0.0.0.0/0", "0.0.0.0/1", "128.0.0.0/1", "10.0.0.0/8", "::/0", "8.8.8.0/24",
           "2000::/3", "52.0.0.0/8")
PORTS = ("22", "80", "443", "3389", "0-65535", "20-25", "80,443")
KINDS = (RuleSetKind.AWS_SECURITY_GROUP, RuleSetKind.AWS_NETWORK_ACL, RuleSetKind.AZURE_NSG)


def _rule(rng: random.Random, kind: RuleSetKind, index: int) -> Rule:
    protocol = rng.choice(("tcp", "tcp", "udp", "all"))
    first_match = kind is not RuleSetKind.AWS_SECURITY_GROUP
    if rng.random() < 0.1:
        peers = (Peer(PeerKind.SECURITY_GROUP, "sg-other"),) if not first_match else \
            (Peer(PeerKind.SERVICE_TAG, "Internet", ("0.0.0.0/0", "::/0")),)
    else:
        peers = tuple(Peer.cidr(c) for c in dict.fromkeys(
            rng.choice(SOURCES) for _ in range(rng.choice((1, 1, 2)))))
    return Rule(
        direction=Direction.EGRESS if rng.random() < 0.15 else Direction.INGRESS,
        action=Action.DENY if first_match and rng.random() < 0.25 else Action.ALLOW,
        protocol=protocol,
        ports=PortSet.parse(rng.choice(PORTS)) if protocol != "all" else PortSet.all(),
        peers=peers,
        priority=100 + 10 * index if first_match else None,
        native_id=f"r{index}",
    )


def _rules(rng: random.Random, kind: RuleSetKind, halves: bool = False) -> tuple[Rule, ...]:
    rules = [_rule(rng, kind, i) for i in range(rng.randint(1, 7))]
    if halves or rng.random() < 0.4:  # the internet in two halves: a pooled rule set finding
        for i, half in enumerate(("0.0.0.0/1", "128.0.0.0/1")):
            rules.insert(rng.randint(0, len(rules)), dataclasses.replace(
                rules[0], direction=Direction.INGRESS, action=Action.ALLOW, protocol="tcp",
                ports=PortSet.of(22), peers=(Peer.cidr(half),), native_id=f"half{i}"))
    return tuple(rules)


def _provider(kind: RuleSetKind) -> str:
    return "azure" if kind is RuleSetKind.AZURE_NSG else "aws"


def _rule_set(rng: random.Random, number: int, rules: tuple[Rule, ...] | None = None,
              kind: RuleSetKind | None = None) -> RuleSet:
    kind = kind or rng.choice(KINDS)
    interface = kind is not RuleSetKind.AWS_NETWORK_ACL
    return RuleSet(
        _provider(kind), rng.choice(ACCOUNTS), "eu-west-1", kind, f"rs-{number}",
        f"name-{number % 3}", rules if rules is not None else _rules(rng, kind),
        (Attachment("network_interface" if interface else "subnet",
                    f"eni-{number}" if interface else "subnet-1"),)
        if rng.random() < 0.8 else (),
        "vpc-1", is_default=rng.random() < 0.1)


def _templated(rng: random.Random, count: int) -> list[RuleSet]:
    """Rule sets of which about half repeat the content of an earlier one; the first two
    are a security group open to the internet on SSH in two halves, and a copy of it."""
    first = _rule_set(rng, 0, _rules(rng, KINDS[0], halves=True), KINDS[0])
    out = [first, dataclasses.replace(first, resource_id="rs-1", name="name-1")]
    for number in range(2, count):
        if rng.random() < 0.5:
            model = rng.choice(out)
            out.append(dataclasses.replace(_rule_set(rng, number, model.rules, model.kind),
                                           is_default=model.is_default))
        else:
            out.append(_rule_set(rng, number))
    return out


def _snapshot(rule_sets: list[RuleSet], snapshot_id: str = "s") -> Snapshot:
    scopes = [Scope("aws", a, "eu-west-1") for a in ACCOUNTS] + [Scope("azure", a)
                                                                   for a in ACCOUNTS]
    subnet = Subnet("aws", ACCOUNTS[0], "eu-west-1", "subnet-1", "vpc-1", "subnet-1",
                    ("10.0.1.0/24",), tuple(r.resource_id for r in rule_sets
                                            if r.kind is RuleSetKind.AWS_NETWORK_ACL)[:1],
                    ("0.0.0.0/0", "::/0"))
    assets = [Asset(r.provider, r.account, r.region, "network_interface", f"eni-{r.resource_id}",
                    f"eni-{r.resource_id}", network="vpc-1", subnet="subnet-1",
                    private_addresses=("10.0.1.10",), public_addresses=("54.1.2.3",),
                    rule_set_ids=(r.resource_id,))
              for r in rule_sets if r.kind is not RuleSetKind.AWS_NETWORK_ACL and r.attachments]
    return Snapshot.from_items(snapshot_id, datetime(2026, 1, 1, tzinfo=timezone.utc), scopes,
                               [*rule_sets, subnet, *assets], ["aws", "azure"])


def _one_by_one(snapshot: Snapshot, exposure=None) -> list[dict]:
    """The reference: every policy run by itself over every rule set (no reuse at all)."""
    from policies.context import EvaluationContext
    from policies.engine import _order

    ctx = EvaluationContext(snapshot, SETTINGS, exposure)
    findings = [f for p in POLICIES for f in p.evaluate(ctx, p.meta)]
    return [f.to_dict() for f in sorted(findings, key=_order)]


def _change(rng: random.Random, rule_sets: list[RuleSet], serial: list[int]) -> list[RuleSet]:
    """A random change set: edited, added, removed, renamed, moved, copied rule sets."""
    out = list(rule_sets)
    for _ in range(rng.randint(0, 4)):
        move = rng.choice(("edit", "add", "remove", "rename", "copy", "attach", "swap"))
        if not out and move != "add":
            continue
        at = rng.randrange(len(out)) if out else 0
        if move == "edit":
            rules = list(out[at].rules)
            rules[rng.randrange(len(rules))] = _rule(rng, out[at].kind, rng.randrange(9))
            out[at] = dataclasses.replace(out[at], rules=tuple(rules))
        elif move == "add":
            serial[0] += 1
            out.insert(at, _rule_set(rng, serial[0]))
        elif move == "remove":
            del out[at]
        elif move == "rename":
            out[at] = dataclasses.replace(out[at], name=out[at].name + "x",
                                          account=rng.choice(ACCOUNTS))
        elif move == "copy":
            source = rng.choice(out)
            if source.kind is out[at].kind:
                out[at] = dataclasses.replace(out[at], rules=source.rules)
        elif move == "attach":
            out[at] = dataclasses.replace(out[at], attachments=())
        else:
            other = rng.randrange(len(out))
            out[at], out[other] = out[other], out[at]
    return out


@pytest.mark.parametrize("seed", range(4))
def test_templated_estate_gives_the_findings_of_judging_each_rule_set(seed):
    rng = random.Random(seed)
    snapshot = _snapshot(_templated(rng, 40))
    memo = RuleSetMemo()
    found = [f.to_dict() for f in evaluate(snapshot, POLICIES, SETTINGS, memo=memo)]
    assert found == _one_by_one(snapshot)
    # The estate repeats content, so some rule sets were bound rather than judged, and pooled
    # findings (whose evidence names rules of their own rule set) are on repeated content.
    assert memo.bound > 0 and memo.judged + memo.bound == len(snapshot.rule_sets)
    rules_of = {r.resource_id: r.rules for r in snapshot.rule_sets}
    pooled = [f["resource_id"] for f in found if "contributing_rules" in f["evidence"]]
    assert len({rules_of[r] for r in pooled}) < len(set(pooled))


@pytest.mark.parametrize("seed", range(6))
def test_incremental_evaluation_matches_a_full_one_over_random_changes(seed):
    rng = random.Random(1000 + seed)
    rule_sets = _templated(rng, 30)
    serial = [len(rule_sets)]
    plain, exposed, digested = RuleSetMemo(), RuleSetMemo(), RuleSetMemo()
    kept_any = False
    for step in range(5):
        if step:
            rule_sets = _change(rng, rule_sets, serial)
        snapshot = _snapshot(rule_sets, f"s{step}")
        expected = _one_by_one(snapshot)
        assert [f.to_dict() for f in evaluate(snapshot, POLICIES, SETTINGS, memo=plain)] \
            == expected
        # Keyed by the store's content digests (of objects built again, as a new scan's are).
        again = dataclasses.replace(snapshot, rule_sets=tuple(
            dataclasses.replace(rs) for rs in snapshot.rule_sets))
        digests = SnapshotDigests.of(again).rule_sets
        assert [f.to_dict() for f in evaluate(again, POLICIES, SETTINGS, memo=digested,
                                              digests=digests)] == expected
        assert step == 0 or digested.rule_sets == len(snapshot.rule_sets)
        # With exposure: the key stands for everything the analysis was computed from.
        exposure = analyze_exposure(snapshot)
        key = fingerprint(*(repr(item) for item in (*snapshot.rule_sets, *snapshot.assets,
                                                    *snapshot.subnets)))
        found = evaluate(snapshot, POLICIES, SETTINGS, exposure, memo=exposed, exposure_key=key)
        assert [f.to_dict() for f in found] == _one_by_one(snapshot, exposure)
        assert any("exposure" in f.evidence for f in found)
        kept_any = kept_any or exposed.kept > 0
    # An unchanged snapshot keeps every rule set's findings, exposure included.
    exposed_again = evaluate(snapshot, POLICIES, SETTINGS, exposure, memo=exposed,
                             exposure_key=key)
    assert exposed.judged == 0 and exposed.kept == len(snapshot.rule_sets)
    assert [f.to_dict() for f in exposed_again] == _one_by_one(snapshot, exposure)


def test_a_memo_is_not_reused_across_other_settings():
    rng = random.Random(5)
    snapshot = _snapshot(_templated(rng, 20))
    memo = RuleSetMemo()
    evaluate(snapshot, POLICIES, SETTINGS, memo=memo)
    trusting = PolicySettings(trusted_cidrs=("0.0.0.0/1",))
    found = evaluate(snapshot, select_policies(trusting), trusting, memo=memo)
    assert memo.judged > 0
    assert found == evaluate(snapshot, select_policies(trusting), trusting)


def test_digests_decide_what_is_unchanged_and_must_match_the_rule_sets():
    rng = random.Random(9)
    snapshot = _snapshot(_templated(rng, 20))
    digests = SnapshotDigests.of(snapshot).rule_sets
    memo = RuleSetMemo()
    evaluate(snapshot, POLICIES, SETTINGS, memo=memo, digests=digests)
    # The same digests: every rule set is taken as it was, none is judged or looked at again.
    evaluate(snapshot, POLICIES, SETTINGS, memo=memo, digests=digests)
    assert (memo.judged, memo.bound) == (0, len(snapshot.rule_sets))
    # One rule set's digest changes: it alone is looked up by content (and found: its content
    # did not change, so nothing is judged).
    fresh = (b"other",) + digests[1:]
    evaluate(snapshot, POLICIES, SETTINGS, memo=memo, digests=fresh)
    assert (memo.judged, memo.bound) == (0, len(snapshot.rule_sets))
    with pytest.raises(ValueError, match="digests"):
        evaluate(snapshot, POLICIES, SETTINGS, memo=memo, digests=digests[1:])


@pytest.mark.parametrize("seed", range(8))
def test_verdicts_are_computed_again_exactly_where_what_they_read_changed(seed):
    """Under a new exposure analysis, a rule set with the same digest keeps its findings only
    while what its verdicts read (``liveness.exposure_inputs``) is as it was."""
    rng = random.Random(3000 + seed)
    rule_sets = _templated(rng, 30)
    serial = [len(rule_sets)]
    memo = RuleSetMemo()
    kept_any = recomputed_any = False
    for step in range(6):
        if step:
            rule_sets = _change(rng, rule_sets, serial)
        snapshot = _snapshot(rule_sets, f"s{step}")
        assets = list(snapshot.assets)
        for _ in range(rng.randint(0, 2) if step and assets else 0):
            # An asset changes on its own: it loses or gains its public address.
            at = rng.randrange(len(assets))
            assets[at] = dataclasses.replace(assets[at], public_addresses=(
                () if assets[at].public_addresses else ("54.1.2.3",)))
        snapshot = dataclasses.replace(snapshot, assets=tuple(assets), rule_sets=tuple(
            dataclasses.replace(rs) for rs in snapshot.rule_sets))
        exposure = analyze_exposure(snapshot)
        found = evaluate(snapshot, POLICIES, SETTINGS, exposure, memo=memo,
                         digests=SnapshotDigests.of(snapshot).rule_sets)
        assert [f.to_dict() for f in found] == _one_by_one(snapshot, exposure)
        if step:
            kept_any = kept_any or memo.kept > 0
            recomputed_any = recomputed_any or memo.kept < memo.bound
    assert kept_any and recomputed_any


def test_content_keys_are_equal_exactly_for_equal_content():
    from policies.reuse import content_key

    rng = random.Random(11)
    rule_sets = _templated(rng, 30)
    for a in rule_sets:
        for b in rule_sets:
            same = (a.provider, a.kind, a.is_default, len(a.attachments), a.rules) == \
                (b.provider, b.kind, b.is_default, len(b.attachments), b.rules)
            key_a, key_b = content_key(a, False), content_key(b, False)
            assert (key_a == key_b) is same
            assert not same or hash(key_a) == hash(key_b)
            assert (content_key(a, True) == content_key(b, True)) is (same and a.name == b.name)
