"""The store as the commands see it: snapshots, baselines and their history, lifecycle.

Every rule lives here, once for every backend: ids are checked before they are stored, a
baseline never moves without ``force`` and every move is recorded, a snapshot a baseline points
to is never deleted, and each operation is one transaction of the backend.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from scanner import snapshot_document
from scanner.errors import StoreError
from scanner.model import Snapshot, utc_timestamp
from scanner.outputs import write_output
from scanner.store.backend import (
    Backend,
    Baseline,
    BaselineEvent,
    GarbageCollected,
    SnapshotInfo,
)
from scanner.store.content import SnapshotParts, split_snapshot
from scanner.store.files import read_snapshot_file
from scanner.store.lifecycle import PrunePlan, plan_prune
from scanner.store.locations import is_url

_SNAPSHOT_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def _now() -> str:
    return utc_timestamp(datetime.now(timezone.utc))


def check_snapshot_id(snapshot_id: object) -> None:
    # Ids of imported files are untrusted and are printed and typed back by users.
    if not isinstance(snapshot_id, str) or not _SNAPSHOT_ID.fullmatch(snapshot_id) or (
        snapshot_id == "latest"
    ):
        raise StoreError(
            f"snapshot id {snapshot_id!r} cannot be stored",
            "ids are 1-128 letters, digits and . _ : - (and not `latest`)",
        )


def check_baseline_name(name: str) -> None:
    if not name or not name.strip() or len(name) > 200:
        raise StoreError(f"{name!r} is not a usable baseline name", "use a short, plain name")


class Store:
    """Snapshots and named baselines kept by one backend.

    ``Store(target)`` opens (and, unless ``create=False``, creates) the store ``target`` names:
    a SQLite file path, or a URL whose scheme picks the backend (``scanner.store.locations``);
    ``Store(backend=...)`` uses any other backend.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, create: bool = True,
                 backend: Backend | None = None) -> None:
        if backend is None:
            if path is None:
                raise TypeError("Store needs a path or a backend")
            from scanner.store.locations import open_backend

            backend = open_backend(path, create)
        self.backend = backend
        # The file of a SQLite store; None for a database server or another backend.
        self.path = Path(path) if path is not None and not is_url(path) else None
        self._checked = False

    @property
    def location(self) -> str:
        return self.backend.location

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check_writable(self) -> None:
        """Refuse a damaged store before anything is written to it (once per handle)."""
        if not self._checked:
            self.backend.check_integrity()
            self._checked = True

    def _write(self):
        self.check_writable()
        return self.backend.write()

    # --- snapshots ----------------------------------------------------------------------------

    def save(self, snapshot: Snapshot, state: Mapping[str, str] | None = None,
             parts: SnapshotParts | None = None) -> None:
        """Store ``snapshot``; with ``state``, put those keys (``put_state``) in the same
        transaction, so progress recorded with a snapshot is never ahead of or behind it.
        ``parts``: the snapshot already cut (``split_snapshot``), when the caller needed its
        content digests first (they are not computed twice)."""
        check_snapshot_id(snapshot.snapshot_id)
        if parts is None or parts.snapshot_id != snapshot.snapshot_id:
            parts = split_snapshot(snapshot)
        with self._write():
            self._insert(parts)
            for key, value in (state or {}).items():
                self.backend.put_state(key, value)

    def state(self, key: str) -> str | None:
        """The text last put under ``key``, or None."""
        with self.backend.read():
            return self.backend.get_state(key)

    def put_state(self, key: str, value: str) -> None:
        with self._write():
            self.backend.put_state(key, value)

    def _insert(self, parts) -> None:
        if self.backend.has_snapshot(parts.snapshot_id):
            raise StoreError(
                f"snapshot {parts.snapshot_id} is already in the store",
                "it was imported before; use the stored copy",
            )
        self.backend.insert_snapshot(parts)

    def list(self) -> list[SnapshotInfo]:
        with self.backend.read():
            pointed = _pointed(self.backend.list_baselines())
            infos = self.backend.snapshot_infos()
        return [_with_baselines(info, pointed) for info in infos]

    def resolve(self, ref: str) -> str:
        """``latest``, a full snapshot id, or a unique prefix of one."""
        with self.backend.read():
            return self._resolve(ref)

    def _resolve(self, ref: str) -> str:
        if not ref.strip():
            raise StoreError("an empty snapshot id", "give an id, an id prefix or `latest`")
        if ref == "latest":
            latest = self.backend.latest_snapshot_id()
            if latest is None:
                raise StoreError(
                    "the store has no snapshots yet",
                    "run `cloudwall scan --save` first, or pass --store",
                )
            return latest
        ids = self.backend.snapshot_ids_with_prefix(ref, 3)
        if ref in ids:
            return ref
        if len(ids) == 1:
            return ids[0]
        if not ids:
            raise StoreError(
                f"no snapshot {ref!r} in {self.location}",
                "list them with `cloudwall snapshots list`",
            )
        raise StoreError(f"snapshot id {ref!r} is ambiguous", "give more characters of the id")

    def load(self, ref: str) -> Snapshot:
        with self.backend.read():
            snapshot_id = self._resolve(ref)
            document = self.backend.snapshot_document(snapshot_id)
        try:
            # Checked like a file: the store may come from another machine or version.
            return snapshot_document.from_document(document)
        except ValueError as exc:
            raise StoreError(
                f"snapshot {snapshot_id} in {self.location} is unreadable ({exc})",
                "restore the store from a backup, re-import the snapshot from JSON, or remove "
                f"it with `cloudwall snapshots delete {snapshot_id}`",
            ) from exc

    def delete_snapshots(self, refs: Sequence[str]) -> list[str]:
        """Delete snapshots, all or none; one a baseline points to is refused, naming it."""
        if not refs:
            raise StoreError("no snapshot to delete", "give one or more snapshot ids")
        with self._write():
            ids = list(dict.fromkeys(self._resolve(ref) for ref in refs))
            pointed = _pointed(self.backend.list_baselines())
            for snapshot_id in ids:
                if snapshot_id in pointed:
                    names = ", ".join(pointed[snapshot_id])
                    raise StoreError(
                        f"snapshot {snapshot_id} is the baseline {names}; nothing was deleted",
                        "move the baseline first (`cloudwall baseline set NAME --force`) or "
                        "delete it (`cloudwall baseline delete NAME`)",
                    )
            self.backend.delete_snapshots(ids)
            self.backend.collect_garbage()
        self.backend.compact()
        return ids

    def plan_prune(self, keep: int | None, older_than: timedelta | None,
                   now: datetime | None = None) -> PrunePlan:
        with self.backend.read():
            return self._plan(keep, older_than, now)

    def _plan(self, keep, older_than, now) -> PrunePlan:
        infos = self.backend.snapshot_infos()
        baselines = {b.name: b.snapshot_id for b in self.backend.list_baselines()}
        return plan_prune([(i.snapshot_id, i.taken_at) for i in infos], baselines, keep,
                          older_than, now or datetime.now(timezone.utc))

    def prune(self, keep: int | None, older_than: timedelta | None,
              now: datetime | None = None) -> tuple[PrunePlan, GarbageCollected]:
        """Apply a prune: the plan is made again inside the transaction, so a baseline set
        meanwhile still protects its snapshot."""
        with self._write():
            plan = self._plan(keep, older_than, now)
            if plan.remove:
                self.backend.delete_snapshots(plan.remove)
            collected = self.backend.collect_garbage()
        self.backend.compact()
        return plan, collected

    def size_bytes(self) -> int | None:
        return self.backend.size_bytes()

    # --- baselines ----------------------------------------------------------------------------

    def set_baseline(self, name: str, ref: str, note: str = "", force: bool = False) -> Baseline:
        check_baseline_name(name)
        with self._write():
            snapshot_id = self._resolve(ref)
            existing = self.backend.get_baseline(name)
            if existing and not force:
                raise StoreError(
                    f"baseline {name!r} already exists (snapshot {existing.snapshot_id})",
                    "pass --force to move it, or choose another name",
                )
            result = Baseline(name, snapshot_id, _now(), note)
            self.backend.put_baseline(result)
            self.backend.add_baseline_event(BaselineEvent(
                name, result.set_at, "move" if existing else "set",
                existing.snapshot_id if existing else None, snapshot_id, note))
        return result

    def save_as_baseline(self, snapshot: Snapshot, name: str, note: str,
                         expected_snapshot_id: str, accepted: Sequence[str] = ()) -> Baseline:
        """Store ``snapshot`` and move baseline ``name`` to it, both or neither.

        ``expected_snapshot_id`` is the snapshot the new one was derived from: if the baseline
        moved meanwhile (another run accepted something), nothing is written.
        """
        check_snapshot_id(snapshot.snapshot_id)
        parts = split_snapshot(snapshot)
        with self._write():
            existing = self.backend.get_baseline(name)
            if existing is None or existing.snapshot_id != expected_snapshot_id:
                raise StoreError(
                    f"baseline {name!r} moved while the change was being accepted",
                    "run the command again",
                )
            self._insert(parts)
            result = Baseline(name, snapshot.snapshot_id, _now(), note)
            self.backend.put_baseline(result)
            self.backend.add_baseline_event(BaselineEvent(
                name, result.set_at, "accept", expected_snapshot_id, snapshot.snapshot_id, note,
                tuple(accepted)))
        return result

    def baseline(self, name: str) -> Baseline:
        with self.backend.read():
            found = self.backend.get_baseline(name)
        if found is None:
            raise _no_baseline(name, self.location)
        return found

    def baselines(self) -> list[Baseline]:
        with self.backend.read():
            return self.backend.list_baselines()

    def load_baseline(self, name: str) -> Snapshot:
        return self.load(self.baseline(name).snapshot_id)

    def delete_baseline(self, name: str, note: str = "") -> Baseline:
        """Remove a baseline (its snapshot stays, and may then be pruned); the history stays."""
        with self._write():
            found = self.backend.get_baseline(name)
            if found is None:
                raise _no_baseline(name, self.location)
            self.backend.delete_baseline(name)
            self.backend.add_baseline_event(
                BaselineEvent(name, _now(), "delete", found.snapshot_id, None, note))
        return found

    def baseline_log(self, name: str) -> list[BaselineEvent]:
        """Every set, move, accept and delete of baseline ``name``, oldest first."""
        with self.backend.read():
            events = self.backend.baseline_events(name)
            if not events and self.backend.get_baseline(name) is None:
                raise _no_baseline(name, self.location)
        return events

    # --- import / export ----------------------------------------------------------------------

    def export(self, ref: str, path: str | os.PathLike[str]) -> str:
        snapshot = self.load(ref)
        write_output(path, snapshot.encode())
        return snapshot.snapshot_id

    def import_file(self, path: str | os.PathLike[str]) -> Snapshot:
        snapshot = read_snapshot_file(Path(path))
        self.save(snapshot)
        return snapshot


def _with_baselines(info: SnapshotInfo, pointed: dict[str, list[str]]) -> SnapshotInfo:
    return replace(info, baselines=tuple(sorted(pointed.get(info.snapshot_id, ()))))


def _pointed(baselines: Sequence[Baseline]) -> dict[str, list[str]]:
    pointed: dict[str, list[str]] = {}
    for item in sorted(baselines, key=lambda b: b.name):
        pointed.setdefault(item.snapshot_id, []).append(item.name)
    return pointed


def _no_baseline(name: str, location: str) -> StoreError:
    return StoreError(
        f"no baseline named {name!r} in {location}",
        "list them with `cloudwall baseline list`, or set one with `cloudwall baseline set`",
    )
