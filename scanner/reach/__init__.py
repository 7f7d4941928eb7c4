"""Per-cloud layer walks for the exposure analysis, in a registry keyed by provider name.

Each cloud module has ``reach(asset, index, offers, cache) -> list[Walk]``: which of the
offered public traffic (raw boxes per address family, see ``scanner.reach.fast``) gets
through all of the asset's layers, in the order that cloud evaluates them, or
``UnknownExposure`` when the snapshot cannot say. ``cache`` is shared across the assets of
one analysis: modules key it by the rule set ids and the asset attributes their layers look
at, so assets with the same layers cost one walk.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from scanner.model import Asset
from scanner.reach import aws, azure, gcp
from scanner.reach.base import SnapshotIndex, Walk
from scanner.reach.fast import RawBox

ReachFunction = Callable[
    [Asset, SnapshotIndex, Mapping[int, tuple[RawBox, ...]], dict[Any, Any]], list[Walk]]

REACHERS: dict[str, ReachFunction] = {
    "aws": aws.reach,
    "azure": azure.reach,
    "gcp": gcp.reach,
}


def reacher(provider: str) -> ReachFunction | None:
    return REACHERS.get(provider)
