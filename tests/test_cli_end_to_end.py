"""The ``cloudwall`` command end to end: in-process with CliRunner, and as a real subprocess
(``python -m scanner.cli``) wherever the exit code is what is being tested."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import reports
from scanner.cli import main
from scanner.model import Severity, Snapshot

CONTRACT_KEYS = {"schema_version", "tool", "snapshot", "findings", "drift", "errors"}


def cloudwall(*args: str, store: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    """Run the real command in a fresh interpreter, as a user or a CI job would."""
    environment = {**os.environ, **env}
    if store is not None:
        environment["CLOUDWALL_STORE"] = str(store)
    return subprocess.run([sys.executable, "-m", "scanner.cli", *args], capture_output=True,
                          text=True, env=environment, timeout=300)


def invoke(*args: str, store: Path | None = None):
    """The same command in-process (fast); exceptions that escape the CLI fail the test."""
    prefix = ["--store", str(store)] if store is not None else []
    return CliRunner().invoke(main, [*prefix, *args], catch_exceptions=False)


def assert_one_line_error(stderr: str, *fragments: str) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 2, stderr
    assert lines[0].startswith("error: "), stderr
    assert lines[1].startswith("hint: ") and len(lines[1]) > len("hint: "), stderr
    assert "Traceback" not in stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, stderr)


def store_state(path: Path) -> tuple[dict[str, str], list[tuple]]:
    """The store's bytes (file and WAL) and its rows: what "unchanged" means. An empty WAL
    (left by the read-only connection below, removed by the next writer) holds nothing."""
    hashes = {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
              for p in (path, Path(f"{path}-wal")) if p.exists() and p.stat().st_size}
    rows: list[tuple] = []
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        rows = (db.execute("SELECT snapshot_id FROM snapshots ORDER BY 1").fetchall()
                + db.execute("SELECT name, snapshot_id FROM baselines ORDER BY 1").fetchall())
        db.close()
    except sqlite3.DatabaseError:
        pass
    return hashes, rows


@pytest.fixture(scope="module")
def demo_files(tmp_path_factory):
    """A store with the demo's baseline stage saved as baseline ``prod``, and its export."""
    root = tmp_path_factory.mktemp("demo")
    store = root / "store.db"
    first = invoke("scan", "--provider", "demo", "--save", "--format", "json", store=store)
    assert first.exit_code in (0, 3), first.output
    assert "saved snapshot" in first.stderr
    made = invoke("baseline", "set", "prod", "--note", "approved", store=store)
    assert made.exit_code == 0, made.output
    exported = root / "baseline.json"
    done = invoke("snapshots", "export", "latest", "-o", str(exported), store=store)
    assert done.exit_code == 0, done.output
    return {"store": store, "baseline": exported, "first": json.loads(first.stdout)}


# --- the JSON contract ------------------------------------------------------------------------


def test_demo_scan_json_matches_the_contract(demo_files):
    result = cloudwall("scan", "--provider", "demo", "--format", "json")
    document = json.loads(result.stdout)  # stdout carries the report and nothing else
    assert set(document) >= CONTRACT_KEYS
    assert document["schema_version"] == 2
    assert document["tool"]["name"] == "cloudwall" and document["tool"]["version"]
    snapshot = document["snapshot"]
    assert {"id", "taken_at", "scopes"} <= set(snapshot)
    assert snapshot["scopes"], "the demo has scopes"
    for scope in snapshot["scopes"]:
        assert {"provider", "account", "region", "status", "error"} <= set(scope)
        assert scope["status"] in ("ok", "partial", "failed")
    for finding in document["findings"]:
        assert {"id", "policy_id", "title", "severity", "provider", "account", "region",
                "resource_id", "resource_name", "rule", "attack", "compliance",
                "suppressed"} <= set(finding)
        if finding["rule"] is not None:
            assert {"native_id", "direction", "action", "protocol", "ports", "peers",
                    "priority"} <= set(finding["rule"])
    for error in document["errors"]:
        assert {"provider", "scope", "reason", "hint"} <= set(error)
    # Exit code agrees with the report: 3 exactly when some scope was not read.
    incomplete = any(s["status"] != "ok" for s in snapshot["scopes"])
    assert result.returncode == (3 if incomplete else 0), result.stderr
    assert bool(document["errors"]) == incomplete
    # Without a terminal there is no progress bar, only the summary line.
    assert "[#" not in result.stderr and "[-" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"{len(snapshot['scopes'])} scopes")


