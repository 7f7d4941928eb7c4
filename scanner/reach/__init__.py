"""Per-cloud layer walks for the exposure analysis, in a registry keyed by provider name.

Each cloud module has ``reach(asset, index, offers, cache) -> list[Walk]``: which of the
offered public traffic (raw boxes per address family, see ``scanner.reach.fast``) gets
through all of the asset's layers, in the order that cloud evaluates them, or
``UnknownExposure`` when the snapshot cannot say. ``cache`` is shared across the assets of
one analysis: modules key it by the rule set ids and the asset attributes their layers look
at, so assets with the same layers cost one walk. Each module also has
``class_key(asset, index)``: everything ``reach`` reads of the asset, so the analysis calls
``reach`` once per equivalence class of assets and binds the answer to every member.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from scanner.model import Asset
from scanner.reach import aws, azure, gcp
from scanner.reach.base import ClassKey, SnapshotIndex, Walk
from scanner.reach.fast import RawBox

ReachFunction = Callable[
    [Asset, SnapshotIndex, Mapping[int, tuple[RawBox, ...]], dict[Any, Any]], list[Walk]]

REACHERS: dict[str, ReachFunction] = {
    "aws": aws.reach,
    "azure": azure.reach,
    "gcp": gcp.reach,
}


ClassKeyFunction = Callable[[Asset, SnapshotIndex], ClassKey | None]

# Per cloud, the equivalence class of an asset: assets with equal keys get the same walks.
CLASS_KEYS: dict[str, ClassKeyFunction] = {
    "aws": aws.class_key,
    "azure": azure.class_key,
    "gcp": gcp.class_key,
}


def reacher(provider: str) -> ReachFunction | None:
    return REACHERS.get(provider)


def class_key(asset: Asset, index: SnapshotIndex) -> ClassKey | None:
    """The asset's equivalence class (None: it is walked on its own)."""
    function = CLASS_KEYS.get(asset.provider)
    return function(asset, index) if function is not None else None
