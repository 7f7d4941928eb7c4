"""``cloudwall demo``: a T1562.007 drift story on every cloud of the demo estate, attributed."""

from __future__ import annotations

import json

from click.testing import CliRunner

from providers.demo import DEMO_CLOUDS
from scanner.cli import main


def test_demo_tells_the_drift_story_on_every_cloud_with_attribution(tmp_path):
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["demo", "--format", "json", "--output", str(out)])
    assert result.exit_code == 0, result.output
    drift = json.loads(out.read_text())["drift"]
    for cloud in DEMO_CLOUDS:
        widenings = [d for d in drift if d["provider"] == cloud and d["effect"] == "widened"]
        assert widenings, f"no widening on {cloud}"
        for item in widenings:
            assert item["attack"] == ["T1562.007"] and item["tactic"] == "TA0005"
            assert item["detection"] in ("Firewall Rule Modification", "Firewall Disable")
            assert item["operations"]
            actors = [a for a in item["attribution"] if a["actor"]]
            assert actors, (cloud, item["summary"])
            assert all(a["operation"] in item["operations"] for a in actors)
    # The story on stderr names each cloud's change and who made it.
    for cloud in DEMO_CLOUDS:
        assert f"[{cloud}] CRITICAL" in result.output
    assert "-- by " in result.output


def test_demo_markdown_report_is_a_ticket(tmp_path):
    out = tmp_path / "report.md"
    result = CliRunner().invoke(main, ["demo", "--format", "markdown", "--output", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert text.startswith("# Drift since baseline `demo`, exposure and findings\n")
    assert "## Widenings (T1562.007)" in text and "- **Actor:**" in text


def test_demo_audit_events_follow_the_baseline_they_change():
    """Attribution times are derived from the baseline's time: every change the demo attributes
    happened after the baseline was taken, in the recorded order and spacing."""
    from datetime import datetime, timedelta, timezone

    from providers.base import ProviderSettings
    from providers.demo import DemoProvider
    from scanner.collect import collect_snapshot
    from scanner.drift.comparison import compare

    settings = ProviderSettings(demo_stage="baseline")
    baseline = collect_snapshot([DemoProvider(settings)])
    changed = collect_snapshot([DemoProvider(ProviderSettings(demo_stage="changed"))])
    items = compare(baseline, changed)
    for since in (baseline.taken_at, datetime(2031, 5, 1, 9, 0, tzinfo=timezone.utc)):
        found = DemoProvider(settings).attribute(items, since)
        times = [a.time for found_for_item in found.values() for a in found_for_item if a.time]
        assert len(times) >= 3
        assert all(since < t < since.replace(year=since.year + 1) for t in times), since
        assert min(times) - since < timedelta(minutes=1)