def test_the_same_scan_twice_gives_the_same_ids_and_contents(demo_files, tmp_path):
    baseline = str(demo_files["baseline"])
    runs = []
    for _ in range(2):
        result = invoke("--store", str(tmp_path / "s.db"), "scan", "--provider", "demo",
                        "--demo-stage", "changed", "--baseline", baseline, "--format", "json",
                        "--save")
        assert result.exit_code in (0, 3), result.output
        runs.append(json.loads(result.stdout))
    first, second = runs
    assert first["snapshot"]["id"] != second["snapshot"]["id"]
    assert [f["id"] for f in first["findings"]] == [f["id"] for f in second["findings"]]
    assert [d["id"] for d in first["drift"]] == [d["id"] for d in second["drift"]]
    assert first["drift"], "the changed demo stage drifts from its baseline"
    assert len({d["id"] for d in first["drift"]}) == len(first["drift"])

    def content(document):
        return {k: v for k, v in document.items() if k not in ("generated_at", "snapshot")}

    assert content(first) == content(second)
    # The stored snapshots differ only in id and time.
    for i, document in enumerate(runs):
        exported = invoke("--store", str(tmp_path / "s.db"), "snapshots", "export",
                          document["snapshot"]["id"], "-o", str(tmp_path / f"{i}.json"))
        assert exported.exit_code == 0, exported.output
    a, b = (json.loads((tmp_path / f"{i}.json").read_text()) for i in range(2))
    for doc in (a, b):
        doc.pop("snapshot_id"), doc.pop("taken_at")
    assert a == b


@pytest.mark.parametrize("fmt", sorted(reports.REGISTRY))
def test_every_format_renders_the_demo(fmt, tmp_path):
    out = tmp_path / f"report.{fmt}"
    result = invoke("scan", "--provider", "demo", "--format", fmt, "--output", str(out))
    assert result.exit_code in (0, 3), result.output
    assert result.stdout == ""  # the report went to --output only
    assert out.stat().st_size > 0


def test_stdout_carries_the_same_report_as_output(tmp_path):
    out = tmp_path / "report.json"
    to_file = invoke("scan", "--provider", "demo", "--format", "json", "--output", str(out))
    to_stdout = invoke("scan", "--provider", "demo", "--format", "json")
    assert to_file.exit_code == to_stdout.exit_code

    def comparable(document):
        return {k: v for k, v in document.items() if k not in ("generated_at", "snapshot")}

    assert comparable(json.loads(out.read_text())) == comparable(json.loads(to_stdout.stdout))


# --- store round trips ------------------------------------------------------------------------


