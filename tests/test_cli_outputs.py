"""``--output`` and ``snapshots export`` through the real command: devices, FIFOs, symlinks and
``-`` are written through, never replaced; files keep their mode."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from scanner.cli import main


def cloudwall(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scanner.cli", *args], capture_output=True,
                          cwd=cwd, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)})


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def exported_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("store") / "store.db"
    result = invoke("--store", str(store), "scan", "--provider", "demo", "--save",
                    "--format", "json", "--output", os.devnull)
    assert result.exit_code == 0, result.output
    return store


def _device(path: Path) -> bool:
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        return True
    except (PermissionError, OSError):
        return False


def test_scan_output_to_a_character_device_leaves_the_device(tmp_path):
    node = tmp_path / "null"
    if not _device(node):
        pytest.skip("creating a character device needs CAP_MKNOD; the FIFO test covers the rest")
    result = invoke("scan", "--provider", "demo", "--format", "json", "--output", str(node))
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(node.stat().st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["null"]


def test_scan_output_to_a_fifo_streams_the_report(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    process = subprocess.Popen(
        [sys.executable, "-m", "scanner.cli", "scan", "--provider", "demo", "--format", "json",
         "--output", str(fifo)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)})
    with open(fifo, "rb") as reader:
        document = json.loads(reader.read())
    assert process.wait(timeout=120) == 0
    assert document["snapshot"]["scopes"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)


def test_output_dash_is_stdout(tmp_path):
    result = cloudwall("scan", "--provider", "demo", "--format", "json", "--output", "-",
                       cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["snapshot"]["scopes"]
    assert not (tmp_path / "-").exists()


def test_output_through_a_symlink_replaces_the_target_and_keeps_its_mode(tmp_path):
    real = tmp_path / "reports" / "latest.json"
    real.parent.mkdir()
    real.write_text("{}")
    real.chmod(0o600)
    link = tmp_path / "report.json"
    link.symlink_to(real)
    result = invoke("scan", "--provider", "demo", "--format", "json", "--output", str(link))
    assert result.exit_code == 0, result.output
    assert link.is_symlink()
    assert json.loads(real.read_text())["snapshot"]["scopes"]
    assert stat.S_IMODE(real.stat().st_mode) == 0o600


def test_export_to_a_symlink_a_fifo_and_stdout(exported_store, tmp_path):
    real = tmp_path / "baseline.json"
    link = tmp_path / "link.json"
    link.symlink_to(real)
    result = invoke("--store", str(exported_store), "snapshots", "export", "latest", "-o",
                    str(link))
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and json.loads(real.read_text())["snapshot_id"]

    result = cloudwall("--store", str(exported_store), "snapshots", "export", "latest", "-o", "-",
                       cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["snapshot_id"] == json.loads(real.read_text())["snapshot_id"]
    assert b"to stdout" in result.stderr
    assert not (tmp_path / "-").exists()


def test_export_to_a_device_leaves_the_device(exported_store, tmp_path):
    node = tmp_path / "null"
    if not _device(node):
        os.mkfifo(node)
        pytest.skip("no CAP_MKNOD here; FIFO output is covered by the scan test")
    result = invoke("--store", str(exported_store), "snapshots", "export", "latest", "-o",
                    str(node))
    assert result.exit_code == 0, result.output
    assert stat.S_ISCHR(node.stat().st_mode)


def test_unwritable_outputs_are_one_line_errors(tmp_path):
    target = tmp_path / "dir"
    target.mkdir()
    link = tmp_path / "to-dir"
    link.symlink_to(target)
    result = cloudwall("scan", "--provider", "demo", "--output", str(link), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().startswith("error: ") and b"directory" in result.stderr

    blocker = tmp_path / "file"
    blocker.write_text("keep")
    result = cloudwall("scan", "--provider", "demo", "--output", str(blocker / "report.json"),
                       cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().startswith("error: cannot write"), result.stderr
    assert b"Traceback" not in result.stderr
    assert blocker.read_text() == "keep"
