"""One definition of a snapshot part's content digest: the store's object names are the digests
the analysis takes, and the key over sections changes exactly when one of them does."""

from __future__ import annotations

from dataclasses import replace

from scanner.content_digest import (
    EXPOSURE_INPUTS,
    SnapshotDigests,
    object_digest,
    rule_set_digest,
)
from scanner.store.content import HEADER, split_snapshot
from tests.scanner.store_builders import estate


def test_the_store_names_parts_by_the_digests_the_analysis_uses():
    snapshot = estate("s-1", sets=6)
    parts = split_snapshot(snapshot)
    computed = SnapshotDigests.of(snapshot)
    assert parts.digests == computed
    assert HEADER not in computed.sections
    assert computed.rule_sets == tuple(rule_set_digest(rs) for rs in snapshot.rule_sets)
    assert computed.sections["assets"] == tuple(object_digest(a.to_dict())
                                                for a in snapshot.assets)
    for name in computed.rule_sets:
        assert name in parts.objects
    assert computed.matches(snapshot)
    assert not computed.matches(replace(snapshot, rule_sets=snapshot.rule_sets[1:]))
    assert computed.by_rule_set_id(snapshot) == {
        rs.resource_id: rule_set_digest(rs) for rs in snapshot.rule_sets}


def test_a_key_over_sections_changes_with_any_of_them_and_with_settings():
    snapshot = estate("s-1", sets=4)
    digests = SnapshotDigests.of(snapshot)
    key = digests.key(EXPOSURE_INPUTS, ("10.0.0.0/8",), 8)
    # Another id and time, built again from scratch: the same content, the same key.
    again = replace(snapshot, snapshot_id="s-2",
                    rule_sets=tuple(replace(rs) for rs in snapshot.rule_sets))
    assert SnapshotDigests.of(again).key(EXPOSURE_INPUTS, ("10.0.0.0/8",), 8) == key
    assert digests.key(EXPOSURE_INPUTS, ("10.0.0.0/8",), 16) != key
    renamed = replace(snapshot, rule_sets=(replace(snapshot.rule_sets[0], name="x"),
                                           *snapshot.rule_sets[1:]))
    assert SnapshotDigests.of(renamed).key(EXPOSURE_INPUTS, ("10.0.0.0/8",), 8) != key
    fewer = replace(snapshot, assets=snapshot.assets[1:])
    assert SnapshotDigests.of(fewer).key(EXPOSURE_INPUTS, ("10.0.0.0/8",), 8) != key
    # A section's members move: another key (order is part of the content).
    moved = SnapshotDigests({**digests.sections,
                             "rule_sets": digests.rule_sets[::-1]})
    assert moved.key(EXPOSURE_INPUTS, ("10.0.0.0/8",), 8) != key


def test_cutting_a_snapshot_part_by_part_gives_the_parts_of_its_whole_document():
    from scanner.model import CollectionError
    from scanner.store.content import split_document

    snapshot = estate("s-1", sets=7)
    failed = CollectionError("aws", "111122223333", "us-east-1", "denied", "AccessDenied")
    for variant in (snapshot, replace(snapshot, errors=(failed,), partial_of="s-0"),
                    replace(snapshot, rule_sets=(), assets=())):
        assert split_snapshot(variant) == split_document(variant.to_dict())
