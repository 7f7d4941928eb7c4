"""Scheduled scans of a large estate: the analysis of a scan after the first, when little or
nothing changed.

    .venv/bin/python bench/bench_incremental.py [--rules 1000000] [--assets 100000]
                                                [--changed 0.01] [--seed 7]

The estate is the one of bench_exposure.py (interfaces in roles sharing security groups, NSGs
and network tags on the three clouds). Three scans are analysed in one process, as a scheduler
that keeps its analysis state between runs would: the first (everything judged), the next
hourly scan of the unchanged estate (built again from scratch, as a new collection gives new
objects with the same content) and one where ``--changed`` of the rule sets had one rule
edited (new content). Analysis is what follows collection: the exposure analysis and every
built-in policy (``policies.evaluate`` with the ``RuleSetMemo`` of the previous scan).

Prints, per scan, the CPU and wall time of each step, the policy reuse counters (judged, bound
from an equal content, kept with their exposure verdicts) and the findings; whether the
unchanged scan's findings equal the first scan's, and with --verify (slow) whether each later
scan's equal a full evaluation without the memo; peak memory.

Exposure: ``exposure_step`` below is where the exposure analysis of a scan is computed from
the previous scan's; it returns the analysis and a key standing for everything the analysis
was computed from (None when unknown: every finding's exposure verdict is then recomputed).
Here, when everything the analysis reads (rule sets, assets, subnets, networks) equals the
previous scan's, the previous analysis and key are kept (the comparison is timed with it);
otherwise the analysis is computed in full under a new key.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_exposure import build  # noqa: E402

from policies import PolicySettings, evaluate, select_policies  # noqa: E402
from policies.reuse import RuleSetMemo  # noqa: E402
from scanner.exposure import analyze_exposure  # noqa: E402
from scanner.model import Snapshot  # noqa: E402


def _inputs(snapshot: Snapshot) -> tuple:
    return snapshot.rule_sets, snapshot.assets, snapshot.subnets, snapshot.networks


def exposure_step(previous: Snapshot | None, previous_analysis: Any, previous_key: str | None,
                  snapshot: Snapshot) -> tuple[Any, str | None]:
    """The exposure analysis of ``snapshot`` and its key (see the module docstring)."""
    if previous is not None and _inputs(previous) == _inputs(snapshot):
        return previous_analysis, previous_key
    return analyze_exposure(snapshot), f"analysis-{next(_SERIAL)}"


_SERIAL = itertools.count(1)


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
        self.previous: Snapshot | None = None
        self.previous_analysis: Any = None
        self.previous_key: str | None = None

    def analyse(self, label: str, snapshot: Snapshot, verify: bool) -> list:
        cpu, wall = time.process_time(), time.perf_counter()
        analysis, key = exposure_step(self.previous, self.previous_analysis,
                                      self.previous_key, snapshot)
        exposure_cpu, exposure_wall = time.process_time() - cpu, time.perf_counter() - wall
        cpu, wall = time.process_time(), time.perf_counter()
        findings = evaluate(snapshot, self.policies, self.settings, analysis, memo=self.memo,
                            exposure_key=key)
        policy_cpu, policy_wall = time.process_time() - cpu, time.perf_counter() - wall
        memo = self.memo
        print(f"{label}: analysis {exposure_cpu + policy_cpu:.2f} s CPU "
              f"({exposure_wall + policy_wall:.2f} s wall) = exposure {exposure_cpu:.2f} s CPU "
              f"+ policies {policy_cpu:.2f} s CPU; rule sets: {memo.judged:,} judged, "
              f"{memo.bound:,} bound ({memo.kept:,} kept with their exposure verdicts), "
              f"reuse rate {memo.reuse_rate:.1%}; {len(findings):,} findings; "
              f"max RSS {_rss_mib():,.0f} MiB")
        if verify:
            full = evaluate(snapshot, self.policies, self.settings, analysis)
            print(f"  equal to a full evaluation: {full == findings}")
        self.previous, self.previous_analysis, self.previous_key = snapshot, analysis, key
        return findings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", type=int, default=1_000_000)
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--changed", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--verify", action="store_true",
                        help="also compare each later scan with a full evaluation")
    args = parser.parse_args()

    started = time.perf_counter()
    first = build(args.assets, args.rules, args.seed)
    print(f"estate: {len(first.assets):,} assets, {first.rule_count():,} rules in "
          f"{len(first.rule_sets):,} rule sets (built in {time.perf_counter() - started:.1f} s)")
    scans = Scans()
    before = scans.analyse("first scan", first, verify=False)
    again = build(args.assets, args.rules, args.seed)  # the next collection: new objects
    unchanged = scans.analyse("unchanged estate", again, args.verify)
    print(f"  findings equal to the first scan's: {unchanged == before}")
    changed = _changed(again, args.changed, args.seed)
    scans.analyse(f"{args.changed:.0%} of rule sets changed", changed, args.verify)
    print(f"peak memory: max RSS {_rss_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
