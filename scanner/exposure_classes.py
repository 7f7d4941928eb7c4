"""Equivalence classes of assets for the exposure analysis, and their reuse across scans.

Real estates are templated: many interfaces share the same security groups and network ACL
(AWS), the same subnet and NIC NSGs (Azure), the same network, tags and service account (GCP).
``scanner.reach`` gives every asset a class key (everything its cloud's walk reads of it); the
analysis walks one member per class and binds the answer to the others.

A scheduled scan can go further: an ``ExposureMemo`` keeps each class's answer under a
*content key* (the class key, the content digest of every rule set the class names, and the
analysis settings), so the next analysis walks only the classes whose content changed. A digest
is any hashable value that changes whenever the rule set's content does; the default is the
rule set's content digest (``scanner.content_digest``: the store's name for it), and a caller
that already holds those (a scan that saved its snapshot) passes them in
(``SnapshotDigests.by_rule_set_id``) instead of having them computed again.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from scanner.content_digest import rule_set_digest
from scanner.model import RuleSet

# Every field of the rule set counts (names and notes too: a renamed rule changes the path
# labels an exposure carries), as in ``rule_set_digest``.
Digest = Callable[[RuleSet], Hashable]


@dataclass(frozen=True, slots=True)
class MemoStats:
    """What the last analysis took from the memo and what it walked again."""

    reused: int = 0  # classes whose answer was the previous one
    computed: int = 0  # classes walked in this analysis


class ExposureMemo:
    """Exposure per class content key, carried from one analysis to the next.

    Pass the same memo to ``analyze_exposure`` scan after scan. Each analysis looks every class
    up by its content key, walks only the ones not found, and afterwards the memo holds exactly
    the classes of that analysis (what the estate no longer has is dropped, so the memo stays
    the size of one estate). The answer is identical to a full analysis: a class's walk reads
    only what its content key covers.
    """

    def __init__(self, digest: Digest = rule_set_digest,
                 digests: Mapping[str, Hashable] | None = None) -> None:
        """``digests``: precomputed digests by rule set resource id (used before ``digest``)."""
        self._digest = digest
        self._known = dict(digests or {})
        self._entries: dict[Hashable, Any] = {}
        self._next: dict[Hashable, Any] = {}
        self._digests: dict[int, tuple[RuleSet, Hashable]] = {}
        self.stats = MemoStats()

    def set_digests(self, digests: Mapping[str, Hashable]) -> None:
        """Digests by rule set resource id for the next analysis (say, from the store)."""
        self._known = dict(digests)

    def begin(self) -> None:
        self._next = {}
        self._digests = {}
        self.stats = MemoStats()

    def content_key(self, settings: Hashable, key: Hashable, rule_sets: tuple[RuleSet, ...],
                    ) -> Hashable:
        return (settings, key, tuple((rs.resource_id, self._digest_of(rs)) for rs in rule_sets))

    def _digest_of(self, rule_set: RuleSet) -> Hashable:
        known = self._known.get(rule_set.resource_id)
        if known is not None:
            return known
        # One digest per rule set object in an analysis (the object is kept so its id is its).
        hit = self._digests.get(id(rule_set))
        if hit is None:
            hit = self._digests[id(rule_set)] = (rule_set, self._digest(rule_set))
        return hit[1]

    def get(self, content_key: Hashable) -> Any:
        found = self._entries.get(content_key)
        if found is not None:
            self._next[content_key] = found
            self.stats = MemoStats(self.stats.reused + 1, self.stats.computed)
        return found

    def put(self, content_key: Hashable, answer: Any) -> None:
        self._next[content_key] = answer
        self.stats = MemoStats(self.stats.reused, self.stats.computed + 1)

    def end(self) -> None:
        self._entries = self._next
        self._next = {}
        self._digests = {}

    def __len__(self) -> int:
        return len(self._entries)
