"""SARIF, JUnit, OCSF and ATT&CK Navigator output, each checked by the real schema or a real
consumer: the OASIS SARIF 2.1.0 JSON Schema (jsonschema), junitparser, py-ocsf-models, and the
Navigator layer format 4.5 written down below. The exact bytes are golden files
(test_reporters.py); these tests say what the bytes must mean."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest
from junitparser import Error, Failure, JUnitXml, Skipped
from py_ocsf_models.events.findings.compliance_finding import ComplianceFinding
from py_ocsf_models.events.findings.detection_finding import DetectionFinding
from test_reporters import ANSI, FORMULA, HTML, golden_report

import reports
from reports import junit, navigator, ocsf, sarif
from scanner.engine import analyze
from scanner.model import (
    ChangeKind,
    CollectionError,
    DriftItem,
    Effect,
    ScanReport,
    Severity,
)

REPO = Path(__file__).resolve().parents[2]
SARIF_SCHEMA = REPO.parent / "shared" / "reference" / "schemas" / "sarif-schema-2.1.0.json"


@pytest.fixture(scope="module")
def sarif_validator():
    if not SARIF_SCHEMA.is_file():
        pytest.fail(f"the SARIF 2.1.0 schema is missing: expected {SARIF_SCHEMA} (the shared/ "
                    "reference directory must sit beside the repository checkout)")
    schema = json.loads(SARIF_SCHEMA.read_text())
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.fixture(scope="module")
def demo_report() -> ScanReport:
    """The demo estate after the adversary's changes, compared with its baseline: a real report
    with every policy's findings and drift of many kinds."""
    from providers.base import ProviderSettings
    from providers.demo import DemoProvider
    from scanner.collect import collect_snapshot

    def snapshot(stage):
        return collect_snapshot([DemoProvider(ProviderSettings(demo_stage=stage))], 2)

    return analyze(snapshot("changed"), ("prod", snapshot("baseline")))


def text(name: str, report: ScanReport | None = None) -> str:
    out = reports.render(name, report or golden_report())
    return out if isinstance(out, str) else out.decode()


def assert_valid_sarif(validator, document) -> None:
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message[:200]}" for e in errors[:5]]


# --- SARIF --------------------------------------------------------------------------------------


def test_sarif_golden_and_demo_reports_validate_against_the_official_schema(
        sarif_validator, demo_report):
    assert_valid_sarif(sarif_validator, json.loads(text("sarif")))
    assert_valid_sarif(sarif_validator, json.loads(text("sarif", demo_report)))


def test_sarif_schema_validation_is_not_a_formality(sarif_validator):
    document = json.loads(text("sarif"))
    document["runs"][0]["results"][0]["level"] = "fatal"
    del document["runs"][0]["tool"]["driver"]["name"]
    assert len(list(sarif_validator.iter_errors(document))) == 2


def test_sarif_one_rule_per_policy_and_one_result_per_finding_and_drift_item(demo_report):
    run = json.loads(text("sarif", demo_report))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids))
    assert {p.policy_id for p in demo_report.policies} <= set(ids)
    assert {f"drift/{k.value}" for k in ChangeKind} <= set(ids)
    results = run["results"]
    assert len(results) == len(demo_report.findings) + len(demo_report.drift)
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    fingerprints = [next(iter(r["partialFingerprints"].values())) for r in results]
    assert fingerprints == [f.finding_id for f in reports.summary.ordered_findings(
        demo_report.findings)] + [d.drift_id for d in reports.summary.ordered_drift(
            demo_report.drift)]


