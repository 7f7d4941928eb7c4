"""A second storage backend, in memory: proof that the store's rules need nothing but the
``Backend`` interface, and the reference the contract tests hold every backend to."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from scanner.store.backend import (
    Backend,
    Baseline,
    BaselineEvent,
    GarbageCollected,
    SnapshotInfo,
)
from scanner.store.content import SnapshotParts, assemble_document


@dataclass
class _State:
    snapshots: list[tuple[SnapshotInfo, bytes]] = field(default_factory=list)
    manifests: dict[bytes, dict[str, tuple[bytes, ...]]] = field(default_factory=dict)
    objects: dict[bytes, bytes] = field(default_factory=dict)
    baselines: dict[str, Baseline] = field(default_factory=dict)
    events: list[BaselineEvent] = field(default_factory=list)
    state: dict[str, str] = field(default_factory=dict)


class MemoryBackend(Backend):
    location = "memory"

    def __init__(self) -> None:
        self.state = _State()

    @contextmanager
    def read(self) -> Iterator[None]:
        yield

    @contextmanager
    def write(self) -> Iterator[None]:
        saved = copy.deepcopy(self.state)
        try:
            yield
        except BaseException:
            self.state = saved  # all or nothing, like a database transaction
            raise

    def check_integrity(self) -> None:
        pass

    def close(self) -> None:
        pass

    def compact(self) -> None:
        pass

    def snapshot_infos(self) -> list[SnapshotInfo]:
        order = {info.snapshot_id: n for n, (info, _) in enumerate(self.state.snapshots)}
        infos = [info for info, _ in self.state.snapshots]
        return sorted(infos, key=lambda i: (i.taken_at, order[i.snapshot_id]))

    def latest_snapshot_id(self) -> str | None:
        infos = self.snapshot_infos()
        return infos[-1].snapshot_id if infos else None

    def snapshot_ids_with_prefix(self, prefix: str, limit: int) -> list[str]:
        return [i.snapshot_id for i, _ in self.state.snapshots
                if i.snapshot_id.startswith(prefix)][:limit]

    def has_snapshot(self, snapshot_id: str) -> bool:
        return any(i.snapshot_id == snapshot_id for i, _ in self.state.snapshots)

    def snapshot_document(self, snapshot_id: str) -> dict[str, Any]:
        info, manifest = next((i, m) for i, m in self.state.snapshots
                              if i.snapshot_id == snapshot_id)
        sections = self.state.manifests[manifest]
        return assemble_document(snapshot_id, info.taken_at, {
            name: [self.state.objects[d] for d in digests] for name, digests in sections.items()})

    def insert_snapshot(self, parts: SnapshotParts) -> None:
        for name, body in parts.objects.items():
            self.state.objects.setdefault(name, body)
        self.state.manifests.setdefault(parts.manifest_digest, dict(parts.sections))
        info = SnapshotInfo(parts.snapshot_id, parts.taken_at, ",".join(parts.providers),
                            parts.scope_count, parts.rule_set_count, parts.rule_count,
                            parts.error_count)
        self.state.snapshots.append((info, parts.manifest_digest))

    def delete_snapshots(self, snapshot_ids: Sequence[str]) -> None:
        gone = set(snapshot_ids)
        self.state.snapshots = [(i, m) for i, m in self.state.snapshots
                                if i.snapshot_id not in gone]

    def collect_garbage(self) -> GarbageCollected:
        used = {m for _, m in self.state.snapshots}
        orphans = [m for m in self.state.manifests if m not in used]
        for manifest in orphans:
            del self.state.manifests[manifest]
        live = {d for sections in self.state.manifests.values()
                for digests in sections.values() for d in digests}
        dead = [d for d in self.state.objects if d not in live]
        for digest in dead:
            del self.state.objects[digest]
        return GarbageCollected(len(orphans), len(dead))

    def get_baseline(self, name: str) -> Baseline | None:
        return self.state.baselines.get(name)

    def list_baselines(self) -> list[Baseline]:
        return [self.state.baselines[n] for n in sorted(self.state.baselines)]

    def put_baseline(self, baseline: Baseline) -> None:
        self.state.baselines[baseline.name] = baseline

    def delete_baseline(self, name: str) -> None:
        del self.state.baselines[name]

    def add_baseline_event(self, event: BaselineEvent) -> None:
        self.state.events.append(event)

    def baseline_events(self, name: str) -> list[BaselineEvent]:
        return [e for e in self.state.events if e.name == name]

    def get_state(self, key: str) -> str | None:
        return self.state.state.get(key)

    def put_state(self, key: str, value: str) -> None:
        self.state.state[key] = value
