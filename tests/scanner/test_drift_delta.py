"""A rule change judged in one walk (``scanner.drift.delta``) finds what comparing the two whole
states finds (``classify``), on random rule sets and changes of every cloud's semantics.

The reference here is the general path: each change applied alone to the old rules (and, with
other changes in the set, reverted alone in the new ones), both states walked in full over the
traffic the change's two versions match. The two must give the same effect, the same opened and
closed traffic (as sets of packets) and the same drift item, word for word.
"""

from __future__ import annotations

import random
from dataclasses import replace
from itertools import chain

import pytest

from scanner.drift.changes import (
    _applied,
    _recreated,
    changed_span,
    keyed_rules,
    rule_changes,
    same_behaviour,
)
from scanner.drift.classify import (
    SYMBOLIC,
    RuleSetState,
    Universe,
    _relevant_atoms,
    classify,
    meets,
    rule_bounds,
    rule_ports,
    rule_protocols,
    target_key,
)
from scanner.drift.comparison import _ExposureLink, _item
from scanner.model import (
    Action,
    Attachment,
    Direction,
    Peer,
    PeerKind,
    Rule,
    RuleSet,
    RuleSetKind,
    Snapshot,
)
from scanner.netmath import IPV4, IPV6, PortSet
from scanner.reach.fast import raw

CIDRS = ("0.0.0.0/0", "0.0.0.0/1", "128.0.0.0/1", "10.0.0.0/8", "10.1.0.0/16", "10.1.2.0/24",
         "192.168.0.0/16", "1.2.3.4", "8.8.0.0/16", "::/0", "2001:db8::/32", "2600::/16")
SYMBOLS = (Peer(PeerKind.SECURITY_GROUP, "sg-a"), Peer(PeerKind.SECURITY_GROUP, "sg-b"),
           Peer(PeerKind.NETWORK_TAG, "web"), Peer(PeerKind.SERVICE_TAG, "VirtualNetwork"))
TARGETS = (Peer(PeerKind.NETWORK_TAG, "web"), Peer(PeerKind.NETWORK_TAG, "db"),
           Peer(PeerKind.SERVICE_ACCOUNT, "sa@p"), Peer(PeerKind.NETWORK_TAG, "batch"))
PROTOCOLS = ("tcp", "tcp", "udp", "all", "icmp", "icmpv6", "47", "sctp")
KINDS = {
    RuleSetKind.AWS_SECURITY_GROUP: ("aws", (Action.ALLOW,), False),
    RuleSetKind.AWS_NETWORK_ACL: ("aws", (Action.ALLOW, Action.DENY), False),
    RuleSetKind.AZURE_NSG: ("azure", (Action.ALLOW, Action.DENY), True),
    RuleSetKind.GCP_VPC_FIREWALL: ("gcp", (Action.ALLOW, Action.DENY), True),
    RuleSetKind.GCP_NETWORK_POLICY: ("gcp", (Action.ALLOW, Action.DENY, Action.GOTO_NEXT), True),
    RuleSetKind.GCP_HIERARCHICAL_POLICY: ("gcp", (Action.ALLOW, Action.DENY, Action.GOTO_NEXT),
                                          True),
}


def _ports(rng: random.Random) -> PortSet:
    spans = []
    for _ in range(rng.choice((1, 1, 1, 2))):
        low = rng.choice((0, 20, 22, 80, 443, 1000, 3389, 8000))
        spans.append((low, low + rng.choice((0, 0, 5, 100, 65535))))
    return PortSet(tuple((lo, min(hi, 65535)) for lo, hi in spans))


def _peers(rng: random.Random) -> tuple[Peer, ...]:
    peers = []
    for _ in range(rng.choice((1, 1, 1, 2))):
        if rng.random() < 0.25:
            peers.append(rng.choice(SYMBOLS))
        else:
            peers.append(Peer.cidr(rng.choice(CIDRS)))
    return tuple(peers)


def _rule(rng: random.Random, kind: RuleSetKind, n: int) -> Rule:
    _, actions, targeted = KINDS[kind]
    protocol = rng.choice(PROTOCOLS)
    icmp_type = icmp_code = None
    if protocol.startswith("icmp") and rng.random() < 0.5:
        icmp_type = rng.choice((0, 3, 8))
        icmp_code = rng.choice((None, None, 0, 1))
    targets = ()
    if targeted and rng.random() < 0.4:
        targets = tuple(rng.sample(TARGETS, rng.choice((1, 1, 2))))
    return Rule(
        rng.choice((Direction.INGRESS, Direction.INGRESS, Direction.EGRESS)),
        rng.choice(actions), protocol, _ports(rng), _peers(rng),
        None if kind is RuleSetKind.AWS_SECURITY_GROUP else rng.choice((100, 200, 200, 300, 400)),
        enabled=rng.random() < 0.9, native_id=f"r{n}", description=f"rule {n}", targets=targets,
        icmp_type=icmp_type, icmp_code=icmp_code)


