"""``--export security-hub`` for real: boto3 (parameter validation on) against moto's Security
Hub in server mode, through the local stub where a test needs Security Hub's per-item failures.

moto keeps what BatchImportFindings sent and returns it from GetFindings unchanged, so "what
Security Hub holds" can be compared with what cloudwall meant to send, field by field.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone

import boto3
import pytest
from click.testing import CliRunner
from conftest import reset_moto

from providers.aws import securityhub
from providers.aws.securityhub import export
from reports.asff import Home, items
from scanner.cli import main
from scanner.engine import analyze
from scanner.errors import ConfigError
from scanner.model import CollectionError, Finding, ScanReport, Scope, Severity, Snapshot

ACCOUNT = "123456789012"  # moto's account for the test credentials
NOW_1 = "2026-06-01T00:00:00.000Z"
NOW_2 = "2026-06-02T00:00:00.000Z"


@pytest.fixture
def hub(moto_url, stub_server, monkeypatch):
    """A fresh moto; Security Hub calls go through the stub, everything else to moto."""
    reset_moto(moto_url)
    stub_server.reset()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECURITYHUB", stub_server.url)
    return stub_server


@pytest.fixture(scope="module")
def demo_report() -> ScanReport:
    from providers.base import ProviderSettings
    from providers.demo import DemoProvider
    from scanner.collect import collect_snapshot

    def snapshot(stage):
        return collect_snapshot([DemoProvider(ProviderSettings(demo_stage=stage))], 2)

    return analyze(snapshot("changed"), ("prod", snapshot("baseline")))


def aws_only(report: ScanReport) -> ScanReport:
    snapshot = report.snapshot
    aws_snapshot = replace(snapshot, scopes=tuple(s for s in snapshot.scopes
                                                  if s.provider == "aws"),
                           providers=("aws",))
    return replace(report, snapshot=aws_snapshot,
                   findings=tuple(f for f in report.findings if f.provider == "aws"),
                   drift=tuple(d for d in report.drift if d.provider == "aws"))


def held(region: str) -> dict[str, dict]:
    """Everything this region's Security Hub holds, by id."""
    client = boto3.client("securityhub", region_name=region)
    found = {}
    for page in client.get_paginator("get_findings").paginate():
        for finding in page["Findings"]:
            assert finding["Id"] not in found, "a duplicate finding"
            found[finding["Id"]] = finding
    return found


def expected(report: ScanReport, region: str | None, now: str) -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for item in items(report):
        target = region or item.region
        out.setdefault(target, {})[item.item_id] = item.build(Home(ACCOUNT, target), now)
    return out


def no_sleep(_seconds: float) -> None:
    return None


def test_security_hub_holds_exactly_what_was_sent_in_each_region(hub, demo_report):
    report = aws_only(demo_report)
    result = export(report, now=NOW_1, sleep=no_sleep)
    assert result.account == ACCOUNT and result.complete
    wanted = expected(report, None, NOW_1)
    assert set(wanted) == {r.region for r in result.regions}
    assert len(wanted) > 1, "the demo's AWS estate spans regions"
    for region, findings in wanted.items():
        assert held(region) == findings
        outcome = next(r for r in result.regions if r.region == region)
        assert sorted(outcome.imported) == sorted(findings) and not outcome.updated
    sample = next(iter(next(iter(wanted.values())).values()))
    assert sample["AwsAccountId"] == ACCOUNT
    assert sample["ProductArn"].endswith(f":{ACCOUNT}:product/{ACCOUNT}/default")


def test_the_next_run_updates_and_archives_what_went_away(hub, demo_report):
    report = aws_only(demo_report)
    export(report, now=NOW_1, sleep=no_sleep)
    gone = report.findings[0]
    fewer = replace(report, findings=report.findings[1:])
    result = export(fewer, now=NOW_2, sleep=no_sleep)
    assert result.complete
    region = gone.region
    stored = held(region)
    assert len(stored) == len(expected(report, None, NOW_1)[region])  # updated, not duplicated
    assert stored[gone.finding_id]["RecordState"] == "ARCHIVED"
    assert stored[gone.finding_id]["UpdatedAt"] == NOW_2
    outcome = next(r for r in result.regions if r.region == region)
    assert outcome.archived == [gone.finding_id]
    assert len(outcome.updated) == len(outcome.imported) > 0
    still = [f for fid, f in stored.items() if fid != gone.finding_id]
    assert all(f["RecordState"] == "ACTIVE" and f["UpdatedAt"] == NOW_2 for f in still)
    # An update keeps when Security Hub first saw the finding.
    first = expected(report, None, NOW_1)[region]
    assert all(f["CreatedAt"] == first[f["Id"]]["CreatedAt"] for f in still)
    # A third run archives nothing more (the archived one is no longer active).
    again = export(fewer, now="2026-06-03T00:00:00.000Z", sleep=no_sleep)
    assert not any(r.archived for r in again.regions)


