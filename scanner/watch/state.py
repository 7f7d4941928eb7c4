"""What a watcher keeps in the store between runs, so a restart neither misses nor repeats.

Kept as one JSON text under ``watch:<baseline>`` (``Store.put_state``), written in the same
transaction as the interval's snapshot: the checkpoints never run ahead of what was saved.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from scanner.model import utc_timestamp

STATE_VERSION = 1


def state_key(baseline: str) -> str:
    return f"watch:{baseline}"


def scope_key(provider: str, account: str, region: str) -> str:
    return f"{provider}/{account}/{region}"


@dataclass(frozen=True, slots=True)
class WatchState:
    """``checkpoints``: per scope key, the end of the last audit-log window read completely.
    ``seen``: event id -> (scope key, event time) of every event already handled, for as long
    as an overlapping window can return it again."""

    full_snapshot_id: str | None = None
    full_at: datetime | None = None
    checkpoints: Mapping[str, datetime] = field(default_factory=dict)
    seen: Mapping[str, tuple[str, datetime]] = field(default_factory=dict)

    def pruned(self, overlap: timedelta, now: datetime) -> WatchState:
        """Forget events no window can return again: older than their scope's checkpoint
        minus the overlap (a minute's margin for logs that round times)."""
        margin = overlap + timedelta(minutes=1)
        keep = {event_id: (key, time) for event_id, (key, time) in self.seen.items()
                if time >= self.checkpoints.get(key, now) - margin}
        return WatchState(self.full_snapshot_id, self.full_at, self.checkpoints, keep)

    def to_json(self) -> str:
        return json.dumps({
            "version": STATE_VERSION,
            "full_snapshot_id": self.full_snapshot_id,
            "full_at": utc_timestamp(self.full_at) if self.full_at else None,
            "checkpoints": {k: _precise(v) for k, v in sorted(self.checkpoints.items())},
            "seen": {i: [k, _precise(t)] for i, (k, t) in sorted(self.seen.items())},
        }, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> WatchState:
        """The stored state; an absent or unreadable one starts afresh (the full snapshot's
        time then bounds the first window, so nothing is missed)."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
            if data.get("version") != STATE_VERSION:
                return cls()
            return cls(
                full_snapshot_id=data.get("full_snapshot_id"),
                full_at=_parse(data["full_at"]) if data.get("full_at") else None,
                checkpoints={k: _parse(v) for k, v in data["checkpoints"].items()},
                seen={i: (k, _parse(t)) for i, (k, t) in data["seen"].items()},
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return cls()


def _precise(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat()


def _parse(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
