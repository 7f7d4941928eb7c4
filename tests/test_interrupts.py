"""Ctrl-C, SIGTERM and ``--deadline`` against a deliberately slow cloud, as real processes.

The local Compute server stalls every project request for seconds and dozens of projects queue
behind two workers: collecting them all would take minutes. A signal must end the process in
seconds with the shell's exit code and leave nothing behind: no stored snapshot, no report file,
no temporary file. A deadline must turn what is unfinished into "not collected" errors, finish
the report and exit 3.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from providers.demo.gcp import default_network_firewalls, network
from tests.servers.gcp_compute import Estate, Project, serve

ROOT = Path(__file__).resolve().parent.parent
PROJECTS = 40
STALL = 3.0  # seconds per Compute request: a full scan takes minutes
FULL_SCAN_SECONDS = PROJECTS * STALL / 2  # a lower bound, with two workers
# Generous on a loaded machine, yet far below the full scan: separates "seconds" from "minutes".
PROMPT = 10.0


@pytest.fixture(scope="module")
def slow_gcp():
    projects = {}
    for index in range(PROJECTS):
        pid = f"slow-{index:02d}"
        projects[pid] = Project(pid, number=str(5000 + index),
                                networks=[network(pid, "default", auto=True, order=None)],
                                firewalls=default_network_firewalls(pid))
    estate = Estate(projects=projects, delay={"/compute/v1/projects/": STALL})
    with serve(estate) as server:
        yield server


def _start(server, tmp_path: Path, *extra: str) -> subprocess.Popen:
    args = [sys.executable, "-m", "scanner.cli", "--store", str(tmp_path / "store.db"), "scan",
            "--provider", "gcp", "--gcp-endpoint", server.url, "--concurrency", "2",
            "--timeout", "120", "--save", "--format", "json",
            "--output", str(tmp_path / "out" / "report.json")]
    for pid in server.estate.projects:
        args += ["--project", pid]
    env = {**os.environ, "CLOUDWALL_GCP_TOKEN": server.estate.token, "NO_GCE_CHECK": "true",
           "PYTHONPATH": str(ROOT)}
    (tmp_path / "out").mkdir()
    return subprocess.Popen([*args, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env, cwd=tmp_path, text=True)


def _wait_for_requests_in_flight(server, count: int) -> None:
    start = len(server.requests)
    deadline = time.monotonic() + 60
    while len(server.requests) < start + count:
        assert time.monotonic() < deadline, "the scan never reached the server"
        time.sleep(0.05)


def _stored_snapshots(store: Path) -> int:
    if not store.exists():
        return 0
    db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        return db.execute("SELECT count(*) FROM snapshots").fetchone()[0]
    finally:
        db.close()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_a_slow_scan_at_once_and_writes_nothing(slow_gcp, tmp_path, signum,
                                                               code):
    process = _start(slow_gcp, tmp_path)
    try:
        _wait_for_requests_in_flight(slow_gcp, 2)  # both workers are waiting on the server
        sent = time.monotonic()
        process.send_signal(signum)
        _stdout, stderr = process.communicate(timeout=60)
        elapsed = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == code, stderr
    print(f"stopped {elapsed:.2f}s after the signal")
    assert elapsed < PROMPT < FULL_SCAN_SECONDS, f"took {elapsed:.1f}s to stop"
    assert f"interrupted ({signal.Signals(signum).name})" in stderr
    assert "Traceback" not in stderr
    assert list((tmp_path / "out").iterdir()) == []  # no report, no temporary file
    assert _stored_snapshots(tmp_path / "store.db") == 0


def test_deadline_records_unfinished_scopes_as_not_collected_and_exits_3(slow_gcp, tmp_path):
    sent = time.monotonic()
    process = _start(slow_gcp, tmp_path, "--deadline", "4s")
    try:
        _stdout, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    elapsed = time.monotonic() - sent
    assert process.returncode == 3, stderr
    assert elapsed < 4 + PROMPT < FULL_SCAN_SECONDS, f"took {elapsed:.1f}s"
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    missed = [e for e in report["errors"] if e["reason"] == "not collected: deadline reached"]
    assert len(missed) >= PROJECTS - 4, report["errors"]
    assert {e["code"] for e in missed} == {"DeadlineExceeded"}
    # Every project is accounted for: collected, or listed as not collected.
    assert {s["account"] for s in report["snapshot"]["scopes"]} == set(slow_gcp.estate.projects)
    assert _stored_snapshots(tmp_path / "store.db") == 1  # the honest, partial snapshot
    assert "not fully read" in stderr
