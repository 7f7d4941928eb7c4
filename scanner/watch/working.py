"""The watcher's picture of the estate: the latest full snapshot with every object an audit
event touched replaced by its re-read state.

Objects are identified as drift identifies them, within their scope: rule sets by resource
id, assets, subnets, networks and IP lists by their ids. A re-read replaces the objects it
returns and removes those its source says are gone. A target that could not be re-read keeps
its last known state and its CollectionError stays in the snapshot (drift then calls that kind
unknown in that scope) until a later re-read of it succeeds or the next full scan.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from providers.watching import Reread
from scanner.model import (
    Asset,
    CollectedItem,
    CollectionError,
    IpList,
    Network,
    RuleSet,
    Snapshot,
    Subnet,
)

# (kind, provider, account, region, id): one object of the snapshot.
ObjectKey = tuple[str, str, str, str, str]


def object_key(item: CollectedItem) -> ObjectKey | None:
    where = (item.provider, item.account, item.region)
    if isinstance(item, RuleSet):
        return ("rule_set", *where, item.resource_id)
    if isinstance(item, Asset):
        return ("asset", *where, item.asset_id)
    if isinstance(item, Subnet):
        return ("subnet", *where, item.subnet_id)
    if isinstance(item, Network):
        return ("network", *where, item.network_id)
    if isinstance(item, IpList):
        return ("ip_list", *where, item.list_id)
    return None


def _within(key: ObjectKey, scope: tuple[str, str, str]) -> bool:
    """Whether an object belongs to a scope: its account, and its region unless the scope
    spans every region (an Azure subscription, a GCP project)."""
    provider, account, region = scope
    return key[1] == provider and key[2] == account and region in ("", key[3])


def _objects(snapshot: Snapshot) -> Iterable[CollectedItem]:
    yield from snapshot.rule_sets
    yield from snapshot.assets
    yield from snapshot.subnets
    yield from snapshot.networks
    yield from snapshot.ip_lists


class Working:
    """The full snapshot's objects, updated in place by re-reads."""

    def __init__(self, full: Snapshot) -> None:
        self.full = full
        self.objects: dict[ObjectKey, CollectedItem] = {}
        for item in _objects(full):
            key = object_key(item)
            if key is not None:
                self.objects[key] = item
        # (scope key, target) -> the errors of the last re-read that included the target
        self.unread: dict[tuple[tuple[str, str, str], str], tuple[CollectionError, ...]] = {}
        # The last snapshot built, until a re-read changes the objects: an interval with
        # nothing to re-read names it again rather than sorting the whole estate anew.
        self._built: Snapshot | None = None

    def apply(self, result: Reread, targets: Iterable[str]) -> tuple[int, list[CollectionError]]:
        """Put a re-read in place: returns (objects replaced or added, errors)."""
        self._built = None
        scope = result.scope.key
        errors = [i for i in result.items if isinstance(i, CollectionError)]
        gone = set(result.gone)
        if gone:
            for key in [k for k in self.objects if _within(k, scope) and k[4] in gone]:
                del self.objects[key]
        count = 0
        for item in result.items:
            key = object_key(item)
            if key is None or not _within(key, scope):
                continue  # an error (kept apart), or another scope's object: not ours to set
            self.objects[key] = item
            count += 1
        # A clean re-read of a target clears what an earlier failure left; a failure of the
        # batch holds for each of its targets until then.
        for target in set(targets):
            if errors:
                self.unread[(scope, target)] = tuple(errors)
            else:
                self.unread.pop((scope, target), None)
        return count, errors

    def snapshot(self, snapshot_id: str, taken_at: datetime) -> Snapshot:
        if self._built is not None and self._built.snapshot_id == snapshot_id:
            return self._built
        errors = [*self.full.errors, *(e for es in self.unread.values() for e in es)]
        # The same error held for several targets is one error of the snapshot.
        partial = Snapshot.from_items(snapshot_id, taken_at, self.full.scopes,
                                      [*self.objects.values(), *dict.fromkeys(errors)],
                                      providers=self.full.providers)
        self._built = replace(partial, partial_of=self.full.partial_of or self.full.snapshot_id)
        return self._built
