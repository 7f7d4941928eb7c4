"""Writing a large JSON scan report: encoded whole, then written, against written as encoded.

    .venv/bin/python bench/bench_report_write.py [--rules 1000000] [--distinct 0.1] [--pretty]
                                                 [--modes whole,streamed] [--reps 2]

Builds the synthetic estate of bench_policies.py, judges it with every built-in policy (the
findings of the report; exposure is left out, its rows are small next to the inventory) and then,
each mode in a fresh process so that one mode's memory does not hide the other's, renders the
JSON report and writes it to a file (scanner.outputs: a temporary file renamed over the
destination):

- ``whole``: ``reports.render("json", ...)`` gives the whole document's bytes, then
  ``write_output`` writes them (the path every report took before streaming).
- ``streamed``: ``reports.render("json", ..., streamed=True)``, written chunk by chunk as it is
  encoded.

Prints, per mode: wall and CPU time of the write stage (building the document included), how
much the process's resident memory grew above what it held before the stage (VmHWM reset through
/proc/self/clear_refs, Linux), the Python heap peak of the stage (tracemalloc, a second run of
the stage), the report's size and its SHA-256 (the two modes must print the same).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def _status(field: str) -> float:
    """A line of /proc/self/status in MiB (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def _reset_peak() -> None:
    """Make VmHWM start again from the current RSS (Linux 4.0+)."""
    Path("/proc/self/clear_refs").write_text("5")


def _one_mode(args: argparse.Namespace) -> dict:
    from bench_policies import build

    from policies import PolicySettings, evaluate, select_policies
    from reports import render
    from scanner.jsonenc import set_pretty
    from scanner.model import ScanReport
    from scanner.outputs import write_output

    # Pinned time and id: both modes' processes must write the same bytes.
    snapshot = replace(build(args.rules, args.seed, args.distinct), snapshot_id="bench",
                       taken_at=datetime(2026, 12, 6, tzinfo=timezone.utc))
    settings = PolicySettings()
    findings = tuple(evaluate(snapshot, select_policies(settings), settings))
    report = ScanReport(snapshot=snapshot, findings=findings, tool_version="bench")
    set_pretty(args.pretty)
    streamed = args.mode == "streamed"
    target = Path(tempfile.mkdtemp(prefix="cloudwall-report-")) / "report.json"

    def stage() -> None:
        write_output(target, render("json", report, streamed=streamed))

    stage()  # warm: imports, the policy metadata, the first file
    best = None
    for _ in range(args.reps):
        before = _status("VmRSS")
        _reset_peak()
        started, cpu = time.perf_counter(), time.process_time()
        stage()
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
        grown = _status("VmHWM") - before
        run = {"wall": wall, "cpu": cpu, "rss_growth": grown}
        best = run if best is None or cpu < best["cpu"] else best
    tracemalloc.start()
    stage()
    heap = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    data = target.read_bytes()
    target.unlink()
    target.parent.rmdir()
    return {**best, "heap": heap, "size": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "rules": snapshot.rule_count(), "findings": len(findings),
            "rss_before": before}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", type=int, default=1_000_000)
    parser.add_argument("--distinct", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--pretty", action="store_true")
    parser.add_argument("--modes", default="whole,streamed")
    parser.add_argument("--reps", type=int, default=2)
    parser.add_argument("--mode", help=argparse.SUPPRESS)  # one mode, in a child process
    args = parser.parse_args()
    if args.mode:
        print(json.dumps(_one_mode(args)))
        return
    results = {}
    for mode in args.modes.split(","):
        argv = [sys.executable, __file__, "--rules", str(args.rules), "--distinct",
                str(args.distinct), "--seed", str(args.seed), "--reps", str(args.reps),
                "--mode", mode] + (["--pretty"] if args.pretty else [])
        out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
        results[mode] = figures = json.loads(out.splitlines()[-1])
        print(f"{mode:9} {figures['rules']:,} rules, {figures['findings']:,} findings: "
              f"{figures['size'] / 2**20:,.1f} MiB report; write stage {figures['wall']:.2f} s "
              f"wall, {figures['cpu']:.2f} s CPU; RSS grew {figures['rss_growth']:,.0f} MiB "
              f"above {figures['rss_before']:,.0f} MiB; heap peak {figures['heap']:,.0f} MiB; "
              f"sha256 {figures['sha256'][:16]}", flush=True)
    if len({r["sha256"] for r in results.values()}) > 1:
        sys.exit("the modes wrote different bytes")
    print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
