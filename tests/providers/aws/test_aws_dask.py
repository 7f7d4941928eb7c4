"""``--executor dask``: AWS scopes collected on a real multi-process Dask cluster.

One ``distributed.LocalCluster`` per module: two worker processes with one thread each, on
loopback, started by a nanny that restarts a killed worker. The workers get their own
environment (fake credentials, the moto and stub endpoints, STS through the stub so a test can
deny the *workers'* identity alone); the client ships only provider names and settings.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from providers.aws import AwsProvider
from providers.base import ProviderSettings
from providers.demo import DemoProvider
from scanner.cli import main
from scanner.collect import collect_snapshot
from scanner.errors import ConfigError
from scanner.executors import ExecutorSettings, make_executor
from scanner.model import Scope
from tests.dask_support import local_cluster
from tests.dask_support import snapshot_content as content

distributed = pytest.importorskip("distributed")

REGIONS = ("us-east-1", "eu-west-1")
# Empty regions of the same account: more scopes than workers, so queues form.
MORE_REGIONS = REGIONS + ("us-west-2", "ap-southeast-2", "eu-central-1", "sa-east-1",
                          "ca-central-1", "ap-northeast-1")


@pytest.fixture(scope="module")
def cluster(shared_estate, moto_url, stub_server):
    env = {"AWS_ENDPOINT_URL": moto_url, "AWS_ENDPOINT_URL_STS": stub_server.url,
           **{f"AWS_ENDPOINT_URL_{s}": stub_server.url for s in ("EC2", "GUARDDUTY")}}
    with local_cluster(env) as local:
        yield local


@pytest.fixture
def control(cluster):
    """A client of our own, to look at and act on the cluster while a scan runs."""
    with distributed.Client(cluster.scheduler_address, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=60)
        yield client


def dask_executor(cluster, retries: int = 2):
    return make_executor(ExecutorSettings("dask", cluster.scheduler_address, retries))


def aws(regions=REGIONS) -> AwsProvider:
    return AwsProvider(ProviderSettings(regions=regions, max_retries=0))


def test_dask_snapshot_equals_the_local_one(stub, cluster):
    seen = []
    remote = collect_snapshot([aws()], executor=dask_executor(cluster),
                              progress=lambda label, done, total: seen.append((done, total)))
    local = collect_snapshot([aws()])
    assert not local.errors and local.rule_sets
    assert content(remote) == content(local)
    assert seen == [(1, 2), (2, 2)]  # progress as each scope completes


def test_demo_estate_of_three_clouds_is_identical_too(cluster):
    remote = collect_snapshot([DemoProvider(ProviderSettings())],
                              executor=dask_executor(cluster))
    local = collect_snapshot([DemoProvider(ProviderSettings())])
    assert len(remote.scopes) == 4 and remote.rule_sets
    assert content(remote) == content(local)


def test_cli_scan_on_the_cluster_from_the_environment(stub, cluster, tmp_path, monkeypatch):
    monkeypatch.setenv("CLOUDWALL_DASK_SCHEDULER", cluster.scheduler_address)
    args = ["--store", str(tmp_path / "s.db"), "scan", "--provider", "aws", "--regions",
            ",".join(REGIONS), "--format", "json", "--save"]
    remote = CliRunner().invoke(main, [*args, "--executor", "dask"])
    assert remote.exit_code == 0, remote.output
    local = CliRunner().invoke(main, args)  # the variable alone does not switch executors
    assert local.exit_code == 0, local.output
    a, b = json.loads(remote.stdout), json.loads(local.stdout)
    assert a["summary"] == b["summary"] and a["findings"] == b["findings"]
    assert a["inventory"] == b["inventory"]


def test_scope_denied_on_a_worker_is_recorded_like_a_local_one(stub, cluster, tmp_path):
    stub.fail("ec2", "UnauthorizedOperation", region="eu-west-1")
    remote = collect_snapshot([aws()], executor=dask_executor(cluster))
    local = collect_snapshot([aws()])
    assert {e.region for e in remote.errors} == {"eu-west-1"}
    assert {e.code for e in remote.errors} == {"AccessDenied"}
    assert content(remote) == content(local)
    result = CliRunner().invoke(main, [
        "--store", str(tmp_path / "s.db"), "scan", "--provider", "aws", "--regions",
        ",".join(REGIONS), "--executor", "dask", "--dask-scheduler", cluster.scheduler_address,
        "--format", "json"])
    assert result.exit_code == 3, result.output


def test_workers_use_their_own_identity_and_a_failing_task_is_retried_then_recorded(
        stub, cluster):
    # Only the workers reach STS through the stub: the client's identity is fine, theirs not.
    stub.fail("sts", "AccessDenied")
    snapshot = collect_snapshot([aws()], executor=dask_executor(cluster, retries=1))
    assert {(e.region, e.code) for e in snapshot.errors} == {
        ("us-east-1", "WorkerFailed"), ("eu-west-1", "WorkerFailed")}
    error = snapshot.errors[0]
    assert "after 2 attempts" in error.reason and "cannot use the AWS credentials" in error.reason
    assert "credentials" in error.hint
    assert not snapshot.rule_sets
    # two scopes, each tried twice, each attempt asking who the worker is
    assert stub.pages("GetCallerIdentity") == 4
    assert {s.region for s in snapshot.scopes} == set(REGIONS)


def test_a_worker_killed_mid_scan_loses_nothing(stub, cluster, control):
    local = collect_snapshot([aws(MORE_REGIONS)])
    stub.latency = 0.1  # every scope takes about a second: time to kill a busy worker
    killed = []

    def kill_a_busy_worker():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            busy = control.run_on_scheduler(lambda dask_scheduler: [
                w.address for w in dask_scheduler.workers.values() if w.processing])
            if busy:
                pids = control.run(os.getpid, workers=busy[:1])
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.append(busy[0])
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    try:
        remote = collect_snapshot([aws(MORE_REGIONS)], executor=dask_executor(cluster))
    finally:
        killer.join()
        stub.latency = 0.0
    assert killed
    assert not remote.errors
    assert content(remote) == content(local)


def test_interrupt_cancels_what_the_cluster_has_not_run(stub, cluster, control):
    stub.latency = 0.1

    def interrupt(_label, _done, _total):
        raise KeyboardInterrupt

    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            collect_snapshot([aws(MORE_REGIONS)], executor=dask_executor(cluster),
                             progress=interrupt)
        assert time.monotonic() - started < 30
        # Nothing of the scan is left on the scheduler, and the workers stop calling the cloud
        # once the tasks already running have ended.
        wait_until(lambda: not control.run_on_scheduler(lambda dask_scheduler: [
            k for k in dask_scheduler.tasks if str(k).startswith("cloudwall-collect-")]))
        time.sleep(2.5)
        calls = stub.pages("DescribeSecurityGroups")
        time.sleep(2.5)
        assert stub.pages("DescribeSecurityGroups") == calls
        assert calls < len(MORE_REGIONS)  # the queued scopes never ran
    finally:
        stub.latency = 0.0


def test_deadline_records_unfinished_scopes(stub, cluster):
    # A dozen sequential calls per scope at 0.5 s: no scope can finish within the deadline; the
    # client's own discovery (straight to moto, no latency) does, even on a loaded machine.
    stub.latency = 0.5
    try:
        snapshot = collect_snapshot([aws(MORE_REGIONS)], executor=dask_executor(cluster),
                                    deadline=time.monotonic() + 5.0)
    finally:
        stub.latency = 0.0
    codes = {e.code for e in snapshot.errors}
    assert codes == {"DeadlineExceeded"}
    assert {s.region for s in snapshot.scopes} == set(MORE_REGIONS)  # none silently missing
    assert {e.region for e in snapshot.errors} == set(MORE_REGIONS)
    assert not snapshot.rule_sets


def test_an_unreachable_scheduler_is_a_one_line_error():
    executor = make_executor(ExecutorSettings("dask", "tcp://127.0.0.1:9",
                                              dask_connect_timeout=1))
    with pytest.raises(ConfigError) as raised:
        executor.run([(aws(), Scope("aws", "123456789012", "us-east-1"))], None,
                     lambda *_: None, None)
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in raised.value.message
    assert "dask scheduler" in raised.value.hint


def wait_until(check, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_sigterm_stops_a_distributed_scan_at_once_and_cancels_its_tasks(
        stub, cluster, control, moto_url, tmp_path):
    stub.latency = 0.2
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_url,
           **{f"AWS_ENDPOINT_URL_{s}": stub.url for s in ("EC2", "GUARDDUTY", "CLOUDTRAIL")},
           "PYTHONPATH": str(Path(__file__).resolve().parents[3])}
    def clients() -> set[str]:
        return set(control.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.clients)))

    known = clients()
    process = subprocess.Popen(
        [sys.executable, "-m", "scanner.cli", "--store", str(tmp_path / "s.db"), "scan",
         "--provider", "aws", "--regions", ",".join(MORE_REGIONS), "--executor", "dask",
         "--dask-scheduler", cluster.scheduler_address, "--save", "--format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=tmp_path, text=True)
    try:
        # The scan's own client on the scheduler first: its process has its signal handlers by
        # then (tasks an earlier test left running on the shared cluster read pages too).
        # Generous: on a loaded machine the client's start (dask, boto3) alone can take long.
        wait_until(lambda: clients() - known, timeout=180)
        # The rule rows are read mid-way through a scope (the groups come after them).
        before = stub.pages("DescribeSecurityGroupRules")
        wait_until(lambda: stub.pages("DescribeSecurityGroupRules") > before, timeout=180)
        sent = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _stdout, stderr = process.communicate(timeout=60)
        elapsed = time.monotonic() - sent
        wait_until(lambda: not control.run_on_scheduler(lambda dask_scheduler: [
            k for k in dask_scheduler.tasks if str(k).startswith("cloudwall-collect-")]))
    finally:
        stub.latency = 0.0
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 143, stderr
    assert elapsed < 15, f"took {elapsed:.1f}s to stop"
    assert "interrupted (SIGTERM)" in stderr and "Traceback" not in stderr
    store = tmp_path / "s.db"
    if store.exists():  # nothing half-collected was saved
        db = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
        try:
            assert db.execute("SELECT count(*) FROM snapshots").fetchone()[0] == 0
        finally:
            db.close()