def _changed(rng: random.Random, kind: RuleSetKind, r: Rule, n: int) -> Rule | None:
    """One edit of ``r`` (None: removed)."""
    _, actions, targeted = KINDS[kind]
    what = rng.choice(("peers", "ports", "protocol", "action", "priority", "enabled", "remove",
                       "targets", "text", "wider"))
    if what == "peers":
        return replace(r, peers=_peers(rng))
    if what == "wider":
        return replace(r, peers=(*r.peers, Peer.cidr(rng.choice(CIDRS))), ports=_ports(rng))
    if what == "ports":
        return replace(r, ports=_ports(rng))
    if what == "protocol":
        return replace(r, protocol=rng.choice(PROTOCOLS), icmp_type=None, icmp_code=None)
    if what == "action":
        return replace(r, action=rng.choice(actions))
    if what == "priority" and r.priority is not None:
        return replace(r, priority=rng.choice((50, 100, 150, 200, 250, 300, 500)))
    if what == "enabled":
        return replace(r, enabled=not r.enabled)
    if what == "remove":
        return None
    if what == "targets" and targeted:
        return replace(r, targets=tuple(rng.sample(TARGETS, rng.choice((0, 1, 2)))))
    return replace(r, description=f"edited {n}")


def _pair(rng: random.Random, kind: RuleSetKind) -> tuple[RuleSet, RuleSet]:
    provider = KINDS[kind][0]
    rules = [_rule(rng, kind, n) for n in range(rng.randrange(1, 9))]
    new_rules = list(rules)
    for n in rng.sample(range(len(rules)), rng.choice((1, 1, 2, 3)) if len(rules) > 2 else 1):
        new_rules[n] = _changed(rng, kind, rules[n], n)
    for n in range(rng.choice((0, 0, 1, 2))):
        new_rules.insert(rng.randrange(len(new_rules) + 1), _rule(rng, kind, 100 + n))
    old = RuleSet(provider, "111", "r1", kind, "rs-1", "rs", tuple(rules),
                  (Attachment("subnet", "subnet-1"),))
    return old, replace(old, rules=tuple(r for r in new_rules if r is not None))


def _general(old: RuleSet, new: RuleSet, key: str, a: Rule | None, b: Rule | None,
             others_changed: bool):
    """The straightforward judgement: both whole states walked."""
    before, after = keyed_rules(old.rules), keyed_rules(new.rules)
    renamed = {old_key: new_key for new_key, old_key in _recreated(before, after).items()}
    before = {renamed.get(k, k): r for k, r in before.items()}
    universe = Universe.of(chain(old.rules, new.rules))
    footprint = [r for r in (a, b) if r is not None]
    alone = replace(old, rules=tuple(_applied(before, key, b).values()))
    result = classify(RuleSetState(old), RuleSetState(alone), universe, footprint,
                      (*old.rules, *([b] if b is not None else [])))
    if others_changed:
        reverted = replace(new, rules=tuple(_applied(after, key, a).values()))
        result = result.merge(classify(RuleSetState(reverted), RuleSetState(new), universe,
                                       footprint, (*new.rules, *([a] if a is not None else []))))
    return result


def _same_traffic(x, y) -> bool:
    return x.covers(y) and y.covers(x)


def _check(seed: int, kind: RuleSetKind, link: _ExposureLink) -> int:
    rng = random.Random(seed)
    old, new = _pair(rng, kind)
    changes = list(rule_changes(old, new, live=True))
    judged = 0
    for change in changes:
        a, b = change.before, change.after
        if a is not None and b is not None and same_behaviour(a, b):
            continue
        judged += 1
        fast = change.classification
        slow = _general(old, new, change.rule_key, a, b, len(changes) > 1)
        where = (seed, kind.value, change.rule_key, a, b)
        assert fast.effect is slow.effect, where
        assert fast.approximate == slow.approximate, where
        assert fast.opened_symbols == slow.opened_symbols, where
        for mine, theirs in ((fast.opened, slow.opened), (fast.closed, slow.closed)):
            assert mine.keys() == theirs.keys(), where
            for k in mine:
                assert _same_traffic(mine[k], theirs[k]), (where, k)
        # The drift item, word for word: summary, traffic entries, severity, id.
        assert (_item(change, link).to_dict()
                == _item(replace(change, classification=slow), link).to_dict()), where
    return judged