def test_findings_this_run_could_not_see_are_left_active(hub, demo_report):
    report = aws_only(demo_report)
    export(report, now=NOW_1, sleep=no_sleep)
    one = report.findings[0]
    # The policy did not run this time: its findings are unknown, not gone.
    not_run = replace(report, findings=tuple(f for f in report.findings
                                             if f.policy_id != one.policy_id),
                      policies=tuple(p for p in report.policies if p.policy_id != one.policy_id))
    export(not_run, now=NOW_2, sleep=no_sleep)
    assert held(one.region)[one.finding_id]["RecordState"] == "ACTIVE"
    # The scope could not be read this time: its findings are unknown too.
    failed = CollectionError("aws", one.account, one.region, "AccessDenied", code="403")
    unread = replace(report, findings=tuple(f for f in report.findings if f is not one),
                     snapshot=replace(report.snapshot, errors=(failed,)))
    export(unread, now="2026-06-03T00:00:00.000Z", sleep=no_sleep)
    stored = held(one.region)
    assert stored[one.finding_id]["RecordState"] == "ACTIVE"
    error_finding = next(f for f in stored.values()
                         if f["GeneratorId"] == "cloudwall/collection")
    assert error_finding["Compliance"] == {"Status": "NOT_AVAILABLE"}
    # No baseline this run: drift cannot have gone away.
    drift_ids = [d.drift_id for d in report.drift if d.region == one.region]
    export(replace(report, drift=(), baseline_snapshot_id=None, baseline_name=None),
           now="2026-06-04T00:00:00.000Z", sleep=no_sleep)
    stored = held(one.region)
    assert drift_ids and all(stored[i]["RecordState"] == "ACTIVE" for i in drift_ids)
    # The scope is read again: the collection error is archived.
    assert stored[error_finding["Id"]]["RecordState"] == "ARCHIVED"


def test_batches_of_100_and_per_item_failures_retried_or_reported(hub):
    scope = Scope("aws", "111122223333", "eu-west-1")
    findings = tuple(
        Finding(Finding.make_id("CW-T-1", f"sg-{i:04d}"), "CW-T-1", "t", Severity.LOW, "aws",
                scope.account, scope.region, f"sg-{i:04d}", f"group {i}")
        for i in range(250))
    snapshot = Snapshot("20260601T000000Z-00000001", datetime(2026, 6, 1, tzinfo=timezone.utc),
                        (scope,), providers=("aws",))
    report = ScanReport(snapshot, findings)
    transient, broken, stubborn = findings[3], findings[120], findings[240]
    hub.reject_finding(transient.finding_id, "InternalException", times=1)
    hub.reject_finding(broken.finding_id, "InvalidInput", times=5)
    hub.reject_finding(stubborn.finding_id, "ThrottlingException", times=10)
    waits: list[float] = []
    result = export(report, now=NOW_1, sleep=waits.append, attempts=3, backoff=0.5)
    outcome = result.regions[0]
    failed = {fid: (code, message) for fid, code, message in outcome.failed}
    assert set(failed) == {broken.finding_id, stubborn.finding_id}
    assert failed[broken.finding_id][0] == "InvalidInput"
    assert "after 3 attempts" in failed[stubborn.finding_id][1]
    assert not result.complete
    assert outcome.retries == 1 + 2  # the transient one once, the stubborn one twice
    assert waits == [0.5, 0.5, 1.0]  # backoff doubles per attempt within a batch
    stored = held("eu-west-1")
    assert len(stored) == 248 and transient.finding_id in stored
    assert broken.finding_id not in stored and stubborn.finding_id not in stored
    imports = hub.pages("BatchImportFindings", "eu-west-1")
    # Three batches: the first retried once, the second's failure is final, the third retried
    # twice.
    assert imports == 2 + 1 + 3


def test_other_clouds_need_a_region_and_go_to_the_importing_account(hub, demo_report):
    with pytest.raises(ConfigError, match="security-hub-region"):
        export(demo_report, now=NOW_1, sleep=no_sleep)
    assert hub.pages("BatchImportFindings") == 0  # nothing was sent
    result = export(demo_report, region="eu-west-1", now=NOW_1, sleep=no_sleep)
    assert [r.region for r in result.regions] == ["eu-west-1"] and result.complete
    stored = held("eu-west-1")
    assert stored == expected(demo_report, "eu-west-1", NOW_1)["eu-west-1"]
    providers = {f["ProductFields"]["cloudwall/provider"] for f in stored.values()}
    assert providers == {"aws", "azure", "gcp"}
    azure = next(f for f in stored.values() if f["ProductFields"]["cloudwall/provider"]
                 == "azure")
    assert azure["AwsAccountId"] == ACCOUNT and azure["Resources"][0]["Type"] == "Other"


