"""Drift against the baseline for the accounts an interval touched, and which items are new.

Only the touched accounts are compared (both snapshots cut down to them, exposure included), so
an interval costs what its changes cost, not what the estate does. An item is new when its id
was not in that account's drift before: the drift present when the watch started (or after a
full scan) is known, not news, and an item that comes back after being undone is news again.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace

from providers.watching import AuditEvent
from scanner.drift.comparison import compare
from scanner.exposure import ExposureAnalysis, analyze_exposure
from scanner.model import Attribution, ChangeKind, DriftItem, Snapshot

Account = tuple[str, str]  # (provider, account)


def restrict(snapshot: Snapshot, accounts: Collection[Account]) -> Snapshot:
    """The part of ``snapshot`` in ``accounts``."""
    def ours(item) -> bool:
        return (item.provider, item.account) in accounts

    return replace(
        snapshot,
        scopes=tuple(s for s in snapshot.scopes if ours(s)),
        rule_sets=tuple(r for r in snapshot.rule_sets if ours(r)),
        assets=tuple(a for a in snapshot.assets if ours(a)),
        subnets=tuple(s for s in snapshot.subnets if ours(s)),
        networks=tuple(n for n in snapshot.networks if ours(n)),
        ip_lists=tuple(i for i in snapshot.ip_lists if ours(i)),
        errors=tuple(e for e in snapshot.errors if ours(e)),
    )


class Judge:
    """The baseline, its exposure per account (computed once), and the known drift ids."""

    def __init__(self, baseline: Snapshot) -> None:
        self.baseline = baseline
        self._baseline_exposure: dict[frozenset[Account], tuple[Snapshot, ExposureAnalysis]] = {}
        self.known: dict[Account, set[str]] = {}

    def _before(self, accounts: frozenset[Account]) -> tuple[Snapshot, ExposureAnalysis]:
        if accounts not in self._baseline_exposure:
            if len(self._baseline_exposure) > 64:  # many different touched sets: start over
                self._baseline_exposure.clear()
            part = restrict(self.baseline, accounts)
            self._baseline_exposure[accounts] = (part, analyze_exposure(part))
        return self._baseline_exposure[accounts]

    def drift(self, current: Snapshot, accounts: Iterable[Account] | None = None
              ) -> list[DriftItem]:
        """Drift of ``current`` against the baseline, in ``accounts`` (None: everywhere)."""
        if accounts is None:
            return compare(self.baseline, current, analyze_exposure(self.baseline),
                           analyze_exposure(current))
        touched = frozenset(accounts)
        before, before_exposure = self._before(touched)
        after = restrict(current, touched)
        return compare(before, after, before_exposure, analyze_exposure(after))

    def learn(self, items: Sequence[DriftItem], accounts: Iterable[Account] | None = None
              ) -> list[DriftItem]:
        """The items not known before; ``items`` becomes what is known for ``accounts``
        (None: every account, as after a full comparison)."""
        new = [i for i in items if i.drift_id not in self.known.get((i.provider, i.account), ())]
        if accounts is None:
            self.known = {}
        else:
            for account in accounts:
                self.known[account] = set()
        for item in items:
            self.known.setdefault((item.provider, item.account), set()).add(item.drift_id)
        return new


def attribute(items: Sequence[DriftItem], events: Sequence[AuditEvent],
              reason: str) -> list[DriftItem]:
    """Each item with the attribution of the call that made it: the latest event in its
    account naming its resource (or the target of an attachment change) with one of its
    operations, else naming it, else of one of its operations. ``reason`` says why there is
    none."""
    by_account: Mapping[Account, list[AuditEvent]] = {}
    for event in events:
        if not event.failed:
            by_account.setdefault((event.provider, event.account), []).append(event)
    out = []
    for item in items:
        if item.change is ChangeKind.SCOPE_UNKNOWN:
            out.append(item)
            continue
        candidates = by_account.get((item.provider, item.account), [])
        target = str(item.details.get("target", "")).split(" ")[-1]
        names = {item.resource_id, target} - {""}
        naming = [e for e in candidates if names & set(e.targets)]
        making = [e for e in naming if e.operation in item.operations]
        found = making or naming or [e for e in candidates if e.operation in item.operations]
        # The latest such call is the one that left the resource as it is now.
        latest = max(found, key=lambda e: (e.time, e.event_id), default=None)
        attribution = (latest.attribution,) if latest else (
            Attribution(unavailable_reason=reason),)
        out.append(replace(item, attribution=attribution))
    return out