@pytest.mark.parametrize("kind", list(KINDS), ids=lambda k: k.value)
def test_one_walk_judgement_matches_walking_both_states(kind):
    link = _ExposureLink(None, None, Snapshot("s", None))  # type: ignore[arg-type]
    judged = sum(_check(seed, kind, link) for seed in range(250))
    assert judged > 300  # most draws change what a rule matches


def test_rule_boxes_are_the_rule_space_boxes():
    rng = random.Random(11)
    for kind in KINDS:
        rules = [_rule(rng, kind, n) for n in range(60)]
        universe = Universe.of(rules)
        for r in rules:
            for family in (IPV4, IPV6, SYMBOLIC):
                for wide in (False, True):
                    boxes = raw(universe.space(r, family, wide))
                    expected = boxes[0] if boxes and all(boxes[0]) else None
                    assert universe.box(r, family, wide) == expected, (r, family, wide)


def _atoms_by_spaces(context, footprint, universe):
    """Targets of the footprint, and of the context rules whose traffic (wide reading) meets
    the footprint's, found with the traffic space algebra."""
    atoms = {target_key(t) for r in footprint for t in r.targets}
    for r in context:
        for f in footprint:
            if r.targets and r.direction is f.direction and any(
                    meets(universe.space(f, family, True), universe.space(r, family, True))
                    for family in universe.families()):
                atoms |= {target_key(t) for t in r.targets}
    return tuple(sorted(atoms))


def test_relevant_targets_are_those_whose_traffic_meets_the_change():
    rng = random.Random(5)
    for kind in (RuleSetKind.AZURE_NSG, RuleSetKind.GCP_VPC_FIREWALL):
        for _ in range(150):
            context = [_rule(rng, kind, n) for n in range(8)]
            footprint = [_rule(rng, kind, 50 + n) for n in range(rng.choice((1, 2)))]
            universe = Universe.of(context + footprint)
            assert (_relevant_atoms(context, footprint, universe)
                    == _atoms_by_spaces(context, footprint, universe))


def _raw_boxes(rng: random.Random, n: int) -> list:
    def side(top: int) -> tuple:
        spans = sorted(tuple(sorted((rng.randrange(top), rng.randrange(top))))
                       for _ in range(rng.choice((1, 1, 2))))
        merged: list[tuple[int, int]] = []
        for lo, hi in spans:
            if merged and lo <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
            else:
                merged.append((lo, hi))
        return tuple(merged)
    return [(side(6), side(9), side(9)) for _ in range(n)]


def _points(boxes) -> list:
    """Every packet of a small universe, as often as the boxes hold it."""
    return sorted((p, q, a) for ps, qs, as_ in boxes for lo, hi in ps for p in range(lo, hi + 1)
                  for qlo, qhi in qs for q in range(qlo, qhi + 1)
                  for alo, ahi in as_ for a in range(alo, ahi + 1))


def test_cut_splits_boxes_into_disjoint_inside_and_outside():
    from scanner.drift.delta import _cut

    rng = random.Random(3)
    for _ in range(400):
        pieces: list = []
        for box in _raw_boxes(rng, rng.randrange(1, 5)):  # disjoint, as the walk keeps them
            rest = [box]
            for other in pieces:
                rest = _cut(rest, other)[1]
            pieces += rest
        cut = _raw_boxes(rng, 1)[0]
        inside, outside = _cut(pieces, cut)
        held, into = _points(pieces), set(_points([cut]))
        assert len(set(held)) == len(held)
        assert _points(inside) == [x for x in held if x in into]
        assert _points(outside) == [x for x in held if x not in into]


def test_same_behaviour_is_equal_content_hashes():
    """Compared field by field, it says what comparing the two rules' content hashes says:
    peers and targets in another order, or an account spelt None or "", are the same rule."""
    rng = random.Random(11)
    spellings = (Peer(PeerKind.SECURITY_GROUP, "sg-a", (), None),
                 Peer(PeerKind.SECURITY_GROUP, "sg-a", (), ""),
                 Peer(PeerKind.SECURITY_GROUP, "sg-a", (), "222"))
    same = differ = 0
    for n in range(3000):
        kind = rng.choice(list(KINDS))
        a = _rule(rng, kind, n)
        b = _changed(rng, kind, a, n) or a
        shuffle = rng.random()
        if shuffle < 0.3:
            b = replace(b, peers=tuple(rng.sample(b.peers, len(b.peers))),
                        targets=tuple(rng.sample(b.targets, len(b.targets))))
        elif shuffle < 0.5:
            a = replace(a, peers=(*a.peers, rng.choice(spellings)))
            b = replace(b, peers=(rng.choice(spellings), *b.peers))
        expected = a.content_hash() == b.content_hash()
        assert same_behaviour(a, b) is expected, (a, b)
        same += expected
        differ += not expected
    assert same > 600 and differ > 600  # both answers are drawn often


