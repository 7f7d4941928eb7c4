"""Compliance reports: pass, fail with the failing rules, or not assessed and why."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from policies import PolicySettings, available_policies, evaluate_snapshot, select_policies
from policies.cases import rule_set
from policies.compliance import assess
from policies.frameworks import FRAMEWORKS, framework
from reports import compliance_markdown
from scanner.cli import main
from scanner.model import CollectionError, Scope, Snapshot

AWS = Scope("aws", "111122223333", "us-east-1")
AZURE = Scope("azure", "sub-1")


def _snapshot(errors=(), scopes=(AWS, AZURE)) -> Snapshot:
    items = [
        rule_set({"kind": "security_group", "resource_id": "sg-1", "name": "web `*evil*` | x",
                  "rules": [{"ports": "22", "peers": ["0.0.0.0/0"], "native_id": "sgr-1"}]}, "t"),
        rule_set({"kind": "nsg", "resource_id": "nsg-1", "name": "nsg-1",
                  "rules": [{"ports": "443", "peers": ["10.0.0.0/8"]}]}, "t"),
        *errors,
    ]
    return Snapshot.from_items("snap-1", datetime(2026, 1, 1, tzinfo=timezone.utc), scopes,
                               items, [s.provider for s in scopes])


def _report(framework_id, snapshot, settings=None):
    settings = settings or PolicySettings()
    findings, _ = evaluate_snapshot(snapshot, settings)
    return assess(framework(framework_id), snapshot, findings, available_policies(settings),
                  select_policies(settings))


def _results(report):
    (only,) = report.frameworks
    return only.results


def _status(report):
    return {r.control.control_id: (r.status, r.reason) for r in _results(report)}


def test_fail_pass_and_data_not_collected():
    report = _report("aws-fsbp", _snapshot())
    status = _status(report)
    assert status["EC2.13"][0] == "fail"
    assert status["EC2.14"] == ("pass", "")
    assert status["NetworkFirewall.9"][0] == "not_assessed"
    assert status["NetworkFirewall.9"][1].startswith("data not collected")
    failing = next(r for r in _results(report) if r.control.control_id == "EC2.13")
    assert [f.rule.native_id for f in failing.findings] == ["sgr-1"]


def test_a_failed_scope_is_never_a_pass():
    error = CollectionError("aws", "111122223333", "us-east-1", "AccessDenied",
                            resource_type="NetworkAcls")
    status = _status(_report("aws-fsbp", _snapshot(errors=[error])))
    assert status["EC2.13"][0] == "fail"  # a failure seen is a failure
    assert status["EC2.14"][0] == "not_assessed"
    assert status["EC2.14"][1].startswith("scope failed: aws/111122223333/us-east-1 (partial)")


def test_out_of_scope_without_the_cloud_or_with_skipped_policies():
    status = _status(_report("cis-gcp", _snapshot()))
    assert status["3.6"][0] == "not_assessed"
    assert "no gcp scope" in status["3.6"][1]
    skipped = _status(_report("aws-fsbp", _snapshot(), PolicySettings(skip=("CW-NET-001",))))
    assert skipped["EC2.13"][0] == "not_assessed"
    assert "policies not run (CW-NET-001)" in skipped["EC2.13"][1]


@pytest.mark.parametrize("framework_id", sorted(FRAMEWORKS))
def test_every_collected_control_is_assessed_by_some_policy(framework_id):
    chosen = FRAMEWORKS[framework_id]
    policies = available_policies()
    for control in chosen.controls:
        mapped = [p.policy_id for p in policies for ref in p.meta.compliance
                  if ref.framework == framework_id and ref.version == chosen.version
                  and ref.control == control.control_id]
        assert bool(mapped) == control.collected, (control.control_id, mapped)


def test_markdown_escapes_names_from_the_cloud():
    text = compliance_markdown.render(_report("aws-fsbp", _snapshot()))
    assert "| EC2.13 | FAIL |" in text
    # A name from the cloud is a literal code span longer than any backtick run inside it.
    assert "aws ``web `*evil*` | x`` rule `sgr-1`" in text
    assert "## Not assessed" in text and "NetworkFirewall.9" in text


@pytest.mark.parametrize("framework_id", sorted(FRAMEWORKS))
def test_cli_renders_every_framework_on_a_stored_snapshot(tmp_path, framework_id):
    store = tmp_path / "store.db"
    exported = tmp_path / "snap.json"
    exported.write_text(_snapshot().to_json())
    runner = CliRunner()
    assert runner.invoke(main, ["--store", str(store), "snapshots", "import",
                                str(exported)]).exit_code == 0
    result = runner.invoke(main, ["--store", str(store), "report", "compliance", "--framework",
                                  framework_id, "--format", "json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    (only,) = document["frameworks"]
    assert only["id"] == framework_id
    assert len(only["controls"]) == len(FRAMEWORKS[framework_id].controls)
    assert sum(only["summary"][k] for k in ("pass", "fail", "not_assessed")) == \
        only["summary"]["controls"] == document["summary"]["controls"]
    markdown = runner.invoke(main, ["--store", str(store), "report", "compliance",
                                    "--framework", framework_id, "--snapshot", str(exported)])
    assert markdown.exit_code == 0 and markdown.stdout.startswith("# ")


def test_unknown_framework_is_a_usage_error():
    result = CliRunner().invoke(main, ["report", "compliance", "--framework", "cis-aw"])
    assert result.exit_code == 2
    assert "unknown framework 'cis-aw'" in result.output and "cis-aws" in result.output


def test_demo_scan_has_findings_on_every_cloud_and_every_framework_renders(tmp_path):
    store = str(tmp_path / "demo.db")
    runner = CliRunner()
    scan = runner.invoke(main, ["--store", store, "scan", "--provider", "demo", "--save",
                                "--format", "json"])
    assert scan.exit_code == 0, scan.output
    document = json.loads(scan.stdout)
    clouds = {f["provider"] for f in document["findings"]}
    assert clouds == {s["provider"] for s in document["snapshot"]["scopes"]}
    assert {"aws", "azure", "gcp"} <= clouds
    for framework_id in FRAMEWORKS:
        result = runner.invoke(main, ["--store", store, "report", "compliance",
                                      "--framework", framework_id])
        assert result.exit_code == 0, result.output
        assert "| FAIL |" in result.stdout or "| PASS |" in result.stdout


@pytest.mark.parametrize(("kind", "protocol", "ports", "claimed"), [
    ("network_acl", "sctp", "22", set()),
    ("network_acl", "udp", "22", {"EC2.21"}),
    ("network_acl", "tcp", "3389", {"EC2.21"}),
    ("network_acl", "all", "0-65535", {"EC2.21"}),
    ("security_group", "sctp", "22", set()),
    ("security_group", "udp", "22", {"EC2.53"}),
    ("security_group", "tcp", "22", {"EC2.13", "EC2.53"}),
    ("security_group", "all", "0-65535", {"EC2.13", "EC2.14", "EC2.53"}),
])
def test_a_control_is_claimed_only_on_the_protocols_it_is_defined_on(kind, protocol, ports,
                                                                       claimed):
    """FSBP EC2.21 and EC2.53 are defined on TCP and UDP (all protocols hold both), EC2.13 on
    TCP: SCTP reaching port 22 is still remote administration open to the internet, but it
    fails none of those controls."""
    snapshot = Snapshot.from_items(
        "s", datetime(2026, 1, 1, tzinfo=timezone.utc), [AWS],
        [rule_set({"kind": kind, "resource_id": "r-1",
                   "rules": [{"protocol": protocol, "ports": ports, "peers": ["0.0.0.0/0"]}]},
                  "t")], ["aws"])
    settings = PolicySettings(only=("CW-NET-001",))
    findings, _ = evaluate_snapshot(snapshot, settings)
    assert len(findings) == 1
    got = {c for k, v in findings[0].compliance.items() if k.startswith("aws-fsbp") for c in v}
    assert got == claimed


def test_the_protocol_scope_is_mapping_data():
    (policy,) = [p for p in available_policies() if p.policy_id == "CW-NET-001"]
    fsbp = policy.meta.to_dict()["compliance"]
    entries = {e["control"]: e["when"] for k, v in fsbp.items() if k.startswith("aws-fsbp")
               for e in v}
    assert entries["EC2.21"]["protocols"] == ["tcp", "udp"]
    assert entries["EC2.13"]["protocols"] == ["tcp"]
