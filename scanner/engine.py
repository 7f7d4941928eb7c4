"""The only place that knows the order of steps: collect, analyse, save, compare, report.

A scan that saves its snapshot saves it after the analysis, in one transaction with the
analysis cache that the next scan reuses (an interrupted or failed analysis saves nothing)."""

from __future__ import annotations

import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

from policies import Policy, PolicySettings, evaluate_snapshot, select_policies
from policies.coverage import policy_infos
from policies.reuse import RuleSetMemo
from providers import load_provider
from providers.base import ProgressCallback, ProviderSettings
from scanner import __version__
from scanner.analysis_cache import STATE_KEY, dump_memo, load_memo
from scanner.collect import collect_snapshot
from scanner.drift.comparison import compare
from scanner.errors import ConfigError
from scanner.executors import ExecutorSettings, make_executor
from scanner.exposure import analyze_exposure
from scanner.filters import tag_index
from scanner.model import ScanReport, Snapshot
from scanner.store import Store, read_snapshot_file
from scanner.store.content import split_snapshot


@dataclass(frozen=True, slots=True)
class ScanRequest:
    """Everything a scan was asked to do, parsed and checked by the CLI."""

    providers: tuple[str, ...]
    settings: ProviderSettings = field(default_factory=ProviderSettings)
    save: bool = False
    baseline: str | None = None  # a baseline name in the store, or a snapshot JSON file
    attribute: bool = False  # look up who made each drift item in the clouds' audit logs
    # Which policies to run, trusted ranges, suppressions (None: the built-in defaults).
    policies: PolicySettings | None = None
    # Seconds the whole collection may take; what is unfinished then is recorded as not
    # collected (None: no limit).
    deadline: float | None = None
    # Where the scopes are collected: this process's threads, or a Dask cluster's workers.
    executor: ExecutorSettings = field(default_factory=ExecutorSettings)


def is_snapshot_file(ref: str) -> bool:
    """Whether a --baseline value names an exported snapshot file rather than a stored name."""
    path = Path(ref)
    return path.suffix == ".json" or path.is_file()


def load_baseline(store: Store | None, ref: str) -> tuple[str, Snapshot]:
    """A stored baseline by name, or an exported snapshot file (a baseline kept in git)."""
    path = Path(ref)
    if is_snapshot_file(ref) or store is None:
        return str(path), read_snapshot_file(path)
    return ref, store.load_baseline(ref)


def run_scan(
    request: ScanRequest, store: Store | None, progress: ProgressCallback | None = None
) -> ScanReport:
    deadline = time.monotonic() + request.deadline if request.deadline is not None else None
    # The baseline is read before any cloud call, so a typo fails fast and costs nothing.
    baseline = load_baseline(store, request.baseline) if request.baseline else None
    try:
        adapters = [load_provider(name)(request.settings) for name in request.providers]
    except KeyError as exc:
        raise ConfigError(str(exc.args[0]), "see `cloudwall scan --help`") from exc
    executor = make_executor(request.executor)
    snapshot = collect_snapshot(adapters, request.settings.max_workers, progress,
                                deadline=deadline, executor=executor)
    if request.save and store is not None:
        report = analyze_and_save(snapshot, store, baseline, request.policies)
    else:
        report = analyze(snapshot, baseline, policies=request.policies)
    if request.attribute and baseline is not None and report.drift:
        report = with_attribution(report, baseline[1], adapters)
    return report


def analyze_and_save(snapshot: Snapshot, store: Store,
                     baseline: tuple[str, Snapshot] | None = None,
                     policies: PolicySettings | None = None) -> ScanReport:
    """``analyze``, then save the snapshot, as a scheduled ``scan --save`` does: the snapshot's
    content digests (computed once, for the store's objects) tell which rule sets the store's
    analysis cache (``scanner.analysis_cache``) already judged under the same policies and
    settings, and the cache of this scan is written in the same transaction as its snapshot.
    The report is the one ``analyze`` gives."""
    policies = policies or PolicySettings()
    parts = split_snapshot(snapshot)
    digests = parts.digests.rule_sets
    previous = store.state(STATE_KEY)
    # Selected once for the cache and the analysis: --pack files are read from disk each time.
    selected = select_policies(policies)
    memo = load_memo(previous, snapshot.rule_sets, digests, selected, policies)
    report = analyze(snapshot, baseline, policies=policies, memo=memo, digests=digests,
                     selected=selected)
    cache = dump_memo(memo, previous)
    store.save(snapshot, state=None if cache is None else {STATE_KEY: cache}, parts=parts)
    return report


def with_attribution(report: ScanReport, baseline: Snapshot, adapters) -> ScanReport:
    """The report with who made each drift item, looked up since the baseline was taken."""
    from scanner.attribution import attribute_drift  # only runs that ask for attribution

    return replace(report, drift=attribute_drift(report.drift, baseline.taken_at, adapters))


def analyze(snapshot: Snapshot, baseline: tuple[str, Snapshot] | None = None,
            trusted_cidrs: Sequence[str] = (),
            policies: PolicySettings | None = None, memo: RuleSetMemo | None = None,
            digests: Sequence[Hashable] | None = None,
            selected: Sequence[Policy] | None = None) -> ScanReport:
    """Judge one snapshot, and compare it with a baseline when one is given. ``memo`` and
    ``digests``: as for ``policies.evaluate``; ``selected``: the policies the settings select,
    when the caller has them already."""
    if policies is None:
        policies = PolicySettings(trusted_cidrs=tuple(trusted_cidrs))
    trusted_cidrs = tuple(trusted_cidrs) or policies.trusted_cidrs
    # Exposure first: findings and drift rank by what is actually reachable.
    exposure = analyze_exposure(snapshot, trusted_cidrs, policies.broad_prefix)
    if selected is None:
        selected = select_policies(policies)
    findings, _expired = evaluate_snapshot(snapshot, policies, exposure, selected=selected,
                                           memo=memo, digests=digests)
    drift = ()
    name = baseline_id = None
    base = None
    if baseline is not None:
        name, base = baseline
        baseline_id = base.snapshot_id
        before = analyze_exposure(base, trusted_cidrs, policies.broad_prefix)
        drift = tuple(compare(base, snapshot, before, exposure))
    return ScanReport(
        snapshot=snapshot,
        findings=tuple(findings),
        drift=drift,
        exposures=exposure.exposures,
        exposure_unknown=dict(exposure.unknown_reasons),
        suppressed_findings=tuple(f for f in findings if f.suppressed),
        resource_tags=tag_index(base, snapshot),
        baseline_name=name,
        baseline_snapshot_id=baseline_id,
        tool_version=__version__,
        generated_at=datetime.now(timezone.utc).replace(microsecond=0),
        policies=policy_infos(snapshot, selected),
    )