def test_sarif_rule_help_severity_and_tags():
    run = json.loads(text("sarif"))["runs"][0]
    rule = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "CW-NET-001")
    assert "brute force" in rule["help"]["text"] and "Restrict the source." in rule["help"]["text"]
    assert "**Remediation.** Restrict the source." in rule["help"]["markdown"]
    assert "`aws ec2 revoke-security-group-ingress ...`" in rule["help"]["markdown"]
    props = rule["properties"]
    assert props["severity"] == "high" and float(props["security-severity"]) == 8.0
    assert "external/mitre-attack/T1562.007" in props["tags"]
    assert "compliance/cis-aws@3.0.0" in props["tags"]
    assert props["compliance"] == {"cis-aws@3.0.0": ["5.2", "5.3"]}
    assert rule["relationships"][0]["target"]["id"] == "T1562.007"
    taxa = {t["id"] for t in run["taxonomies"][0]["taxa"]}
    assert {"T1562.007", "T1133"} <= taxa
    critical = next(r for r in run["tool"]["driver"]["rules"] if r["id"] == "CW-NET-002")
    assert float(critical["properties"]["security-severity"]) >= 9.0
    drift_rule = next(r for r in run["tool"]["driver"]["rules"]
                      if r["id"] == "drift/rule_removed")
    assert "T1562.007" in drift_rule["help"]["text"]
    assert "external/mitre-attack/T1562.007" in drift_rule["properties"]["tags"]


def test_sarif_stays_within_githubs_upload_limits(demo_report):
    run = json.loads(text("sarif", demo_report))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    busiest = max(rules, key=lambda r: sum(map(len, r["properties"].get("compliance", {})
                                                .values())))
    assert sum(map(len, busiest["properties"]["compliance"].values())) > 10  # many controls
    assert all(len(r["properties"]["tags"]) <= 10 for r in rules)
    assert all(len(r["shortDescription"]["text"]) <= 1024 for r in rules)
    assert all(len(r["fullDescription"]["text"]) <= 1024 for r in rules)
    long = replace(golden_report().findings[1], title="t" * 5000)
    result = json.loads(text("sarif", replace(golden_report(), findings=(long,))))[
        "runs"][0]["results"][0]
    assert len(result["message"]["text"]) == 1024
    assert result["properties"]["finding"]["title"] == "t" * 5000  # the data stays whole


