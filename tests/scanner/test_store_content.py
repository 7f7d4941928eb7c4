"""Content-addressed storage: unchanged scans cost a row, changes cost what changed, deletion
collects what nothing uses, and every snapshot comes back byte for byte; on SQLite and
PostgreSQL (``store_target``) except where a test is about the SQLite file itself."""

from __future__ import annotations

import json
import sqlite3
import zlib
from dataclasses import replace

import pytest

from scanner.errors import StoreError
from scanner.store import Store
from scanner.store.compression import compress, decompress, sample_dictionary
from scanner.store.content import (
    HEADER,
    assemble_document,
    canonical_json,
    digest,
    split_snapshot,
)
from tests.scanner.store_builders import counts, estate, execute


def test_a_snapshot_splits_into_objects_and_reassembles_exactly():
    snapshot = estate("s-1", sets=5)
    parts = split_snapshot(snapshot)
    assert set(parts.sections) == {"providers", "scopes", "rule_sets", "assets", "subnets",
                                   "networks", "ip_lists", "errors", HEADER}
    assert len(parts.sections["rule_sets"]) == 5
    for name, body in parts.objects.items():
        assert digest(body) == name
        assert canonical_json(json.loads(body)) == body
    bodies = {name: [parts.objects[d] for d in digests] for name, digests in parts.sections.items()}
    assert assemble_document("s-1", parts.taken_at, bodies) == snapshot.to_dict()
    assert (parts.rule_set_count, parts.rule_count, parts.scope_count) == (5, 25, 1)


def test_the_manifest_names_the_content_not_the_snapshot():
    first, again = estate("s-1"), estate("s-2", minutes=60)
    assert split_snapshot(first).manifest_digest == split_snapshot(again).manifest_digest
    changed = split_snapshot(estate("s-3", changed=7))
    assert changed.manifest_digest != split_snapshot(first).manifest_digest
    assert len(set(changed.objects) - set(split_snapshot(first).objects)) == 1
    # The same members in another order are another snapshot.
    swapped = replace(first, rule_sets=first.rule_sets[::-1])
    assert split_snapshot(swapped).manifest_digest != split_snapshot(first).manifest_digest


def test_unchanged_scans_store_the_estate_once(store_target):
    with Store(store_target) as store:
        store.save(estate("s-00"))
        one = counts(store_target)
        for n in range(1, 24):
            store.save(estate(f"s-{n:02d}", minutes=60 * n))
        assert counts(store_target) == {**one, "snapshots": 24}
        assert one == {"snapshots": 1, "manifests": 1, "objects": len(
            split_snapshot(estate("x")).objects)}
        assert [i.snapshot_id for i in store.list()] == [f"s-{n:02d}" for n in range(24)]
        assert store.load("s-17") == estate("s-17", minutes=60 * 17)


def test_a_change_stores_only_what_changed(store_target):
    with Store(store_target) as store:
        store.save(estate("s-1"))
        before = counts(store_target)
        store.save(estate("s-2", minutes=5, changed=3))
        after = counts(store_target)
        assert after["objects"] == before["objects"] + 1  # the one edited security group
        assert after["manifests"] == 2
        assert store.load("s-2").rule_sets[3].rules[0].peers[0].value == "0.0.0.0/0"
        assert store.load("s-1") == estate("s-1")


def test_identical_members_inside_one_snapshot_come_back_twice(store_target):
    snapshot = estate("s-1", sets=2)
    doubled = replace(snapshot, rule_sets=(snapshot.rule_sets[0], *snapshot.rule_sets))
    with Store(store_target) as store:
        store.save(doubled)
        assert store.load("s-1") == doubled
        assert store.load("s-1").to_json() == doubled.to_json()


def test_export_and_import_are_byte_identical_to_the_json_form(store_target, tmp_path):
    snapshot = estate("s-1", sets=12, changed=4)
    exported, again = tmp_path / "a.json", tmp_path / "b.json"
    with Store(store_target) as store:
        store.save(snapshot)
        store.export("s-1", exported)
    assert exported.read_text(encoding="utf-8") == snapshot.to_json()
    with Store(tmp_path / "other.db") as other:
        other.import_file(exported)
        other.export("s-1", again)
    assert again.read_bytes() == exported.read_bytes()


