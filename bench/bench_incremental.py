"""Scheduled scans of a large estate: the analysis of a scan after the first, when little or
nothing changed.

    .venv/bin/python bench/bench_incremental.py [--estate exposure|policies] [--rules 1000000]
                                [--assets 100000] [--distinct 0.1] [--changed 0.01] [--seed 7]

The estate is the one of bench_exposure.py (interfaces in roles sharing security groups, NSGs
and network tags on the three clouds), or with ``--estate policies`` the templated one of
bench_policies.py (``--distinct`` of its rule sets with content of their own; no assets, so
its exposure analysis has nothing to walk), or with ``--estate demo`` the small estate of
``cloudwall demo``. Three scans are analysed in one process, as a scheduler
that keeps its analysis state between runs would: the first (everything judged), the next
hourly scan of the unchanged estate (built again from scratch, as a new collection gives new
objects with the same content) and one where ``--changed`` of the rule sets had one rule
edited (new content). Analysis is what follows collection: the exposure analysis and every
built-in policy (``policies.evaluate`` with the ``RuleSetMemo`` of the previous scan).

Before the analysis, each scan's content digests are computed the way ``scan --save`` computes
them (``split_snapshot``: the store's objects and their names, which the save then takes as they
are): that cost is printed on its own line, as the save's, since a scan that saves its snapshot
pays it whether or not the analysis uses the digests.

Prints, per scan, the CPU and wall time of each step, the policy reuse counters (judged, bound
from an equal content, kept with their exposure verdicts) and the findings; whether the
unchanged scan's findings equal the first scan's, and with --verify (slow) whether each later
scan's equal a full evaluation without the memo; peak memory.

Exposure: ``exposure_step`` below is where the exposure analysis of a scan is computed from
the previous scan's; it returns the analysis and a key standing for everything the analysis
was computed from. The key is a hash of the digests of every section the analysis reads (rule
sets, assets, subnets, networks, IP lists, scopes, errors) and its settings: when it equals the
previous scan's, the previous analysis is kept; otherwise the analysis is computed with the
``ExposureMemo`` of the previous one (classes whose content did not change are not walked).
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_exposure  # noqa: E402
import bench_policies  # noqa: E402

from policies import PolicySettings, evaluate, select_policies  # noqa: E402
from policies.reuse import RuleSetMemo  # noqa: E402
from scanner.content_digest import EXPOSURE_INPUTS, SnapshotDigests  # noqa: E402
from scanner.exposure import ExposureMemo, analyze_exposure  # noqa: E402
from scanner.model import Snapshot  # noqa: E402
from scanner.store.content import split_snapshot  # noqa: E402

SETTINGS = ((), 8, 32)  # analyze_exposure's defaults: trusted ranges, broad prefixes


def exposure_step(memo: ExposureMemo, previous_analysis: Any, previous_key: str | None,
                  snapshot: Snapshot, digests: SnapshotDigests) -> tuple[Any, str]:
    """The exposure analysis of ``snapshot`` and its key (see the module docstring)."""
    key = digests.key(EXPOSURE_INPUTS, SETTINGS)
    if key == previous_key:
        return previous_analysis, key
    memo.set_digests(digests.by_rule_set_id(snapshot))
    return analyze_exposure(snapshot, memo=memo), key


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _changed(snapshot: Snapshot, share: float, seed: int) -> Snapshot:
    """The snapshot with one rule of ``share`` of its rule sets edited (its description: new
    content to judge)."""
    rng = random.Random(seed)
    items: list = []
    for rule_set in snapshot.rule_sets:
        if rule_set.rules and rng.random() < share:
            rules = list(rule_set.rules)
            at = rng.randrange(len(rules))
            rules[at] = dataclasses.replace(rules[at], description="changed")
            rule_set = dataclasses.replace(rule_set, rules=tuple(rules))
        items.append(rule_set)
    for section in (snapshot.assets, snapshot.subnets, snapshot.networks, snapshot.ip_lists):
        items += list(section)
    return Snapshot.from_items(snapshot.snapshot_id + "-changed", snapshot.taken_at,
                               snapshot.scopes, items, snapshot.providers)


class Scans:
    def __init__(self) -> None:
        self.settings = PolicySettings()
        self.policies = select_policies(self.settings)
        self.memo = RuleSetMemo()
        self.exposure_memo = ExposureMemo()
        self.previous_analysis: Any = None
        self.previous_key: str | None = None

    def analyse(self, label: str, snapshot: Snapshot, verify: bool) -> list:
        cpu, wall = time.process_time(), time.perf_counter()
        digests = split_snapshot(snapshot).digests
        print(f"{label}: content digests (the store's split, paid by scan --save) "
              f"{time.process_time() - cpu:.2f} s CPU ({time.perf_counter() - wall:.2f} s wall)")
        cpu, wall = time.process_time(), time.perf_counter()
        analysis, key = exposure_step(self.exposure_memo, self.previous_analysis,
                                      self.previous_key, snapshot, digests)
        kept = analysis is self.previous_analysis
        exposure_cpu, exposure_wall = time.process_time() - cpu, time.perf_counter() - wall
        cpu, wall = time.process_time(), time.perf_counter()
        findings = evaluate(snapshot, self.policies, self.settings, analysis, memo=self.memo,
                            exposure_key=key, digests=digests.rule_sets)
        policy_cpu, policy_wall = time.process_time() - cpu, time.perf_counter() - wall
        memo = self.memo
        print(f"{label}: analysis {exposure_cpu + policy_cpu:.2f} s CPU "
              f"({exposure_wall + policy_wall:.2f} s wall) = exposure {exposure_cpu:.2f} s CPU "
              f"+ policies {policy_cpu:.2f} s CPU; rule sets: {memo.judged:,} judged, "
              f"{memo.bound:,} bound ({memo.kept:,} kept with their exposure verdicts), "
              f"reuse rate {memo.reuse_rate:.1%}; {len(findings):,} findings; "
              f"max RSS {_rss_mib():,.0f} MiB")
        print(f"  exposure: {analysis.classes:,} classes, {analysis.reused:,} of them reused from "
              f"the previous scan's memo{' (the previous analysis kept whole)' if kept else ''}")
        if verify:
            full = evaluate(snapshot, self.policies, self.settings, analysis)
            print(f"  equal to a full evaluation: {full == findings}")
        self.previous_analysis, self.previous_key = analysis, key
        return findings


def saved_scans(first: Snapshot, build: Any, share: float, seed: int) -> None:
    """What ``scan --save`` does after collection, scan after scan, in two SQLite stores of
    their own: with the analysis cache (``engine.analyze_and_save``: cut the snapshot, read
    the cache, analyse, save the snapshot and the cache in one transaction) and as before it
    (``analyze`` then ``Store.save``). Each run is a new process's work: no memo is carried in
    memory from one scan to the next."""
    import tempfile

    from scanner.analysis_cache import STATE_KEY
    from scanner.engine import analyze, analyze_and_save
    from scanner.store import Store

    with tempfile.TemporaryDirectory() as work:
        cached, plain = Store(Path(work) / "cached.db"), Store(Path(work) / "plain.db")
        again = build()
        scans = [("first scan", first), ("unchanged estate", again),
                 (f"{share:.0%} of rule sets changed",
                  dataclasses.replace(_changed(again, share, seed), snapshot_id="changed"))]
        for n, (label, snapshot) in enumerate(scans):
            snapshot = dataclasses.replace(snapshot, snapshot_id=f"scan-{n}")
            cpu, wall = time.process_time(), time.perf_counter()
            with_cache = analyze_and_save(snapshot, cached)
            cache_cpu, cache_wall = time.process_time() - cpu, time.perf_counter() - wall
            cpu, wall = time.process_time(), time.perf_counter()
            without = analyze(snapshot)
            plain.save(snapshot)
            plain_cpu, plain_wall = time.process_time() - cpu, time.perf_counter() - wall
            size = len(cached.state(STATE_KEY) or "")
            same = ([f.to_dict() for f in with_cache.findings]
                    == [f.to_dict() for f in without.findings])
            print(f"{label}: with the cache {cache_cpu:.2f} s CPU ({cache_wall:.2f} s wall); "
                  f"without {plain_cpu:.2f} s CPU ({plain_wall:.2f} s wall); cache entry "
                  f"{size / 2**20:,.1f} MiB; same findings: {same}; "
                  f"max RSS {_rss_mib():,.0f} MiB")
        cached.close()
        plain.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", type=int, default=1_000_000)
    parser.add_argument("--estate", choices=("exposure", "policies", "demo"), default="exposure")
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--distinct", type=float, default=0.1)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--verify", action="store_true",
                        help="also compare each later scan with a full evaluation")
    parser.add_argument("--saved", action="store_true",
                        help="time what scan --save does after collection instead, with the "
                             "store's analysis cache and without it")
    args = parser.parse_args()

    def build() -> Snapshot:
        if args.estate == "demo":  # what `cloudwall demo` collects
            from providers import load_provider
            from providers.base import ProviderSettings
            from scanner.collect import collect_snapshot

            return collect_snapshot([load_provider("demo")(ProviderSettings())])
        if args.estate == "policies":
            return bench_policies.build(args.rules, args.seed, args.distinct)
        return bench_exposure.build(args.assets, args.rules, args.seed)

    started = time.perf_counter()
    first = build()
    print(f"estate: {len(first.assets):,} assets, {first.rule_count():,} rules in "
          f"{len(first.rule_sets):,} rule sets (built in {time.perf_counter() - started:.1f} s)")
    if args.saved:
        saved_scans(first, build, args.changed, args.seed)
        return
    scans = Scans()
    before = scans.analyse("first scan", first, verify=False)
    again = build()  # the next collection: new objects
    unchanged = scans.analyse("unchanged estate", again, args.verify)
    print(f"  findings equal to the first scan's: {unchanged == before}")
    changed = _changed(again, args.changed, args.seed)
    scans.analyse(f"{args.changed:.0%} of rule sets changed", changed, args.verify)
    print(f"peak memory: max RSS {_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
