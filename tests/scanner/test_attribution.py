"""``--attribute``: drift items routed to the adapter that reads their cloud's log, concurrently,
and never failing the run. The adapters here are real classes implementing the Provider
protocol over data: a recorded audit log, one whose lookups fail, and the demo estate."""

from __future__ import annotations

import importlib
import threading
import time
from datetime import datetime, timezone
from typing import ClassVar

from click.testing import CliRunner

from providers.base import ProviderSettings
from providers.demo import DemoProvider
from scanner.attribution import attribute_drift
from scanner.cli import main
from scanner.drift.comparison import compare
from scanner.model import Attribution, ChangeKind, DriftItem, Effect, Severity, Snapshot
from scanner.store import Store

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)


def item(drift_id: str, provider: str, change=ChangeKind.RULE_ADDED) -> DriftItem:
    return DriftItem(drift_id, change, Effect.WIDENED, Severity.HIGH, provider, "acct", "r",
                     f"res-{drift_id}", "", operations=("Write",))


class RecordedLog:
    """An audit log kept in memory: events are (resource id, actor, time)."""

    name: ClassVar[str] = "aws"
    active = 0
    peak = 0
    lock = threading.Condition()

    def __init__(self, settings: ProviderSettings, events=(), name="aws") -> None:
        self.events = list(events)
        self.name = name  # type: ignore[misc]
        self.calls: list[tuple[list[str], datetime]] = []

    def discover_scopes(self):
        return []

    def collect(self, scope):
        return iter(())

    def attribute(self, items, since):
        with RecordedLog.lock:
            RecordedLog.active += 1
            RecordedLog.peak = max(RecordedLog.peak, RecordedLog.active)
            RecordedLog.lock.notify_all()
            # Hold the first lookup until a second one is under way (bounded), so the overlap
            # is observed however loaded the machine is; a serial runner never gets there.
            RecordedLog.lock.wait_for(lambda: RecordedLog.peak >= 2, timeout=5)
        time.sleep(0.05)  # room for a third, over-the-bound lookup to show up in `peak`
        with RecordedLog.lock:
            RecordedLog.active -= 1
        self.calls.append(([i.drift_id for i in items], since))
        out = {}
        for i in items:
            found = tuple(Attribution(actor=actor, time=when, operation="Write")
                          for resource, actor, when in self.events
                          if resource == i.resource_id and when >= since)
            if found:
                out[i.drift_id] = found
        return out


class BrokenLog(RecordedLog):
    def attribute(self, items, since):
        raise PermissionError("AccessDenied: not authorized to perform cloudtrail:LookupEvents")


def test_items_routed_merged_and_gaps_explained():
    aws = RecordedLog(ProviderSettings(), [("res-a1", "alice", T0)], name="aws")
    gcp = BrokenLog(ProviderSettings(), name="gcp")
    items = (item("a1", "aws"), item("a2", "aws"), item("g1", "gcp"), item("z1", "azure"),
             item("u1", "aws", ChangeKind.SCOPE_UNKNOWN))
    out = {i.drift_id: i for i in attribute_drift(items, T0, [aws, gcp])}
    assert [a.actor for a in out["a1"].attribution] == ["alice"]
    assert "gave no answer" in out["a2"].attribution[0].unavailable_reason
    assert "AccessDenied" in out["g1"].attribution[0].unavailable_reason
    assert "no azure provider" in out["z1"].attribution[0].unavailable_reason
    assert out["u1"].attribution == ()
    assert aws.calls == [(["a1", "a2"], T0)]  # one call per adapter, since = the baseline time


def test_lookups_run_concurrently_and_bounded():
    RecordedLog.peak = 0
    adapters = [RecordedLog(ProviderSettings(), name=n) for n in ("aws", "azure", "gcp")]
    items = [item(f"{n}1", n) for n in ("aws", "azure", "gcp")]
    attribute_drift(items, T0, adapters, max_workers=2)
    assert RecordedLog.peak == 2


def demo_snapshot(stage: str, clouds=("azure", "gcp")) -> Snapshot:
    items, scopes = [], []
    for cloud in clouds:
        for scope, raw in importlib.import_module(f"providers.demo.{cloud}").estate(stage):
            scopes.append(scope)
            items += importlib.import_module(f"providers.{cloud}").normalize_scope(scope, raw)
    taken = T0 if stage == "baseline" else T0.replace(hour=13)
    return Snapshot.from_items(f"demo-{stage}", taken, scopes, items, providers=["demo"])


def test_demo_provider_attributes_every_widening_from_its_recorded_logs():
    drift = compare(demo_snapshot("baseline"), demo_snapshot("changed"))
    provider = DemoProvider(ProviderSettings())
    out = attribute_drift(drift, T0, [provider])
    widenings = [i for i in out if i.effect is Effect.WIDENED]
    assert {i.provider for i in widenings} == {"azure", "gcp"}
    for i in widenings:
        actors = [a.actor for a in i.attribution if a.actor]
        assert actors, (i.summary, i.attribution)
        assert all(a.operation in i.operations for a in i.attribution if a.actor)


def test_diff_attribute_and_fail_on_over_a_stored_demo(store_path):
    with Store(store_path) as store:
        store.save(demo_snapshot("baseline"))
        store.save(demo_snapshot("changed"))
        store.set_baseline("prod", "demo-baseline")
    runner = CliRunner()
    args = ["--store", str(store_path), "diff", "--baseline", "prod", "--snapshot",
            "demo-changed", "--format", "markdown"]
    result = runner.invoke(main, args + ["--attribute", "--fail-on", "high"])
    assert result.exit_code == 1, result.output
    assert "mallory@shop.example" in result.output
    assert "ci-deployer@shop-gcp-prod.iam.gserviceaccount.com" in result.output
    # Without --attribute nothing is looked up; without --fail-on drift alone exits 0.
    quiet = runner.invoke(main, args)
    assert quiet.exit_code == 0 and "not looked up" in quiet.output
