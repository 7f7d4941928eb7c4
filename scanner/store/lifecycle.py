"""Which snapshots a prune removes: the rules, independent of where snapshots are stored.

A snapshot a baseline points to is never removed. ``keep`` keeps the N newest snapshots;
``older_than`` removes only snapshots taken before that age. Given both, a snapshot goes only
when both say so: it is beyond the N newest *and* older than the age.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from scanner.errors import ConfigError

_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_AGE = re.compile(r"(\d{1,6})([mhdw])")


def parse_age(text: str) -> timedelta:
    """``90m``, ``12h``, ``30d`` or ``2w``."""
    match = _AGE.fullmatch(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise ConfigError(f"{text!r} is not an age",
                          "write a whole number and a unit: 90m, 12h, 30d or 2w")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@dataclass(frozen=True, slots=True)
class PrunePlan:
    """What a prune removes, and what it keeps only because a baseline points to it."""

    remove: tuple[str, ...]
    protected: Mapping[str, tuple[str, ...]]  # snapshot id -> the baselines that keep it
    kept: int  # snapshots that stay, protected ones included


def plan_prune(snapshots: Sequence[tuple[str, str]], baselines: Mapping[str, str],
               keep: int | None, older_than: timedelta | None, now: datetime) -> PrunePlan:
    """``snapshots``: (id, taken_at) oldest first, as listed; ``baselines``: name -> id."""
    if keep is None and older_than is None:
        raise ConfigError("prune needs --keep N, --older-than AGE, or both",
                          "for example `cloudwall snapshots prune --keep 48 --older-than 30d`")
    if keep is not None and keep < 0:
        raise ConfigError("--keep must be 0 or more", "for example --keep 48")
    pointed: dict[str, list[str]] = {}
    for name, snapshot_id in sorted(baselines.items()):
        pointed.setdefault(snapshot_id, []).append(name)
    newest_kept = {sid for sid, _ in snapshots[max(0, len(snapshots) - keep):]} if keep else set()
    cutoff = None
    if older_than is not None:
        try:
            cutoff = now - older_than
        except OverflowError:  # an age reaching back before year 1: nothing is that old
            cutoff = datetime.min.replace(tzinfo=timezone.utc)
    remove, protected = [], {}
    for snapshot_id, taken_at in snapshots:
        if snapshot_id in newest_kept:
            continue
        if cutoff is not None and _parse_time(taken_at) >= cutoff:
            continue
        if snapshot_id in pointed:
            protected[snapshot_id] = tuple(pointed[snapshot_id])
            continue
        remove.append(snapshot_id)
    return PrunePlan(tuple(remove), protected, len(snapshots) - len(remove))


def _parse_time(text: str) -> datetime:
    """A stored ``taken_at`` (ISO 8601, ``Z`` for UTC) as an aware datetime."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