def test_deleting_collects_objects_nothing_uses_and_keeps_shared_ones(store_target):
    with Store(store_target) as store:
        store.save(estate("s-1"))
        store.save(estate("s-2", minutes=1, changed=1))
        store.save(estate("s-3", minutes=2))  # the same content as s-1
        full = counts(store_target)
        store.delete_snapshots(["s-1"])
        assert counts(store_target) == {**full, "snapshots": 2}  # s-3 still uses all of it
        store.delete_snapshots(["s-2"])
        assert counts(store_target) == {"snapshots": 1, "manifests": 1,
                                      "objects": full["objects"] - 1}
        assert store.load("s-3") == estate("s-3", minutes=2)
        store.delete_snapshots(["s-3"])
        assert counts(store_target) == {"snapshots": 0, "manifests": 0, "objects": 0}
    if store.path is not None:
        assert execute(store_target, "PRAGMA integrity_check") == [("ok",)]


def test_the_file_does_not_keep_growing_under_save_and_prune(store_path):
    sizes = []
    with Store(store_path) as store:
        assert store.backend._db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
        for cycle in range(8):
            for n in range(4):  # every scan changes something: nothing is shared
                store.save(estate(f"c{cycle}-{n}", sets=60, minutes=cycle * 10 + n,
                                  changed=(cycle * 4 + n) % 60))
            store.prune(keep=1, older_than=None)
            sizes.append(store.size_bytes())
    assert max(sizes[2:]) <= sizes[1] * 1.1, sizes


def test_deleting_gives_the_space_back(store_path):
    with Store(store_path) as store:
        for n in range(10):  # nothing shared: every rule set and asset is renamed in each
            snapshot = estate(f"s-{n}", sets=150, minutes=n)
            store.save(replace(snapshot, rule_sets=tuple(
                replace(rs, name=f"{rs.name} v{n}") for rs in snapshot.rule_sets),
                assets=tuple(replace(a, name=f"v{n}") for a in snapshot.assets)))
        store.backend.compact()
        full = store.size_bytes()
        store.delete_snapshots([f"s-{n}" for n in range(9)])
        assert store.size_bytes() < full * 0.4, (full, store.size_bytes())
        assert store.backend._db.execute("PRAGMA freelist_count").fetchone()[0] < 5
        assert store.load("s-9").rule_sets[0].name == "group 0 v9"


def test_missing_objects_make_a_snapshot_unreadable_not_wrong(store_target):
    with Store(store_target) as store:
        store.save(estate("s-1", sets=3))
    execute(store_target, "DELETE FROM objects WHERE id = (SELECT max(id) FROM objects)")
    with Store(store_target) as store, pytest.raises(StoreError, match="unreadable") as caught:
        store.load("s-1")
    assert "missing" in str(caught.value) and caught.value.hint


def test_objects_are_compressed_against_the_stores_own_dictionary(store_path):
    snapshot = estate("s-1", sets=80)
    parts = split_snapshot(snapshot)
    sample = sample_dictionary(parts)
    assert 0 < len(sample) <= 32 * 1024
    plain = sum(len(compress(body, None, None)) for body in parts.objects.values())
    primed = sum(len(compress(body, 1, sample)) for body in parts.objects.values())
    assert primed < plain * 0.8, (primed, plain)
    with Store(store_path) as store:
        store.save(snapshot)
        store.save(estate("s-2", sets=80, minutes=1, changed=5))
    db = sqlite3.connect(store_path)
    assert db.execute("SELECT count(*) FROM dictionaries").fetchone()[0] == 1
    markers = {row[0] for row in db.execute("SELECT substr(body, 1, 1) FROM objects")}
    assert markers == {b"\x01"}
    # A store whose objects were written before dictionaries existed still reads.
    db.execute("UPDATE objects SET body = ?", (compress(b'{"a":1}', None, None),))
    db.execute("DROP TABLE dictionaries")
    db.commit()
    db.close()
    with Store(store_path) as store:
        with pytest.raises(StoreError):
            store.load("s-1")  # every object now reads {"a": 1}: not a snapshot
        store.save(estate("s-3", sets=5, minutes=2, changed=1))  # the table comes back
    assert sqlite3.connect(store_path).execute(
        "SELECT count(*) FROM dictionaries").fetchone()[0] == 1


def test_a_missing_dictionary_makes_objects_unreadable(store_target):
    with Store(store_target) as store:
        store.save(estate("s-1", sets=5))
    execute(store_target, "DELETE FROM dictionaries")
    with Store(store_target) as store, pytest.raises(StoreError, match="dictionary"):
        store.load("s-1")


def test_compressed_bodies_round_trip_and_refuse_truncation():
    body = canonical_json({"rules": [{"ports": ["22"], "protocol": "tcp"}] * 20})
    for blob in (compress(body, None, None), compress(body, 7, b'{"ports":["22"]}')):
        assert decompress(blob, lambda _id: b'{"ports":["22"]}') == body
    with pytest.raises(zlib.error):
        decompress(compress(body, 7, b"x")[:-6], lambda _id: b"x")
