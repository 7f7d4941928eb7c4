"""Pipelines end to end: gates, filters, one JSON contract checked against the published
schema, and several outputs from one run, on every reporting command."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner

import reports
from reports.json_report import schema
from scanner.cli import main
from scanner.model import CollectionError, Severity
from tests.scanner.pipeline_builders import snapshot
from tests.test_cli_end_to_end import assert_one_line_error, cloudwall, store_state

VALIDATOR = jsonschema.Draft202012Validator(schema())


def invoke(store: Path, *args: str, env: dict | None = None):
    return CliRunner().invoke(main, ["--store", str(store), *args], catch_exceptions=False,
                              env=env)


def valid(text: str, kind: str) -> dict:
    document = json.loads(text)
    errors = [f"{list(e.path)}: {e.message}" for e in VALIDATOR.iter_errors(document)]
    assert errors == [], errors[:5]
    assert document["kind"] == kind
    return document


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    """The demo saved as baseline ``prod``, then its changed stage saved as ``latest``."""
    root = tmp_path_factory.mktemp("pipelines")
    store = root / "store.db"
    for args in (["scan", "--provider", "demo", "--save", "--format", "json"],
                 ["baseline", "set", "prod"],
                 ["scan", "--provider", "demo", "--demo-stage", "changed", "--save",
                  "--format", "json"]):
        result = invoke(store, *args)
        assert result.exit_code in (0, 3), result.output
    return store


def baseline_id(store: Path) -> str:
    shown = invoke(store, "baseline", "show", "prod")
    return next(line.split()[1] for line in shown.stdout.splitlines()
                if line.startswith("snapshot:"))


# --- the JSON contract ------------------------------------------------------------------------


def test_the_schema_is_valid_and_shipped():
    jsonschema.Draft202012Validator.check_schema(schema())
    printed = CliRunner().invoke(main, ["report", "schema"])
    assert printed.exit_code == 0 and json.loads(printed.stdout) == schema()


SCAN_COMMANDS = {
    "scan": ["scan", "--provider", "demo", "--demo-stage", "changed", "--baseline", "prod",
             "--attribute"],
    "snapshots show": ["snapshots", "show", "latest"],
    "diff": ["diff", "--baseline", "prod", "--attribute"],
}


@pytest.mark.parametrize("command", list(SCAN_COMMANDS))
@pytest.mark.parametrize("filters", [[], ["--severity", "high", "--provider", "aws",
                                          "--tag", "app=shop", "--include-suppressed"]])
def test_scan_show_and_diff_json_match_the_schema(estate, command, filters):
    args = list(SCAN_COMMANDS[command])
    if filters and command == "scan":
        filters = [f for f in filters if f not in ("--provider", "aws")]
    result = invoke(estate, *args, "--format", "json", *filters)
    assert result.exit_code in (0, 3), result.output
    document = valid(result.stdout, "scan")
    assert document["findings"] or document["drift"]
    if command != "snapshots show":
        assert document["drift"] and document["baseline"]["name"] == "prod"
    if command == "diff":
        assert any(a["actor"] for d in document["drift"] for a in d["attribution"])
    if filters:
        assert document["filters"]["severity"] == ["high", "critical"]
        assert all(f["severity"] in ("high", "critical") for f in document["findings"])


def test_demo_and_an_incomplete_scan_match_the_schema(tmp_path):
    demo = CliRunner().invoke(main, ["demo", "--format", "json"])
    assert demo.exit_code in (0, 3), demo.output
    document = valid(demo.stdout, "scan")
    assert document["drift"] and document["summary"]["suppressed"] >= 0
    failed = CollectionError("azure", "sub-1", "", "denied", "grant Reader", code="403")
    path = tmp_path / "partial.json"
    path.write_text(snapshot(errors=(failed,)).to_json())
    store = tmp_path / "store.db"
    assert invoke(store, "snapshots", "import", str(path)).exit_code == 0
    shown = invoke(store, "snapshots", "show", "--format", "json")
    document = valid(shown.stdout, "scan")
    assert document["errors"] and document["summary"]["complete"] is False
    exposure = valid(invoke(store, "exposure", "--format", "json").stdout, "exposure")
    assert exposure["errors"] == document["errors"]


def test_drift_details_name_families_and_services_as_exposures_do(estate):
    document = valid(invoke(estate, "diff", "--baseline", "prod", "--format", "json").stdout,
                     "scan")
    opened = [e for d in document["drift"] for e in d["details"].get("opened", ())]
    assert opened
    from scanner.catalogue import SERVICES_BY_KEY

    assert any(entry["services"] for entry in opened)
    for entry in opened:
        assert entry["family"] in ("ipv4", "ipv6")  # as in exposures and newly_exposed
        # services are catalogue keys, as in exposures and findings; service_names their names
        names = list(dict.fromkeys(SERVICES_BY_KEY[k].name for k in entry["services"]))
        assert entry["service_names"] == names


def test_exposure_json_matches_the_schema_with_the_same_keys_as_scan(estate):
    result = invoke(estate, "exposure", "--format", "json")
    assert result.exit_code in (0, 3), result.output
    exposure = valid(result.stdout, "exposure")
    scan = valid(invoke(estate, "snapshots", "show", "--format", "json").stdout, "scan")
    # The same things under the same keys, with the same shapes.
    assert exposure["exposures"] == scan["exposures"]
    assert exposure["exposure_unknown"] == scan["exposure_unknown"]
    assert exposure["snapshot"] == scan["snapshot"] and exposure["tool"] == scan["tool"]
    assert exposure["errors"] == scan["errors"]
    for key in ("exposed_assets", "internet_exposed_assets", "unknown_assets"):
        assert exposure["summary"][key] == scan["summary"][key]
    filtered = valid(invoke(estate, "exposure", "--format", "json", "--provider", "gcp",
                            "--tag", "tier=web").stdout, "exposure")
    assert filtered["filters"] == {"provider": ["gcp"], "tag": ["tier=web"]}
    assert filtered["exposures"] and {e["asset_name"] for e in filtered["exposures"]} <= {
        e["asset_name"] for e in exposure["exposures"]}
    assert all(e["provider"] == "gcp" and "web" in e["asset_id"]
               for e in filtered["exposures"])


@pytest.mark.parametrize("framework", ["cis-aws", "nist-800-53"])
def test_compliance_json_matches_the_schema(estate, framework):
    result = invoke(estate, "report", "compliance", "--framework", framework, "--format",
                    "json", "--include-suppressed")
    assert result.exit_code in (0, 3), result.output
    document = valid(result.stdout, "compliance")
    scan = valid(invoke(estate, "snapshots", "show", "--format", "json").stdout, "scan")
    assert document["snapshot"] == scan["snapshot"] and document["tool"] == scan["tool"]
    [framework] = document["frameworks"]
    key = framework["key"]
    rows = [f for c in framework["controls"] for f in c["failing"]]
    assert rows, "the changed demo fails some controls"
    # A failing item is the finding of the scan document: the same id, keys and values.
    by_id = {f["id"]: f for f in scan["findings"]}
    for row in rows:
        assert key in row["compliance"]
        assert {k: v for k, v in row.items() if k in by_id[row["id"]]} == by_id[row["id"]]


def test_the_golden_report_matches_the_schema_and_old_keys_do_not():
    golden = Path(__file__).parent / "golden" / "report.json"
    document = valid(golden.read_text(), "scan")
    old = dict(document, schema_version=1)
    assert list(VALIDATOR.iter_errors(old))
    renamed = {k: v for k, v in document.items() if k != "exposures"}
    assert list(VALIDATOR.iter_errors({**renamed, "exposure": document["exposures"]}))
    mixed = dict(document, kind="exposure")
    assert list(VALIDATOR.iter_errors(mixed))


# --- filters never touch what is stored -------------------------------------------------------


def test_a_filtered_scan_stores_exactly_what_an_unfiltered_one_does(tmp_path):
    exported = []
    for index, filters in enumerate(([], ["--severity", "critical", "--region", "eu-*",
                                          "--policy", "CW-NET-*", "--resource", "nothing",
                                          "--tag", "env=none", "--account", "x"])):
        store = tmp_path / f"s{index}.db"
        result = invoke(store, "scan", "--provider", "demo", "--save", "--format", "json",
                        *filters)
        assert result.exit_code in (0, 3), result.output
        out = tmp_path / f"export{index}.json"
        assert invoke(store, "snapshots", "export", "latest", "-o", str(out)).exit_code == 0
        document = json.loads(out.read_text())
        if filters:
            assert json.loads(result.stdout)["findings"] == []  # everything filtered away
        exported.append(document)
    # The same collection, byte for byte once its id and time are set aside.
    first, second = ({k: v for k, v in d.items() if k not in ("snapshot_id", "taken_at")}
                     for d in exported)
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert first["rule_sets"] and first["assets"]


def test_filtered_reports_leave_the_store_byte_identical(estate, tmp_path):
    before = store_state(estate)
    filters = ["--severity", "high", "--provider", "gcp", "--tag", "tier=*"]
    for args in (["snapshots", "show", "latest", *filters, "--format", "json"],
                 ["diff", "--baseline", "prod", *filters, "--format", "json"],
                 ["exposure", "--provider", "gcp", "--tag", "tier=*", "--format", "json"],
                 ["report", "compliance", "--framework", "cis-gcp", *filters]):
        result = invoke(estate, *args)
        assert result.exit_code in (0, 3), (args, result.output)
    assert store_state(estate) == before


# --- gates on the command line ----------------------------------------------------------------


def diff(estate: Path, *args: str):
    result = invoke(estate, "diff", "--baseline", "prod", "--format", "json", *args)
    return result, json.loads(result.stdout)


def test_the_scheduled_run_alarms_on_drift_alone(estate):
    """The README's recipe: existing high findings do not fail it; a widening does."""
    same = invoke(estate, "diff", "--baseline", "prod", "--snapshot", baseline_id(estate),
                  "--fail-on-drift", "widened", "--format", "json")
    document = json.loads(same.stdout)
    assert document["drift"] == [] and document["summary"]["findings"]["high"] > 0
    assert same.exit_code == 0 and "gate:" not in same.stderr
    changed, document = diff(estate, "--fail-on-drift", "widened")
    assert changed.exit_code == 1
    widened = [d for d in document["drift"] if d["effect"] in ("widened", "unknown")]
    assert f"gate: {len(widened)} drift item(s) widening or undecided" in changed.stderr