def test_save_baseline_diff_round_trip(tmp_path):
    store = str(tmp_path / "store.db")
    saved = invoke("--store", store, "scan", "--provider", "demo", "--save")
    assert saved.exit_code in (0, 3)
    snapshot_id = saved.stderr.split("saved snapshot ")[1].split()[0]
    listed = invoke("--store", store, "snapshots", "list")
    assert listed.exit_code == 0 and snapshot_id in listed.stdout
    made = invoke("--store", store, "baseline", "set", "prod", "--from-snapshot", snapshot_id)
    assert made.exit_code == 0 and f"baseline prod -> {snapshot_id}" in made.stdout
    refused = invoke("--store", store, "baseline", "set", "prod")
    assert refused.exit_code == 2
    assert_one_line_error(refused.stderr, "already exists")
    shown = invoke("--store", store, "baseline", "show", "prod")
    assert shown.exit_code == 0 and snapshot_id in shown.stdout
    assert "prod" in invoke("--store", store, "baseline", "list").stdout

    same = invoke("--store", store, "diff", "--baseline", "prod", "--format", "json")
    document = json.loads(same.stdout)
    assert document["drift"] == []
    assert document["baseline"] == {"name": "prod", "snapshot_id": snapshot_id}

    changed = invoke("--store", store, "scan", "--provider", "demo", "--demo-stage", "changed",
                     "--save")
    assert changed.exit_code in (0, 3)
    drifted = invoke("--store", store, "diff", "--baseline", "prod", "--snapshot", "latest",
                     "--format", "json", "--fail-on", "info")
    assert drifted.exit_code == 1
    document = json.loads(drifted.stdout)
    assert document["drift"] and document["baseline"]["snapshot_id"] == snapshot_id
    assert all("T1562.007" in d["attack"] for d in document["drift"] if d["effect"] == "widened")
    # An id prefix that names one snapshot (both were taken within the same minute here).
    shown = invoke("--store", store, "snapshots", "show", snapshot_id[:-2], "--format", "json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["snapshot"]["id"] == snapshot_id
    ambiguous = invoke("--store", store, "snapshots", "show", snapshot_id[:4])
    assert ambiguous.exit_code == 2
    assert_one_line_error(ambiguous.stderr, "ambiguous")


def test_export_then_import_gives_an_identical_snapshot(demo_files, tmp_path):
    other = tmp_path / "other.db"
    imported = invoke("snapshots", "import", str(demo_files["baseline"]), store=other)
    assert imported.exit_code == 0, imported.output
    snapshot_id = imported.stdout.strip()
    again = tmp_path / "again.json"
    exported = invoke("snapshots", "export", snapshot_id, "--output", str(again), store=other)
    assert exported.exit_code == 0, exported.output
    assert again.read_bytes() == demo_files["baseline"].read_bytes()
    assert Snapshot.from_json(again.read_text()).snapshot_id == snapshot_id


def test_a_missing_store(tmp_path):
    store = str(tmp_path / "empty.db")
    for args in (("snapshots", "list"), ("baseline", "list"), ("snapshots", "show"),
                 ("diff", "--baseline", "prod"),
                 ("snapshots", "export", "-o", str(tmp_path / "x.json")),
                 ("baseline", "set", "prod"), ("baseline", "show", "prod"),
                 ("baseline", "log", "prod"), ("baseline", "delete", "prod"),
                 ("snapshots", "delete", "s-1"), ("snapshots", "prune", "--keep", "1"),
                 ("snapshots", "prune", "--keep", "1", "--apply"), ("exposure",),
                 ("report", "compliance", "--framework", "cis-aws"),
                 ("scan", "--provider", "demo", "--baseline", "prod")):
        result = invoke("--store", store, *args)
        assert result.exit_code == 2, (args, result.output)
        assert_one_line_error(result.stderr, "there is no store at")
        assert "hint: save a snapshot first" in result.stderr
    assert not (tmp_path / "x.json").exists()
    # Reading never creates a store: a mistyped --store path stays absent.
    assert not (tmp_path / "empty.db").exists()


def test_baseline_file_needs_no_store(tmp_path, demo_files):
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"not a database at all")
    result = invoke("--store", str(broken), "scan", "--provider", "demo", "--demo-stage",
                    "changed", "--baseline", str(demo_files["baseline"]), "--format", "json")
    assert result.exit_code in (0, 3), result.output
    assert json.loads(result.stdout)["drift"]
    assert broken.read_bytes() == b"not a database at all"


# --- --fail-on with the demo's drift ----------------------------------------------------------


def test_fail_on_drift_at_or_above(demo_files):
    args = ("scan", "--provider", "demo", "--demo-stage", "changed",
            "--baseline", str(demo_files["baseline"]), "--format", "json")
    plain = cloudwall(*args)
    document = json.loads(plain.stdout)
    incomplete = not document["summary"]["complete"]
    assert plain.returncode == (3 if incomplete else 0), plain.stderr
    assert document["drift"], "the changed demo stage drifts from its baseline"
    worst = max((Severity(d["severity"]) for d in document["drift"]), key=lambda s: s.rank)
    active = [Severity(f["severity"]) for f in document["findings"] if not f["suppressed"]]
    top = max([worst, *active], key=lambda s: s.rank)
    assert cloudwall(*args, "--fail-on", worst.value).returncode == 1
    assert invoke(*args, "--fail-on", "info").exit_code == 1
    above = [s for s in Severity if s.rank > top.rank]
    if above:  # nothing at or above a stricter threshold: the scan's own status decides
        assert invoke(*args, "--fail-on", above[0].value).exit_code == (3 if incomplete else 0)
    # The baseline stage compared with itself has no drift at all.
    same = invoke("scan", "--provider", "demo", "--baseline", str(demo_files["baseline"]),
                  "--format", "json", "--fail-on", "info")
    assert json.loads(same.stdout)["drift"] == []


# --- errors: one line, exit 2, store unchanged ------------------------------------------------


