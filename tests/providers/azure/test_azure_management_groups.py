"""--management-group: the subscriptions below management groups, from the descendants API
served by the local Resource Manager server (real SDK pipeline, real HTTPS)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from providers.azure.management_groups import parse_group, subscriptions_in
from scanner.cli import main
from scanner.errors import ConfigError
from scanner.model import CollectionError, Scope
from tests.providers.azure.azure_estate import SUB, SUB_DEV, SUB_LOCKED, make_provider

EXTRA = [f"44444444-4444-4444-8444-{i:012d}" for i in range(3)]


@pytest.fixture
def groups(arm):
    """contoso > platform > platform-prod (SUB); contoso > landing > landing-dev (SUB_DEV and
    three more); contoso > sandbox (SUB_LOCKED); an empty group."""
    estate = arm.estate
    estate.add_group("contoso", "Contoso")
    estate.add_group("platform", "Platform", "contoso")
    estate.add_group("platform-prod", "Platform production", "platform")
    estate.add_group("landing", "Landing zones", "contoso")
    estate.add_group("landing-dev", "Development", "landing")
    estate.add_group("sandbox", "Sandbox", "contoso")
    estate.add_group("empty", "Nothing yet", "contoso")
    estate.place(SUB, "platform-prod")
    estate.place(SUB_DEV, "landing-dev")
    estate.place(SUB_LOCKED, "sandbox")
    for i, sub in enumerate(EXTRA):
        estate.add_subscription(sub, f"landing-{i}")
        estate.place(sub, "landing-dev")
    return arm


def discovered(arm, **settings) -> list:
    return list(make_provider(arm, **settings).discover_scopes())


def test_every_subscription_below_a_group_at_any_depth(groups):
    scopes = discovered(groups, management_groups=("contoso",))
    assert all(isinstance(s, Scope) for s in scopes)
    assert sorted(s.account for s in scopes) == sorted([SUB, SUB_DEV, SUB_LOCKED, *EXTRA])
    names = {s.account: s.name for s in scopes}
    assert names[SUB] == "cloudwall-prod" and names[EXTRA[0]] == "landing-0"
    # 6 subscriptions and 6 groups at 2 per page: every page was read, once.
    calls = groups.estate.requests_for("/managementGroups/contoso/descendants")
    assert len(calls) == 6
    assert all(query["api-version"] == ["2021-04-01"] for _, query in calls)


def test_only_the_subscriptions_below_the_groups_asked_for(groups):
    scopes = discovered(groups, management_groups=("platform", "landing-dev", "platform-prod"))
    # platform-prod is below platform: SUB once.
    assert [s.account for s in scopes] == [SUB, SUB_DEV, *EXTRA]
    assert discovered(groups, management_groups=("empty",)) == []
    # No tenant-wide subscription listing.
    assert [path for path, _ in groups.estate.requests if path.rstrip("/") == "/subscriptions"] \
        == []
    both = discovered(groups, management_groups=("platform",), subscriptions=(SUB_DEV, SUB))
    assert [s.account for s in both] == [SUB_DEV, SUB]


def test_denied_and_unknown_groups_are_reported_and_the_others_scanned(groups):
    groups.estate.forbidden_groups.add("sandbox")
    found = discovered(groups, management_groups=("sandbox", "nope", "platform"))
    errors = [f for f in found if isinstance(f, CollectionError)]
    assert [s.account for s in found if isinstance(s, Scope)] == [SUB]
    denied, unknown = errors
    assert (denied.account, denied.code, denied.resource_type) == (
        "sandbox", "AuthorizationFailed", None)
    assert "below management group sandbox" in denied.reason
    assert "Management Group Reader" in denied.hint
    assert (unknown.account, unknown.code) == ("nope", "NotFound")
    assert "management-group list" in unknown.hint


def test_a_descendants_list_that_never_ends_is_stopped(groups):
    found = discovered(groups, management_groups=("contoso",), max_pages=3)
    (error,) = found
    assert isinstance(error, CollectionError) and error.code == "PageLimit"
    assert error.account == "contoso"


def test_scan_by_management_group_end_to_end(groups, tmp_path):
    args = ["--store", str(tmp_path / "s.db"), "scan", "--provider", "azure",
            "--azure-endpoint", groups.url, "--format", "json"]
    result = CliRunner().invoke(main, [*args, "--management-group", "platform"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [(s["account"], s["status"]) for s in report["snapshot"]["scopes"]] == [(SUB, "ok")]
    assert report["summary"]["rule_sets"] == 3

    groups.estate.forbidden_groups.add("landing")
    result = CliRunner().invoke(main, [*args, "--management-group", "platform",
                                       "--management-group", "landing"])
    assert result.exit_code == 3, result.output  # what is below landing is unknown
    (error,) = json.loads(result.stdout)["errors"]
    assert (error["account"], error["code"]) == ("landing", "AuthorizationFailed")

    bad = CliRunner().invoke(main, [*args, "--management-group", "Platform team!"])
    assert bad.exit_code == 2 and "not a management group id" in bad.stderr


def test_management_groups_from_the_configuration_file(groups, tmp_path):
    config = tmp_path / "cloudwall.toml"
    config.write_text(f'[providers.azure]\nendpoint = "{groups.url}"\n'
                      'management-groups = ["platform"]\n')
    result = CliRunner().invoke(main, ["--config", str(config), "--store",
                                       str(tmp_path / "s.db"), "scan", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert [s["account"] for s in json.loads(result.stdout)["snapshot"]["scopes"]] == [SUB]


def test_parse_group_takes_ids_and_resource_ids():
    assert parse_group(" landing-zones ") == "landing-zones"
    assert parse_group("/providers/Microsoft.Management/managementGroups/Corp.(EU)_1/") == \
        "Corp.(EU)_1"
    for bad in ("", "two words", "a/b", "x" * 91):
        with pytest.raises(ConfigError):
            parse_group(bad)


def test_subscriptions_in_a_descendants_page():
    # GetDescendants as the REST API documents it: groups and subscriptions, any depth.
    page = {"value": [
        {"name": "20000000-0001-0000-0000-000000000000",
         "type": "Microsoft.Management/managementGroups",
         "id": "/providers/Microsoft.Management/managementGroups/"
               "20000000-0001-0000-0000-000000000000",
         "properties": {"displayName": "Group 1", "parent": {
             "id": "/providers/Microsoft.Management/managementGroups/"
                   "20000000-0000-0000-0000-000000000000"}}},
        {"name": "20000000-0004-0000-0000-000000000000",
         "type": "Microsoft.Management/managementGroups/subscriptions",
         "id": "/subscriptions/20000000-0004-0000-0000-000000000000",
         "properties": {"displayName": "Subscription 4", "parent": {
             "id": "/providers/Microsoft.Management/managementGroups/"
                   "20000000-0000-0000-0000-000000000000"}}},
        {"type": "/subscriptions", "id": "/subscriptions/ABCDEF00-0000-0000-0000-000000000000",
         "properties": None},
        {"name": "20000000-0004-0000-0000-000000000000",
         "type": "Microsoft.Management/managementGroups/subscriptions",
         "id": "/subscriptions/20000000-0004-0000-0000-000000000000"},
        {"type": "Microsoft.Management/managementGroups/subscriptions"},
    ]}
    assert subscriptions_in(page["value"]) == [
        ("20000000-0004-0000-0000-000000000000", "Subscription 4"),
        ("abcdef00-0000-0000-0000-000000000000", "")]