def test_findings_without_drift(estate):
    result, document = diff(estate, "--snapshot", baseline_id(estate), "--fail-on", "high",
                            "--fail-on-drift", "any")
    assert document["drift"] == [] and result.exit_code == 1
    counts = document["summary"]["findings"]
    assert [line for line in result.stderr.splitlines() if line.startswith("gate:")] == [
        f"gate: {counts['high'] + counts['critical']} finding(s) at or above high "
        "(--fail-on high)"]


def test_drift_without_findings(estate):
    result, document = diff(estate, "--skip", "CW-*", "--fail-on", "info")
    assert document["findings"] == [] and document["drift"]
    assert result.exit_code == 0
    result, _ = diff(estate, "--skip", "CW-*", "--fail-on", "info", "--fail-on-drift", "high")
    assert result.exit_code == 1
    assert "--fail-on-drift high" in result.stderr and "--fail-on info" not in result.stderr


def test_both_gates_trip_and_both_are_reported(estate):
    result, _ = diff(estate, "--fail-on", "critical", "--fail-on-drift", "critical")
    gates = [line for line in result.stderr.splitlines() if line.startswith("gate:")]
    assert result.exit_code == 1 and len(gates) == 2


def test_gates_count_only_what_the_filters_leave(estate):
    tripped, _ = diff(estate, "--fail-on", "medium", "--fail-on-drift", "widened")
    assert tripped.exit_code == 1
    # Only low and medium items, one policy's findings: nothing at the gates' level is left.
    result, document = diff(estate, "--policy", "CW-GCP-001", "--severity", "low,medium",
                            "--fail-on", "high", "--fail-on-drift", "high")
    assert result.exit_code == 0 and "gate:" not in result.stderr
    assert document["findings"]
    assert all(d["severity"] in ("low", "medium") for d in document["drift"])
    assert document["filters"] == {"policy": ["CW-GCP-001"], "severity": ["low", "medium"]}
    # A filter that keeps the drift keeps the gate tripping.
    kept, document = diff(estate, "--resource", "prod-folder", "--fail-on-drift", "widened")
    assert document["drift"] and kept.exit_code == 1