def test_security_hub_errors_are_one_line_provider_errors(hub, demo_report):
    hub.fail("securityhub", "AccessDeniedException")
    with pytest.raises(securityhub.ProviderError, match="AccessDeniedException"):
        export(aws_only(demo_report), now=NOW_1, sleep=no_sleep)


def test_cli_scan_and_snapshots_show_export(hub, tmp_path):
    store = str(tmp_path / "s.db")

    def run(*args):
        return CliRunner().invoke(main, ["--store", store, *args], catch_exceptions=False)

    scanned = run("scan", "--provider", "demo", "--save", "--format", "json",
                  "--export", "security-hub", "--security-hub-region", "us-east-1")
    assert scanned.exit_code == 0, scanned.output
    assert "security hub us-east-1 (account 123456789012):" in scanned.stderr
    document = json.loads(scanned.stdout)
    stored = held("us-east-1")
    assert len(stored) == len(document["findings"]) + len(document["drift"])
    shown = run("snapshots", "show", "latest", "--format", "sarif", "--export", "security-hub",
                "--security-hub-region", "us-east-1")
    assert shown.exit_code == 0, shown.output
    assert f"{len(stored)} updated" in shown.stderr and "0 archived" in shown.stderr
    assert len(held("us-east-1")) == len(stored)
    hub.reject_finding(document["findings"][0]["id"], "InvalidInput", times=5)
    rejected = run("snapshots", "show", "latest", "--format", "json", "--export",
                   "security-hub", "--security-hub-region", "us-east-1")
    assert rejected.exit_code == 3  # the report is written; the export is incomplete
    assert "error: security hub rejected CWF-" in rejected.stderr
    lonely = run("snapshots", "show", "latest", "--security-hub-region", "us-east-1")
    assert lonely.exit_code == 2
    assert lonely.stderr.startswith("error: --security-hub-region needs --export")


def test_a_filtered_report_never_archives_what_its_filters_hide(hub, demo_report):
    report = aws_only(demo_report)
    export(report, now=NOW_1, sleep=no_sleep)
    low = [f for f in report.findings if f.severity.rank < Severity.HIGH.rank]
    assert low
    high_only = replace(report, findings=tuple(f for f in report.findings
                                               if f.severity.rank >= Severity.HIGH.rank),
                        filters={"severity": ["high", "critical"]})
    result = export(high_only, now=NOW_2, sleep=no_sleep)
    assert not any(r.archived for r in result.regions)
    # A scope filter: what it hides stays; what it shows and no longer finds is archived.
    one = report.findings[0]
    other_region = next(f for f in report.findings if f.region != one.region)
    narrowed = replace(report, findings=tuple(
        f for f in report.findings if f.region == one.region and f is not one),
        drift=tuple(d for d in report.drift if d.region == one.region),
        filters={"region": [one.region]})
    export(narrowed, now="2026-06-03T00:00:00.000Z", sleep=no_sleep)
    assert held(one.region)[one.finding_id]["RecordState"] == "ARCHIVED"
    assert held(other_region.region)[other_region.finding_id]["RecordState"] == "ACTIVE"


def test_a_region_with_nothing_left_is_still_visited_and_archived(hub, demo_report):
    report = aws_only(demo_report)
    export(report, now=NOW_1, sleep=no_sleep)
    region = report.findings[0].region
    cleared = replace(report, findings=tuple(f for f in report.findings if f.region != region),
                      drift=tuple(d for d in report.drift if d.region != region))
    result = export(cleared, now=NOW_2, sleep=no_sleep)
    assert all(f["RecordState"] == "ARCHIVED" for f in held(region).values())
    assert next(r for r in result.regions if r.region == region).archived


# The command line's filters (--severity, --provider...) narrow what is exported, as they narrow
# every output of the run.
def run_cli(store, *args):
    return CliRunner().invoke(main, ["--store", str(store), *args], catch_exceptions=False)


def test_cli_exports_the_filtered_view_and_never_loses_what_it_hides(hub, tmp_path):
    store = tmp_path / "s.db"
    region = ("--export", "security-hub", "--security-hub-region", "us-east-1")
    first = run_cli(store, "scan", "--provider", "demo", "--save", "--format", "json", *region)
    assert first.exit_code == 0, first.output
    everything = held("us-east-1")
    document = json.loads(first.stdout)
    assert len(everything) == len(document["findings"]) + len(document["drift"])
    # A filtered run sends only what it shows, and archives nothing it filtered away.
    critical = run_cli(store, "snapshots", "show", "--format", "json", "--severity", "critical",
                       "--provider", "aws", *region)
    assert critical.exit_code == 0, critical.output
    sent = json.loads(critical.stdout)
    assert sent["findings"] and all(f["provider"] == "aws" for f in sent["findings"])
    assert f"{len(sent['findings'])} sent" in critical.stderr and "0 archived" in critical.stderr
    after = held("us-east-1")
    assert after.keys() == everything.keys()
    assert {f["RecordState"] for f in after.values()} == {"ACTIVE"}
