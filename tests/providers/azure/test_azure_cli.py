"""`cloudwall scan --provider azure` end to end: CLI, engine, adapter, SDK, HTTPS, ARM server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from scanner.cli import main
from scanner.model import Snapshot
from tests.providers.azure.azure_estate import (
    NIC_API,
    NIC_APP,
    NSG_SHARED,
    NSG_WEB,
    SUB,
    SUB_LOCKED,
)


def _scan(arm, store, *extra):
    args = ["--store", str(store), "scan", "--provider", "azure", "--azure-endpoint", arm.url,
            "--format", "json", *extra]
    return CliRunner().invoke(main, args, catch_exceptions=False)


def test_scan_one_subscription_lists_the_whole_estate(arm, tmp_path):
    result = _scan(arm, tmp_path / "store.db", "--subscription", SUB, "--save")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["errors"] == []
    assert [s["account"] for s in document["snapshot"]["scopes"]] == [SUB]
    # 3 NSGs, 11 user rules + 6 default rules each, 4 NICs.
    assert document["summary"]["rule_sets"] == 3
    assert document["summary"]["rules"] == 11 + 3 * 6
    assert document["summary"]["assets"] == 4
    assert arm.token not in result.output
    # The saved snapshot holds every NSG, rule, association, NIC and public address.
    exported = tmp_path / "snapshot.json"
    export = CliRunner().invoke(main, ["--store", str(tmp_path / "store.db"), "snapshots",
                                       "export", "latest", "-o", str(exported)])
    assert export.exit_code == 0, export.output
    snapshot = Snapshot.from_json(exported.read_text())
    sets = {rs.resource_id: rs for rs in snapshot.rule_sets}
    assert {r.name for r in sets[NSG_WEB.lower()].rules} >= {
        "deny-rdp-internet", "allow-https", "allow-rdp-any", "allow-asg-api", "DenyAllInBound"}
    assert {a.target_kind for a in sets[NSG_SHARED.lower()].attachments} == {
        "subnet", "network_interface"}
    nics = {a.asset_id: a for a in snapshot.assets}
    assert nics[NIC_APP.lower()].public_addresses == ("20.61.0.11",)
    assert sorted(p for a in snapshot.assets for p in a.public_addresses) == [
        "20.61.0.10", "20.61.0.11"]
    assert nics[NIC_API.lower()].extra["load_balancer_public_addresses"] == ["20.61.0.20"]
    assert arm.token not in exported.read_text()


def test_scan_every_subscription_reports_the_forbidden_one(arm, tmp_path):
    result = _scan(arm, tmp_path / "store.db")
    assert result.exit_code == 3, result.output
    document = json.loads(result.stdout)
    errors = {(e["account"], e["resource_type"]): e for e in document["errors"]}
    locked = errors[(SUB_LOCKED, None)]
    assert locked["code"] == "AuthorizationFailed" and "Reader" in locked["hint"]
    status = {s["account"]: s["status"] for s in document["snapshot"]["scopes"]}
    assert status[SUB_LOCKED] == "failed" and status[SUB] == "ok"
    assert "INCOMPLETE" in result.stderr


def test_plain_http_endpoint_is_a_usage_error(arm, tmp_path):
    result = CliRunner().invoke(main, ["--store", str(tmp_path / "s.db"), "scan", "--provider",
                                       "azure", "--azure-endpoint", "http://127.0.0.1:1"])
    assert result.exit_code == 2
    assert "https" in result.stderr


def test_real_process_exits_3_for_a_forbidden_subscription(arm, tmp_path):
    env = dict(os.environ, REQUESTS_CA_BUNDLE=arm.ca_bundle, CLOUDWALL_AZURE_TOKEN=arm.token,
               CLOUDWALL_AZURE_ENDPOINT=arm.url, CLOUDWALL_STORE=str(tmp_path / "s.db"))
    out = tmp_path / "report.json"
    process = subprocess.run(
        [sys.executable, "-m", "scanner.cli", "scan", "--provider", "azure",
         "--subscription", SUB, "--subscription", SUB_LOCKED, "--format", "json",
         "--output", str(out)],
        env=env, capture_output=True, text=True, timeout=120,
        cwd=Path(__file__).resolve().parents[3])
    assert process.returncode == 3, process.stderr
    document = json.loads(out.read_text())
    assert [(e["account"], e["code"]) for e in document["errors"]] == [
        (SUB_LOCKED, "AuthorizationFailed")]
    assert document["summary"]["rule_sets"] == 3
    assert arm.token not in process.stdout + process.stderr
    assert "Traceback" not in process.stderr