def test_suppressed_findings_counted_shown_on_request_never_gated(estate, tmp_path):
    rules = tmp_path / "suppressions.yaml"
    rules.write_text("suppressions:\n  - {policy: 'CW-AWS-003', reason: accepted, owner: sec,"
                     " expires: 2099-01-01}\n")
    args = ["--suppressions", str(rules), "--policy", "CW-AWS-003", "--fail-on", "info"]
    hidden = invoke(estate, "snapshots", "show", "--format", "json", *args)
    shown = invoke(estate, "snapshots", "show", "--format", "json", *args,
                   "--include-suppressed")
    hidden_doc, shown_doc = json.loads(hidden.stdout), json.loads(shown.stdout)
    assert hidden_doc["findings"] == [] and hidden_doc["summary"]["suppressed"] > 0
    assert len(shown_doc["findings"]) == shown_doc["summary"]["suppressed"] == \
        hidden_doc["summary"]["suppressed"]
    assert all(f["suppressed"] for f in shown_doc["findings"])
    assert hidden.exit_code == shown.exit_code == 0


def test_exit_precedence_usage_then_gate_then_incomplete(tmp_path):
    failed = CollectionError("azure", "sub-1", "", "denied", "grant Reader", code="403")
    path = tmp_path / "partial.json"
    path.write_text(snapshot(errors=(failed,)).to_json())
    store = tmp_path / "store.db"
    assert invoke(store, "snapshots", "import", str(path)).exit_code == 0
    show = ("snapshots", "show", "latest", "--format", "json")
    assert invoke(store, *show).exit_code == 3
    # Azure, whose scope was not read: its worst finding is high.
    azure = (*show, "--provider", "azure")
    assert invoke(store, *azure, "--fail-on", "critical").exit_code == 3
    assert invoke(store, *azure, "--fail-on", "high").exit_code == 1  # gate before incomplete
    # Scoped to the clouds that were read, the report is complete.
    assert invoke(store, *show, "--provider", "aws").exit_code == 0
    assert invoke(store, *show, "--provider", "aws", "--fail-on", "high").exit_code == 1
    # A usage error comes before everything: no report at all.
    for bad in (["--fail-on-drift", "wide"], ["--severity", "urgent"], ["--tag", "env"],
                ["--policy", "CW-NTE-001"], ["--provider", "oracle"],
                ["--output-format", "json"], ["--output-format", "xml=out.xml"]):
        result = invoke(store, *show, "--fail-on", "high", *bad)
        assert result.exit_code == 2, (bad, result.output)
        assert_one_line_error(result.stderr)
        assert result.stdout == ""
    typo = invoke(store, *show, "--policy", "CW-NTE-001")
    assert "did you mean 'CW-NET-001'?" in typo.stderr


