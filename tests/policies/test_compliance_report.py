"""Compliance reports over several frameworks: one document, custom x- frameworks, a row per
control and resource (CSV), suppressed findings, the model's round trip and the CLI."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner

from policies import PolicySettings, available_policies, evaluate_snapshot, select_policies
from policies.cases import rule_set
from policies.compliance import assess
from policies.frameworks import FRAMEWORKS, custom_frameworks, frameworks
from reports import COMPLIANCE_REGISTRY, render_compliance
from scanner.cli import main
from scanner.compliance_model import ComplianceReport
from scanner.errors import ConfigError
from scanner.model import CollectionError, Scope, Snapshot

AWS = Scope("aws", "111122223333", "us-east-1")
AZURE = Scope("azure", "sub-1")
FORMULA = '=HYPERLINK("http://evil.example/","x")'

PACK = """
pack: team
policies:
  - id: TEAM-001
    title: Database port open to the internet
    severity: high
    match: {direction: ingress, action: allow, source: internet, services: [postgresql]}
    compliance: {x-internal: [NET-7, NET-9], pci-dss-4.0: ["1.3.1"]}
"""


def _snapshot(errors=(), scopes=(AWS, AZURE)) -> Snapshot:
    items = [
        rule_set({"kind": "security_group", "resource_id": "sg-1", "name": FORMULA,
                  "rules": [{"ports": "22", "peers": ["0.0.0.0/0"], "native_id": "sgr-1"}]}, "t"),
        rule_set({"kind": "security_group", "resource_id": "sg-2", "name": "db",
                  "rules": [{"ports": "5432", "peers": ["0.0.0.0/0"], "native_id": "sgr-2"}]},
                 "t"),
        rule_set({"kind": "security_group", "resource_id": "sg-3", "name": "quiet",
                  "rules": [{"ports": "443", "peers": ["10.0.0.0/8"], "native_id": "sgr-3"}]},
                 "t"),
        rule_set({"kind": "nsg", "resource_id": "nsg-1", "name": "nsg-1", "account": "sub-1",
                  "rules": [{"ports": "443", "peers": ["10.0.0.0/8"]}]}, "t"),
        *errors,
    ]
    return Snapshot.from_items("snap-1", datetime(2026, 1, 1, tzinfo=timezone.utc), scopes,
                               items, [s.provider for s in scopes])


def _assess(spec, snapshot, settings=None) -> ComplianceReport:
    settings = settings or PolicySettings()
    available = available_policies(settings)
    findings, _ = evaluate_snapshot(snapshot, settings)
    return assess(frameworks(spec, available), snapshot, findings, available,
                  select_policies(settings))


def _pack(tmp_path):
    path = tmp_path / "team.yaml"
    path.write_text(PACK)
    return path


def _control(report, framework_id, control_id):
    fw = next(f for f in report.frameworks if f.framework.framework_id == framework_id)
    return next(r for r in fw.results if r.control.control_id == control_id)


def test_all_is_every_builtin_framework_in_one_document_and_a_list_keeps_its_order():
    report = _assess(["all"], _snapshot())
    assert [f.framework.framework_id for f in report.frameworks] == list(FRAMEWORKS)
    assert report.summary()["controls"] == sum(len(f.controls) for f in FRAMEWORKS.values())
    listed = _assess(["pci-dss-4.0", "cis-aws", "pci-dss-4.0"], _snapshot())
    assert [f.framework.framework_id for f in listed.frameworks] == ["pci-dss-4.0", "cis-aws"]


def test_a_custom_framework_from_a_users_pack_is_reportable(tmp_path):
    settings = PolicySettings(extra_packs=(str(_pack(tmp_path)),))
    available = available_policies(settings)
    assert list(custom_frameworks(available)) == ["x-internal"]
    report = _assess(["x-internal"], _snapshot(), settings)
    net7 = _control(report, "x-internal", "NET-7")
    assert net7.status == "fail"
    assert [f.resource_id for f in net7.findings] == ["sg-2"]
    assert {r.resource_id: r.status for r in net7.resources} == {
        "sg-1": "pass", "sg-2": "fail", "sg-3": "pass", "nsg-1": "pass"}
    # `all` includes the pack's custom frameworks; a framework nobody defines is an error.
    every = _assess(["all"], _snapshot(), settings)
    assert "x-internal" in [f.framework.framework_id for f in every.frameworks]
    with pytest.raises(ConfigError) as raised:
        frameworks(["x-internl"], available)
    assert "x-internal" in raised.value.hint


def test_every_resource_a_control_judges_has_a_row_with_its_status():
    error = CollectionError("azure", "sub-1", "", "AuthorizationFailed")
    report = _assess(["cis-aws", "nist-800-53"], _snapshot(errors=[error]))
    ssh = _control(report, "cis-aws", "5.2")
    rows = {r.resource_id: (r.status, r.reason) for r in ssh.resources}
    assert rows["sg-1"][0] == "fail" and "CW-NET-001" in rows["sg-1"][1]
    assert rows["sg-3"] == ("pass", "no finding from CW-NET-001")
    assert "nsg-1" not in rows  # CIS AWS judges AWS rule sets only
    # NIST spans clouds: the unreadable Azure subscription makes its resources not assessed.
    boundary = _control(report, "nist-800-53", "SC-7")
    statuses = {r.resource_id: r.status for r in boundary.resources}
    assert statuses["nsg-1"] == "not_assessed" and statuses["sg-1"] == "fail"
    assert [s["account"] for s in boundary.unread_scopes] == ["sub-1"]


def test_suppressed_findings_are_rows_of_their_own_and_counted(tmp_path):
    suppressions = tmp_path / "s.yaml"
    suppressions.write_text("suppressions:\n  - {policy: CW-NET-001, resource: sg-1, reason: "
                            "bastion, owner: netops@example.com, expires: 2999-01-01}\n")
    report = _assess(["cis-aws"], _snapshot(),
                     PolicySettings(suppressions=str(suppressions)))
    ssh = _control(report, "cis-aws", "5.2")
    assert ssh.status == "pass" and ssh.reason == "1 suppressed"
    row = next(r for r in ssh.resources if r.resource_id == "sg-1")
    assert row.status == "suppressed" and "bastion" in row.reason
    assert report.summary()["suppressed"] == 1
    text = render_compliance("table", report)
    assert "1 suppressed" in text and "bastion" in text


def test_the_model_round_trips_through_json():
    report = _assess(["all"], _snapshot(errors=[CollectionError("aws", "111122223333",
                                                                "us-east-1", "denied",
                                                                resource_type="network_acls")]))
    document = json.loads(render_compliance("json", report))
    assert document["schema_version"] == 2 and document["kind"] == "compliance"
    assert ComplianceReport.from_dict(document) == report


def test_csv_has_one_row_per_control_and_resource_and_neutralises_formulas():
    report = _assess(["cis-aws", "aws-fsbp"], _snapshot())
    rows = list(csv.DictReader(io.StringIO(render_compliance("csv", report))))
    ssh = [r for r in rows if (r["framework"], r["control"]) == ("cis-aws", "5.2")]
    assert {r["resource_id"]: r["status"] for r in ssh} == {"sg-1": "fail", "sg-2": "pass",
                                                             "sg-3": "pass"}
    assert all(r["control_status"] == "fail" for r in ssh)
    # A control not assessed at all is one row without a resource, with why.
    firewall = [r for r in rows if r["control"] == "NetworkFirewall.9"]
    assert len(firewall) == 1 and firewall[0]["resource_id"] == ""
    assert firewall[0]["reason"].startswith("data not collected")
    cells = [c for r in rows for c in r.values()]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert any(c.startswith("'=HYPERLINK(") for c in cells)


def test_markdown_of_several_frameworks_has_a_summary_and_a_section_each():
    text = render_compliance("markdown", _assess(["cis-aws", "cis-azure"], _snapshot()))
    assert text.startswith("# Compliance: 2 frameworks\n")
    assert "## CIS Amazon Web Services Foundations Benchmark (cis-aws 3.0.0)" in text
    assert "## CIS Microsoft Azure Foundations Benchmark (cis-azure 2.1.0)" in text
    assert "0 suppressed findings" in text


def _stored(tmp_path, snapshot):
    store = tmp_path / "store.db"
    exported = tmp_path / "snap.json"
    exported.write_text(snapshot.to_json())
    assert CliRunner().invoke(main, ["--store", str(store), "snapshots", "import",
                                     str(exported)]).exit_code == 0
    return store


@pytest.mark.parametrize("fmt", sorted(COMPLIANCE_REGISTRY))
def test_cli_all_frameworks_in_every_format(tmp_path, fmt):
    store = _stored(tmp_path, _snapshot())
    result = CliRunner().invoke(main, ["--store", str(store), "report", "compliance",
                                       "--framework", "all", "--format", fmt,
                                       "--policies", str(_pack(tmp_path))])
    assert result.exit_code == 0, result.output
    for framework_id in (*FRAMEWORKS, "x-internal"):
        assert framework_id in result.stdout, (fmt, framework_id)
    assert "controls" in result.stderr or fmt == "table"


def test_cli_list_and_an_incomplete_snapshot_exits_3(tmp_path):
    error = CollectionError("aws", "111122223333", "us-east-1", "denied")
    store = _stored(tmp_path, _snapshot(errors=[error]))
    result = CliRunner().invoke(main, ["--store", str(store), "report", "compliance",
                                       "--framework", "cis-aws,pci-dss-4.0", "--framework",
                                       "nist-800-53", "--format", "json"])
    assert result.exit_code == 3, result.output
    document = json.loads(result.stdout)
    assert [f["id"] for f in document["frameworks"]] == ["cis-aws", "pci-dss-4.0",
                                                        "nist-800-53"]
    assert "INCOMPLETE" in result.stderr
    bad = CliRunner().invoke(main, ["--store", str(store), "report", "compliance",
                                    "--framework", "cis-aws,nope"])
    assert bad.exit_code == 2 and "unknown framework 'nope'" in bad.stderr