def test_bad_flags_exit_2_with_one_line(tmp_path):
    for args in (("scan", "--bogus"), ("--bogus",), ("scan",), ("nosuch",),
                 ("scan", "--provider", "demo", "--format", "xml"),
                 ("scan", "--provider", "demo", "--fail-on", "urgent"),
                 ("scan", "--provider", "nocloud")):
        result = invoke(*args, store=tmp_path / "s.db")
        assert result.exit_code == 2, (args, result.output)
        assert_one_line_error(result.stderr)
        assert result.stdout == ""
    real = cloudwall("scan", "--bogus", store=tmp_path / "s.db")
    assert real.returncode == 2 and real.stdout == ""
    assert_one_line_error(real.stderr, "--bogus")
    assert not (tmp_path / "s.db").exists()


def test_a_corrupt_store_exits_2_and_is_left_alone(tmp_path):
    store = tmp_path / "corrupt.db"
    store.write_bytes(b"\x00garbage, not SQLite\n" * 500)
    before = store_state(store)
    for args in (("snapshots", "list"), ("scan", "--provider", "demo", "--save"),
                 ("diff", "--baseline", "prod"), ("baseline", "set", "x")):
        result = invoke(*args, store=store)
        assert result.exit_code == 2, (args, result.output)
        assert_one_line_error(result.stderr, str(store))
        assert store_state(store) == before
    real = cloudwall("scan", "--provider", "demo", "--save", store=store)
    assert real.returncode == 2
    assert_one_line_error(real.stderr, "corrupt")
    assert store_state(store) == before


def test_a_foreign_sqlite_file_as_store_exits_2_and_is_left_alone(tmp_path):
    store = tmp_path / "app.db"
    db = sqlite3.connect(store)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    before = store_state(store)
    result = cloudwall("--store", str(store), "scan", "--provider", "demo", "--save")
    assert result.returncode == 2
    assert_one_line_error(result.stderr, "not a cloudwall store")
    assert store_state(store) == before