def _every_changed_key(old: RuleSet, new: RuleSet) -> list[str]:
    """The straightforward list: every key of both versions whose rules differ."""
    before, after = keyed_rules(old.rules), keyed_rules(new.rules)
    renamed = {old_key: new_key for new_key, old_key in _recreated(before, after).items()}
    before = {renamed.get(k, k): r for k, r in before.items()}
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))


@pytest.mark.parametrize("kind", list(KINDS), ids=lambda k: k.value)
def test_only_the_rules_between_a_shared_start_and_end_are_compared(kind):
    """Rules the two versions share at their start and end are skipped by position; the changes
    found are still every key whose rules differ, ids or no ids, moved or re-created."""
    rng = random.Random(5)
    for _ in range(300):
        old, new = _pair(rng, kind)
        if rng.random() < 0.2:  # rules without the cloud's ids are keyed by content
            new = replace(new, rules=tuple(replace(r, native_id=None) for r in new.rules))
            old = replace(old, rules=tuple(replace(r, native_id=None) for r in old.rules))
        elif rng.random() < 0.2 and len(new.rules) > 1:  # the same rules in another order
            new = replace(new, rules=tuple(rng.sample(new.rules, len(new.rules))))
        found = [c.rule_key for c in rule_changes(old, new, live=True)]
        assert found == _every_changed_key(old, new), (old, new)


def test_the_shared_start_and_end_never_overlap():
    a, b, c, x = (Rule(Direction.INGRESS, Action.ALLOW, "tcp", PortSet.of(port), ())
                  for port in (22, 80, 443, 8080))
    assert changed_span((a, a), (a, a, a)) == (2, 0)
    assert changed_span((a, b, c), (a, b, x, b, c)) == (2, 1)
    assert changed_span((a, b), (c, a, b)) == (0, 2)
    assert changed_span((a, b, c), (a, c)) == (1, 1)
    assert changed_span((a, b), (a, b)) == (2, 0)


@pytest.mark.parametrize("edge", [(80, 90), (100, 110), (95, 95)])
def test_a_change_meeting_another_at_one_port_is_judged_on_both_sides(edge):
    """An allow opened to everyone on ports 90-100 while a deny in front of it, on ports that
    reach it at one end only, is removed: without the deny the very first port opens too.
    Judging the widening on the old rules alone would miss that port."""
    deny = Rule(Direction.INGRESS, Action.DENY, "tcp", PortSet.of(edge),
                (Peer.cidr("0.0.0.0/0"),), 100, native_id="deny")
    allow = Rule(Direction.INGRESS, Action.ALLOW, "tcp", PortSet.of((90, 100)),
                 (Peer.cidr("10.0.0.0/8"),), 200, native_id="allow")
    old = RuleSet("aws", "111", "r1", RuleSetKind.AWS_NETWORK_ACL, "acl-1", "acl",
                  (deny, allow), (Attachment("subnet", "subnet-1"),))
    new = replace(old, rules=(replace(allow, peers=(Peer.cidr("0.0.0.0/0"),)),))
    widened = next(c for c in rule_changes(old, new, live=True) if c.rule_key == "allow")
    slow = _general(old, new, "allow", allow, new.rules[0], others_changed=True)
    assert widened.classification.opened.keys() == slow.opened.keys()
    for k in slow.opened:
        assert _same_traffic(widened.classification.opened[k], slow.opened[k])


def test_rule_bounds_are_the_ends_of_what_the_rule_matches():
    rng = random.Random(13)
    odd = (Rule(Direction.INGRESS, Action.ALLOW, "tcp", PortSet(()), ()),
           Rule(Direction.INGRESS, Action.ALLOW, "frobnicate", PortSet.of(22), ()),
           Rule(Direction.INGRESS, Action.ALLOW, "47", PortSet.of(22), ()))
    for rule in (*odd, *(_rule(rng, rng.choice(list(KINDS)), n) for n in range(500))):
        protocols, ports = rule_protocols(rule).intervals, rule_ports(rule).intervals
        expected = (protocols[0][0], protocols[-1][1], ports[0][0], ports[-1][1]) \
            if protocols and ports else None
        assert rule_bounds(rule) == expected, rule
