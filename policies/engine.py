"""Run policies over a snapshot: every rule set is visited once for all pack policies and rule
set checks, its rules' admitted traffic computed once and shared, and each distinct rule set
content judged once (``policies.reuse``); then the other Python checks run on the context."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Iterable, Sequence
from datetime import date
from functools import cache
from pathlib import Path

from policies.context import EvaluationContext
from policies.liveness import Judgement, exposure_inputs, with_exposure
from policies.matching import judge_rule_set_content
from policies.packs import Pack, builtin_packs, check_unique, load_pack
from policies.policy import Policy, PolicySettings
from policies.registry import python_checks
from policies.reuse import RuleSetMemo, content_key
from policies.suppressions import apply_suppressions, load_suppressions
from scanner.errors import ConfigError
from scanner.gcpause import collector_paused
from scanner.model import Finding, RuleSet, Severity, Snapshot, fingerprint


def all_packs(settings: PolicySettings | None = None) -> list[Pack]:
    settings = settings or PolicySettings()
    return builtin_packs() + [load_pack(path) for path in settings.extra_packs]


def available_policies(settings: PolicySettings | None = None,
                       packs: Sequence[Pack] | None = None) -> list[Policy]:
    """Built-in checks and packs plus the user's packs, before --only/--skip."""
    packs = all_packs(settings) if packs is None else packs
    policies = python_checks() + [p for pack in packs for p in pack.policies]
    check_unique(policies)
    return sorted(policies, key=lambda p: p.policy_id)


def select_policies(settings: PolicySettings, packs: Sequence[Pack] | None = None
                    ) -> list[Policy]:
    policies = available_policies(settings, packs)
    known = {p.policy_id for p in policies}
    from fnmatch import fnmatchcase

    for pattern in (*settings.only, *settings.skip):
        if not any(fnmatchcase(pid.upper(), pattern.upper()) for pid in known):
            from policies.schema import did_you_mean

            raise ConfigError(f"no policy matches {pattern!r}",
                              did_you_mean(pattern, known)
                              or "see `cloudwall policies list`")
    return settings.selected(policies)


def check_settings(settings: PolicySettings) -> None:
    """Read every pack and the suppressions file now, so a typo fails before any cloud call."""
    select_policies(settings)
    if settings.suppressions:
        load_suppressions(settings.suppressions)


def evaluate(snapshot: Snapshot, policies: Iterable[Policy],
             settings: PolicySettings | None = None, exposure: object = None,
             memo: RuleSetMemo | None = None, exposure_key: str | None = None,
             digests: Sequence[Hashable] | None = None) -> list[Finding]:
    """Findings of ``policies`` on ``snapshot`` (no suppressions applied).

    ``memo``: the ``RuleSetMemo`` of the previous evaluation, to judge again only the rule sets
    whose content changed (it is updated for the next one). ``exposure_key``: a fingerprint of
    everything ``exposure`` was computed from (or of the analysis itself); when it equals the
    previous evaluation's, unchanged rule sets keep their findings with their exposure verdicts
    as they were. Without a memo every distinct content is still judged only once.
    ``digests``: the content digest of each rule set, in the snapshot's order
    (``SnapshotDigests.rule_sets``, as the store names them), so the memo tells unchanged rule
    sets without hashing their rules.

    The cyclic garbage collector is paused meanwhile (``scanner.gcpause``): the findings of a
    large estate would otherwise set off full collections over the whole snapshot."""
    if digests is not None and len(digests) != len(snapshot.rule_sets):
        raise ValueError(f"{len(digests)} digests for {len(snapshot.rule_sets)} rule sets")
    with collector_paused():
        return _evaluate(snapshot, policies, settings, exposure, memo, exposure_key, digests)