def test_exposure_has_no_severity_or_policy_filter(estate):
    for flag in (["--severity", "high"], ["--policy", "CW-NET-001"], ["--include-suppressed"]):
        result = invoke(estate, "exposure", *flag)
        assert result.exit_code == 2 and "No such option" in result.stderr


def test_compliance_gate_counts_the_listed_failing_findings(estate):
    base = ("report", "compliance", "--framework", "cis-aws", "--format", "json")
    plain = invoke(estate, *base)
    document = valid(plain.stdout, "compliance")
    controls = document["frameworks"][0]["controls"]
    failing = [f for c in controls for f in c["failing"]]
    worst = max((Severity(f["severity"]) for f in failing), key=lambda s: s.rank)
    assert plain.exit_code == 0
    assert invoke(estate, *base, "--fail-on", worst.value).exit_code == 1
    # Filtered to findings below the gate: the controls still fail, the gate does not trip.
    low = invoke(estate, *base, "--severity", "low,medium", "--fail-on", "high")
    filtered = valid(low.stdout, "compliance")
    assert low.exit_code == 0
    kept = filtered["frameworks"][0]["controls"]
    assert [c["status"] for c in kept] == [c["status"] for c in controls]
    assert sum(len(c["failing"]) for c in kept) < len(failing)
    assert all(f["severity"] in ("low", "medium") for c in kept for f in c["failing"])
    # Scoped to a cloud the framework does not cover, nothing is assessed as passing.
    azure = valid(invoke(estate, *base, "--provider", "azure").stdout, "compliance")
    assert azure["summary"]["pass"] == 0 and azure["summary"]["fail"] == 0


