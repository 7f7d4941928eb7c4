"""Pipeline gates: when a run exits 1, and the exit code of a finished report.

Two independent gates, both optional, both counted on the report as filtered (filters first,
then gates):

- ``--fail-on SEVERITY`` counts findings at or above SEVERITY; suppressed findings never count,
  shown or not.
- ``--fail-on-drift SEVERITY|widened|any`` counts drift items: at or above SEVERITY; ``widened``
  for every item that admits more than the baseline or could not be shown not to (effect
  ``widened`` or ``unknown``, the items that carry T1562.007); ``any`` for any change at all.

Exit precedence (documented in the README): 2 (usage or input; no report is made) before 1 (a
gate tripped) before 3 (a scope was not read completely) before 0. A tripped gate wins over an
incomplete scan because both fail a pipeline and the gate is the one to act on; the report and
the summary line still say the scan was incomplete.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scanner.errors import EXIT_FINDINGS, EXIT_INCOMPLETE, EXIT_OK
from scanner.model import DriftItem, Effect, Finding, ScanReport, Severity

DRIFT_WORDS = ("widened", "any")
# The effects the ``widened`` gate counts: what admits more, and what could not be decided.
WIDENING_EFFECTS = frozenset({Effect.WIDENED, Effect.UNKNOWN})


@dataclass(frozen=True, slots=True)
class DriftGate:
    """``--fail-on-drift``: a minimum severity, or ``widened``, or ``any``."""

    severity: Severity | None = None
    word: str | None = None  # widened | any

    @classmethod
    def parse(cls, text: str) -> DriftGate:
        value = text.strip().lower()
        if value in DRIFT_WORDS:
            return cls(word=value)
        try:
            return cls(severity=Severity.parse(value))
        except ValueError:
            choices = ", ".join([*(s.value for s in Severity), *DRIFT_WORDS])
            raise ValueError(f"unknown drift gate {text!r} (choose one of {choices})") from None

    def trips(self, item: DriftItem) -> bool:
        if self.word == "any":
            return True
        if self.word == "widened":
            return item.effect in WIDENING_EFFECTS
        return self.severity is not None and item.severity.rank >= self.severity.rank

    def __str__(self) -> str:
        return self.word or (self.severity.value if self.severity else "")


@dataclass(frozen=True, slots=True)
class Gates:
    fail_on: Severity | None = None
    fail_on_drift: DriftGate | None = None

    def to_dict(self) -> dict[str, str]:
        out = {}
        if self.fail_on is not None:
            out["fail_on"] = self.fail_on.value
        if self.fail_on_drift is not None:
            out["fail_on_drift"] = str(self.fail_on_drift)
        return out


def tripping_findings(findings: Iterable[Finding], fail_on: Severity | None) -> list[Finding]:
    if fail_on is None:
        return []
    return [f for f in findings if not f.suppressed and f.severity.rank >= fail_on.rank]


def tripping_drift(drift: Iterable[DriftItem], gate: DriftGate | None) -> list[DriftItem]:
    if gate is None:
        return []
    return [d for d in drift if gate.trips(d)]


def gate_reasons(report: ScanReport, gates: Gates) -> list[str]:
    """One sentence per tripped gate (empty: no gate tripped)."""
    reasons = []
    findings = tripping_findings(report.findings, gates.fail_on)
    if findings:
        reasons.append(f"{len(findings)} finding(s) at or above {gates.fail_on.value} "
                       f"(--fail-on {gates.fail_on.value})")
    drift = tripping_drift(report.drift, gates.fail_on_drift)
    if drift:
        gate = gates.fail_on_drift
        what = {"widened": "widening or undecided", "any": ""}.get(
            gate.word or "", f"at or above {gate}")
        reasons.append(" ".join(p for p in (f"{len(drift)} drift item(s)", what) if p)
                       + f" (--fail-on-drift {gate})")
    return reasons


def exit_code(report: ScanReport, gates: Gates = Gates()) -> int:
    """1 if a gate tripped, else 3 if a scope in the report was not read, else 0."""
    if gate_reasons(report, gates):
        return EXIT_FINDINGS
    return EXIT_INCOMPLETE if report.snapshot.errors else EXIT_OK
