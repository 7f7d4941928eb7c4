"""--ou: the accounts below organizational units, read from moto's Organizations in server mode
(Organizations calls go through the local stub, which counts pages and injects faults)."""

from __future__ import annotations

import json

import boto3
import pytest
from click.testing import CliRunner

from providers.aws import AwsProvider
from providers.aws.organization import account_state, parse_ou, sort_accounts
from providers.base import ProviderSettings
from scanner.cli import main
from scanner.errors import ConfigError

ROLE = "OrganizationAccountAccessRole"


@pytest.fixture
def org(aws, monkeypatch):
    """A fresh organization; Organizations calls are routed through the stub."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_ORGANIZATIONS", aws.url)
    client = boto3.client("organizations", region_name="us-east-1")
    client.create_organization(FeatureSet="ALL")
    return client


def root_of(org) -> str:
    return org.list_roots()["Roots"][0]["Id"]


def new_ou(org, parent: str, name: str) -> str:
    return org.create_organizational_unit(ParentId=parent, Name=name)[
        "OrganizationalUnit"]["Id"]


def new_account(org, name: str, parent: str) -> str:
    request = org.create_account(AccountName=name, Email=f"{name}@example.com")
    account_id = org.describe_create_account_status(
        CreateAccountRequestId=request["CreateAccountStatus"]["Id"])["CreateAccountStatus"][
        "AccountId"]
    org.move_account(AccountId=account_id, SourceParentId=root_of(org),
                     DestinationParentId=parent)
    return account_id


def scan(tmp_path, *extra: str):
    args = ["--store", str(tmp_path / "s.db"), "scan", "--provider", "aws", "--regions",
            "us-east-1", "--format", "json", *extra]
    return CliRunner().invoke(main, args)


def test_ou_scans_the_active_accounts_of_every_nested_ou_and_reports_suspended_ones(
        org, aws, tmp_path):
    root = root_of(org)
    prod = new_ou(org, root, "prod")
    prod_eu = new_ou(org, prod, "prod-eu")
    prod_eu_web = new_ou(org, prod_eu, "prod-eu-web")
    dev = new_ou(org, root, "dev")
    shop = new_account(org, "shop", prod)
    web = new_account(org, "web", prod_eu_web)
    old = new_account(org, "old", prod_eu)
    sandbox = new_account(org, "sandbox", dev)
    org.close_account(AccountId=old)

    result = scan(tmp_path, "--org-role", ROLE, "--ou", prod)
    assert result.exit_code == 3, result.output  # the suspended account is not read
    report = json.loads(result.stdout)
    scopes = {s["account"]: s for s in report["snapshot"]["scopes"]}
    assert set(scopes) == {shop, web, old}  # not dev's, not the management account
    assert scopes[shop]["name"] == "shop" and scopes[web]["name"] == "web"
    (error,) = report["errors"]
    assert (error["account"], error["code"]) == (old, "AccountSuspended")
    assert "suspended" in error["reason"]
    assert sandbox not in json.dumps(report["snapshot"]["scopes"])
    # Each OU is listed once: prod, prod-eu and prod-eu-web.
    assert aws.pages("ListAccountsForParent") == 3
    assert aws.pages("ListOrganizationalUnitsForParent") == 3
    assert aws.pages("ListAccounts") == 0  # --ou alone never lists the whole organization

    # The same OU twice, or an OU and one below it: each account once, each OU read once.
    provider = AwsProvider(ProviderSettings(regions=("us-east-1",), org_role=ROLE,
                                            ous=(prod, prod_eu_web, prod), max_retries=0))
    assert set(provider.accounts()) == {shop, web, old}


def test_ou_lists_are_read_to_the_last_page(org, aws):
    root = root_of(org)
    big = new_ou(org, root, "big")
    children = {new_ou(org, big, f"team-{i}") for i in range(21)}
    members = {new_account(org, f"member-{i}", big) for i in range(21)}
    last = new_account(org, "deep", sorted(children)[-1])
    provider = AwsProvider(ProviderSettings(regions=("us-east-1",), org_role=ROLE,
                                            ous=(big,), max_retries=0))
    accounts = provider.accounts()
    assert set(accounts) == members | {last}
    assert all(a.clients is not None for a in accounts.values())
    # 21 accounts and 21 child OUs are two pages each at 20 per page; each child one page.
    assert aws.pages("ListAccountsForParent") == 2 + 21
    assert aws.pages("ListOrganizationalUnitsForParent") == 2 + 21


def test_unknown_ou_is_reported_and_the_others_are_still_scanned(org, tmp_path):
    team = new_ou(org, root_of(org), "team")
    member = new_account(org, "member", team)
    missing = "ou-zzzz-99999999"
    result = scan(tmp_path, "--org-role", ROLE, "--ou", team, "--ou", missing)
    assert result.exit_code == 3, result.output
    report = json.loads(result.stdout)
    (error,) = report["errors"]
    assert (error["account"], error["code"]) == (missing, "ParentNotFoundException")
    assert missing in error["reason"] and "--ou" in error["hint"]
    collected = [s["account"] for s in report["snapshot"]["scopes"] if s["status"] == "ok"]
    assert collected == [member]


def test_denied_ou_listing_is_a_failed_scope_never_an_empty_ou(org, aws, tmp_path):
    team = new_ou(org, root_of(org), "team")
    new_account(org, "member", team)
    aws.fail("organizations", "AccessDeniedException", action="ListOrganizationalUnitsForParent")
    result = scan(tmp_path, "--org-role", ROLE, "--ou", team)
    assert result.exit_code == 3, result.output
    report = json.loads(result.stdout)
    (error,) = report["errors"]
    assert (error["account"], error["code"]) == (team, "AccessDenied")
    assert "organizations:ListOrganizationalUnitsForParent" in error["hint"]
    assert [s["status"] for s in report["snapshot"]["scopes"]] == ["failed"]
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--ou", "ou-abcd-12345678"], "--ou needs --org-role"),
    (["--org-role", ROLE, "--ou", "prod"], "is not an organizational unit id"),
])
def test_ou_usage_errors_are_one_line_exit_2(args, message, tmp_path):
    result = scan(tmp_path, *args)
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_parse_ou_accepts_ous_and_the_root_only():
    assert parse_ou(" OU-Ab12-Cd34Ef56 ") == "ou-ab12-cd34ef56"
    assert parse_ou("r-ab12") == "r-ab12"
    for bad in ("", "ou-ab12", "123456789012", "ou-ab12-cd34ef56/x", "arn:aws:organizations"):
        with pytest.raises(ConfigError):
            parse_ou(bad)


def test_accounts_are_sorted_by_state_as_the_api_spells_it():
    # ListAccountsForParent Account objects: newer answers carry State next to Status.
    page = [
        {"Id": "111111111111", "Arn": "arn:aws:organizations::999999999999:account/o-x/"
         "111111111111", "Email": "a@example.com", "Name": "a", "Status": "ACTIVE",
         "State": "ACTIVE", "JoinedMethod": "CREATED", "JoinedTimestamp": "2024-01-01"},
        {"Id": "222222222222", "Name": "b", "Status": "SUSPENDED", "State": "SUSPENDED"},
        {"Id": "333333333333", "Name": "c", "Status": "PENDING_CLOSURE"},
        {"Id": "444444444444", "Name": "d", "Status": "ACTIVE"},
        {"Id": "555555555555", "Name": "e", "State": "CLOSED", "Status": "SUSPENDED"},
        {"Name": "no id"},
    ]
    active, inactive = {}, {}
    sort_accounts(page, active, inactive)
    assert active == {"111111111111": "a", "444444444444": "d"}
    assert inactive == {"222222222222": ("b", "SUSPENDED"),
                        "333333333333": ("c", "PENDING_CLOSURE"),
                        "555555555555": ("e", "CLOSED")}
    assert account_state({"Status": "active"}) == "ACTIVE"
    assert account_state({}) == ""


def test_ous_from_the_configuration_file(org, tmp_path):
    team = new_ou(org, root_of(org), "team")
    member = new_account(org, "member", team)
    new_account(org, "elsewhere", root_of(org))
    config = tmp_path / "cloudwall.toml"
    config.write_text(f'[providers.aws]\norg-role = "{ROLE}"\nregions = ["us-east-1"]\n'
                      f'ous = ["{team.upper()}"]\n')
    result = CliRunner().invoke(main, ["--config", str(config), "--store",
                                       str(tmp_path / "s.db"), "scan", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert [s["account"] for s in json.loads(result.stdout)["snapshot"]["scopes"]] == [member]


def test_ou_scan_on_a_dask_cluster_equals_the_local_one(org, aws, moto_url):
    """Workers receive the OU ids, never credentials or account lists: each walks the OUs
    itself to enter the accounts it collects, and the snapshot is the local one."""
    pytest.importorskip("distributed")
    from scanner.collect import collect_snapshot
    from scanner.executors import ExecutorSettings, make_executor
    from tests.dask_support import local_cluster, snapshot_content

    prod = new_ou(org, root_of(org), "prod")
    child = new_ou(org, prod, "prod-web")
    accounts = {new_account(org, "shop", prod), new_account(org, "web", child)}
    old = new_account(org, "old", child)
    org.close_account(AccountId=old)
    settings = ProviderSettings(regions=("us-east-1",), org_role=ROLE, ous=(prod,),
                                max_retries=0)
    env = {"AWS_ENDPOINT_URL": moto_url, "AWS_ENDPOINT_URL_ORGANIZATIONS": aws.url}
    with local_cluster(env, workers=1, threads=2) as cluster:
        executor = make_executor(ExecutorSettings("dask", cluster.scheduler_address))
        remote = collect_snapshot([AwsProvider(settings)], executor=executor)
    walks = aws.pages("ListAccountsForParent")
    local = collect_snapshot([AwsProvider(settings)])
    assert aws.pages("ListAccountsForParent") - walks == 2  # the local walk: two OUs
    assert walks == 4  # the client's walk and the worker's own
    assert {s.account for s in remote.scopes} == accounts | {old}
    assert [(e.account, e.code) for e in remote.errors] == [(old, "AccountSuspended")]
    assert snapshot_content(remote) == snapshot_content(local)
