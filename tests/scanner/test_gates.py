"""Gates: --fail-on counts findings, --fail-on-drift counts drift, both after filters; the
documented exit precedence 1 (gate) > 3 (incomplete) > 0."""

from __future__ import annotations

from dataclasses import replace

import pytest

from scanner.errors import EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_OK
from scanner.filters import ReportFilter, apply_filter, parse_severities
from scanner.gates import DriftGate, Gates, exit_code, gate_reasons
from scanner.model import CollectionError, Effect, Severity
from tests.scanner.pipeline_builders import DEV, WEB, drift, finding, report

HIGH = Severity.HIGH


def test_drift_gate_values():
    assert DriftGate.parse("HIGH") == DriftGate(severity=HIGH)
    assert DriftGate.parse("widened") == DriftGate(word="widened")
    assert DriftGate.parse("any") == DriftGate(word="any")
    with pytest.raises(ValueError, match="widened, any"):
        DriftGate.parse("wide")


@pytest.mark.parametrize("effect, severity, gate, trips", [
    (Effect.WIDENED, Severity.LOW, "widened", True),
    (Effect.UNKNOWN, Severity.LOW, "widened", True),  # not shown to be safe: counted
    (Effect.NARROWED, Severity.CRITICAL, "widened", False),
    (Effect.NEUTRAL, Severity.INFO, "widened", False),
    (Effect.NEUTRAL, Severity.INFO, "any", True),
    (Effect.NARROWED, Severity.INFO, "any", True),
    (Effect.WIDENED, Severity.MEDIUM, "high", False),
    (Effect.WIDENED, Severity.HIGH, "high", True),
    (Effect.NARROWED, Severity.CRITICAL, "high", True),
])
def test_drift_gate_trips(effect, severity, gate, trips):
    assert DriftGate.parse(gate).trips(drift("CWD-x", effect, severity, WEB)) is trips


def only(findings=(), items=(), errors=()):
    base = report(errors)
    return replace(base, findings=tuple(findings), drift=tuple(items),
                   suppressed_findings=tuple(f for f in findings if f.suppressed))


BOTH = Gates(fail_on=HIGH, fail_on_drift=DriftGate.parse("widened"))


def test_drift_without_findings_trips_only_the_drift_gate():
    view = only(items=[drift("CWD-1", Effect.WIDENED, Severity.MEDIUM, WEB)])
    assert exit_code(view, Gates(fail_on=Severity.INFO)) == EXIT_OK
    assert exit_code(view, Gates(fail_on_drift=DriftGate.parse("widened"))) == EXIT_FINDINGS
    assert gate_reasons(view, BOTH) == [
        "1 drift item(s) widening or undecided (--fail-on-drift widened)"]


def test_findings_without_drift_trip_only_the_findings_gate():
    view = only(findings=[finding("CW-NET-001", HIGH, WEB)])
    assert exit_code(view, Gates(fail_on_drift=DriftGate.parse("any"))) == EXIT_OK
    assert exit_code(view, Gates(fail_on=HIGH)) == EXIT_FINDINGS
    assert exit_code(view, Gates(fail_on=Severity.CRITICAL)) == EXIT_OK
    assert gate_reasons(view, BOTH) == ["1 finding(s) at or above high (--fail-on high)"]


def test_both_trip_both_gates_and_each_says_so():
    view = only([finding("CW-NET-003", Severity.CRITICAL, DEV)],
                [drift("CWD-1", Effect.WIDENED, Severity.CRITICAL, WEB),
                 drift("CWD-2", Effect.NARROWED, Severity.CRITICAL, DEV)])
    reasons = gate_reasons(view, Gates(HIGH, DriftGate.parse("critical")))
    assert reasons == ["1 finding(s) at or above high (--fail-on high)",
                       "2 drift item(s) at or above critical (--fail-on-drift critical)"]
    assert exit_code(view, BOTH) == EXIT_FINDINGS
    assert exit_code(view, Gates()) == EXIT_OK  # no gate asked for: nothing trips


def test_the_gates_count_what_the_filters_leave():
    full = report()
    gates = Gates(fail_on=HIGH, fail_on_drift=DriftGate.parse("any"))
    assert exit_code(apply_filter(full, ReportFilter()), gates) == EXIT_FINDINGS
    # Filtered away: only low findings and a neutral drift item in eu-west-1 ...
    eu = apply_filter(full, ReportFilter(regions=("eu-west-1",)))
    assert exit_code(eu, Gates(fail_on=HIGH)) == EXIT_OK
    assert exit_code(eu, Gates(fail_on_drift=DriftGate.parse("widened"))) == EXIT_OK
    assert exit_code(eu, gates) == EXIT_FINDINGS  # ... where `any` still sees the neutral one
    # A severity filter below the gate leaves nothing for it.
    low = apply_filter(full, ReportFilter(severities=parse_severities(["low"]).difference(
        {HIGH, Severity.CRITICAL})))
    assert exit_code(low, Gates(HIGH, DriftGate.parse("high"))) == EXIT_OK


def test_suppressed_findings_never_trip_shown_or_not():
    suppressed = finding("CW-NET-001", Severity.CRITICAL, WEB, suppressed=True)
    view = only([suppressed])
    for flt in (ReportFilter(), ReportFilter(include_suppressed=True)):
        shown = apply_filter(view, flt)
        assert shown.suppressed_count == 1
        assert len(shown.findings) == (1 if flt.include_suppressed else 0)
        assert exit_code(shown, Gates(fail_on=Severity.INFO)) == EXIT_OK


def test_a_tripped_gate_wins_over_an_incomplete_scan():
    failed = CollectionError("aws", "111122223333", "", "denied", "grant access")
    view = only([finding("CW-NET-001", HIGH, WEB)], errors=(failed,))
    assert exit_code(view, Gates()) == EXIT_INCOMPLETE
    assert exit_code(view, Gates(fail_on=Severity.CRITICAL)) == EXIT_INCOMPLETE
    assert exit_code(view, Gates(fail_on=HIGH)) == EXIT_FINDINGS
    # Filtered to a scope that was read completely, the report is complete.
    azure = apply_filter(view, ReportFilter(providers=("azure",)))
    assert exit_code(azure, Gates(fail_on=HIGH)) == EXIT_OK
