"""``cloudwall scan --provider gcp`` against the local server: CliRunner and a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from click.testing import CliRunner

from scanner.cli import main


def test_scan_json_lists_the_served_estate(gcp):
    result = CliRunner().invoke(main, [
        "scan", "--provider", "gcp", "--gcp-endpoint", gcp.url, "--project", "alpha",
        "--project", "beta", "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["errors"] == []
    assert {s["account"] for s in document["snapshot"]["scopes"]} >= {"alpha", "beta"}


def test_forbidden_project_is_in_errors_with_exit_3(gcp, tmp_path):
    output = tmp_path / "report.json"
    result = CliRunner().invoke(main, [
        "scan", "--provider", "gcp", "--gcp-endpoint", gcp.url, "--project", "alpha",
        "--project", "gamma", "--format", "json", "--output", str(output)])
    assert result.exit_code == 3, result.output
    document = json.loads(output.read_text())
    (error,) = document["errors"]
    assert error["account"] == "gamma" and error["code"] == "403"
    assert "roles/compute.networkViewer" in error["hint"]


def test_snapshot_lists_every_rule_policy_association_and_instance(gcp, tmp_path):
    store = tmp_path / "store.db"
    runner = CliRunner()
    result = runner.invoke(main, [
        "--store", str(store), "scan", "--provider", "gcp", "--gcp-endpoint", gcp.url,
        "--project", "alpha", "--format", "json", "--save"])
    assert result.exit_code == 0, result.output
    snapshot_id = result.stderr.split("saved snapshot ", 1)[1].split()[0]
    exported = tmp_path / "snap.json"
    result = runner.invoke(main, ["--store", str(store), "snapshots", "export", snapshot_id,
                                  "--output", str(exported)])
    assert result.exit_code == 0, result.output
    snapshot = json.loads(exported.read_text())
    alpha = gcp.estate.projects["alpha"]
    rule_names = {r.get("name") for rs in snapshot["rule_sets"] for r in rs["rules"]}
    assert {f["name"] for f in alpha.firewalls} <= rule_names
    policy_rules = {(rs["name"], r["priority"]) for rs in snapshot["rule_sets"]
                    if rs["kind"] != "gcp_vpc_firewall" for r in rs["rules"]}
    for policy in alpha.network_policies + gcp.estate.hierarchical_policies[:2]:
        for rule in policy["rules"]:
            assert (policy.get("shortName", policy["name"]), rule["priority"]) in policy_rules
    attachments = {(rs["name"], a["target_id"]) for rs in snapshot["rule_sets"]
                   for a in rs["attachments"]}
    assert ("prod-policy", "projects/alpha/global/networks/prod") in attachments
    assert ("org-baseline", "organizations/100") in attachments
    served = {f"{z}/{i['name']}" for z, items in alpha.instances.items() for i in items}
    assets = {a["asset_id"].split("/zones/")[1].replace("/instances/", "/").rsplit("/", 1)[0]
              for a in snapshot["assets"]}
    assert assets == served
    assert {n["name"] for n in snapshot["networks"]} == {"default", "prod", "lab"}


def test_real_process_exit_code_3_and_no_aws_sdk(gcp):
    env = {**os.environ, "CLOUDWALL_GCP_TOKEN": gcp.estate.token, "NO_GCE_CHECK": "true",
           "PYTHONPATH": os.pathsep.join(sys.path)}
    probe = (
        "import sys\n"
        "from scanner.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:], prog_name='cloudwall')\n"
        "except SystemExit as exit:\n"
        "    assert 'boto3' not in sys.modules, 'gcp scan imported boto3'\n"
        "    raise\n"
    )
    process = subprocess.run(
        [sys.executable, "-c", probe, "scan", "--provider", "gcp", "--gcp-endpoint", gcp.url,
         "--project", "alpha", "--project", "gamma", "--format", "json"],
        capture_output=True, text=True, env=env, timeout=120)
    assert process.returncode == 3, process.stderr
    document = json.loads(process.stdout)
    assert [e["account"] for e in document["errors"]] == ["gamma"]
    assert "test-token" not in process.stdout + process.stderr


def test_drift_with_attribution_through_the_cli(gcp, tmp_path):
    from datetime import datetime, timezone

    from providers.demo.gcp import audit_entry
    from tests.providers.gcp.test_gcp_drift import impair

    store = str(tmp_path / "store.db")
    runner = CliRunner()
    common = ["--store", store, "scan", "--provider", "gcp", "--gcp-endpoint", gcp.url,
              "--project", "alpha"]
    assert runner.invoke(main, [*common, "--save", "--format", "json"]).exit_code == 0
    assert runner.invoke(main, ["--store", store, "baseline", "set", "prod"]).exit_code == 0
    impair(gcp.estate)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    gcp.estate.log_entries = [audit_entry(
        "v1.compute.firewalls.patch", "projects/alpha/global/firewalls/deny-ssh-internet",
        when, "mallory@evil.example", "203.0.113.9", log_parent="projects/alpha")]
    result = runner.invoke(main, [*common, "--baseline", "prod", "--attribute",
                                  "--format", "json"])
    assert result.exit_code == 0, result.output
    drift = {(d["change"], d["rule_key"]): d for d in json.loads(result.stdout)["drift"]}
    (who,) = drift[("rule_disabled", "deny-ssh-internet/tcp")]["attribution"]
    assert (who["actor"], who["source_address"]) == ("mallory@evil.example", "203.0.113.9")
    (nobody,) = drift[("rule_added", "allow-ssh-everywhere/tcp")]["attribution"]
    assert nobody["actor"] is None and nobody["unavailable_reason"]
