"""Collection across scopes: a scope that fails is recorded, never clean, and sets exit code 3."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone

import pytest

from scanner.collect import collect_snapshot
from scanner.durations import parse_duration
from scanner.errors import EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_OK
from scanner.gates import DriftGate, Gates, exit_code
from scanner.model import (
    ChangeKind,
    CollectedItem,
    CollectionError,
    DriftItem,
    Effect,
    Finding,
    RuleSet,
    RuleSetKind,
    ScanReport,
    Scope,
    Severity,
)

T0 = datetime(2026, 2, 3, 4, 5, 6, tzinfo=timezone.utc)


class Estate:
    """A provider over an in-memory estate: scope -> rule set ids, or an exception to raise."""

    name = "aws"

    def __init__(self, scopes: dict[Scope, object], listing_errors=()) -> None:
        self.scopes = scopes
        self.listing_errors = listing_errors

    def discover_scopes(self):
        yield from self.scopes
        yield from self.listing_errors

    def collect(self, scope: Scope) -> Iterator[CollectedItem]:
        plan = self.scopes[scope]
        if isinstance(plan, Exception):
            yield RuleSet("aws", scope.account, scope.region, RuleSetKind.AWS_SECURITY_GROUP,
                          "sg-partial", "half-read")
            raise plan
        for resource_id in plan:
            yield RuleSet("aws", scope.account, scope.region, RuleSetKind.AWS_SECURITY_GROUP,
                          resource_id, resource_id)


def test_scopes_are_collected_into_one_ordered_snapshot():
    a, b = Scope("aws", "1", "us-east-1"), Scope("aws", "1", "eu-west-1")
    provider = Estate({a: ["sg-b", "sg-a"], b: ["sg-c"]})
    snapshot = collect_snapshot([provider], max_workers=2, taken_at=T0)
    assert [r.resource_id for r in snapshot.rule_sets] == ["sg-a", "sg-b", "sg-c"]
    assert snapshot.scopes == (b, a)
    assert snapshot.complete and snapshot.providers == ("aws",)
    assert snapshot.taken_at == T0
    assert snapshot.snapshot_id.startswith("20260203T040506Z-")
    report = ScanReport(snapshot)
    assert exit_code(report) == EXIT_OK
    assert exit_code(report, Gates(Severity.INFO, DriftGate.parse("any"))) == EXIT_OK


def test_a_failing_scope_is_an_error_not_a_clean_scope():
    good, bad = Scope("aws", "1", "us-east-1"), Scope("aws", "1", "eu-west-1")
    denied = CollectionError("aws", "2", "", "cannot assume role", "grant sts:AssumeRole",
                             code="AccessDenied")
    provider = Estate({good: ["sg-a"], bad: RuntimeError("adapter bug")}, [denied])
    progress: list[tuple[str, int, int]] = []
    snapshot = collect_snapshot([provider], max_workers=4,
                                progress=lambda *args: progress.append(args), taken_at=T0)
    # Nothing half-read from the failed scope is kept as if it were the whole truth.
    assert [r.resource_id for r in snapshot.rule_sets] == ["sg-a"]
    assert snapshot.scope_status(good) == "ok"
    assert snapshot.scope_status(bad) == "failed"
    assert snapshot.scope_status(Scope("aws", "2", "us-east-1")) == "failed"
    reasons = {e.scope.key: e for e in snapshot.errors}
    assert "adapter bug" in reasons[bad.key].reason and reasons[bad.key].hint
    assert reasons[("aws", "2", "")] == denied
    assert sorted(p[1] for p in progress) == [1, 2] and {p[2] for p in progress} == {2}
    report = ScanReport(snapshot)
    assert exit_code(report) == EXIT_INCOMPLETE
    # A tripped drift gate takes precedence over an incomplete scan; --fail-on counts
    # findings only.
    drift = DriftItem("d", ChangeKind.RULE_ADDED, Effect.WIDENED, Severity.HIGH, "aws", "1",
                      "us-east-1", "sg-a", "sg-a")
    drifted = replace(report, drift=(drift,))
    assert exit_code(drifted, Gates(fail_on_drift=DriftGate.parse("high"))) == EXIT_FINDINGS
    assert exit_code(drifted, Gates(fail_on_drift=DriftGate.parse("critical"))) == \
        EXIT_INCOMPLETE
    assert exit_code(drifted, Gates(fail_on=Severity.INFO)) == EXIT_INCOMPLETE


def test_suppressed_findings_do_not_fail_the_run():
    snapshot = collect_snapshot([Estate({Scope("aws", "1", "r"): ["sg-a"]})], taken_at=T0)
    finding = Finding("CWF-1", "CW-NET-001", "t", Severity.CRITICAL, "aws", "1", "r", "sg-a",
                      "sg-a", suppressed=True)
    assert exit_code(ScanReport(snapshot, (finding,)), Gates(Severity.INFO)) == EXIT_OK
    live = replace(finding, suppressed=False)
    assert exit_code(ScanReport(snapshot, (finding, live)), Gates(Severity.CRITICAL)) == \
        EXIT_FINDINGS


# --- deadline ---------------------------------------------------------------------------------


class _SlowListing:
    """A provider whose scope listing outlasts the deadline (an organization walk that stalls)."""

    name = "slow"

    def __init__(self, pause: float) -> None:
        self.pause = pause

    def discover_scopes(self):
        time.sleep(self.pause)
        return [Scope("slow", "acct")]

    def collect(self, scope):
        return iter(())


def test_a_listing_unfinished_at_the_deadline_is_not_collected_never_clean():
    start = time.monotonic()
    snapshot = collect_snapshot([_SlowListing(5.0)], deadline=time.monotonic() + 0.2)
    assert time.monotonic() - start < 3.0
    (error,) = snapshot.errors
    assert (error.provider, error.code) == ("slow", "DeadlineExceeded")
    assert error.reason == "not collected: deadline reached"


def test_work_finished_before_the_deadline_is_kept():
    snapshot = collect_snapshot([_SlowListing(0.0)], deadline=time.monotonic() + 30)
    assert not snapshot.errors
    assert [s.account for s in snapshot.scopes] == ["acct"]


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("2h", 7200),
                                                ("1.5h", 5400), (" 10M ", 600)])
def test_durations(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["30", "0s", "-1m", "5d", "m", ""])
def test_bad_durations_are_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)