def _evaluate(snapshot: Snapshot, policies: Iterable[Policy], settings: PolicySettings | None,
              exposure: object, memo: RuleSetMemo | None, exposure_key: str | None,
              digests: Sequence[Hashable] | None) -> list[Finding]:
    ctx = EvaluationContext(snapshot, settings, exposure)
    policies = list(policies)
    per_rule_set = [p for p in policies if p.match is not None or p.judge_rule_set is not None]
    memo = memo if memo is not None else RuleSetMemo()
    memo.start(rule_set_fingerprint(per_rule_set, ctx.settings),
               "none" if exposure is None else exposure_key)
    with_name = any(p.match is not None and p.match.reads_rule_set_name for p in per_rule_set)

    def judge(rule_set: RuleSet) -> list[Judgement]:
        found: list[Judgement] = []
        for policy in per_rule_set:
            meta, match = policy.meta, policy.match
            if not meta.applies_to(rule_set.provider):
                continue
            if match is None:
                found.extend(policy.judge_rule_set(ctx, meta, rule_set))
            elif match.accepts_rule_set(rule_set):
                found.extend(judge_rule_set_content(match, meta, ctx, rule_set))
        ctx.release(rule_set)
        return found

    def finish(rule_set: RuleSet, judged: Judgement) -> Finding:
        return with_exposure(ctx, rule_set, judged)

    # Without an exposure analysis there is no verdict to add: findings are as judged.
    adds_verdicts = finish if exposure is not None else None

    findings: list[Finding] = []
    keys = digests if digests is not None else (None,) * len(snapshot.rule_sets)
    # With digests, a rule set that did not change keeps its verdicts while what they read of
    # the exposure analysis is as it was (``liveness.exposure_inputs``).
    inputs = None
    if digests is not None and adds_verdicts is not None:
        digest_of = {rs.resource_id: d for rs, d in zip(snapshot.rule_sets, digests,
                                                        strict=True)}
        reached = frozenset(rule_set_id for rule_set_id, _ in
                            getattr(exposure, "rule_reach", None) or ())

        def inputs(rule_set: RuleSet) -> Callable[[], Hashable | None]:
            return lambda: exposure_inputs(ctx, rule_set, digest_of, reached)

    for rule_set, digest in zip(snapshot.rule_sets, keys, strict=True):
        findings.extend(memo.findings(rule_set, content_key(rule_set, with_name), judge,
                                      adds_verdicts, digest,
                                      None if inputs is None else inputs(rule_set)))
    others = [finding for policy in policies
              if policy.match is None and policy.judge_rule_set is None
              for finding in policy.evaluate(ctx, policy.meta)]
    return memo.finish(findings, others, _order)


def rule_set_fingerprint(policies: Iterable[Policy], settings: PolicySettings) -> str:
    """What the findings of a rule set depend on besides its content: cloudwall's version and
    code, the policies that judge rule sets as defined (metadata, match) and the settings."""
    from scanner import __version__

    return fingerprint(__version__, code_digest(), repr(settings),
                       *(repr((p.policy_id, p.kind, sorted(p.definition.items()), p.meta))
                         for p in policies
                         if p.match is not None or p.judge_rule_set is not None))


@cache
def code_digest() -> str:
    """A digest of the judging code as installed (the sources of ``policies`` and ``scanner``):
    judgements kept between runs (the store's analysis cache) must not outlive a change of the
    code that made them, even where the version string stays the same (an editable install)."""
    import scanner

    return sources_digest(Path(__file__).parent, Path(scanner.__file__).parent)


def sources_digest(*packages: Path) -> str:
    """SHA-256 over the Python sources of ``packages``: each file's path and bytes, in order."""
    digest = hashlib.sha256()
    for package in packages:
        for path in sorted(package.rglob("*.py")):
            digest.update(path.relative_to(package.parent).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _order(finding: Finding) -> tuple:
    # (once per finding, hundreds of thousands of them: the rank and the rule's own id are
    # read directly, ``Rule.identity`` only for a rule without one)
    rule = finding.rule
    return (_DESCENDING[finding.severity], finding.provider, finding.policy_id,
            finding.resource_id,
            (rule.native_id or rule.identity()) if rule is not None else finding.asset_id or "")


_DESCENDING = {severity: -severity.rank for severity in Severity}


def evaluate_snapshot(snapshot: Snapshot, settings: PolicySettings | None = None,
                      exposure: object = None, today: date | None = None,
                      selected: Sequence[Policy] | None = None,
                      memo: RuleSetMemo | None = None,
                      digests: Sequence[Hashable] | None = None,
                      ) -> tuple[list[Finding], list[dict]]:
    """Everything a scan does with policies: select (unless ``selected`` is given), evaluate,
    suppress.

    Returns the findings (suppressed ones marked) and the notices about suppressions
    (expired entries, entries that matched nothing). ``memo`` and ``digests``: as for
    ``evaluate``.
    """
    settings = settings or PolicySettings()
    suppressions = load_suppressions(settings.suppressions) if settings.suppressions else []
    if selected is None:
        selected = select_policies(settings)
    findings = evaluate(snapshot, selected, settings, exposure, memo=memo, digests=digests)
    return apply_suppressions(findings, suppressions, today)
