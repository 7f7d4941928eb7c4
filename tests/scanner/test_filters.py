"""Report filters: a pure view of a report; what they keep, what they count, what they leave."""

from __future__ import annotations

import pytest

from scanner.filters import (
    ReportFilter,
    apply_filter,
    filter_snapshot,
    parse_severities,
    parse_tag,
)
from scanner.model import CollectionError, Severity
from tests.scanner.pipeline_builders import report, snapshot


def ids(view) -> tuple[list[str], list[str]]:
    return (sorted(f"{f.policy_id}:{f.resource_id}" for f in view.findings),
            sorted(d.drift_id for d in view.drift))


def test_no_filter_hides_suppressed_findings_but_counts_them():
    view = apply_filter(report(), ReportFilter())
    assert all(not f.suppressed for f in view.findings) and len(view.findings) == 4
    assert view.suppressed_count == 1 and len(view.suppressed_findings) == 1
    assert len(view.drift) == 5 and len(view.exposures) == 2
    assert view.filters == {}
    shown = apply_filter(report(), ReportFilter(include_suppressed=True))
    assert len(shown.findings) == 5 and shown.suppressed_count == 1
    assert shown.filters == {"include_suppressed": True}


def test_one_severity_is_a_minimum_several_are_exactly_those():
    assert parse_severities(["high"]) == {Severity.HIGH, Severity.CRITICAL}
    assert parse_severities(["low", "critical"]) == {Severity.LOW, Severity.CRITICAL}
    with pytest.raises(ValueError, match="unknown severity"):
        parse_severities(["urgent"])
    view = apply_filter(report(), ReportFilter(severities=parse_severities(["high"])))
    assert ids(view) == (["CW-NET-001:sg-web", "CW-NET-003:sg-dev"], ["CWD-1", "CWD-5"])
    # Exposures carry no severity: a severity filter leaves them.
    assert len(view.exposures) == 2
    exact = apply_filter(report(), ReportFilter(severities=parse_severities(["low", "medium"])))
    assert ids(exact) == (["CW-AZ-002:nsg-app", "CW-NET-006:sg-reporting"], ["CWD-3", "CWD-4"])
    assert exact.filters == {"severity": ["low", "medium"]}


def test_scope_filters_narrow_everything_the_errors_included():
    failed = CollectionError("azure", "sub-1", "", "denied", "grant Reader", code="403")
    full = report(errors=(failed,))
    view = apply_filter(full, ReportFilter(providers=("aws",)))
    assert {f.provider for f in view.findings} == {"aws"}
    assert {d.provider for d in view.drift} == {"aws"}
    assert [e.asset_id for e in view.exposures] == ["eni-web"]
    assert view.exposure_unknown == {}
    # The Azure scope that could not be read is not in a report about AWS...
    assert view.snapshot.errors == () and [s.provider for s in view.snapshot.scopes] == [
        "aws", "aws"]
    assert {rs.provider for rs in view.snapshot.rule_sets} == {"aws"}
    # ... and it is in one about Azure; the stored snapshot object is untouched.
    azure = apply_filter(full, ReportFilter(providers=("azure",)))
    assert azure.snapshot.errors == (failed,)
    assert full.snapshot.errors == (failed,) and len(full.snapshot.rule_sets) == 4


def test_account_by_id_or_name_and_region_globs():
    by_name = apply_filter(report(), ReportFilter(accounts=("sho*",)))
    assert {f.provider for f in by_name.findings} == {"azure"}
    by_id = apply_filter(report(), ReportFilter(accounts=("111122223333",)))
    assert {f.provider for f in by_id.findings} == {"aws"}
    eu = apply_filter(report(), ReportFilter(regions=("eu-*",)))
    assert ids(eu) == (["CW-NET-006:sg-reporting"], ["CWD-4"])
    # A scope with no region (an Azure subscription) concerns every region: it stays.
    assert ("azure", "sub-1", "") in {(s.provider, s.account, s.region)
                                      for s in eu.snapshot.scopes}


def test_policy_filter_narrows_findings_only():
    view = apply_filter(report(), ReportFilter(policies=("cw-net-00[13]",)))
    assert ids(view)[0] == ["CW-NET-001:sg-web", "CW-NET-003:sg-dev"]
    assert len(view.drift) == 5 and len(view.exposures) == 2


def test_resource_filter_by_id_or_name():
    view = apply_filter(report(), ReportFilter(resources=("SG-WEB",)))
    assert ids(view) == (["CW-NET-001:sg-web"], ["CWD-1"])
    assert view.exposures == ()  # the exposure is about eni-web, not sg-web
    by_name = apply_filter(report(), ReportFilter(resources=("web-1",)))
    assert [e.asset_id for e in by_name.exposures] == ["eni-web"]  # the asset's name
    by_asset = apply_filter(report(), ReportFilter(resources=("eni-web",)))
    assert by_asset.suppressed_count == 1  # the suppressed finding names eni-web as its asset


def test_tag_filter_and_across_keys_or_within_a_key_and_baseline_tags():
    assert parse_tag("env=prod") == ("env", "prod")
    assert parse_tag("owner=") == ("owner", "")
    with pytest.raises(ValueError, match="KEY=VALUE"):
        parse_tag("env")
    prod = apply_filter(report(), ReportFilter(tags=(("env", "prod"),)))
    # Keys compare without case (Azure's do), values exactly: Env=Prod is not env=prod.
    assert ids(prod) == (["CW-NET-001:sg-web", "CW-NET-006:sg-reporting"],
                         ["CWD-1", "CWD-4", "CWD-5"])  # CWD-5: sg-gone, tagged in the baseline
    both = apply_filter(report(), ReportFilter(tags=(("env", "prod"), ("team", "web"))))
    assert ids(both) == (["CW-NET-001:sg-web"], ["CWD-1"])
    either = apply_filter(report(), ReportFilter(tags=(("env", "dev"), ("env", "P*"))))
    assert ids(either)[0] == ["CW-AZ-002:nsg-app", "CW-NET-003:sg-dev"]
    assert [e.asset_id for e in either.exposures] == ["nic-app"]
    assert either.exposure_unknown == {"nic-app": "NSG not collected"}


def test_filters_combine_and_can_filter_everything_away():
    view = apply_filter(report(), ReportFilter(providers=("aws",),
                                               severities=parse_severities(["critical"])))
    assert ids(view) == (["CW-NET-003:sg-dev"], ["CWD-1"])
    nothing = apply_filter(report(), ReportFilter(resources=("no-such-*",)))
    assert ids(nothing) == ([], []) and nothing.exposures == ()
    assert nothing.suppressed_count == 0


def test_filtering_twice_is_filtering_once():
    flt = ReportFilter(providers=("aws",), include_suppressed=True)
    once = apply_filter(report(), flt)
    assert apply_filter(once, flt) == once


def test_the_snapshot_view_is_the_same_object_without_scope_filters():
    snap = snapshot()
    assert filter_snapshot(snap, ReportFilter(severities=frozenset({Severity.HIGH}))) is snap