def test_sarif_locations_name_the_cloud_resource():
    run = json.loads(text("sarif"))["runs"][0]
    logical = run["logicalLocations"]
    result = next(r for r in run["results"] if r["ruleId"] == "CW-NET-001")
    where = result["locations"][0]
    leaf = logical[where["logicalLocations"][0]["index"]]
    chain = []
    node = leaf
    while True:
        chain.append((node["kind"], node["name"]))
        if "parentIndex" not in node:
            break
        node = logical[node["parentIndex"]]
    assert list(reversed(chain)) == [("namespace", "aws"), ("namespace", "111122223333"),
                                     ("namespace", "eu-west-1"), ("resource", "sg-0123"),
                                     ("member", "sgr-0a1b2c3d4e5f")]
    uri = where["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "cloud/aws/111122223333/eu-west-1/sg-0123"
    # Azure ids contain slashes: each part is percent-encoded, so the path keeps four parts.
    azure = next(r for r in run["results"] if r["ruleId"] == "CW-NET-002")
    azure_uri = azure["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    parts = azure_uri.split("/")
    assert len(parts) == 5 and unquote(parts[4]) == "/subs/nsg-web"
    for r in run["results"]:
        uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        split = urlsplit(uri)
        assert not split.scheme and not split.netloc and not uri.startswith("/")
        assert re.fullmatch(r"[A-Za-z0-9._~%/-]+", uri), uri


def test_sarif_fingerprints_are_stable_across_runs(demo_report):
    again = replace(demo_report, generated_at=None)
    first = json.loads(text("sarif", demo_report))["runs"][0]["results"]
    second = json.loads(text("sarif", again))["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in first] == [r["partialFingerprints"] for r in second]


def test_sarif_suppressed_findings_carry_a_suppression_and_errors_are_notifications():
    run = json.loads(text("sarif"))["runs"][0]
    suppressed = [r for r in run["results"] if "suppressions" in r]
    assert [r["ruleId"] for r in suppressed] == ["CW-NET-010"]
    assert suppressed[0]["suppressions"][0] == {"kind": "external", "status": "accepted",
                                                "justification": "accepted"}
    invocation = run["invocations"][0]
    # Two scopes were not read: said as error notifications, while the results of the scopes
    # that were read stand (an unsuccessful execution would make GitHub drop them).
    assert invocation["executionSuccessful"] is True
    notes = [n["message"]["text"] for n in invocation["toolExecutionNotifications"]]
    assert len(notes) == 2 and any("network_acls" in n for n in notes)
    assert all(n["level"] == "error" for n in invocation["toolExecutionNotifications"])


def test_sarif_keeps_cloud_strings_as_data_and_escapes_embedded_links():
    document = json.loads(text("sarif"))
    run = document["runs"][0]
    result = next(r for r in run["results"] if r["ruleId"] == "CW-NET-001")
    assert result["properties"]["finding"]["resource_name"] == HTML
    assert result["properties"]["finding"]["remediation"] == ANSI
    linky = golden_report()
    hostile = replace(linky.findings[1], title="[click me](https://evil.example/)")
    run = json.loads(text("sarif", replace(linky, findings=(hostile,))))["runs"][0]
    message = run["results"][0]["message"]["text"]
    assert "\\[click me\\](https://evil.example/)" in message
    assert "[click me]" not in message.replace("\\[click me\\]", "")


# --- JUnit --------------------------------------------------------------------------------------


def parse_junit(report: ScanReport | None = None, tmp_path: Path | None = None) -> JUnitXml:
    return JUnitXml.fromstring(text("junit", report))


def suites(xml: JUnitXml) -> dict[str, object]:
    return {suite.name: suite for suite in xml}


def test_junit_reads_back_with_the_expected_counts():
    xml = parse_junit()
    by_name = suites(xml)
    net1 = by_name["CW-NET-001 Remote administration port open to the internet"]
    assert (net1.tests, net1.failures, net1.errors, net1.skipped) == (2, 1, 0, 0)
    cases = list(net1)
    failed = [c for c in cases if c.result and isinstance(c.result[0], Failure)]
    passed = [c for c in cases if not c.result]
    assert len(failed) == 1 and len(passed) == 1
    failure = failed[0].result[0]
    assert failure.type == "high"
    assert "CWF-" in failure.text and "remediation:" in failure.text
    assert "sg-0123" in failed[0].name and "nsg-web" in passed[0].name
    suppressed = next(s for name, s in by_name.items() if name.startswith("CW-NET-010"))
    case = next(iter(suppressed))
    assert isinstance(case.result[0], Skipped) and "accepted" in case.result[0].message
    drift = by_name["drift"]
    assert (drift.tests, drift.failures) == (3, 2)
    collection = by_name["collection"]
    assert (collection.tests, collection.errors) == (3, 2)
    errors = [c for c in collection if c.result and isinstance(c.result[0], Error)]
    assert sorted(c.name for c in errors) == ["aws/111122223333/eu-west-1", "gcp/shop-prod"]
    assert "network_acls" in next(c for c in errors if c.name.startswith("aws")).result[0].text
    totals = (xml.tests, xml.failures, xml.errors, xml.skipped)
    assert totals == (sum(s.tests for s in xml), sum(s.failures for s in xml),
                      sum(s.errors for s in xml), sum(s.skipped for s in xml))


def test_junit_has_one_case_per_policy_and_judged_resource(demo_report):
    xml = parse_junit(demo_report)
    by_name = suites(xml)
    for info in demo_report.policies:
        suite = by_name[f"{info.policy_id} {info.title}"]
        failing = {(f.provider, f.resource_id) for f in demo_report.findings
                   if f.policy_id == info.policy_id and not f.suppressed}
        judged = {(r[0], r[3]) for r in info.judged}
        assert suite.tests == len(judged | failing), info.policy_id
        assert suite.failures == len(failing), info.policy_id
    assert by_name["drift"].tests == len(demo_report.drift)
    widened = sum(1 for d in demo_report.drift if d.effect in (Effect.WIDENED, Effect.UNKNOWN))
    assert by_name["drift"].failures == widened > 0


def test_junit_drops_what_xml_forbids_and_keeps_the_rest_as_references():
    raw = text("junit")
    assert "\x00" not in raw and "\x1b" not in raw and "\x9b" not in raw
    assert "&#x9b;" in raw and "&#x202e;" in raw
    root = ET.fromstring(raw.encode())
    failure = root.find(".//testcase[@classname='cloudwall.CW-NET-001']/failure")
    assert failure is not None
    assert "\x9b2J \u202egnp.exe nul" in failure.text  # the value survives, parsed
    assert HTML in failure.text  # markup is text, not elements
    assert root.find(".//script") is None and root.find(".//img") is None
    assert FORMULA in raw.replace("&quot;", '"').replace("&amp;", "&")


# --- ATT&CK Navigator -------------------------------------------------------------------------

TACTIC_SHORTNAMES = {"reconnaissance", "resource-development", "initial-access", "execution",
                     "persistence", "privilege-escalation", "defense-evasion",
                     "credential-access", "discovery", "lateral-movement", "collection",
                     "command-and-control", "exfiltration", "impact"}


def _check_metadata_list(items, where):
    assert isinstance(items, list), where
    for item in items:
        if "divider" in item:
            assert set(item) == {"divider"} and isinstance(item["divider"], bool), where
        else:
            assert set(item) == {"name", "value"}, where
            assert isinstance(item["name"], str) and isinstance(item["value"], str), where


def _check_links(items, where):
    assert isinstance(items, list), where
    for item in items:
        if "divider" in item:
            assert isinstance(item["divider"], bool), where
            continue
        assert isinstance(item["label"], str) and isinstance(item["url"], str), where
        assert re.match(r"^[a-z]+://", item["url"]), (where, item["url"])


def validate_layer(layer: dict) -> None:
    """Layer format 4.5: required fields, types and allowed values."""
    assert isinstance(layer["name"], str) and layer["name"]
    assert layer["domain"] in ("enterprise-attack", "mobile-attack", "ics-attack")
    versions = layer["versions"]
    assert versions["layer"] == "4.5"
    navigator_version = tuple(int(x) for x in versions["navigator"].split("."))
    assert navigator_version >= (4, 9, 0)
    assert isinstance(versions.get("attack", ""), str)
    assert isinstance(layer.get("description", ""), str)
    assert layer.get("sorting", 0) in (0, 1, 2, 3)
    layout = layer.get("layout", {})
    assert layout.get("layout", "side") in ("side", "flat", "mini")
    assert layout.get("aggregateFunction", "average") in ("average", "min", "max", "sum")
    assert layout.get("expandedSubtechniques", "none") in ("none", "all", "annotated")
    for key in ("showID", "showName", "showAggregateScores", "countUnscored"):
        assert isinstance(layout.get(key, False), bool)
    for key in ("hideDisabled", "showTacticRowBackground", "selectTechniquesAcrossTactics",
                "selectSubtechniquesWithParent", "selectVisibleTechniques"):
        assert isinstance(layer.get(key, False), bool), key
    gradient = layer.get("gradient")
    if gradient:
        assert len(gradient["colors"]) >= 2
        assert all(re.fullmatch(r"#[0-9a-fA-F]{6}", c) for c in gradient["colors"])
        assert gradient["maxValue"] > gradient["minValue"]
    for item in layer.get("legendItems", []):
        assert isinstance(item["label"], str) and isinstance(item["color"], str)
    _check_metadata_list(layer.get("metadata", []), "layer")
    _check_links(layer.get("links", []), "layer")
    for technique in layer.get("techniques", []):
        assert re.fullmatch(r"T\d{4}(\.\d{3})?", technique["techniqueID"])
        if "tactic" in technique:
            assert technique["tactic"] in TACTIC_SHORTNAMES
        assert isinstance(technique.get("comment", ""), str)
        assert isinstance(technique.get("enabled", True), bool)
        assert isinstance(technique.get("showSubtechniques", False), bool)
        if "score" in technique:
            assert isinstance(technique["score"], int | float)
            assert not isinstance(technique["score"], bool)
        _check_metadata_list(technique.get("metadata", []), technique["techniqueID"])
        _check_links(technique.get("links", []), technique["techniqueID"])


def test_navigator_layer_is_valid_4_5_and_scores_the_evidence(demo_report):
    layer = json.loads(text("navigator", demo_report))
    validate_layer(layer)
    first = layer["techniques"][0]
    assert first["techniqueID"] == "T1562.007" and first["tactic"] == "defense-evasion"
    carrying = [d for d in demo_report.drift if "T1562.007" in d.attack]
    findings = [f for f in demo_report.findings if "T1562.007" in f.attack and not f.suppressed]
    assert carrying, "the demo's widenings carry T1562.007"
    assert first["score"] == len(carrying) + len(findings)
    names = {m["name"] for m in first["metadata"] if "name" in m}
    assert {d.drift_id for d in carrying} <= names
    assert f"{len(carrying)} drift item(s)" in first["comment"]
    assert first["links"][0]["url"] == "https://attack.mitre.org/techniques/T1562/007/"


def test_navigator_golden_layer_lists_unread_scopes_and_multi_tactic_techniques():
    layer = json.loads(text("navigator"))
    validate_layer(layer)
    by_id: dict[str, list[dict]] = {}
    for t in layer["techniques"]:
        by_id.setdefault(t["techniqueID"], []).append(t)
    # T1133 External Remote Services belongs to two tactics: one entry under each.
    assert sorted(t["tactic"] for t in by_id["T1133"]) == ["initial-access", "persistence"]
    assert by_id["T1133"][0]["score"] == 2  # two active findings; the suppressed one not
    assert by_id["T1562.007"][0]["score"] == 2  # two widenings
    assert "INCOMPLETE" in layer["description"]
    unread = [m["value"] for m in layer["metadata"] if m.get("name") == "not read"]
    assert len(unread) == 2 and any("network_acls" in v for v in unread)
    assert any(ANSI in m.get("value", "") for t in layer["techniques"]
               for m in t["metadata"])  # the actor, kept as data


def test_navigator_empty_layer_is_still_valid():
    report = ScanReport(golden_report().snapshot)
    layer = json.loads(text("navigator", report))
    validate_layer(layer)
    assert layer["techniques"] == [] and layer["gradient"]["maxValue"] == 1


# --- OCSF ---------------------------------------------------------------------------------------


def test_ocsf_events_round_trip_through_py_ocsf_models(demo_report):
    events = json.loads(text("ocsf", demo_report))
    assert isinstance(events, list)
    classes = [e["class_uid"] for e in events]
    assert classes.count(2003) == len(demo_report.findings)
    assert classes.count(2004) == len(demo_report.drift)
    for event in events:
        model = ComplianceFinding if event["class_uid"] == 2003 else DetectionFinding
        parsed = model.model_validate(event)
        assert parsed.metadata.version.startswith("1.")
        assert event["type_uid"] == event["class_uid"] * 100 + event["activity_id"]
        assert event["category_uid"] == 2
        assert event["cloud"]["provider"] in ("AWS", "Azure", "GCP")
        assert isinstance(event["time"], int)


def test_ocsf_drift_carries_attack_and_the_actor(demo_report):
    from providers.base import ProviderSettings
    from providers.demo import DemoProvider
    from scanner.engine import with_attribution

    baseline_time = demo_report.snapshot.taken_at.replace(year=2000)
    attributed = with_attribution(demo_report, replace(demo_report.snapshot,
                                                       taken_at=baseline_time),
                                  [DemoProvider(ProviderSettings(demo_stage="changed"))])
    events = [e for e in json.loads(text("ocsf", attributed)) if e["class_uid"] == 2004]
    widened = [e for e in events if e["unmapped"]["cloudwall"]["effect"] == "widened"]
    assert widened
    for event in widened:
        attack = event["finding_info"]["attacks"][0]
        assert attack["sub_technique"]["uid"] == "T1562.007"
        assert attack["technique"]["uid"] == "T1562"
        assert attack["tactic"] == {"uid": "TA0005", "name": "Defense Evasion"}
    with_actor = [e for e in events if e.get("evidences")]
    assert with_actor, "the demo's audit log names who made the changes"
    item = {d.drift_id: d for d in attributed.drift}[with_actor[0]["finding_info"]["uid"]]
    evidence = with_actor[0]["evidences"][0]
    assert evidence["actor"]["user"]["name"] == item.attribution[0].actor
    assert evidence["api"]["operation"] == item.attribution[0].operation


def test_ocsf_golden_keeps_hostile_strings_exactly_and_reports_unread_scopes():
    events = json.loads(text("ocsf"))
    by_uid = {e["finding_info"]["uid"]: e for e in events}
    drift = by_uid["CWD-0001"]
    assert drift["evidences"][0]["actor"]["user"]["name"] == ANSI
    assert drift["finding_info"]["desc"] == f"deny rule removed {HTML}"
    suppressed = next(e for e in events if e["metadata"]["event_code"] == "CW-NET-010")
    assert suppressed["status_id"] == 3 and suppressed["status_detail"] == "accepted"
    assert suppressed["compliance"]["status_id"] == 3
    errors = [e for e in events if e["metadata"]["event_code"] == "collection_error"]
    assert len(errors) == 2
    assert {e["compliance"]["status_id"] for e in errors} == {2}  # Warning: no result
    assert any("network_acls" in e["finding_info"]["title"] for e in errors)
    finding = next(e for e in events if e["metadata"]["event_code"] == "CW-NET-001")
    assert finding["compliance"]["requirements"] == ["aws-fsbp EC2.13", "cis-aws-3.0 5.2"]
    assert finding["finding_info"]["desc"] == "SSH and RDP from anywhere invite brute force."


def test_ocsf_error_ids_are_stable():
    error = CollectionError("aws", "1", "r", "denied", resource_type="network_acls")
    assert ocsf.error_id(error) == ocsf.error_id(replace(error, reason="other words"))


# --- every new format from a stored snapshot, through the CLI ----------------------------------


@pytest.mark.parametrize("fmt", ["sarif", "junit", "navigator", "ocsf"])
def test_formats_render_from_stored_snapshots(fmt, tmp_path):
    from click.testing import CliRunner

    from scanner.cli import main

    store = str(tmp_path / "s.db")

    def run(*args):
        return CliRunner().invoke(main, ["--store", store, *args], catch_exceptions=False)

    assert run("scan", "--provider", "demo", "--save", "--format", "json").exit_code == 0
    assert run("baseline", "set", "prod").exit_code == 0
    assert run("scan", "--provider", "demo", "--demo-stage", "changed", "--save",
               "--format", "json").exit_code == 0
    shown = run("snapshots", "show", "latest", "--format", fmt)
    diffed = run("diff", "--baseline", "prod", "--format", fmt)
    assert shown.exit_code == 0 and diffed.exit_code == 0, (shown.output, diffed.output)
    assert "CWD-" not in shown.stdout  # no baseline, no drift
    assert "CWD-" in diffed.stdout  # drift from the stored snapshots


def test_unknown_effects_fail_in_junit_like_widenings():
    report = golden_report()
    unknown = DriftItem("CWD-9", ChangeKind.RULE_MODIFIED, Effect.UNKNOWN, Severity.MEDIUM,
                        "gcp", "p", "", "fw", "fw", attack=("T1562.007",))
    xml = JUnitXml.fromstring(junit.render(replace(report, drift=(unknown,))))
    assert suites(xml)["drift"].failures == 1
    assert navigator.to_document(replace(report, drift=(unknown,)))["techniques"]
    assert sarif.to_document(replace(report, drift=(unknown,)))["runs"][0]["results"][-1][
        "kind"] == "fail"


# --- ASFF ---------------------------------------------------------------------------------------


def asff_errors(findings: list[dict]) -> str:
    """botocore's own validation of a BatchImportFindings request ("" when valid)."""
    import botocore.session
    from botocore.validate import ParamValidator

    model = botocore.session.get_session().get_service_model("securityhub")
    shape = model.operation_model("BatchImportFindings").input_shape
    report = ParamValidator().validate({"Findings": findings}, shape)
    return report.generate_report() if report.has_errors() else ""


def test_asff_is_a_valid_batch_import_request(demo_report):
    for report in (golden_report(), demo_report):
        findings = json.loads(text("asff", report))
        assert findings and not asff_errors(findings)
        assert len({f["Id"] for f in findings}) == len(findings)
    broken = json.loads(text("asff"))
    broken[0]["Severity"] = {"Label": 7}
    assert "Severity.Label" in asff_errors(broken)


def test_asff_golden_content():
    findings = json.loads(text("asff"))
    by_id = {f["Id"]: f for f in findings}
    report = golden_report()
    suppressed = next(f for f in report.findings if f.suppressed)
    assert suppressed.finding_id not in by_id  # left out; a later export archives it
    ssh = by_id[report.findings[1].finding_id]
    assert ssh["AwsAccountId"] == "111122223333" and ssh["Region"] == "eu-west-1"
    assert ssh["Resources"][0]["Id"] == "arn:aws:ec2:eu-west-1:111122223333:security-group/sg-0123"
    assert ssh["Resources"][0]["Type"] == "AwsEc2SecurityGroup"
    assert ssh["Resources"][0]["Details"]["Other"]["name"] == HTML  # data, kept exactly
    assert ssh["Compliance"]["Status"] == "FAILED"
    assert "cis-aws-3.0 5.2" in ssh["Compliance"]["RelatedRequirements"]
    assert ssh["Remediation"]["Recommendation"]["Text"] == ANSI
    assert ssh["GeneratorId"] == "cloudwall/policy/CW-NET-001"
    # Azure findings live in the report's AWS account and region in the file form.
    rdp = by_id[report.findings[0].finding_id]
    assert rdp["AwsAccountId"] == "111122223333" and rdp["Resources"][0]["Type"] == "Other"
    assert rdp["Resources"][0]["Id"] == "/subs/nsg-web"
    drift = by_id["CWD-0002"]
    assert drift["Types"] == ["TTPs/Defense Evasion/T1562.007"]
    assert drift["Severity"] == {"Label": "CRITICAL", "Original": "critical"}
    errors = [f for f in findings if f["GeneratorId"] == "cloudwall/collection"]
    assert len(errors) == 2 and {e["Compliance"]["Status"] for e in errors} == {"NOT_AVAILABLE"}


def test_asff_without_an_aws_scope_says_how_to_send_other_clouds():
    report = golden_report()
    snapshot = replace(report.snapshot, scopes=tuple(s for s in report.snapshot.scopes
                                                     if s.provider != "aws"))
    from scanner.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        reports.render("asff", replace(report, snapshot=snapshot,
                                       findings=report.findings[:1], drift=()))
    assert "--security-hub-region" in caught.value.hint


def test_asff_caps_what_security_hub_limits():
    report = golden_report()
    long = replace(report.findings[1], title="x" * 5000, remediation="y" * 5000)
    finding = json.loads(text("asff", replace(report, findings=(long,))))[0]
    assert len(finding["Title"]) == 256 and len(finding["Remediation"]["Recommendation"][
        "Text"]) == 1024
    assert not asff_errors([finding])
