"""Snapshot documents are checked whole, against the shipped JSON Schema and the limits, before
anything is stored or used: a wrongly typed field is exit 2 naming its JSON path, and the
commands that read snapshots never see such data."""

from __future__ import annotations

import copy
import json
import sqlite3
import zlib
from datetime import datetime, timedelta, timezone

import jsonschema
import pytest
from click.testing import CliRunner

from scanner import snapshot_document
from scanner.cli import main
from scanner.model import (
    Action,
    Asset,
    Attachment,
    CollectionError,
    Direction,
    IpList,
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
from scanner.snapshot_document import DocumentError
from scanner.store.compression import decompress


def invoke(*args: str, store=None):
    prefix = ["--store", str(store)] if store else []
    return CliRunner().invoke(main, [*prefix, *args])


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("doc")
    store = root / "store.db"
    done = invoke("scan", "--provider", "demo", "--save", "--format", "json", store=store)
    assert done.exit_code in (0, 3), done.output
    exported = root / "demo.json"
    assert invoke("snapshots", "export", "latest", "-o", str(exported), store=store).exit_code == 0
    return json.loads(exported.read_text())


# --- the schema and the model agree ----------------------------------------------------------


def test_the_shipped_schema_is_a_valid_draft7_schema():
    jsonschema.Draft7Validator.check_schema(snapshot_document.schema())


def test_the_demo_snapshot_is_valid(demo):
    jsonschema.Draft7Validator(snapshot_document.schema()).validate(demo)
    assert snapshot_document.from_document(copy.deepcopy(demo)).to_dict() == demo


def _every_field() -> Snapshot:
    """One instance of every model class with every optional field set."""
    peer = Peer(PeerKind.PREFIX_LIST, "pl-1", ("10.0.0.0/8", "2001:db8::/32"), "123456789012")
    rule = Rule(Direction.INGRESS, Action.DENY, "icmp", PortSet.parse("22,1000-2000"),
                (peer, Peer.cidr("0.0.0.0/0")), 100, False, "sgr-1", "name", "desc",
                (Peer(PeerKind.NETWORK_TAG, "web"),), 8, 0, True, True, {"k": [1, {"x": None}]})
    bare = Rule(Direction.EGRESS, Action.GOTO_NEXT, "all")
    rule_set = RuleSet("aws", "1", "r", RuleSetKind.AWS_NETWORK_ACL, "acl-1", "n", (rule, bare),
                       (Attachment("subnet", "subnet-1"),), "vpc-1", True, "d", {"t": "v"},
                       {"e": 1})
    asset = Asset("gcp", "p", "", "gcp_instance_interface", "a1", "vm", "i-1", "net", "sub",
                  ("10.0.0.1",), ("203.0.113.1",), ("2001:db8::1",), ("rs",), ("tag",),
                  ("sa@x",), ("asg",), "running", "interface", {"t": "v"}, {"e": True})
    return Snapshot(
        "s-1", datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc),
        (Scope("aws", "1", "r", "alias"), Scope("gcp", "p")), (rule_set,), (asset,),
        (Subnet("aws", "1", "r", "subnet-1", "vpc-1", "n", ("10.0.0.0/24",), ("acl-1",),
                ("0.0.0.0/0",), {"e": 1}),),
        (Network("gcp", "p", "", "net", "n", ("10.0.0.0/8",), True, "AFTER_CLASSIC_FIREWALL",
                 ("rs",), {"e": 1}),),
        (IpList("aws", "1", "r", "ip-1", "n", "trusted", "ACTIVE", "s3://b/k", "TXT", "det",
                {"e": 1}),),
        (CollectionError("azure", "sub", "", "denied", "hint", "networkInterfaces", "403"),),
        ("aws", "azure", "gcp"))


def test_every_model_class_round_trips_through_the_schema():
    snapshot = _every_field()
    document = json.loads(snapshot.to_json())
    jsonschema.Draft7Validator(snapshot_document.schema()).validate(document)
    assert snapshot_document.parse(snapshot.to_json()) == snapshot


# --- wrongly typed fields: named by JSON path ------------------------------------------------


def _doc() -> dict:
    return json.loads(_every_field().to_json())


def _rule(doc: dict) -> dict:
    return doc["rule_sets"][0]["rules"][0]


