"""Time ``report trend`` over a store of many snapshots: cold, with the point cache filling,
warm (every point cached), and warm with one new snapshot.

Each snapshot is the previous one with a small fraction of its rules changed (widened,
narrowed, removed, added, disabled, moved), so every point has drift to count.
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_drift import T0, build, snapshot  # noqa: E402

from scanner.model import Peer, RuleSet  # noqa: E402
from scanner.netmath import PortSet  # noqa: E402
from scanner.store import Store  # noqa: E402
from scanner.trend_build import build_trend  # noqa: E402
from scanner.trend_cache import TrendCache  # noqa: E402


def change(sets: list[RuleSet], fraction: float, rng: random.Random) -> list[RuleSet]:
    """The next snapshot's rule sets: about ``fraction`` of the rules widened, narrowed,
    removed, added or disabled."""
    out = list(sets)
    total = sum(len(s.rules) for s in sets)
    for _ in range(max(1, int(total * fraction))):
        index = rng.randrange(len(out))
        rules = list(out[index].rules)
        if not rules:
            continue
        position = rng.randrange(len(rules))
        rule = rules[position]
        what = rng.choice(("widen", "narrow", "remove", "add", "disable"))
        if what == "widen":
            rules[position] = replace(rule, peers=(Peer.cidr("0.0.0.0/0"),))
        elif what == "narrow":
            rules[position] = replace(rule, peers=(Peer.cidr("10.1.2.0/24"),))
        elif what == "remove":
            del rules[position]
        elif what == "add":
            rules.append(replace(rule, native_id=f"new-{rng.randrange(1 << 30)}",
                                 ports=PortSet.of(22)))
        else:
            rules[position] = replace(rule, enabled=False)
        out[index] = replace(out[index], rules=tuple(rules))
    return out


def timed(label: str, function):
    wall, cpu = time.perf_counter(), time.process_time()
    result = function()
    print(f"{label:<34} {time.perf_counter() - wall:8.2f} s wall {time.process_time() - cpu:8.2f}"
          f" s cpu")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=200)
    parser.add_argument("--rules", type=int, default=5_000)
    parser.add_argument("--changed", type=float, default=0.002)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cloudwall-bench-trend-") as tmp:
        root = Path(tmp)
        store = Store(root / "store.db")
        sets = build(args.rules, 50, args.seed)
        rng = random.Random(args.seed)

        def fill() -> None:
            nonlocal sets
            for n in range(args.snapshots):
                store.save(replace(snapshot(f"s{n:05d}", sets),
                                   taken_at=T0 + timedelta(hours=n)))
                sets = change(sets, args.changed, rng)

        timed(f"store {args.snapshots} x {args.rules} rules", fill)
        print(f"{'points':<34} {args.snapshots}")
        timed("trend, no cache", lambda: build_trend(store))
        cache = TrendCache(root / "cache" / "trend.db", "bench")
        timed("trend, filling the cache", lambda: build_trend(store, cache=cache))
        warm = TrendCache(root / "cache" / "trend.db", "bench")
        timed("trend, every point cached", lambda: build_trend(store, cache=warm))
        store.save(replace(snapshot("s99999", sets),
                           taken_at=T0 + timedelta(hours=args.snapshots)))
        again = TrendCache(root / "cache" / "trend.db", "bench")
        timed("trend, one new snapshot", lambda: build_trend(store, cache=again))
        print(f"{'cache hits / computed (last run)':<34} {again.hits} / {again.misses}")
        print(f"{'peak RSS':<34} {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:8.1f}"
              " MiB")
        store.close()


if __name__ == "__main__":
    main()
