"""What a storage backend provides: the records it keeps and the primitive operations on them.

The rules (which snapshot may be deleted, when a baseline may move, what a prune removes, how a
snapshot is cut into content-addressed parts) live in ``scanner.store.core``,
``scanner.store.lifecycle`` and ``scanner.store.content``, once for every backend. A backend only
stores and fetches, inside the transactions it provides: every method of ``Backend`` except
``close``, ``compact`` and ``check_integrity`` is called inside ``read()`` or ``write()``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from scanner.store.content import SnapshotParts


@dataclass(frozen=True, slots=True)
class SnapshotInfo:
    snapshot_id: str
    taken_at: str
    providers: str
    scope_count: int
    rule_set_count: int
    rule_count: int
    error_count: int
    baselines: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Baseline:
    name: str
    snapshot_id: str
    set_at: str
    note: str


@dataclass(frozen=True, slots=True)
class BaselineEvent:
    """One entry of a baseline's history: set, moved, accepted drift, or deleted."""

    name: str
    at: str
    action: str  # set | move | accept | delete
    from_snapshot: str | None
    to_snapshot: str | None
    note: str = ""
    accepted: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "at": self.at, "action": self.action,
                "from_snapshot": self.from_snapshot, "to_snapshot": self.to_snapshot,
                "note": self.note, "accepted": list(self.accepted)}


@dataclass(frozen=True, slots=True)
class GarbageCollected:
    manifests: int
    objects: int


class Backend(ABC):
    """One store, wherever it lives. ``location`` names it in messages."""

    location: str

    # --- transactions ---------------------------------------------------------------------
    @abstractmethod
    def read(self) -> AbstractContextManager[None]:
        """A consistent view for several reads."""

    @abstractmethod
    def write(self) -> AbstractContextManager[None]:
        """One atomic transaction; writers take turns. An exception inside rolls it back."""

    @abstractmethod
    def check_integrity(self) -> None:
        """Raise StoreError when the store is damaged, before anything is written to it."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def compact(self) -> None:
        """Give space freed by deletions back to the system (outside any transaction)."""

    def size_bytes(self) -> int | None:
        """What the store occupies, when the backend can tell."""
        return None

    # --- snapshots ------------------------------------------------------------------------
    @abstractmethod
    def snapshot_infos(self) -> list[SnapshotInfo]:
        """Every snapshot, oldest first (ties in the order they were saved); no baselines."""

    @abstractmethod
    def latest_snapshot_id(self) -> str | None: ...

    @abstractmethod
    def snapshot_ids_with_prefix(self, prefix: str, limit: int) -> list[str]: ...

    @abstractmethod
    def has_snapshot(self, snapshot_id: str) -> bool: ...

    @abstractmethod
    def snapshot_document(self, snapshot_id: str) -> dict[str, Any]:
        """The snapshot's JSON document (``Snapshot.to_dict()`` form)."""

    @abstractmethod
    def insert_snapshot(self, parts: SnapshotParts) -> None:
        """Store a snapshot; objects and manifests already held are shared, not stored again."""

    @abstractmethod
    def delete_snapshots(self, snapshot_ids: Sequence[str]) -> None: ...

    @abstractmethod
    def collect_garbage(self) -> GarbageCollected:
        """Remove manifests and objects no snapshot refers to any more."""

    # --- baselines ------------------------------------------------------------------------
    @abstractmethod
    def get_baseline(self, name: str) -> Baseline | None: ...

    @abstractmethod
    def list_baselines(self) -> list[Baseline]: ...

    @abstractmethod
    def put_baseline(self, baseline: Baseline) -> None: ...

    @abstractmethod
    def delete_baseline(self, name: str) -> None: ...

    @abstractmethod
    def add_baseline_event(self, event: BaselineEvent) -> None: ...

    @abstractmethod
    def baseline_events(self, name: str) -> list[BaselineEvent]:
        """The baseline's history, oldest first."""

    # --- state ----------------------------------------------------------------------------
    @abstractmethod
    def get_state(self, key: str) -> str | None:
        """The text last put under ``key`` (None: never put). Long-running commands keep
        their progress here (``cloudwall watch``: checkpoints and seen event ids)."""

    @abstractmethod
    def put_state(self, key: str, value: str) -> None:
        """Replace the text under ``key``."""