# --- several outputs --------------------------------------------------------------------------


def test_every_registered_format_from_one_scan(tmp_path):
    paths = {fmt: tmp_path / f"report.{fmt}" for fmt in reports.format_names()}
    extra = [a for fmt, path in paths.items() for a in ("--output-format", f"{fmt}={path}")]
    result = cloudwall("scan", "--provider", "demo", "--format", "json", *extra)
    assert result.returncode in (0, 3), result.stderr
    for fmt, path in paths.items():
        assert path.stat().st_size > 0, fmt
    # One report behind every output: stdout and the json file are the same document.
    assert json.loads(result.stdout) == json.loads(paths["json"].read_text())
    valid(result.stdout, "scan")
    # Written atomically: nothing but the reports is left in the directory.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths.values())


def test_outputs_of_a_filtered_diff_share_the_view_and_stdout_dash(estate, tmp_path):
    md, data = tmp_path / "drift.md", tmp_path / "drift.json"
    result = invoke(estate, "diff", "--baseline", "prod", "--format", "markdown", "--output",
                    str(md), "--output-format", f"json={data}", "--output-format", "csv=-",
                    "--provider", "azure", "--fail-on-drift", "widened")
    assert result.exit_code == 1
    document = valid(data.read_text(), "scan")
    assert document["drift"] and {d["provider"] for d in document["drift"]} == {"azure"}
    assert all(d["id"] in md.read_text() for d in document["drift"])
    assert all(d["id"] in result.stdout for d in document["drift"])  # the csv on stdout
    assert "aws" not in {row.split(",")[1] for row in result.stdout.splitlines()[1:] if row}


def test_exposure_and_compliance_write_several_outputs(estate, tmp_path):
    dot, data = tmp_path / "x.dot", tmp_path / "x.json"
    result = invoke(estate, "exposure", "--output-format", f"dot={dot}",
                    "--output-format", f"json={data}")
    assert result.exit_code in (0, 3)
    assert dot.read_text().startswith("digraph") and valid(data.read_text(), "exposure")
    assert "assets exposed" in result.stdout  # the table still on stdout
    md, cj = tmp_path / "c.md", tmp_path / "c.json"
    result = invoke(estate, "report", "compliance", "--framework", "cis-gcp", "--output",
                    str(md), "--output-format", f"json={cj}")
    assert result.exit_code in (0, 3) and result.stdout == ""
    assert md.read_text().startswith("#") and valid(cj.read_text(), "compliance")


def test_two_outputs_to_one_place_are_refused_before_any_work(tmp_path):
    out = tmp_path / "r.json"
    store = tmp_path / "s.db"
    for args in (["--output", str(out), "--output-format", f"csv={out}"],
                 ["--output-format", "csv=-"],
                 ["--output-format", f"csv={out}", "--output-format", f"markdown={out}"]):
        result = invoke(store, "scan", "--provider", "demo", "--save", *args)
        assert result.exit_code == 2, result.output
        assert_one_line_error(result.stderr, "two outputs")
    assert not store.exists() and not out.exists()


def test_an_unwritable_extra_output_is_an_error_and_leaves_no_partial_file(tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("x")
    good = tmp_path / "good.json"
    result = invoke(tmp_path / "s.db", "scan", "--provider", "demo", "--output", str(good),
                    "--output-format", f"csv={blocked / 'r.csv'}")
    assert result.exit_code == 2
    assert_one_line_error(result.stderr, "cannot write")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "good.json"]

