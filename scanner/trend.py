"""The trend report as data: per stored snapshot, what the scan of it said.

One ``TrendPoint`` per snapshot, oldest first: active findings by severity, suppressed findings,
drift items by effect (against the reference the report names), exposed assets, and whether
every scope was read. ``scanner.trend_build`` computes it from a store; reporters render it.

Drift reference (``TrendReport.reference``):

- ``previous``: each snapshot against the previous stored snapshot of the same clouds (what
  changed in each interval). The first snapshot of each set of clouds has nothing to compare
  with: its drift is ``None``, shown as "-" and never as zero.
- ``baseline``: each snapshot against one named baseline (what has accumulated since it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from scanner.errors import ConfigError
from scanner.model import Effect, Severity, utc_timestamp

TREND_SCHEMA_VERSION = 1
SEVERITIES = tuple(s.value for s in sorted(Severity, key=lambda s: -s.rank))
EFFECTS = tuple(e.value for e in Effect)
REFERENCES = ("previous", "baseline")


def _counts(data: Mapping[str, Any] | None, keys: tuple[str, ...]) -> dict[str, int]:
    data = data or {}
    return {k: int(data.get(k, 0)) for k in keys}


def parse_time(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """What the scan of one stored snapshot said."""

    snapshot_id: str
    taken_at: datetime
    providers: tuple[str, ...]
    findings: Mapping[str, int]  # severity -> active findings, every severity present
    suppressed: int
    exposed_assets: int  # reachable from the internet or a broad public range
    internet_exposed_assets: int  # reachable from the whole internet
    unknown_assets: int  # exposure could not be decided (not safe)
    scopes: int
    scopes_not_read: int  # failed or partial
    compared_with: str | None = None  # snapshot id the drift is against
    # effect -> drift items; None when there was nothing to compare with
    drift: Mapping[str, int] | None = field(default=None, hash=False, compare=True)
    widened_attack: int | None = None  # drift items mapped to T1562.007

    @property
    def total_findings(self) -> int:
        return sum(self.findings.values())

    @property
    def total_drift(self) -> int | None:
        return None if self.drift is None else sum(self.drift.values())

    @property
    def complete(self) -> bool:
        return self.scopes_not_read == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "snapshot_id": self.snapshot_id,
            "taken_at": utc_timestamp(self.taken_at),
            "providers": list(self.providers),
            "findings": dict(self.findings),
            "findings_total": self.total_findings,
            "suppressed": self.suppressed,
            "compared_with": self.compared_with,
            "drift": dict(self.drift) if self.drift is not None else None,
            "drift_total": self.total_drift,
            "widened_attack": self.widened_attack,
            "exposed_assets": self.exposed_assets,
            "internet_exposed_assets": self.internet_exposed_assets,
            "unknown_assets": self.unknown_assets,
            "scopes": self.scopes,
            "scopes_not_read": self.scopes_not_read,
            "complete": self.complete,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrendPoint:
        drift = data.get("drift")
        return cls(
            snapshot_id=data["snapshot_id"],
            taken_at=parse_time(data["taken_at"]),
            providers=tuple(data.get("providers") or ()),
            findings=_counts(data.get("findings"), SEVERITIES),
            suppressed=int(data.get("suppressed", 0)),
            exposed_assets=int(data.get("exposed_assets", 0)),
            internet_exposed_assets=int(data.get("internet_exposed_assets", 0)),
            unknown_assets=int(data.get("unknown_assets", 0)),
            scopes=int(data.get("scopes", 0)),
            scopes_not_read=int(data.get("scopes_not_read", 0)),
            compared_with=data.get("compared_with"),
            drift=None if drift is None else _counts(drift, EFFECTS),
            widened_attack=data.get("widened_attack"),
        )


@dataclass(frozen=True, slots=True)
class TrendReport:
    points: tuple[TrendPoint, ...]
    reference: str = "previous"  # previous | baseline
    baseline_name: str | None = None
    baseline_snapshot_id: str | None = None
    since: datetime | None = None
    generated_at: datetime | None = None
    tool_version: str = ""

    def summary(self) -> dict[str, Any]:
        first = self.points[0] if self.points else None
        last = self.points[-1] if self.points else None
        return {
            "snapshots": len(self.points),
            "first": first.snapshot_id if first else None,
            "last": last.snapshot_id if last else None,
            "findings_first": first.total_findings if first else None,
            "findings_last": last.total_findings if last else None,
            "exposed_assets_last": last.exposed_assets if last else None,
            "drift_total": sum(p.total_drift or 0 for p in self.points),
            "incomplete_snapshots": sum(1 for p in self.points if not p.complete),
        }

    def to_dict(self) -> dict[str, Any]:
        from scanner import TOOL_NAME

        return {
            "schema_version": TREND_SCHEMA_VERSION,
            "kind": "trend",
            "tool": {"name": TOOL_NAME, "version": self.tool_version or None},
            "generated_at": utc_timestamp(self.generated_at) if self.generated_at else None,
            "since": utc_timestamp(self.since) if self.since else None,
            "reference": self.reference,
            "baseline": ({"name": self.baseline_name, "snapshot_id": self.baseline_snapshot_id}
                         if self.reference == "baseline" else None),
            "points": [p.to_dict() for p in self.points],
            "summary": self.summary(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrendReport:
        baseline = data.get("baseline") or {}
        return cls(
            points=tuple(TrendPoint.from_dict(p) for p in data.get("points", ())),
            reference=data.get("reference", "previous"),
            baseline_name=baseline.get("name"),
            baseline_snapshot_id=baseline.get("snapshot_id"),
            since=parse_time(data["since"]) if data.get("since") else None,
            generated_at=parse_time(data["generated_at"]) if data.get("generated_at") else None,
            tool_version=(data.get("tool") or {}).get("version") or "",
        )


_SPAN = re.compile(r"^\s*(\d{1,6})\s*([hdw])\s*$", re.IGNORECASE)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_since(text: str, now: datetime) -> datetime:
    """``30d``, ``12h``, ``6w`` before ``now``, or an ISO 8601 date or time (UTC if no zone)."""
    match = _SPAN.match(text)
    if match:
        return now - int(match.group(1)) * _UNITS[match.group(2).lower()]
    try:
        return parse_time(text.strip())
    except ValueError:
        raise ConfigError(f"--since {text!r} is neither a span nor a date",
                          "write it as 30d, 12h or 6w, or a date such as 2026-05-01") from None
