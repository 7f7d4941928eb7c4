"""What a policy is, whether it comes from a YAML pack or a Python check.

Both kinds carry the same metadata (``PolicyMeta``); a finding copies its title, severity,
remediation, ATT&CK techniques and the compliance controls that apply to the finding.
Compliance references may be conditional (``when``): one policy about remote administration
maps to FSBP EC2.13 for SSH on a security group, EC2.21 for a network ACL and SCC
OPEN_RDP_PORT for RDP on GCP, and each finding carries only the controls it really fails.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scanner.model import Finding, Severity

if TYPE_CHECKING:
    from policies.context import EvaluationContext

PROVIDERS = ("aws", "azure", "gcp")
# The protocols a control's ports can be defined on.
CONTROL_PROTOCOLS = ("tcp", "udp", "sctp")


@dataclass(frozen=True, slots=True)
class Remediation:
    summary: str = ""
    console: str = ""
    cli: str = ""  # CLI or Terraform hint

    def text(self) -> str:
        parts = [self.summary]
        if self.console:
            parts.append(f"Console: {self.console}")
        if self.cli:
            parts.append(f"CLI/Terraform: {self.cli}")
        return " ".join(p for p in parts if p)

    def to_dict(self) -> dict[str, str]:
        return {"summary": self.summary, "console": self.console, "cli": self.cli}


@dataclass(frozen=True, slots=True)
class When:
    """Conditions on one finding under which a compliance control applies to it."""

    kinds: frozenset[str] = frozenset()  # rule set kinds
    providers: frozenset[str] = frozenset()
    families: frozenset[str] = frozenset()  # ipv4 / ipv6 in the evidence
    services: frozenset[str] = frozenset()  # catalogue keys in the evidence
    ports: tuple[int, ...] = ()  # any of these ports in the evidence (on ``protocols``)
    # The protocols the control is defined on (FSBP EC2.21: TCP and UDP): with ``ports``, a
    # port counts only when reached on one of them; alone, one of them must be in the
    # evidence. Empty: any port-bearing protocol (tcp, udp, sctp).
    protocols: frozenset[str] = frozenset()
    default_rule_set: bool | None = None

    def holds(self, facts: FindingFacts) -> bool:
        if self.kinds and facts.kind not in self.kinds:
            return False
        if self.providers and facts.provider not in self.providers:
            return False
        if self.families and not self.families & facts.families:
            return False
        if self.services and not self.services & facts.services:
            return False
        if self.ports:
            allowed = self.protocols or CONTROL_PROTOCOLS
            if not any((name, p) in facts.port_hits for p in self.ports for name in allowed):
                return False
        elif self.protocols and not self.protocols & facts.protocols:
            return False
        return self.default_rule_set is None or self.default_rule_set == facts.default_rule_set


ALWAYS = When()


@dataclass(frozen=True, slots=True)
class ControlRef:
    framework: str  # framework id, e.g. cis-aws
    version: str  # the framework version the control id belongs to
    control: str
    when: When = ALWAYS

    @property
    def key(self) -> str:
        """How findings name the framework: ``cis-aws@3.0.0``."""
        return f"{self.framework}@{self.version}"


@dataclass(frozen=True, slots=True)
class FindingFacts:
    """What ``When`` conditions look at."""

    provider: str
    kind: str = ""
    families: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()
    port_hits: frozenset[tuple[str, int]] = frozenset()  # (protocol, port) of wanted ports
    protocols: frozenset[str] = frozenset()  # port-bearing protocols with ports in the evidence
    default_rule_set: bool = False


@dataclass(frozen=True, slots=True)
class PolicyMeta:
    policy_id: str
    title: str
    severity: Severity
    rationale: str = ""
    remediation: Remediation = field(default_factory=Remediation)
    providers: tuple[str, ...] = PROVIDERS
    compliance: tuple[ControlRef, ...] = ()
    attack: tuple[str, ...] = ()
    source: str = "built-in"  # pack file or python module the policy came from
    subject: str = "rule"  # rule | rule_set | asset | subnet | network | ip_list | snapshot

    def compliance_for(self, facts: FindingFacts) -> dict[str, tuple[str, ...]]:
        """Controls this finding fails: those of frameworks for its cloud whose ``when``
        holds (a CIS Azure control never lands on an AWS finding)."""
        return dict(_compliance_for(self.compliance, facts))

    def applies_to(self, provider: str) -> bool:
        return provider in self.providers

    def to_dict(self) -> dict[str, Any]:
        compliance: dict[str, list[Any]] = {}
        for ref in self.compliance:
            entry: Any = ref.control
            if ref.when != ALWAYS:
                entry = {"control": ref.control, "when": _when_dict(ref.when)}
            compliance.setdefault(ref.key, []).append(entry)
        return {
            "id": self.policy_id,
            "title": self.title,
            "severity": self.severity.value,
            "rationale": self.rationale,
            "remediation": self.remediation.to_dict(),
            "providers": list(self.providers),
            "subject": self.subject,
            "compliance": compliance,
            "attack": list(self.attack),
            "source": self.source,
        }


# id(compliance references) -> (those references, {facts: answer}): findings of one policy on
# one cloud and kind share a handful of answers. Keyed by the references' identity, as hashing
# them (every control with its conditions) cost more than the answer itself; the references
# are kept with their answers so that an id is never taken for another object's.
_ANSWERS: dict[int, tuple[tuple[ControlRef, ...], dict[FindingFacts, tuple]]] = {}
_MAX_ANSWERS = 4096


def _compliance_for(refs: tuple[ControlRef, ...], facts: FindingFacts) -> tuple:
    entry = _ANSWERS.get(id(refs))
    if entry is None or entry[0] is not refs:
        if len(_ANSWERS) >= _MAX_ANSWERS:
            _ANSWERS.clear()
        entry = _ANSWERS[id(refs)] = (refs, {})
    answers = entry[1]
    found = answers.get(facts)
    if found is None:
        if len(answers) >= _MAX_ANSWERS:
            answers.clear()
        found = answers[facts] = _controls(refs, facts)
    return found


def _controls(refs: tuple[ControlRef, ...], facts: FindingFacts) -> tuple:
    from policies.frameworks import FRAMEWORKS

    out: dict[str, list[str]] = {}
    for ref in refs:
        known = FRAMEWORKS.get(ref.framework)
        if known is not None and facts.provider not in known.providers:
            continue
        if ref.when.holds(facts) and ref.control not in out.get(ref.key, ()):
            out.setdefault(ref.key, []).append(ref.control)
    return tuple((k, tuple(v)) for k, v in sorted(out.items()))


def _when_dict(when: When) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in ("kinds", "providers", "families", "services", "protocols"):
        value = getattr(when, name)
        if value:
            out[name] = sorted(value)
    if when.ports:
        out["ports"] = list(when.ports)
    if when.default_rule_set is not None:
        out["default_rule_set"] = when.default_rule_set
    return out


# A policy's evaluator yields findings for one snapshot, using the shared context.
Evaluator = Callable[["EvaluationContext", PolicyMeta], Iterator[Finding]]


@dataclass(frozen=True, slots=True)
class Policy:
    meta: PolicyMeta
    evaluate: Evaluator
    kind: str = "pack"  # pack | python
    definition: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    match: Any = None  # pack policies: the compiled ``policies.matching.Match``
    needs_exposure: bool = False  # judges assets through the exposure analysis
    # Python checks declared with ``registry.rule_set_check``: one rule set's findings, from its
    # content alone (``judge(ctx, meta, rule_set) -> Iterator[Judgement]``).
    judge_rule_set: Any = None

    @property
    def policy_id(self) -> str:
        return self.meta.policy_id


@dataclass(frozen=True, slots=True)
class PolicySettings:
    """How policies judge: which to run, trusted ranges, the broad threshold."""

    trusted_cidrs: tuple[str, ...] = ()
    broad_prefix: int = 8  # an IPv4 range at least this wide (a /8) is "broad"
    broad_prefix_v6: int = 32
    only: tuple[str, ...] = ()
    skip: tuple[str, ...] = ()
    extra_packs: tuple[str, ...] = ()
    suppressions: str | None = None

    def selected(self, policies: Iterable[Policy]) -> list[Policy]:
        chosen = []
        for policy in policies:
            if self.only and not _matches_any(policy.policy_id, self.only):
                continue
            if _matches_any(policy.policy_id, self.skip):
                continue
            chosen.append(policy)
        return chosen


def _matches_any(policy_id: str, patterns: Iterable[str]) -> bool:
    from fnmatch import fnmatchcase

    return any(fnmatchcase(policy_id.upper(), p.upper()) for p in patterns)
