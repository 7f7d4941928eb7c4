"""`cloudwall policies ...` and policy flags end to end."""

from __future__ import annotations

import json

from click.testing import CliRunner

from scanner.cli import main

PACK = """\
pack: team
policies:
  - id: TEAM-001
    title: Kafka from a broad range
    severity: high
    providers: [aws, gcp]
    match: {direction: ingress, action: allow, source: [internet, broad], services: [kafka]}
    compliance: {x-team: [NET-1]}
    cases:
      - {expect: fail, kinds: [security_group, vpc_firewall],
         rules: [{ports: "9092", peers: [0.0.0.0/1]}]}
      - {expect: pass, kinds: [security_group, vpc_firewall],
         rules: [{ports: "9092", peers: [10.0.0.0/8]}]}
"""


def test_list_show_and_json():
    runner = CliRunner()
    listing = runner.invoke(main, ["policies", "list", "--format", "json"])
    assert listing.exit_code == 0
    ids = [p["id"] for p in json.loads(listing.stdout)]
    assert {"CW-NET-001", "CW-SHADOW-001", "CW-EXP-001", "CW-GCP-002"} <= set(ids)
    shown = runner.invoke(main, ["policies", "show", "cw-aws-003"])
    assert shown.exit_code == 0
    assert "aws-fsbp@1.0.0: EC2.19" in shown.stdout
    missing = runner.invoke(main, ["policies", "show", "CW-AWS-03"])
    assert missing.exit_code == 2 and "did you mean 'CW-AWS-003'" in missing.output


def test_user_pack_cases_and_listing(tmp_path):
    pack = tmp_path / "team.yaml"
    pack.write_text(PACK)
    runner = CliRunner()
    result = runner.invoke(main, ["policies", "test", str(pack), "-v"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("4 passed, 0 failed")
    listing = runner.invoke(main, ["policies", "list", "--policies", str(pack)])
    assert "TEAM-001" in listing.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text(PACK.replace('peers: [0.0.0.0/1]', 'peers: [10.0.0.0/9]'))
    result = runner.invoke(main, ["policies", "test", str(broken)])
    assert result.exit_code == 1
    assert "FAIL" in result.stdout and "2 passed, 2 failed" in result.stdout


def test_only_and_skip_on_a_stored_snapshot(tmp_path):
    from datetime import datetime, timezone

    from policies.cases import rule_set
    from scanner.model import Scope, Snapshot

    sets = [rule_set({"kind": "security_group", "resource_id": name, "name": name,
                      "rules": [{"ports": "22", "peers": ["0.0.0.0/0"]}]}, "t")
            for name in ("sg-bastion-1", "sg-web")]
    snapshot = Snapshot.from_items("snap-1", datetime(2026, 1, 1, tzinfo=timezone.utc),
                                   [Scope("aws", "111122223333", "us-east-1")], sets, ["aws"])
    store = tmp_path / "store.db"
    exported = tmp_path / "snapshot.json"
    exported.write_text(snapshot.to_json())
    runner = CliRunner()
    runner.invoke(main, ["--store", str(store), "snapshots", "import", str(exported)])
    base = ["--store", str(store), "snapshots", "show", "--format", "json"]
    only = json.loads(runner.invoke(main, [*base, "--only", "CW-NET-00*"]).stdout)
    assert {f["policy_id"] for f in only["findings"]} == {"CW-NET-001"}
    skip = json.loads(runner.invoke(main, [*base, "--skip", "CW-NET-*,CW-AWS-*"]).stdout)
    assert not {f["policy_id"] for f in skip["findings"]} & {"CW-NET-001", "CW-AWS-003"}
    trusted = json.loads(runner.invoke(main, [*base, "--only", "CW-NET-001",
                                              "--trusted-cidr", "0.0.0.0/0"]).stdout)
    assert trusted["findings"] == []
    bad = runner.invoke(main, [*base, "--trusted-cidr", "10.0.0.300/8"])
    assert bad.exit_code == 2 and "is not a CIDR" in bad.output
