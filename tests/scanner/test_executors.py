"""Choosing an executor on the command line: usage errors are one line, exit 2."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from scanner.cli import main
from scanner.errors import ConfigError
from scanner.executors import ExecutorSettings, executor_names, make_executor
from scanner.executors.local import ThreadExecutor


def scan(*extra: str, env: dict | None = None):
    return CliRunner().invoke(main, ["scan", "--provider", "demo", "--format", "json", *extra],
                              env=env)


def test_registry_knows_both_executors_and_local_is_the_default():
    assert executor_names() == ["local", "dask"]
    assert isinstance(make_executor(ExecutorSettings()), ThreadExecutor)


def test_dask_without_a_scheduler_is_a_usage_error():
    result = scan("--executor", "dask")
    assert result.exit_code == 2
    assert "error: --executor dask needs the scheduler's address" in result.output
    assert "hint: add --dask-scheduler tcp://HOST:8786" in result.output
    assert "Traceback" not in result.output


def test_scheduler_without_dask_executor_is_a_usage_error():
    result = scan("--dask-scheduler", "tcp://127.0.0.1:8786")
    assert result.exit_code == 2
    assert "--dask-scheduler and --dask-retries need --executor dask" in result.output


def test_scheduler_in_the_environment_alone_leaves_local_scans_alone():
    result = scan(env={"CLOUDWALL_DASK_SCHEDULER": "tcp://127.0.0.1:9"})
    assert result.exit_code == 0, result.output


def test_a_malformed_address_is_refused_before_any_cloud_call():
    with pytest.raises(ConfigError, match="not a Dask scheduler address"):
        make_executor(ExecutorSettings("dask", "http://scheduler:8786"))
