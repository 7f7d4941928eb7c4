"""Content addressing of snapshots, independent of where they are stored.

A snapshot's JSON form is cut into its parts: every element of every list in it (each rule set,
asset, subnet, network, IP list, scope, collection error, provider name) is one *object*, named
by the SHA-256 of its canonical JSON (``scanner.content_digest``, whose names the analysis of a
scheduled scan uses too). A *manifest* lists, per section, the names of the objects
in the snapshot's order, plus a small header object for the remaining fields; it is named by a
hash of that list. A scan of an unchanged estate therefore produces only objects and a manifest
the store already holds: it costs one snapshot row. Reassembling the parts gives back exactly the
document that was split, so an exported snapshot is byte-identical whichever way it was stored.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from scanner.content_digest import SnapshotDigests, canonical_json, digest
from scanner.model import Snapshot

# Fields of a snapshot document that live on the snapshot record itself.
RECORD_FIELDS = ("snapshot_id", "taken_at")
HEADER = "header"  # the section holding the one object with every non-list field left over


@dataclass(frozen=True, slots=True)
class SnapshotParts:
    """A snapshot cut into content-addressed objects, ready for any backend to store."""

    snapshot_id: str
    taken_at: str
    providers: tuple[str, ...]
    scope_count: int
    rule_set_count: int
    rule_count: int
    error_count: int
    # Section name -> the digests of its objects, in document order.
    sections: Mapping[str, tuple[bytes, ...]]
    # Digest -> canonical JSON, one entry per distinct object.
    objects: Mapping[bytes, bytes]
    manifest_digest: bytes

    @property
    def digests(self) -> SnapshotDigests:
        """The content digests of the snapshot's parts (``scanner.content_digest``): the names
        of its objects, for the analysis to take instead of computing them again."""
        return SnapshotDigests({name: members for name, members in self.sections.items()
                                if name != HEADER})


def manifest_digest(sections: Mapping[str, Sequence[bytes]]) -> bytes:
    """The name of a manifest: a hash over its section names and member digests, in order."""
    h = hashlib.sha256()
    for name in sorted(sections):
        members = sections[name]
        h.update(f"{name}\0{len(members)}\0".encode())
        h.update(b"".join(members))
    return h.digest()


def split_document(document: Mapping[str, Any]) -> SnapshotParts:
    """Cut a snapshot document (``Snapshot.to_dict()``) into its parts."""
    rule_sets = document.get("rule_sets", [])
    return _split(document, sum(len(rs.get("rules", ())) for rs in rule_sets),
                  tuple(document.get("providers", ())))


def split_snapshot(snapshot: Snapshot) -> SnapshotParts:
    """``split_document(snapshot.to_dict())``, without building the whole document: each part's
    dict lives only while it is hashed (the dicts of a million rules take about a gigabyte)."""
    shell = replace(snapshot, **{name: () for name in _PARTS}).to_dict()
    document = {key: (_part_dicts(getattr(snapshot, key)) if key in _PARTS else value)
                for key, value in shell.items()}
    return _split(document, snapshot.rule_count(), snapshot.providers)


# The snapshot's fields that are lists of parts in its document (``Snapshot.to_dict``).
_PARTS = ("providers", "scopes", "rule_sets", "assets", "subnets", "networks", "ip_lists",
          "errors")


def _part_dicts(items: Iterable[Any]) -> Iterator[Any]:
    return (item if isinstance(item, str) else item.to_dict() for item in items)


def _split(document: Mapping[str, Any], rule_count: int,
           providers: tuple[str, ...]) -> SnapshotParts:
    objects: dict[bytes, bytes] = {}
    sections: dict[str, tuple[bytes, ...]] = {}

    def add(value: Any) -> bytes:
        body = canonical_json(value)
        name = digest(body)
        objects.setdefault(name, body)
        return name

    header = {}
    for key, value in document.items():
        if key in RECORD_FIELDS:
            continue
        if isinstance(value, (list, Iterator)):
            sections[key] = tuple(add(item) for item in value)
        else:
            header[key] = value
    sections[HEADER] = (add(header),)

    def size(name: str) -> int:
        return len(sections.get(name, ()))

    return SnapshotParts(
        snapshot_id=document["snapshot_id"],
        taken_at=document["taken_at"],
        providers=providers,
        scope_count=size("scopes"),
        rule_set_count=size("rule_sets"),
        rule_count=rule_count,
        error_count=size("errors"),
        sections=sections,
        objects=objects,
        manifest_digest=manifest_digest(sections),
    )


def assemble_document(snapshot_id: str, taken_at: str,
                      sections: Mapping[str, Sequence[bytes]]) -> dict[str, Any]:
    """The document a manifest describes, from each section's object bodies in order."""
    document: dict[str, Any] = {}
    for name, bodies in sections.items():
        if name == HEADER:
            document.update(json.loads(bodies[0]))
        else:
            document[name] = [json.loads(body) for body in bodies]
    document["snapshot_id"] = snapshot_id
    document["taken_at"] = taken_at
    return document
