"""The common model: every class round-trips through to_dict/from_dict and the snapshot JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.model import (
    SCHEMA_VERSION,
    Action,
    Asset,
    Attachment,
    Attribution,
    ChangeKind,
    CollectionError,
    Direction,
    DriftItem,
    Effect,
    Exposure,
    Finding,
    IpList,
    Network,
    PathStep,
    Peer,
    PeerKind,
    Rule,
    RuleSet,
    RuleSetKind,
    Scope,
    Severity,
    Snapshot,
    Subnet,
    finding_id_part,
    finding_id_parts,
    finding_id_with,
    fingerprint,
)
from scanner.netmath import ALL_PORTS, PortSet

# --- strategies -------------------------------------------------------------------------------

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12)
ids = st.text("abcdef0123456789-/:.", min_size=1, max_size=16)
optional_ids = st.none() | ids
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | names,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(names, inner, max_size=3),
    max_leaves=6,
)
extras = st.dictionaries(names, json_values, max_size=3)
tags = st.dictionaries(names, names, max_size=3)
times = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(timezone.utc)
).map(lambda t: t.replace(microsecond=0))
cidrs = st.sampled_from(
    ["0.0.0.0/0", "::/0", "10.0.0.0/8", "203.0.113.7/32", "2001:db8::/32", "192.168.1.0/24"]
)


@st.composite
def peers(draw):
    kind = draw(st.sampled_from(PeerKind))
    if kind is PeerKind.CIDR:
        value = draw(cidrs)
        addresses = draw(st.sampled_from([(value,), (), (value, "10.0.0.0/8")]))
    else:
        value = draw(names)
        addresses = tuple(draw(st.lists(cidrs, max_size=2)))
    return Peer(kind, value, addresses, draw(st.none() | ids))


port_sets = st.lists(
    st.tuples(st.integers(0, 65535), st.integers(0, 65535)).map(sorted).map(tuple), max_size=3
).map(lambda items: PortSet(tuple(items)))

rules = st.builds(
    Rule,
    direction=st.sampled_from(Direction),
    action=st.sampled_from(Action),
    protocol=st.sampled_from(["tcp", "udp", "icmp", "all", "47"]),
    ports=port_sets,
    peers=st.lists(peers(), max_size=3).map(tuple),
    priority=st.none() | st.integers(0, 65535),
    enabled=st.booleans(),
    native_id=optional_ids,
    name=st.just("") | names,
    description=st.just("") | names,
    targets=st.lists(peers(), max_size=2).map(tuple),
    icmp_type=st.none() | st.integers(0, 255),
    icmp_code=st.none() | st.integers(0, 255),
    is_default=st.booleans(),
    logging=st.none() | st.booleans(),
    extra=extras,
)
attachments = st.builds(Attachment, names, ids)
rule_sets = st.builds(
    RuleSet,
    provider=st.sampled_from(["aws", "azure", "gcp"]),
    account=ids,
    region=st.just("") | ids,
    kind=st.sampled_from(RuleSetKind),
    resource_id=ids,
    name=names,
    rules=st.lists(rules, max_size=3).map(tuple),
    attachments=st.lists(attachments, max_size=2).map(tuple),
    network=optional_ids,
    is_default=st.booleans(),
    description=st.just("") | names,
    tags=tags,
    extra=extras,
)
id_tuples = st.lists(ids, max_size=2).map(tuple)
assets = st.builds(
    Asset,
    provider=st.sampled_from(["aws", "azure", "gcp"]),
    account=ids,
    region=ids,
    kind=names,
    asset_id=ids,
    name=names,
    instance_id=optional_ids,
    network=optional_ids,
    subnet=optional_ids,
    private_addresses=id_tuples,
    public_addresses=id_tuples,
    ipv6_addresses=id_tuples,
    rule_set_ids=id_tuples,
    network_tags=id_tuples,
    service_accounts=id_tuples,
    application_security_groups=id_tuples,
    state=st.just("") | names,
    interface_type=st.just("") | names,
    tags=tags,
    extra=extras,
)
subnets = st.builds(Subnet, provider=ids, account=ids, region=ids, subnet_id=ids, network=ids,
                    name=names, cidrs=st.lists(cidrs, max_size=2).map(tuple),
                    rule_set_ids=id_tuples, internet_routes=st.lists(cidrs, max_size=2).map(tuple),
                    extra=extras)
networks = st.builds(Network, provider=ids, account=ids, region=ids, network_id=ids, name=names,
                     cidrs=st.lists(cidrs, max_size=2).map(tuple), is_default=st.booleans(),
                     enforcement_order=st.none() | st.sampled_from(["AFTER_CLASSIC_FIREWALL"]),
                     rule_set_ids=id_tuples, extra=extras)
ip_lists = st.builds(IpList, provider=ids, account=ids, region=ids, list_id=ids, name=names,
                     list_type=st.sampled_from(["trusted", "threat"]), status=names,
                     location=names, format=names, detector_id=ids, extra=extras)
scopes = st.builds(Scope, st.sampled_from(["aws", "azure", "gcp"]), ids, st.just("") | ids,
                   st.just("") | names)
collection_errors = st.builds(CollectionError, provider=ids, account=ids, region=st.just("") | ids,
                              reason=names, hint=names, resource_type=st.none() | names,
                              code=st.just("") | names)
snapshots = st.builds(
    Snapshot,
    snapshot_id=ids,
    taken_at=times,
    scopes=st.lists(scopes, max_size=3).map(tuple),
    rule_sets=st.lists(rule_sets, max_size=3).map(tuple),
    assets=st.lists(assets, max_size=2).map(tuple),
    subnets=st.lists(subnets, max_size=2).map(tuple),
    networks=st.lists(networks, max_size=2).map(tuple),
    ip_lists=st.lists(ip_lists, max_size=2).map(tuple),
    errors=st.lists(collection_errors, max_size=2).map(tuple),
    providers=st.lists(names, max_size=2).map(tuple),
)
compliance = st.dictionaries(names, st.lists(names, max_size=2).map(tuple), max_size=2)
findings = st.builds(
    Finding,
    finding_id=ids, policy_id=ids, title=names, severity=st.sampled_from(Severity),
    provider=ids, account=ids, region=ids, resource_id=ids, resource_name=names,
    rule=st.none() | rules, asset_id=optional_ids, evidence=extras,
    attack=st.lists(ids, max_size=2).map(tuple), compliance=compliance,
    remediation=names, suppressed=st.booleans(), suppression=st.none() | extras.filter(bool),
)
attributions = st.builds(Attribution, actor=optional_ids, time=st.none() | times,
                         source_address=optional_ids, operation=optional_ids,
                         event_id=optional_ids, unavailable_reason=st.none() | names)
drift_items = st.builds(
    DriftItem,
    drift_id=ids, change=st.sampled_from(ChangeKind), effect=st.sampled_from(Effect),
    severity=st.sampled_from(Severity), provider=ids, account=ids, region=ids, resource_id=ids,
    resource_name=names, rule_key=optional_ids, before=st.none() | rules,
    after=st.none() | rules, summary=names, details=extras,
    attack=st.lists(ids, max_size=2).map(tuple), tactic=optional_ids, detection=optional_ids,
    operations=st.lists(ids, max_size=2).map(tuple),
    newly_exposed=st.lists(extras, max_size=2).map(tuple),
    attribution=st.lists(attributions, max_size=2).map(tuple),
)
path_steps = st.builds(PathStep, names, names, optional_ids, optional_ids, names)
exposures = st.builds(
    Exposure, asset_id=ids, provider=ids, account=ids, region=ids,
    source=st.sampled_from(["internet", "broad"]), family=st.sampled_from(["ipv4", "ipv6"]),
    protocol=st.sampled_from(["tcp", "udp", "all"]), ports=port_sets,
    services=st.lists(names, max_size=2).map(tuple), via=names,
    path=st.lists(path_steps, max_size=3).map(tuple),
)

EVERY_CLASS = [
    (Peer, peers()), (Rule, rules), (Attachment, attachments), (RuleSet, rule_sets),
    (Asset, assets), (Subnet, subnets), (Network, networks), (IpList, ip_lists),
    (Scope, scopes), (CollectionError, collection_errors), (Snapshot, snapshots),
    (Finding, findings), (Attribution, attributions), (DriftItem, drift_items),
    (PathStep, path_steps), (Exposure, exposures),
]


# --- round trips ------------------------------------------------------------------------------


@pytest.mark.parametrize(("cls", "strategy"), EVERY_CLASS, ids=[c.__name__ for c, _ in EVERY_CLASS])
def test_to_dict_from_dict_round_trip_through_json(cls, strategy):
    @settings(max_examples=25, deadline=None)
    @given(strategy)
    def check(item):
        data = item.to_dict()
        # Through real JSON text, as a stored snapshot or a report would go.
        decoded = json.loads(json.dumps(data, sort_keys=True))
        again = cls.from_dict(decoded)
        assert again == item
        assert again.to_dict() == data
        hash(again)  # frozen values stay usable as keys

    check()


@settings(max_examples=20, deadline=None)
@given(snapshots)
def test_snapshot_json_round_trip_is_byte_identical(snapshot):
    text = snapshot.to_json()
    again = Snapshot.from_json(text)
    assert again == snapshot
    assert again.to_json() == text


def _minimal_snapshot() -> Snapshot:
    rule = Rule(Direction.INGRESS, Action.ALLOW, "tcp", PortSet.of(22),
                (Peer.cidr("0.0.0.0/0"),), priority=100, native_id="sgr-1")
    rule_set = RuleSet("aws", "111122223333", "eu-west-1", RuleSetKind.AWS_SECURITY_GROUP,
                       "sg-1", "web", (rule,))
    return Snapshot("snap-1", datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
                    (Scope("aws", "111122223333", "eu-west-1"),), (rule_set,), providers=("aws",))


def test_snapshot_json_has_schema_version_and_sorted_keys():
    text = _minimal_snapshot().to_json()
    data = json.loads(text)
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert data["taken_at"] == "2026-01-02T03:04:05Z"
    assert text == json.dumps(data, sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False) + "\n"
    pretty = _minimal_snapshot().to_json(pretty=True)
    assert pretty == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"

    def keys_sorted(value) -> bool:
        if isinstance(value, dict):
            return list(value) == sorted(value) and all(map(keys_sorted, value.values()))
        if isinstance(value, list):
            return all(map(keys_sorted, value))
        return True

    assert keys_sorted(json.loads(text, object_pairs_hook=dict))


@pytest.mark.parametrize("version", [None, 0, 2, "1"])
def test_unknown_schema_version_is_refused(version):
    data = _minimal_snapshot().to_dict()
    if version is None:
        del data["schema_version"]
    else:
        data["schema_version"] = version
    with pytest.raises(ValueError, match="schema_version"):
        Snapshot.from_dict(data)


def test_old_minimal_json_still_loads():
    """Optional fields may be absent: JSON written before they existed keeps loading."""
    data = {
        "schema_version": 1,
        "snapshot_id": "old",
        "taken_at": "2025-06-01T00:00:00Z",
        "rule_sets": [{
            "provider": "aws", "account": "1", "region": "r", "kind": "aws_security_group",
            "resource_id": "sg-1", "name": "n",
            "rules": [{"direction": "ingress", "action": "allow", "protocol": "tcp",
                       "peers": [{"kind": "cidr", "value": "10.0.0.0/8"}]}],
        }],
    }
    snapshot = Snapshot.from_dict(data)
    rule = snapshot.rule_sets[0].rules[0]
    assert rule.ports == ALL_PORTS
    assert rule.peers[0].addresses == ("10.0.0.0/8",)
    assert snapshot.scopes == () and snapshot.errors == ()


def test_peer_addresses_are_kept_per_kind():
    cidr = Peer.cidr("10.0.0.0/8")
    assert cidr.to_dict() == {"kind": "cidr", "value": "10.0.0.0/8"}
    # A prefix list whose only entry equals its value must not lose its addresses.
    odd = Peer(PeerKind.PREFIX_LIST, "10.0.0.0/8", ("10.0.0.0/8",))
    assert Peer.from_dict(odd.to_dict()) == odd
    symbolic = Peer(PeerKind.SECURITY_GROUP, "sg-2", account="444455556666")
    assert symbolic.to_dict() == {"kind": "security_group", "value": "sg-2",
                                  "account": "444455556666"}
    assert Peer.from_dict(symbolic.to_dict()).addresses == ()


def test_a_peer_with_a_bad_address_is_refused():
    with pytest.raises(ValueError):
        Peer.cidr("10.0.0.0/33")
    with pytest.raises(ValueError):
        Peer(PeerKind.PREFIX_LIST, "pl-1", ("pl-1",))
    with pytest.raises(ValueError):
        Peer.from_dict({"kind": "cidr", "value": "not-an-address"})
    with pytest.raises(ValueError):
        Peer.from_dict({"kind": "prefix_list", "value": "pl-1", "addresses": ["10.0.0.0/33"]})


def test_two_loads_of_a_snapshot_share_its_peers_and_port_sets():
    """Peers and port sets are values: a baseline and the scan compared with it hold one object
    per distinct value, so their rules compare equal peer by peer without a field walk."""
    document = {"kind": "cidr", "value": "203.0.113.0/24"}
    first, second = Peer.from_dict(dict(document)), Peer.from_dict(dict(document))
    assert first is second and first == Peer.cidr("203.0.113.0/24")
    assert Peer.cidr("198.51.100.0/24") is Peer.cidr("198.51.100.0/24")
    assert PortSet.from_list(["22", "80-90"]) is PortSet.from_list(("22", "80-90"))
    assert PortSet.of(22, (80, 90)) is PortSet.of(22, (80, 90))
    assert PortSet.of(22, (80, 90)) == PortSet.from_list(["22", "80-90"])
    # Equal by value is not enough to share: an account spelt differently is another peer.
    assert (Peer.from_dict({"kind": "security_group", "value": "sg-1", "account": "1"})
            is not Peer.from_dict({"kind": "security_group", "value": "sg-1"}))
    rule = Rule(Direction.INGRESS, Action.ALLOW, "tcp", PortSet.of(22),
                (Peer.cidr("10.0.0.0/8"),))
    again = Rule.from_dict(json.loads(json.dumps(rule.to_dict())))
    assert again == rule and again.peers[0] is rule.peers[0] and again.ports is rule.ports


# --- ordering, status, ids --------------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    st.lists(rule_sets, max_size=4, unique_by=lambda r: r.resource_id),
    st.lists(assets, max_size=3, unique_by=lambda a: a.asset_id),
    st.lists(collection_errors, max_size=3),
    st.lists(scopes, max_size=4),
    st.randoms(use_true_random=False),
)
def test_from_items_order_does_not_depend_on_scan_order(rule_sets_, assets_, errors_, scopes_,
                                                        rnd):
    items = [*rule_sets_, *assets_, *errors_]
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    first = Snapshot.from_items("s", when, scopes_, items, providers=["gcp", "aws", "aws"])
    shuffled_items, shuffled_scopes = list(items), list(scopes_)
    rnd.shuffle(shuffled_items)
    rnd.shuffle(shuffled_scopes)
    second = Snapshot.from_items("s", when, shuffled_scopes, shuffled_items,
                                 providers=["aws", "gcp"])
    assert first == second
    assert first.to_json() == second.to_json()
    assert first.providers == ("aws", "gcp")
    assert [r.resource_id for r in first.rule_sets] == sorted(r.resource_id for r in rule_sets_)
    assert len(first.scopes) == len(set(scopes_))


def test_from_items_scope_order_is_the_same_in_every_process():
    """Scopes differing only by name must not be ordered by set iteration (hash seeds vary)."""
    code = (
        "from datetime import datetime, timezone\n"
        "from scanner.model import Scope, Snapshot\n"
        "s = [Scope('aws', '1', 'r', n) for n in ('b', 'a', 'c', 'd')]\n"
        "snap = Snapshot.from_items('s', datetime.now(timezone.utc), s, [])\n"
        "print([x.name for x in snap.scopes])"
    )
    outputs = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        for seed in ("1", "2", "3")
    }
    assert outputs == {"['a', 'b', 'c', 'd']\n"}


def test_scope_status():
    a = Scope("aws", "111", "eu-west-1")
    b = Scope("aws", "111", "us-east-1")
    c = Scope("aws", "222", "eu-west-1")
    errors = (
        CollectionError("aws", "111", "eu-west-1", "denied", resource_type="network_acls"),
        CollectionError("aws", "222", "", "cannot assume role"),
    )
    snap = Snapshot("s", datetime(2026, 1, 1, tzinfo=timezone.utc), (a, b, c), errors=errors)
    assert snap.scope_status(a) == "partial"
    assert snap.scope_status(b) == "ok"
    # An account-wide failure (region "") fails every region of that account.
    assert snap.scope_status(c) == "failed"
    assert snap.scope_status(Scope("aws", "222", "us-west-2")) == "failed"
    assert snap.scope_status(Scope("azure", "111", "eu-west-1")) == "ok"
    assert not snap.complete
    assert Snapshot("s", snap.taken_at, (a,)).complete


def test_finding_ids_are_stable_and_distinct():
    first = Finding.make_id("CW-NET-001", "sg-1", "sgr-1")
    assert first == Finding.make_id("CW-NET-001", "sg-1", "sgr-1")
    assert first.startswith("CWF-") and len(first) == 24
    others = {
        Finding.make_id("CW-NET-002", "sg-1", "sgr-1"),
        Finding.make_id("CW-NET-001", "sg-2", "sgr-1"),
        Finding.make_id("CW-NET-001", "sg-1", "sgr-2"),
        Finding.make_id("CW-NET-001", "sg-1"),
        # No ambiguity from where the separator falls.
        Finding.make_id("CW-NET-001", "sg-1sgr-1"),
    }
    assert first not in others and len(others) == 5
    # Independent of the process (no hash(), no randomness): the same id in a fresh interpreter.
    code = "from scanner.model import Finding; print(Finding.make_id('CW-NET-001','sg-1','sgr-1'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "7"}).stdout.strip()
    assert out == first


def test_rule_identity_and_content_hash():
    rule = Rule(Direction.INGRESS, Action.ALLOW, "tcp", PortSet.of(22),
                (Peer.cidr("10.0.0.0/8"), Peer.cidr("0.0.0.0/0")), native_id="r1",
                description="ssh")
    assert rule.identity() == "r1"
    reordered = Rule(Direction.INGRESS, Action.ALLOW, "tcp", PortSet.of(22),
                     (Peer.cidr("0.0.0.0/0"), Peer.cidr("10.0.0.0/8")), description="other")
    # Peer order and description do not change what a rule does.
    assert reordered.content_hash() == rule.content_hash()
    assert reordered.identity() == "content:" + rule.content_hash()
    wider = Rule(Direction.INGRESS, Action.ALLOW, "tcp", PortSet.of((22, 23)), rule.peers)
    assert wider.content_hash() != rule.content_hash()
    assert fingerprint("a", 1) == fingerprint("a", 1) != fingerprint("a", "1")


def test_severity_parse_and_rank():
    assert Severity.parse(" High ") is Severity.HIGH
    assert [s.rank for s in Severity] == sorted(s.rank for s in Severity)
    assert Severity.CRITICAL.rank > Severity.HIGH.rank > Severity.INFO.rank
    with pytest.raises(ValueError, match="choose one of"):
        Severity.parse("urgent")


def test_naive_and_offset_times_are_written_as_utc():
    aware = datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone.utc)
    from datetime import timedelta

    plus_two = aware.astimezone(timezone(timedelta(hours=2)))
    snap = Snapshot("s", plus_two)
    assert snap.to_dict()["taken_at"] == "2026-01-02T05:04:05Z"
    assert Snapshot.from_json(snap.to_json()).taken_at == aware


def test_times_without_a_zone_are_utc_on_every_host():
    naive = Snapshot("s", datetime(2026, 1, 2, 5, 4, 5))
    assert naive.to_dict()["taken_at"] == "2026-01-02T05:04:05Z"
    data = {**naive.to_dict(), "taken_at": "2026-01-02T05:04:05"}
    assert Snapshot.from_dict(data).taken_at == datetime(2026, 1, 2, 5, 4, 5, tzinfo=timezone.utc)
    code = (
        "from datetime import datetime\n"
        "from scanner.model import Snapshot\n"
        "print(Snapshot('s', datetime(2026, 1, 2, 5, 4, 5)).to_dict()['taken_at'])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "TZ": "America/Los_Angeles"}).stdout.strip()
    assert out == "2026-01-02T05:04:05Z"


@given(st.lists(st.text(), max_size=4))
def test_fingerprint_of_strings_is_the_hash_of_their_json(parts):
    # Strings take a shortcut past the JSON encoder: the text hashed must be the same.
    import hashlib

    text = json.dumps(tuple(parts), sort_keys=True, default=str, separators=(",", ":"))
    assert fingerprint(*parts) == hashlib.sha256(text.encode()).hexdigest()[:20]


_JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner,
                                                                 max_size=3),
    max_leaves=8)


@given(st.lists(st.one_of(_JSONISH, st.datetimes()), max_size=4))
def test_fingerprint_of_any_parts_is_the_hash_of_their_sorted_compact_json(parts):
    # Rule dictionaries, None and non-JSON values (spelt by str) as drift ids hash them.
    import hashlib

    text = json.dumps(tuple(parts), sort_keys=True, default=str, separators=(",", ":"))
    assert fingerprint(*parts) == hashlib.sha256(text.encode()).hexdigest()[:20]


@given(st.text(), st.text(), st.text())
def test_finding_ids_from_their_parts_are_the_fingerprint_of_the_three_strings(policy, resource,
                                                                                subject):
    # What an id promises (stable across runs and versions): "CWF-" and the fingerprint of
    # policy, resource and subject. Binding reuses the hashed text's parts: the same id.
    import hashlib

    text = json.dumps([policy, resource, subject], separators=(",", ":"))
    expected = "CWF-" + hashlib.sha256(text.encode()).hexdigest()[:20]
    assert Finding.make_id(policy, resource, subject) == expected
    assert finding_id_with(finding_id_parts(policy, subject),
                           finding_id_part(resource)) == expected


def test_finding_ids_keep_their_value():
    # Baselines, suppressions and tickets name findings by id: the derivation never changes.
    assert Finding.make_id("CW-NET-001", "sg-1", "sgr-1") == "CWF-4c2e67e905ec3c696153"


@settings(max_examples=50, deadline=None)
@given(findings, ids, ids, ids, ids, names, st.none() | rules, extras)
def test_a_rebound_finding_is_the_finding_with_those_fields_replaced(
        finding, finding_id, account, region, resource_id, resource_name, rule, evidence):
    import dataclasses

    rebound = finding.rebound(finding_id, account, region, resource_id, resource_name, rule,
                              evidence)
    expected = dataclasses.replace(
        finding, finding_id=finding_id, account=account, region=region,
        resource_id=resource_id, resource_name=resource_name, rule=rule, evidence=evidence)
    assert type(rebound) is Finding and rebound == expected
    assert [getattr(rebound, f.name) for f in dataclasses.fields(Finding)] == \
        [getattr(expected, f.name) for f in dataclasses.fields(Finding)]
    with pytest.raises(dataclasses.FrozenInstanceError):
        rebound.account = "other"  # type: ignore[misc]
