"""``cloudwall scan --provider aws`` end to end: boto3 over real HTTP to moto and the stub."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aws_estate import ODD_DESCRIPTION
from click.testing import CliRunner

from providers.aws import AwsProvider
from providers.base import ProviderSettings
from scanner.cli import main
from scanner.collect import collect_snapshot
from scanner.model import Snapshot
from scanner.netmath import PortSet

REGIONS = "us-east-1,eu-west-1"
ACCOUNT = "123456789012"


def scan(store: Path, *extra: str):
    result = CliRunner().invoke(main, ["--store", str(store), "scan", "--provider", "aws",
                                       "--regions", REGIONS, "--format", "json", "--save",
                                       *extra])
    return result, json.loads(result.stdout)


def exported(store: Path, tmp_path: Path) -> Snapshot:
    target = tmp_path / "snapshot.json"
    result = CliRunner().invoke(main, ["--store", str(store), "snapshots", "export", "latest",
                                       "-o", str(target)])
    assert result.exit_code == 0, result.output
    return Snapshot.from_json(target.read_text())


def rules_of(snapshot: Snapshot, rule_set_id: str):
    return {r.native_id: r for r in snapshot_index(snapshot)[rule_set_id].rules}


def snapshot_index(snapshot: Snapshot):
    return {rs.resource_id: rs for rs in snapshot.rule_sets}


def ingress(rule_set):
    return sorted((r.protocol, str(r.ports), tuple(p.value for p in r.peers), r.icmp_type)
                  for r in rule_set.rules if r.direction.value == "ingress")


def test_scan_lists_every_rule_set_rule_attachment_and_asset(stub, shared_estate, tmp_path):
    estate = shared_estate
    store = tmp_path / "store.db"
    result, report = scan(store)
    assert result.exit_code == 0, result.output
    assert report["errors"] == []
    assert {(s["account"], s["region"], s["status"]) for s in report["snapshot"]["scopes"]} == {
        (ACCOUNT, "us-east-1", "ok"), (ACCOUNT, "eu-west-1", "ok")}
    snapshot = exported(store, tmp_path)
    assert report["summary"]["rule_sets"] == len(snapshot.rule_sets)
    # the JSON report's inventory is the snapshot itself
    inventory = report["inventory"]
    assert inventory["rule_sets"] == [rs.to_dict() for rs in snapshot.rule_sets]
    assert inventory["assets"] == [a.to_dict() for a in snapshot.assets]
    assert len(inventory["ip_lists"]) == 1
    sets = snapshot_index(snapshot)

    web = sets[estate["web_sg"]]
    assert (web.name, web.region, web.account, web.network) == ("web", "us-east-1", ACCOUNT,
                                                               estate["web_vpc"])
    assert ingress(web) == sorted([
        ("tcp", "443", ("0.0.0.0/0",), None),
        ("tcp", "443", ("::/0",), None),
        ("tcp", "22", (estate["office_pl"],), None),
        ("tcp", "20-25", ("203.0.113.0/24",), None),
        ("icmp", "all", ("10.0.0.0/8",), 8),
        ("icmpv6", "all", ("::/0",), None),
    ])
    prefix_rule = next(r for r in web.rules if r.peers[0].value == estate["office_pl"])
    assert prefix_rule.peers[0].addresses == ("198.51.100.0/24", "192.0.2.0/28")
    assert any(r.description == ODD_DESCRIPTION for r in web.rules)
    assert all(r.native_id.startswith("sgr-") for r in web.rules)
    assert [(a.target_kind, a.target_id) for a in web.attachments] == [
        ("network_interface", estate["web_eni"])]

    app, db = sets[estate["app_sg"]], sets[estate["db_sg"]]
    assert ingress(app) == [("tcp", "8080", (estate["web_sg"],), None)]
    assert app.rules[-1].peers[0].account == ACCOUNT
    assert ingress(db) == sorted([("tcp", "5432", (estate["app_sg"],), None),
                                  ("udp", "53", ("10.0.0.0/16",), None)])
    assert {a.target_id for a in db.attachments} == {estate["app_eni"], estate["spare_eni"]}
    assert {a.target_id for a in app.attachments} == {estate["app_eni"]}

    batch = sets[estate["batch_sg"]]
    assert batch.region == "eu-west-1"
    assert [(r.direction.value, r.protocol, str(r.ports)) for r in batch.rules] == [
        ("egress", "tcp", "443"), ("ingress", "all", "all")]

    acl = sets[estate["public_acl"]]
    assert acl.kind.value == "aws_network_acl" and not acl.is_default
    assert [a.target_id for a in acl.attachments] == [estate["public_subnet"]]
    by_id = {r.native_id: r for r in acl.rules}
    assert by_id["ingress:90"].action.value == "deny" and by_id["ingress:90"].ports == \
        PortSet.of(22)
    assert by_id["ingress:120"].peers[0].value == "::/0"
    assert by_id["egress:110"].ports == PortSet.of((1024, 65535))
    assert by_id["ingress:130"].protocol == "icmp"
    ingress_order = [r.priority for r in acl.rules if r.direction.value == "ingress"]
    assert ingress_order == sorted(ingress_order)

    # every VPC has its default group and default NACL, in both regions
    for region, vpc in (("us-east-1", estate["web_vpc"]), ("eu-west-1", estate["data_vpc"])):
        defaults = [rs for rs in snapshot.rule_sets if rs.network == vpc and rs.is_default]
        assert sorted(rs.kind.value for rs in defaults) == ["aws_network_acl",
                                                            "aws_security_group"]
        assert all(rs.region == region for rs in defaults)
        default_nacl = next(rs for rs in defaults if rs.kind.value == "aws_network_acl")
        assert any(r.is_default and r.action.value == "deny" for r in default_nacl.rules)

    assets = {a.asset_id: a for a in snapshot.assets}
    web_eni = assets[estate["web_eni"]]
    assert (web_eni.name, web_eni.instance_id, web_eni.subnet) == (
        "web-1", estate["web_instance"], estate["public_subnet"])
    assert web_eni.public_addresses and web_eni.rule_set_ids == (estate["web_sg"],)
    app_eni = assets[estate["app_eni"]]
    assert app_eni.public_addresses == () and set(app_eni.rule_set_ids) == {
        estate["app_sg"], estate["db_sg"]}
    assert assets[estate["spare_eni"]].instance_id is None
    assert assets[estate["batch_eni"]].region == "eu-west-1"
    assert assets[estate["batch_eni"]].extra["instance_state"] == "running"

    subnets = {s.subnet_id: s for s in snapshot.subnets}
    assert subnets[estate["public_subnet"]].internet_routes == ("0.0.0.0/0",)
    assert subnets[estate["public_subnet"]].rule_set_ids == (estate["public_acl"],)
    assert subnets[estate["private_subnet"]].internet_routes == ()
    networks = {n.network_id: n for n in snapshot.networks}
    assert networks[estate["web_vpc"]].name == "web"
    assert networks[estate["web_vpc"]].extra["internet_gateways"] == [estate["igw"]]

    (threat,) = snapshot.ip_lists
    assert (threat.list_id, threat.list_type, threat.detector_id, threat.status) == (
        estate["threat_set"], "threat", estate["detector"], "ACTIVE")

    # the stub served every EC2 describe call in pages of two, and all were read
    assert stub.pages("DescribeSecurityGroups", "us-east-1") >= 3
    assert stub.pages("DescribeSecurityGroupRules", "us-east-1") >= 5
    assert stub.pages("GetManagedPrefixListEntries", "us-east-1") == 1


def test_denied_region_is_an_error_and_nothing_else_is_lost(stub, shared_estate, tmp_path):
    estate = shared_estate
    stub.fail("ec2", "UnauthorizedOperation", region="eu-west-1")
    store = tmp_path / "store.db"
    result, report = scan(store)
    assert result.exit_code == 3
    errors = report["errors"]
    assert errors and {e["region"] for e in errors} == {"eu-west-1"}
    assert {e["code"] for e in errors} == {"AccessDenied"}
    hinted = {e["resource_type"]: e["hint"] for e in errors}
    assert "ec2:DescribeSecurityGroups" in hinted["SecurityGroups"]
    assert "ec2:DescribeNetworkAcls" in hinted["NetworkAcls"]
    statuses = {s["region"]: s["status"] for s in report["snapshot"]["scopes"]}
    assert statuses == {"us-east-1": "ok", "eu-west-1": "partial"}
    snapshot = exported(store, tmp_path)
    assert estate["web_sg"] in snapshot_index(snapshot)
    assert not [rs for rs in snapshot.rule_sets if rs.region == "eu-west-1"]


def test_throttling_beyond_retries_and_guardduty_denied(stub):
    stub.fail("ec2", "RequestLimitExceeded", region="us-east-1",
             action="DescribeNetworkInterfaces")
    stub.fail("guardduty", "AccessDeniedException", region="eu-west-1")
    snapshot = collect_snapshot([AwsProvider(ProviderSettings(regions=("us-east-1", "eu-west-1"),
                                                              max_retries=1))])
    by_key = {(e.region, e.resource_type): e for e in snapshot.errors}
    throttled = by_key[("us-east-1", "NetworkInterfaces")]
    assert throttled.code == "Throttling" and "--concurrency" in throttled.hint
    # one retry was made: two attempts in all
    assert stub.pages("DescribeNetworkInterfaces", "us-east-1") == 2
    denied = by_key[("eu-west-1", "GuardDutyDetectors")]
    assert denied.code == "AccessDenied" and "guardduty:ListDetectors" in denied.hint
    assert by_key[("eu-west-1", "GuardDutyIPSets")].code == "AccessDenied"
    # the other reads of both scopes went on
    assert any(rs.region == "eu-west-1" for rs in snapshot.rule_sets)
    assert any(a.region == "eu-west-1" for a in snapshot.assets)
    assert not [a for a in snapshot.assets if a.region == "us-east-1"]


def test_a_passing_throttle_is_absorbed_by_retries(stub, shared_estate):
    estate = shared_estate
    stub.fail("ec2", "RequestLimitExceeded", region="us-east-1", action="DescribeSecurityGroups",
             times=1)
    snapshot = collect_snapshot([AwsProvider(ProviderSettings(regions=("us-east-1",),
                                                              max_retries=2))])
    assert snapshot.errors == ()
    assert estate["web_sg"] in snapshot_index(snapshot)


def test_opt_in_region_refusal_fails_the_scope_once(stub):
    stub.fail("ec2", "AuthFailure", region="eu-west-1")
    stub.fail("guardduty", "UnrecognizedClientException", region="eu-west-1")
    snapshot = collect_snapshot([AwsProvider(ProviderSettings(regions=("us-east-1", "eu-west-1"),
                                                              max_retries=0))])
    (error,) = snapshot.errors
    assert (error.region, error.resource_type, error.code) == ("eu-west-1", None, "AuthFailure")
    assert "--regions" in error.hint
    assert stub.pages("DescribeSubnets", "eu-west-1") == 0  # nothing more was tried there


def test_timeout_is_recorded_and_the_rest_of_the_service_skipped(stub):
    stub.fail("ec2", "Delay", region="eu-west-1", action="DescribeVpcs", delay=1.5)
    settings = ProviderSettings(regions=("eu-west-1",), max_retries=0, request_timeout=0.3)
    snapshot = collect_snapshot([AwsProvider(settings)])
    codes = {e.resource_type: e.code for e in snapshot.errors}
    assert codes["Vpcs"] == "Timeout" and codes["SecurityGroups"] == "Timeout"
    assert "GuardDutyDetectors" not in codes  # another service, still read
    assert snapshot.scope_status(snapshot.scopes[0]) == "partial"


def test_real_subprocess_exit_code_3_for_a_denied_region(stub, tmp_path):
    stub.fail("ec2", "UnauthorizedOperation", region="eu-west-1")
    env = dict(os.environ)
    output = tmp_path / "report.json"
    process = subprocess.run(
        [sys.executable, "-m", "scanner.cli", "--store", str(tmp_path / "s.db"), "scan",
         "--provider", "aws", "--regions", REGIONS, "--format", "json", "--output",
         str(output)], env=env, capture_output=True, text=True, timeout=120)
    assert process.returncode == 3, process.stderr
    assert "INCOMPLETE" in process.stderr and "Traceback" not in process.stderr
    report = json.loads(output.read_text())
    assert {e["region"] for e in report["errors"]} == {"eu-west-1"}
    assert report["summary"]["complete"] is False
    assert report["summary"]["rule_sets"] > 0


@pytest.mark.parametrize("variable", ["AWS_ENDPOINT_URL_EC2"])
def test_endpoint_comes_only_from_the_environment(stub, shared_estate, monkeypatch, variable):
    """Without the stub's endpoint variable, EC2 goes to moto directly (no pagination)."""
    estate = shared_estate
    monkeypatch.delenv(variable)
    snapshot = collect_snapshot([AwsProvider(ProviderSettings(regions=("us-east-1",),
                                                              max_retries=0))])
    assert estate["web_sg"] in snapshot_index(snapshot)
    before = stub.pages("DescribeSecurityGroups")
    assert before == 0
