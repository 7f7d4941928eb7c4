"""Lists that never end, storms of 500s and 429s, bodies cut short and slow answers, on every
cloud, through the real SDK clients: each ends, is recorded for its scope and resource type, and
exits 3; the number of requests is bounded by the page cap."""

from __future__ import annotations

import pytest

from tests.drills.drill_support import AWS_REGION, run_cli
from tests.servers.aws_stub import DEFAULT_ACCOUNT
from tests.servers.azure_arm import NETWORK_TYPES

# --- AWS: botocore paginators against the stub --------------------------------------------------


def aws_scan(*extra: str):
    return run_cli("scan", "--provider", "aws", "--regions", AWS_REGION, "--format", "json",
                   *extra)


def only_error(outcome, resource_type):
    errors = outcome.errors(resource_type)
    assert len(errors) == 1, [e["reason"] for e in outcome.report["errors"]]
    return errors[0]


@pytest.mark.parametrize(("mode", "action", "resource_type", "most_pages"), [
    ("repeat", "DescribeSecurityGroups", "SecurityGroups", 2),
    ("cycle", "DescribeNetworkInterfaces", "NetworkInterfaces", 3),
])
def test_aws_a_repeating_token_is_a_loop_error(aws_drill, mode, action, resource_type,
                                               most_pages):
    aws_drill.paging_faults[action] = mode
    outcome = aws_scan()
    assert outcome.exit_code == 3, outcome.stderr
    error = only_error(outcome, resource_type)
    assert error["code"] == "PaginationLoop"
    assert (error["account"], error["region"]) == (DEFAULT_ACCOUNT, AWS_REGION)
    assert "--max-pages" not in error["hint"] and "repeat" in error["reason"]
    assert aws_drill.pages(action) <= most_pages
    # The rest of the region is still read and reported.
    assert {e["resource_type"] for e in outcome.report["errors"]} == {resource_type}
    assert outcome.report["summary"]["rule_sets"] >= 1


def test_aws_new_tokens_on_empty_pages_stop_at_the_page_cap(aws_drill):
    aws_drill.paging_faults["DescribeSecurityGroupRules"] = "endless"
    outcome = aws_scan("--max-pages", "25")
    assert outcome.exit_code == 3
    error = only_error(outcome, "SecurityGroupRules")
    assert error["code"] == "PageLimit"
    assert "--max-pages" in error["hint"]
    assert aws_drill.pages("DescribeSecurityGroupRules") == 25


def test_aws_the_item_cap_stops_a_list(aws_drill):
    outcome = aws_scan("--max-items", "2")
    assert outcome.exit_code == 3
    error = only_error(outcome, "SecurityGroupRules")  # the only list with more than 2 items
    assert error["code"] == "ItemLimit"


@pytest.mark.parametrize(("fault", "code"), [
    ("InternalError", "InternalError"),
    ("RequestLimitExceeded", "Throttling"),
])
def test_aws_storms_are_bounded_by_the_retries(aws_drill, fault, code):
    aws_drill.fail("ec2", fault, action="DescribeVpcs")
    outcome = aws_scan("--max-retries", "2")
    assert outcome.exit_code == 3
    assert only_error(outcome, "Vpcs")["code"] == code
    assert aws_drill.pages("DescribeVpcs") <= 3


@pytest.mark.parametrize("how", ["Truncated", "Dropped"])
def test_aws_a_body_cut_short_is_an_error_for_that_type(aws_drill, how):
    aws_drill.fail("ec2", how, action="DescribeSubnets")
    outcome = aws_scan()
    assert outcome.exit_code == 3
    error = only_error(outcome, "Subnets")
    assert error["reason"]


def test_aws_a_slow_answer_times_out(aws_drill):
    aws_drill.fail("ec2", "Delay", action="DescribeRouteTables", delay=3.0)
    outcome = aws_scan("--timeout", "0.5")
    assert outcome.exit_code == 3
    assert only_error(outcome, "RouteTables")["code"] == "Timeout"


# --- Azure: nextLink through the ARM pipeline -------------------------------------------------


def azure_scan(arm, *extra: str):
    from tests.providers.azure.azure_estate import SUB

    return run_cli("scan", "--provider", "azure", "--subscription", SUB, "--azure-endpoint",
                   arm.url, "--format", "json", *extra)


def _faulty(arm, key):
    from tests.providers.azure.azure_estate import SUB

    return SUB, key


def test_azure_a_nextlink_back_to_the_same_page_is_a_loop(arm_drill):
    key = _faulty(arm_drill, "networkInterfaces")
    arm_drill.estate.paging_faults[key] = "repeat"
    outcome = azure_scan(arm_drill)
    assert outcome.exit_code == 3
    error = only_error(outcome, "networkInterfaces")
    assert error["code"] == "PaginationLoop"
    assert len(arm_drill.estate.requests_for("/networkInterfaces")) == 2
    assert outcome.report["summary"]["rule_sets"] == 3  # the NSGs are still reported


def test_azure_endless_empty_pages_stop_at_the_cap(arm_drill):
    arm_drill.estate.paging_faults[_faulty(arm_drill, "networkSecurityGroups")] = "endless"
    outcome = azure_scan(arm_drill, "--max-pages", "30")
    assert outcome.exit_code == 3
    assert only_error(outcome, "networkSecurityGroups")["code"] == "PageLimit"
    assert len(arm_drill.estate.requests_for("/networkSecurityGroups")) == 30


