"""``cloudwall watch`` as a service: a real process against moto and the CloudTrail stub,
stopped by SIGTERM after its current batch."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from test_aws_watch import REGION, Run, _estate, _open_ssh

from scanner.store import Store

ROOT = Path(__file__).resolve().parents[3]
WAIT = 90.0  # seconds: generous on a loaded machine; a healthy run takes a few


def _lines(stream, into: queue.Queue) -> None:
    for line in stream:
        into.put(line.rstrip("\n"))
    into.put(None)


def _next(lines: queue.Queue, matching) -> str:
    deadline = time.monotonic() + WAIT
    while True:
        line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        assert line is not None, "the process ended"
        if matching(line):
            return line


def _watch(store: Path, *extra: str) -> subprocess.Popen:
    args = [sys.executable, "-m", "scanner.cli", "--store", str(store), "watch",
            "--baseline", "prod", "--provider", "aws", "--regions", REGION, "--interval", "1s",
            "--max-retries", "0", *extra]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=store.parent)


def _reading(process: subprocess.Popen) -> tuple[queue.Queue, queue.Queue]:
    out: queue.Queue = queue.Queue()
    err: queue.Queue = queue.Queue()
    threading.Thread(target=_lines, args=(process.stdout, out), daemon=True).start()
    threading.Thread(target=_lines, args=(process.stderr, err), daemon=True).start()
    return out, err


def test_the_service_alerts_and_stops_cleanly_on_sigterm(aws, tmp_path):
    estate = _estate()
    run = Run(tmp_path)
    run.store.close()
    process = _watch(tmp_path / "store.db")
    try:
        out, err = _reading(process)
        _next(err, lambda line: line.startswith("watch: starting from snapshot"))
        _next(err, lambda line: line.startswith("watch (logs):"))
        _open_ssh(estate["web"])
        alert = json.loads(_next(out, lambda line: True))
        assert (alert["type"], alert["item"]["resource_id"]) == ("drift", estate["web"])
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=WAIT) == 143
        rest = []
        while (line := err.get(timeout=WAIT)) is not None:
            rest.append(line)
        assert any("stopped after the current batch" in line for line in rest)
        assert not any("Traceback" in line for line in rest)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    with Store(tmp_path / "store.db") as store:
        state = json.loads(store.state("watch:prod"))
        assert list(state["checkpoints"]) == [f"aws/{run.full.scopes[0].account}/{REGION}"]
        assert store.load("latest").partial_of == run.full.snapshot_id


@pytest.mark.parametrize(("extra", "message"), [
    (("--interval", "30"), "is not a duration"),
    (("--fail-on-drift", "loud"), "unknown drift gate"),
    (("--aws-queue", "https://sqs.us-east-1.amazonaws.com/1/q", "--baseline", "nope"),
     "no baseline named 'nope'"),
])
def test_bad_input_is_one_line_and_exit_2(aws, tmp_path, extra, message):
    Store(tmp_path / "store.db").close()
    process = _watch(tmp_path / "store.db", *extra)
    _, stderr = process.communicate(timeout=WAIT)
    assert process.returncode == 2
    assert message in stderr and "Traceback" not in stderr
