"""Where alerts go: one JSON line each on stdout, and the ``--notify`` webhooks.

Two kinds of line, told apart by ``type``:

- ``drift``: a new drift item (``item``, as in the JSON report) with the attribution of the
  audit events that made it, the snapshot it was found in, and what found it (``events``:
  the audit event ids, empty for a full scan).
- ``unread``: something that could not be looked at (an audit log that could not be read, a
  target that could not be re-read, a queue message that could not be used): never dropped.

Every line is flushed at once: a pipe or log shipper gets the alert when it happens.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import IO, Any

from scanner import __version__
from scanner.gates import DriftGate
from scanner.model import CollectionError, DriftItem, ScanReport, Snapshot, utc_timestamp
from scanner.notify import NotifyResult, Webhooks


@dataclass
class Alerts:
    """Writes the lines and posts the webhooks; ``warn`` gets one line per failed post."""

    gate: DriftGate
    baseline: str
    baseline_snapshot_id: str | None = None
    webhooks: Webhooks = field(default_factory=Webhooks)
    out: IO[str] = field(default_factory=lambda: sys.stdout)
    warn: Callable[[str], None] = lambda _line: None
    post: Callable[..., NotifyResult] | None = None

    def alerted(self, items: Sequence[DriftItem]) -> list[DriftItem]:
        """What the gate lets through (``--fail-on-drift``)."""
        return [i for i in items if self.gate.trips(i)]

    def _line(self, document: dict[str, Any]) -> None:
        self.out.write(json.dumps(document, sort_keys=True, ensure_ascii=False) + "\n")
        self.out.flush()

    def emit(self, items: Sequence[DriftItem], errors: Sequence[CollectionError],
             snapshot: Snapshot, event_ids: Sequence[str], notes: Sequence[str] = ()) -> None:
        now = utc_timestamp(datetime.now(timezone.utc))
        for item in items:
            self._line({"type": "drift", "at": now, "baseline": self.baseline,
                        "snapshot_id": snapshot.snapshot_id, "events": list(event_ids),
                        "item": item.to_dict()})
        for error in errors:
            self._line({"type": "unread", "at": now, "baseline": self.baseline,
                        "snapshot_id": snapshot.snapshot_id, **error.to_dict()})
        for note in notes:
            self._line({"type": "unread", "at": now, "baseline": self.baseline,
                        "snapshot_id": snapshot.snapshot_id, "reason": note})
        if self.webhooks.urls and (items or errors or notes):
            self._notify(items, errors, snapshot)

    def _notify(self, items: Sequence[DriftItem], errors: Sequence[CollectionError],
                snapshot: Snapshot) -> None:
        from reports.notification import payload
        from scanner.notify import post

        report = ScanReport(snapshot=replace(snapshot, errors=tuple(errors)),
                            drift=tuple(items), baseline_name=self.baseline,
                            baseline_snapshot_id=self.baseline_snapshot_id,
                            tool_version=__version__,
                            generated_at=datetime.now(timezone.utc).replace(microsecond=0))
        tripped = [f"{len(items)} new drift item(s) (--fail-on-drift {self.gate})"] if items \
            else []
        document = payload(self.webhooks.fmt, report, 1 if items else 3,
                           {"fail_on_drift": str(self.gate)}, tripped)
        self.webhooks.send(document, self.warn, self.post or post)
