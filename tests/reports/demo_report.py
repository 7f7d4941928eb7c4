"""The demo estate's story as one fixed report: baseline, the adversary's changes, attribution.

Times and snapshot ids are pinned so that reports rendered from it can be compared with golden
files byte for byte.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from functools import lru_cache

from providers import load_provider
from providers.base import ProviderSettings
from scanner.collect import collect_snapshot
from scanner.engine import analyze, with_attribution
from scanner.model import ScanReport

BASELINE_AT = datetime(2026, 11, 29, 9, 0, 0, tzinfo=timezone.utc)
CHANGED_AT = datetime(2026, 12, 1, 9, 0, 0, tzinfo=timezone.utc)


@lru_cache(maxsize=1)
def demo_report() -> ScanReport:
    base_adapter = load_provider("demo")(ProviderSettings())
    baseline = collect_snapshot([base_adapter], taken_at=BASELINE_AT)
    baseline = replace(baseline, snapshot_id="20261129T090000Z-0000base")
    changed_adapter = load_provider("demo")(ProviderSettings(demo_stage="changed"))
    current = collect_snapshot([changed_adapter], taken_at=CHANGED_AT)
    current = replace(current, snapshot_id="20261201T090000Z-00change")
    report = analyze(current, ("demo", baseline))
    report = with_attribution(report, baseline, [changed_adapter])
    return replace(report, generated_at=CHANGED_AT, tool_version="0.1.0")


@lru_cache(maxsize=1)
def demo_compliance():
    """Every built-in framework judged on the demo's changed estate."""
    from policies import PolicySettings, available_policies, select_policies
    from policies.compliance import assess
    from policies.frameworks import frameworks

    report = demo_report()
    settings = PolicySettings()
    available = available_policies(settings)
    return assess(frameworks(["all"], available), report.snapshot, report.findings, available,
                  select_policies(settings), generated_at="2026-12-01T09:00:00Z",
                  tool_version="0.1.0")
