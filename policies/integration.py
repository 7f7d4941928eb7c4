"""The exposure analysis, when cloudwall has it: asset-level policies and rule evidence
(``exposure: live|latent``) build on it; without it they say nothing rather than guess."""

from __future__ import annotations

import importlib

from policies.policy import PolicySettings
from scanner.model import Snapshot


def exposure_for(snapshot: Snapshot, settings: PolicySettings) -> object | None:
    try:
        module = importlib.import_module("scanner.exposure")
    except ImportError:
        return None
    analyze = getattr(module, "analyze_exposure", None)
    if analyze is None:
        return None
    return analyze(snapshot, trusted_cidrs=settings.trusted_cidrs,
                   broad_prefix=settings.broad_prefix, broad_prefix_v6=settings.broad_prefix_v6)
