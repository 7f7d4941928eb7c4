"""The built-in demo estate: raw payloads shaped exactly like the three clouds' API responses,
passed through the same normalizers as live data. No credentials, no network.

Each cloud contributes ``providers/demo/<cloud>.py`` with ``estate(stage)`` returning
``[(Scope, raw)]``; ``raw`` is what that cloud's fetch half would have returned for the scope,
and ``providers.<cloud>.normalize_scope(scope, raw)`` turns it into model objects. Stage
``baseline`` is the estate as its owners left it; ``changed`` is the same estate after an
adversary's T1562.007-style changes.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import ClassVar

from providers.base import ProviderSettings
from scanner.errors import ConfigError
from scanner.model import Attribution, CollectedItem, DriftItem, Scope

STAGES = ("baseline", "changed")
DEMO_CLOUDS = ("aws", "azure", "gcp")


class DemoProvider:
    name: ClassVar[str] = "demo"
    # The drift items of the demo estate carry the clouds' own names.
    clouds: ClassVar[tuple[str, ...]] = DEMO_CLOUDS

    def __init__(self, settings: ProviderSettings) -> None:
        if settings.demo_stage not in STAGES:
            raise ConfigError(
                f"unknown demo stage {settings.demo_stage!r}", f"use one of: {', '.join(STAGES)}"
            )
        self.settings = settings
        self._stage = settings.demo_stage
        self._raw: dict[tuple[str, str, str], dict] = {}

    def discover_scopes(self) -> Iterator[Scope]:
        for cloud in DEMO_CLOUDS:
            estate = importlib.import_module(f"providers.demo.{cloud}").estate(self._stage)
            for scope, raw in estate:
                self._raw[scope.key] = raw
                yield scope

    def collect(self, scope: Scope) -> Iterator[CollectedItem]:
        adapter = importlib.import_module(f"providers.{scope.provider}")
        raw = self._raw.get(scope.key)
        if raw is None:  # a fresh instance (a Dask worker's): read the estate again
            estate = importlib.import_module(f"providers.demo.{scope.provider}")
            raw = {s.key: r for s, r in estate.estate(self._stage)}[scope.key]
        yield from adapter.normalize_scope(scope, raw)

    def attribute(
        self, items: Sequence[DriftItem], since: datetime
    ) -> Mapping[str, tuple[Attribution, ...]]:
        """Who made each change, from each cloud's recorded audit log (see ``audit_events``
        in ``providers/demo/<cloud>.py``). The demo's log is its whole recorded history, dated
        from ``since`` (the baseline's time, which is "now" in a demo): every event follows the
        baseline it changes."""
        from providers.demo.attribution import demo_attribution

        out: dict[str, tuple[Attribution, ...]] = {}
        for cloud in DEMO_CLOUDS:
            ours = [i for i in items if i.provider == cloud]
            if ours:
                out.update(demo_attribution(cloud, ours, STAGES, since))
        return out
