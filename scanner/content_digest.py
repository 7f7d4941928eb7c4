"""Content digests of a snapshot's parts: one definition for the store and the analysis.

Every element of every list in a snapshot document (each rule set, asset, subnet, network, IP
list, scope, collection error, provider name) is named by the SHA-256 of its canonical JSON.
The store addresses its objects by these names (``scanner.store.content``), and a scheduled
scan's analysis uses the very same names to tell which parts did not change since the previous
scan (``policies.reuse``, ``scanner.exposure_classes``, the store's analysis cache), so a scan
that saves its snapshot computes them once and the analysis takes them from there: checking an
unchanged estate then costs one lookup per part, not a pass over every rule.

Computing them is not free (building each part's document and hashing it: about 1 s of CPU per
100,000 rules); ``SnapshotDigests.of`` is that cost, paid once per scan by whoever asks first.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scanner.model import RuleSet, Snapshot

# The sections an exposure analysis reads (``scanner.reach.base.SnapshotIndex``): what its
# answer is a function of, besides its settings.
EXPOSURE_INPUTS = ("rule_sets", "assets", "subnets", "networks", "ip_lists", "scopes", "errors")


def canonical_json(value: Any) -> bytes:
    """Compact JSON with sorted keys: one byte form per value, hence one hash."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def digest(body: bytes) -> bytes:
    return hashlib.sha256(body).digest()


def object_digest(value: Any) -> bytes:
    """The name of one part (its ``to_dict()`` form) of a snapshot document."""
    return digest(canonical_json(value))


def rule_set_digest(rule_set: RuleSet) -> bytes:
    """A rule set's content digest: the name the store gives it (every field, identity, names
    and notes included)."""
    return object_digest(rule_set.to_dict())


@dataclass(frozen=True, slots=True)
class SnapshotDigests:
    """The digests of one snapshot's parts: per list section of its document (``rule_sets``,
    ``assets``...), one digest per element in the snapshot's order."""

    sections: Mapping[str, tuple[bytes, ...]]

    @classmethod
    def of(cls, snapshot: Snapshot) -> SnapshotDigests:
        """Computed from the snapshot: the store's split of it (``split_snapshot``), whose
        digests these are; a caller that saves the snapshot takes ``SnapshotParts.digests``
        instead, to cut it only once."""
        from scanner.store.content import split_snapshot  # the store's module imports this one

        return split_snapshot(snapshot).digests

    @property
    def rule_sets(self) -> tuple[bytes, ...]:
        return self.sections.get("rule_sets", ())

    def by_rule_set_id(self, snapshot: Snapshot) -> dict[str, bytes]:
        """Rule set resource id -> its digest, for ``ExposureMemo.set_digests``."""
        return {rs.resource_id: d for rs, d in zip(snapshot.rule_sets, self.rule_sets,
                                                   strict=True)}

    def key(self, names: Iterable[str], *extra: object) -> str:
        """One hex digest for the contents of sections ``names`` (in order) and ``extra``
        (settings, as their repr): equal exactly when those sections and settings are."""
        h = hashlib.sha256()
        for name in names:
            members = self.sections.get(name, ())
            h.update(f"{name}\0{len(members)}\0".encode())
            h.update(b"".join(members))
        h.update(repr(extra).encode())
        return h.hexdigest()

    def matches(self, snapshot: Snapshot) -> bool:
        """Whether these digests can belong to ``snapshot`` (one per rule set, asset...): a
        cheap guard against digests of another snapshot, not a check of their content."""
        return all(len(self.sections.get(name, ())) == len(getattr(snapshot, name))
                   for name in EXPOSURE_INPUTS)