MUTATIONS = {
    "string priority": (lambda d: _rule(d).__setitem__("priority", "high"),
                        "$.rule_sets[0].rules[0].priority"),
    "numeric resource id": (lambda d: d["rule_sets"][0].__setitem__("resource_id", 42),
                            "$.rule_sets[0].resource_id"),
    "null protocol": (lambda d: _rule(d).__setitem__("protocol", None),
                      "$.rule_sets[0].rules[0].protocol"),
    "rule without ports": (lambda d: _rule(d).pop("ports"), "$.rule_sets[0].rules[0]"),
    "port out of range": (lambda d: _rule(d).__setitem__("ports", ["70000"]),
                          "$.rule_sets[0].rules[0].ports[0]"),
    "reversed range": (lambda d: _rule(d).__setitem__("ports", ["30-20"]),
                       "$.rule_sets[0].rules[0].ports[0]"),
    "port as number": (lambda d: _rule(d).__setitem__("ports", [22]),
                       "$.rule_sets[0].rules[0].ports[0]"),
    "unknown direction": (lambda d: _rule(d).__setitem__("direction", "sideways"),
                          "$.rule_sets[0].rules[0].direction"),
    "peer address": (lambda d: _rule(d)["peers"][0].__setitem__("addresses", ["nope"]),
                     "$.rule_sets[0].rules[0].peers[0].addresses[0]"),
    "peers not a list": (lambda d: _rule(d).__setitem__("peers", {"kind": "cidr"}),
                         "$.rule_sets[0].rules[0].peers"),
    "enabled as text": (lambda d: _rule(d).__setitem__("enabled", "yes"),
                        "$.rule_sets[0].rules[0].enabled"),
    "bool as priority": (lambda d: _rule(d).__setitem__("priority", True),
                         "$.rule_sets[0].rules[0].priority"),
    "tag value number": (lambda d: d["rule_sets"][0].__setitem__("tags", {"a": 1}),
                         "$.rule_sets[0].tags.a"),
    "asset addresses": (lambda d: d["assets"][0].__setitem__("public_addresses", "1.2.3.4"),
                        "$.assets[0].public_addresses"),
    "scope missing": (lambda d: d["scopes"][0].pop("account"), "$.scopes[0]"),
    "error reason": (lambda d: d["errors"][0].__setitem__("reason", None),
                     "$.errors[0].reason"),
    "unknown field": (lambda d: _rule(d).__setitem__("prioirty", 1),
                      "$.rule_sets[0].rules[0]"),
    "rules missing": (lambda d: d["rule_sets"][0].pop("rules"), "$.rule_sets[0]"),
    "rule sets not a list": (lambda d: d.__setitem__("rule_sets", {}), "$.rule_sets"),
    "snapshot id": (lambda d: d.__setitem__("snapshot_id", "../../etc"), "$.snapshot_id"),
    "taken_at garbage": (lambda d: d.__setitem__("taken_at", "yesterday"), "$.taken_at"),
    "taken_at month 13": (lambda d: d.__setitem__("taken_at", "2026-13-01T00:00:00Z"),
                          "$.taken_at"),
    "taken_at future": (lambda d: d.__setitem__("taken_at", "2999-01-01T00:00:00Z"),
                        "$.taken_at"),
    "taken_at ancient": (lambda d: d.__setitem__("taken_at", "1999-01-01T00:00:00Z"),
                         "$.taken_at"),
    "version": (lambda d: d.__setitem__("schema_version", "1"), "$.schema_version"),
    "not an object": (lambda d: d.clear() or d.update({"schema_version": 1}), "$"),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_a_wrongly_typed_field_is_named_by_its_path(name):
    mutate, path = MUTATIONS[name]
    document = _doc()
    mutate(document)
    with pytest.raises(DocumentError) as caught:
        snapshot_document.parse(json.dumps(document))
    assert caught.value.path == path, str(caught.value)
    assert "\n" not in str(caught.value)
    # The reference validator agrees wherever the schema alone can tell.
    if name not in {"port out of range", "reversed range", "peer address", "taken_at month 13",
                    "taken_at future", "taken_at ancient"}:
        assert not jsonschema.Draft7Validator(snapshot_document.schema()).is_valid(document)


def test_a_time_within_the_clock_skew_is_accepted():
    document = _doc()
    soon = datetime.now(timezone.utc) + timedelta(minutes=2)
    document["taken_at"] = soon.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert snapshot_document.parse(json.dumps(document)).taken_at.year == soon.year


def test_depth_and_size_limits():
    document = _doc()
    nested: list = []
    cursor = nested
    for _ in range(snapshot_document.MAX_DEPTH + 5):
        cursor.append([])
        cursor = cursor[0]
    _rule(document)["extra"] = {"deep": nested}
    with pytest.raises(DocumentError, match="nested deeper"):
        snapshot_document.parse(json.dumps(document))
    with pytest.raises(DocumentError, match="nested deeper"):
        snapshot_document.parse("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DocumentError, match="MiB"):
        snapshot_document.parse(b" " * (snapshot_document.MAX_DOCUMENT_BYTES + 1))


# --- through the CLI: exit 2, nothing stored, nothing later crashes ---------------------------


def _store_rows(path) -> list:
    if not path.exists():
        return []
    with sqlite3.connect(path) as db:
        return db.execute("SELECT snapshot_id FROM snapshots").fetchall()


@pytest.mark.parametrize("name", ["string priority", "numeric resource id", "null protocol",
                                  "rule without ports", "taken_at future", "taken_at month 13"])
def test_import_refuses_with_exit_2_and_stores_nothing(tmp_path, demo, name):
    store = tmp_path / "store.db"
    assert invoke("snapshots", "import", _write(tmp_path, demo), store=store).exit_code == 0
    before = _store_rows(store)
    bad = copy.deepcopy(demo)
    bad["snapshot_id"] = "imported-bad"
    mutate, path = MUTATIONS[name]
    target = bad if name.startswith("taken_at") else _first_rule_doc(bad)
    mutate(target)
    result = invoke("snapshots", "import", _write(tmp_path, bad, "bad.json"), store=store)
    assert result.exit_code == 2
    first = result.stderr.strip().splitlines()[0]
    assert first.startswith("error: ") and "$." in first, result.stderr
    assert not any(name in result.stderr for name in ("Traceback", "KeyError", "TypeError",
                                                      "ValueError", "AttributeError"))
    assert _store_rows(store) == before
    # A baseline file is checked the same way by every command that takes one.
    for args in (["diff", "--baseline", str(tmp_path / "bad.json"), "--snapshot", "latest"],
                 ["scan", "--provider", "demo", "--baseline", str(tmp_path / "bad.json")],
                 ["report", "compliance", "--framework", "cis-aws", "--snapshot",
                  str(tmp_path / "bad.json")]):
        other = invoke(*args, store=store)
        assert other.exit_code == 2, (args, other.output)
        assert "$." in other.stderr


def _first_rule_doc(document: dict) -> dict:
    """A view of the demo document shaped like ``_doc()`` for the mutations: the first rule
    set that has rules is moved to the front."""
    sets = document["rule_sets"]
    index = next(i for i, s in enumerate(sets) if s["rules"])
    sets.insert(0, sets.pop(index))
    return document


def _write(tmp_path, document, name="good.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return str(path)


def test_foreign_store_data_is_refused_by_every_reader(tmp_path, demo):
    """A store body written elsewhere with a wrongly typed field: every command that reads it
    says so in one line (exit 2) instead of crashing later."""
    store = tmp_path / "store.db"
    assert invoke("snapshots", "import", _write(tmp_path, demo), store=store).exit_code == 0
    # Every stored object holding a rule gets a string priority, whatever the store's layout.
    with sqlite3.connect(store) as db:
        def dictionary(dictionary_id):
            return db.execute("SELECT body FROM dictionaries WHERE id = ?",
                              (dictionary_id,)).fetchone()[0]

        for object_id, body in db.execute("SELECT id, body FROM objects").fetchall():
            value = json.loads(decompress(body, dictionary))
            if isinstance(value, dict) and value.get("rules"):
                value["rules"][0]["priority"] = "high"
                db.execute("UPDATE objects SET body = ? WHERE id = ?",
                           (zlib.compress(json.dumps(value).encode()), object_id))
    snapshot_id = demo["snapshot_id"]
    for args in (["snapshots", "show", snapshot_id],
                 ["exposure", "--snapshot", snapshot_id],
                 ["diff", "--baseline", _write(tmp_path, demo), "--snapshot", snapshot_id],
                 ["report", "compliance", "--framework", "cis-aws", "--snapshot", snapshot_id],
                 ["snapshots", "export", snapshot_id, "-o", str(tmp_path / "out.json")]):
        result = invoke(*args, store=store)
        assert result.exit_code == 2, (args, result.output)
        assert "rules[0].priority" in result.stderr, result.stderr
        assert "Traceback" not in result.output
    # ... and the snapshot can still be removed.
    removed = invoke("snapshots", "delete", snapshot_id, store=store)
    assert removed.exit_code == 0, removed.output
    assert snapshot_id not in invoke("snapshots", "list", store=store).output