def test_azure_the_item_cap_stops_a_list(arm_drill):
    outcome = azure_scan(arm_drill, "--max-items", "1")
    assert outcome.exit_code == 3
    codes = {e["resource_type"]: e["code"] for e in outcome.report["errors"]}
    assert codes["networkSecurityGroups"] == "ItemLimit"
    assert set(codes) <= set(NETWORK_TYPES)


@pytest.mark.parametrize(("fault", "code"), [("server_errors", "InternalServerError"),
                                             ("throttled", "TooManyRequests")])
def test_azure_storms_end(arm_drill, fault, code):
    key = _faulty(arm_drill, "virtualNetworks")
    getattr(arm_drill.estate, fault)[key] = 10_000
    arm_drill.estate.retry_after = "0"
    outcome = azure_scan(arm_drill, "--max-retries", "2")
    assert outcome.exit_code == 3
    assert only_error(outcome, "virtualNetworks")["code"] == code
    assert len(arm_drill.estate.requests_for("/virtualNetworks")) <= 3


def test_azure_a_truncated_page_is_malformed_not_empty(arm_drill):
    arm_drill.estate.truncated.add(_faulty(arm_drill, "networkSecurityGroups"))
    outcome = azure_scan(arm_drill)
    assert outcome.exit_code == 3
    assert only_error(outcome, "networkSecurityGroups")["code"] == "MalformedResponse"
    assert outcome.report["summary"]["rule_sets"] == 0


def test_azure_a_slow_answer_times_out(arm_drill):
    arm_drill.estate.slow[_faulty(arm_drill, "publicIPAddresses")] = 3.0
    outcome = azure_scan(arm_drill, "--timeout", "0.5")
    assert outcome.exit_code == 3
    assert only_error(outcome, "publicIPAddresses")["code"] == "Timeout"


# --- GCP: pageToken through google-api-core pagers ----------------------------------------------


def gcp_scan(server, *extra: str):
    return run_cli("scan", "--provider", "gcp", "--project", "alpha", "--gcp-endpoint",
                   server.url, "--format", "json", *extra)


def compute_requests(server, fragment):
    return [p for _, p in server.requests if p.endswith(fragment)]


@pytest.mark.parametrize(("fragment", "resource_type"), [
    ("/projects/alpha/global/firewalls", "firewalls"),
    ("/projects/alpha/aggregated/instances", "instances"),
])
def test_gcp_a_repeating_page_token_is_a_loop(gcp_drill, fragment, resource_type):
    gcp_drill.estate.faults[fragment] = "repeat"
    outcome = gcp_scan(gcp_drill)
    assert outcome.exit_code == 3
    assert only_error(outcome, resource_type)["code"] == "PaginationLoop"
    assert len(compute_requests(gcp_drill, fragment)) == 2


@pytest.mark.parametrize(("fragment", "resource_type"), [
    ("/projects/alpha/global/networks", "networks"),
    ("/projects/alpha/aggregated/firewallPolicies", "networkFirewallPolicies"),
])
def test_gcp_endless_empty_pages_stop_at_the_cap(gcp_drill, fragment, resource_type):
    gcp_drill.estate.faults[fragment] = "endless"
    outcome = gcp_scan(gcp_drill, "--max-pages", "20")
    assert outcome.exit_code == 3
    assert only_error(outcome, resource_type)["code"] == "PageLimit"
    assert len(compute_requests(gcp_drill, fragment)) == 20


def test_gcp_the_item_cap_stops_a_list(gcp_drill):
    outcome = gcp_scan(gcp_drill, "--max-items", "2")
    assert outcome.exit_code == 3
    assert only_error(outcome, "firewalls")["code"] == "ItemLimit"


def test_gcp_a_500_storm_ends_within_the_retries(gcp_drill):
    fragment = "/projects/alpha/global/firewalls"
    gcp_drill.estate.faults[fragment] = "error"
    outcome = gcp_scan(gcp_drill, "--max-retries", "2")
    assert outcome.exit_code == 3
    assert only_error(outcome, "firewalls")["reason"]
    assert len(compute_requests(gcp_drill, fragment)) <= 3


def test_gcp_a_429_storm_ends_within_the_retries(gcp_drill):
    fragment = "/projects/alpha/global/networks"
    gcp_drill.estate.throttle[fragment] = 10_000
    outcome = gcp_scan(gcp_drill, "--max-retries", "2")
    assert outcome.exit_code == 3
    assert only_error(outcome, "networks")["code"] == "Throttling"
    assert len(compute_requests(gcp_drill, fragment)) <= 3


def test_gcp_a_truncated_body_is_an_error(gcp_drill):
    gcp_drill.estate.faults["/projects/alpha/global/firewalls"] = "truncate"
    outcome = gcp_scan(gcp_drill)
    assert outcome.exit_code == 3
    assert only_error(outcome, "firewalls")["reason"]


def test_gcp_a_slow_answer_times_out(gcp_drill):
    gcp_drill.estate.delay["/projects/alpha/global/networks"] = 3.0
    outcome = gcp_scan(gcp_drill, "--timeout", "0.5")
    assert outcome.exit_code == 3
    assert only_error(outcome, "networks")["code"] == "Timeout"
