"""Suppressions: by finding id or policy + resource pattern; expired ones stop suppressing."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

from click.testing import CliRunner

from policies import PolicySettings, evaluate_snapshot
from policies.cases import rule_set
from scanner.cli import main
from scanner.model import Scope, Snapshot

SCOPE = Scope("aws", "111122223333", "us-east-1")


def _snapshot() -> Snapshot:
    sets = [rule_set({"kind": "security_group", "resource_id": name, "name": name,
                      "rules": [{"ports": "22", "peers": ["0.0.0.0/0"]}]}, "t")
            for name in ("sg-bastion-1", "sg-web")]
    return Snapshot.from_items("snap-1", datetime(2026, 1, 1, tzinfo=timezone.utc), [SCOPE],
                               sets, ["aws"])


def _write(tmp_path, text: str):
    path = tmp_path / "suppressions.yaml"
    path.write_text(text)
    return str(path)


def _run(path, today=date(2026, 6, 1)):
    settings = PolicySettings(only=("CW-NET-001",), suppressions=path)
    return evaluate_snapshot(_snapshot(), settings, today=today)


def test_policy_and_resource_pattern(tmp_path):
    path = _write(tmp_path, """
suppressions:
  - policy: CW-NET-001
    resource: "sg-bastion-*"
    reason: bastion, reviewed in SEC-12
    owner: netops@example.com
    expires: 2026-12-31
""")
    findings, expired = _run(path)
    by_resource = {f.resource_id: f for f in findings}
    assert by_resource["sg-bastion-1"].suppressed is True
    assert by_resource["sg-bastion-1"].suppression["owner"] == "netops@example.com"
    assert by_resource["sg-bastion-1"].suppression["location"] == f"{path}:3"
    assert by_resource["sg-web"].suppressed is False
    assert expired == []


def test_by_finding_id_and_expiry(tmp_path):
    findings, _ = _run(None)
    target = next(f for f in findings if f.resource_id == "sg-web")
    path = _write(tmp_path, f"""
- id: {target.finding_id}
  reason: temporary, migration
  owner: web-team
  expires: 2026-03-01
""")
    before, expired = _run(path, today=date(2026, 2, 1))
    assert [f.resource_id for f in before if f.suppressed] == ["sg-web"]
    assert expired == []
    after, expired = _run(path, today=date(2026, 6, 1))
    web = next(f for f in after if f.resource_id == "sg-web")
    assert web.suppressed is False
    assert web.suppression["expired"] is True
    assert expired == [{"location": f"{path}:2", "expired": "2026-03-01", "owner": "web-team",
                        "findings": 1}]


def test_suppressed_findings_are_counted_shown_on_request_and_expired_ones_reported(tmp_path):
    store = tmp_path / "store.db"
    snapshot_file = tmp_path / "snapshot.json"
    snapshot_file.write_text(_snapshot().to_json())
    runner = CliRunner()
    assert runner.invoke(main, ["--store", str(store), "snapshots", "import",
                                str(snapshot_file)]).exit_code == 0
    path = _write(tmp_path, """
- {policy: CW-NET-001, resource: sg-web, reason: r, owner: o, expires: 2026-12-31}
- {policy: CW-NET-001, resource: sg-bastion-1, reason: r, owner: o, expires: 2020-01-01}
""")
    result = runner.invoke(main, ["--store", str(store), "snapshots", "show", "latest",
                                  "--format", "json", "--only", "CW-NET-001",
                                  "--suppressions", path])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    # Counted, not listed, by default ...
    marks = {f["resource_id"]: f["suppressed"] for f in document["findings"]}
    assert marks == {"sg-bastion-1": False}
    assert document["summary"]["suppressed"] == 1
    # ... and listed with the entry that matched on request.
    shown = runner.invoke(main, ["--store", str(store), "snapshots", "show", "latest",
                                 "--format", "json", "--only", "CW-NET-001",
                                 "--suppressions", path, "--include-suppressed",
                                 "--fail-on", "info"])
    everything = json.loads(shown.stdout)
    marks = {f["resource_id"]: f["suppressed"] for f in everything["findings"]}
    assert marks == {"sg-bastion-1": False, "sg-web": True}
    assert everything["summary"]["suppressed"] == 1
    assert everything["filters"] == {"include_suppressed": True}
    web = next(f for f in everything["findings"] if f["suppressed"])
    assert web["suppression"]["reason"] == "r"
    # The expired entry's finding is active and trips the gate; the suppressed one does not.
    assert shown.exit_code == 1
    assert "gate: 1 finding(s) at or above info" in shown.stderr
    assert f"warning: suppression {path}:3" in result.stderr
    assert "has expired" in result.stderr