def test_truncated_snapshot_json_exits_2_and_leaves_the_store(demo_files, tmp_path):
    store = tmp_path / "store.db"
    assert invoke("snapshots", "import", str(demo_files["baseline"]), store=store).exit_code == 0
    text = demo_files["baseline"].read_text()
    truncated = tmp_path / "truncated.json"
    truncated.write_text(text[: len(text) // 2])
    before = store_state(store)
    for args in (("snapshots", "import", str(truncated)),
                 ("scan", "--provider", "demo", "--save", "--baseline", str(truncated)),
                 ("diff", "--baseline", str(truncated))):
        result = invoke(*args, store=store)
        assert result.exit_code == 2, (args, result.output)
        assert_one_line_error(result.stderr, "truncated.json")
        assert result.stdout == ""
        assert store_state(store) == before
    real = cloudwall("snapshots", "import", str(truncated), store=store)
    assert real.returncode == 2
    assert_one_line_error(real.stderr, "not valid snapshot JSON")
    assert store_state(store) == before


def test_unknown_baseline_exits_2_and_leaves_the_store(demo_files, tmp_path):
    store = tmp_path / "store.db"
    assert invoke("snapshots", "import", str(demo_files["baseline"]), store=store).exit_code == 0
    before = store_state(store)
    for args in (("diff", "--baseline", "nope"),
                 ("scan", "--provider", "demo", "--save", "--baseline", "nope"),
                 ("baseline", "show", "nope")):
        result = invoke(*args, store=store)
        assert result.exit_code == 2, (args, result.output)
        assert_one_line_error(result.stderr, "no baseline named 'nope'")
        assert store_state(store) == before
    real = cloudwall("diff", "--baseline", "nope", store=store)
    assert real.returncode == 2
    assert_one_line_error(real.stderr, "no baseline named 'nope'")
    assert store_state(store) == before


def test_debug_shows_the_traceback(tmp_path):
    quiet = invoke("diff", "--baseline", "nope", store=tmp_path / "s.db")
    loud = cloudwall("--debug", "diff", "--baseline", "nope", store=tmp_path / "s.db")
    assert quiet.exit_code == loud.returncode == 2
    assert "Traceback" not in quiet.stderr
    assert "Traceback" in loud.stderr and "StoreError" in loud.stderr
    assert loud.stderr.startswith("error: there is no store at")


def test_an_unexpected_error_is_reported_as_a_bug_not_a_traceback():
    @click.command("explode-for-test")
    def explode() -> None:
        raise RuntimeError("boom \x1b[31m")

    main.add_command(explode)
    try:
        result = CliRunner().invoke(main, ["explode-for-test"])
        debug = CliRunner().invoke(main, ["--debug", "explode-for-test"])
    finally:
        del main.commands["explode-for-test"]
    assert result.exit_code == 70
    assert result.stderr.splitlines() == [
        "internal error: RuntimeError: boom ?[31m",
        "hint: rerun with --debug for the traceback and report it",
    ]
    assert debug.exit_code == 70 and "Traceback" in debug.stderr


# --- output files -----------------------------------------------------------------------------


def test_output_is_written_whole_or_not_at_all(tmp_path):
    out = tmp_path / "reports" / "scan.json"
    ok = cloudwall("scan", "--provider", "demo", "--format", "json", "--output", str(out))
    assert ok.returncode in (0, 3) and ok.stdout == ""
    first = out.read_bytes()
    assert json.loads(first)["schema_version"] == 2
    # A run that fails before its report leaves the previous report as it was.
    failed = invoke("scan", "--provider", "demo", "--baseline", "nope", "--format", "json",
                    "--output", str(out), store=tmp_path / "s.db")
    assert failed.exit_code == 2
    assert out.read_bytes() == first
    # No temporary files are left next to it.
    assert [p.name for p in out.parent.iterdir()] == ["scan.json"]
    blocked = tmp_path / "file"
    blocked.write_text("x")
    refused = invoke("scan", "--provider", "demo", "--output", str(blocked / "r.txt"))
    assert refused.exit_code == 2
    assert_one_line_error(refused.stderr, "cannot write")


def test_demo_tells_the_whole_story_without_touching_the_users_store(tmp_path):
    users_store = tmp_path / "mine.db"
    out = tmp_path / "demo.json"
    result = cloudwall("demo", "--format", "json", "--output", str(out), store=users_store)
    assert result.returncode == 0, result.stderr
    document = json.loads(out.read_text())
    assert document["drift"], "the demo shows drift"
    assert document["baseline"]["name"] == "demo"
    assert "T1562.007" in result.stderr
    assert not users_store.exists()


def test_python_dash_m_and_version():
    result = cloudwall("--version")
    assert result.returncode == 0 and "cloudwall" in result.stdout
    helped = invoke("--help")
    assert helped.exit_code == 0 and "Exit codes" in helped.stdout
    # A group without its command shows the help, not a one-line error.
    for args in ((), ("snapshots",)):
        bare = CliRunner().invoke(main, list(args))
        assert "Usage:" in bare.output and "error:" not in bare.output, args


def test_progress_goes_to_a_terminal_stderr_and_never_to_stdout():
    # stderr is a pseudo-terminal (the child's output is small: it cannot fill the buffer).
    leader, follower = os.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "scanner.cli", "scan", "--provider", "demo", "--format",
             "json"], stdout=subprocess.PIPE, stderr=follower, timeout=300)
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the terminal's other end is closed
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
        if follower != -1:
            os.close(follower)
    terminal = b"".join(chunks).decode()
    assert result.returncode in (0, 3)
    assert "[" in terminal and "#" in terminal and " scopes (" in terminal
    json.loads(result.stdout)  # stdout is the report alone


def test_a_scope_that_cannot_be_read_exits_3_and_the_report_says_which(tmp_path):
    """Over a real (refused) connection: the Azure adapter records the scope as not collected."""
    import socket

    with socket.socket() as probe:  # a loopback port with nothing listening on it
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out = tmp_path / "report.json"
    subscription = "5f1c2a3b-0000-4c1d-9e2f-0123456789ab"
    result = cloudwall("scan", "--provider", "azure", "--subscription", subscription,
                       "--azure-endpoint", f"https://127.0.0.1:{port}", "--timeout", "5",
                       "--format", "json", "--output", str(out), "--fail-on", "critical",
                       CLOUDWALL_AZURE_TOKEN="not-a-real-token")
    assert result.returncode == 3, result.stderr
    assert "INCOMPLETE" in result.stderr and "Traceback" not in result.stderr
    document = json.loads(out.read_text())
    assert [(s["account"], s["status"]) for s in document["snapshot"]["scopes"]] == [
        (subscription, "failed")]
    [error] = document["errors"]
    assert error["scope"] == f"azure/{subscription}" and error["reason"] and error["hint"]
    assert document["summary"]["complete"] is False
