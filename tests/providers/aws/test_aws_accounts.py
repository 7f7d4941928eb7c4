"""Accounts and regions: describe_regions, --role-arn, --org-role, GuardDuty lists."""

from __future__ import annotations

import json

import boto3
from click.testing import CliRunner

from providers.aws import AwsProvider
from providers.base import ProviderSettings
from scanner.cli import main
from scanner.collect import collect_snapshot

ACCOUNT = "123456789012"


def test_default_regions_come_from_describe_regions(aws):
    answer = boto3.client("ec2", region_name="us-east-1").describe_regions()
    enabled = sorted(r["RegionName"] for r in answer["Regions"])
    provider = AwsProvider(ProviderSettings(max_retries=0))
    scopes = list(provider.discover_scopes())
    assert [s.region for s in scopes] == enabled
    assert {s.account for s in scopes} == {ACCOUNT}


def test_guardduty_lists_are_paginated_and_read_to_the_end(aws):
    guardduty = boto3.client("guardduty", region_name="us-east-1")
    detector = guardduty.create_detector(Enable=True)["DetectorId"]
    created = {guardduty.create_threat_intel_set(
        DetectorId=detector, Name=f"intel-{i}", Format="TXT", Activate=i % 2 == 0,
        Location=f"https://s3.amazonaws.com/intel/{i}.txt")["ThreatIntelSetId"] for i in range(5)}
    trusted = guardduty.create_ip_set(DetectorId=detector, Name="partners", Format="TXT",
                                      Location="https://s3.amazonaws.com/lists/ok.txt",
                                      Activate=True)["IpSetId"]
    snapshot = collect_snapshot([AwsProvider(ProviderSettings(regions=("us-east-1",),
                                                              max_retries=0))])
    lists = {i.list_id: i for i in snapshot.ip_lists}
    assert set(lists) == created | {trusted}
    assert lists[trusted].list_type == "trusted" and lists[trusted].status == "ACTIVE"
    assert {lists[i].status for i in created} == {"ACTIVE", "INACTIVE"}
    assert aws.pages("ListThreatIntelSets", "us-east-1") == 3


def test_org_role_scans_every_active_account(aws):
    org = boto3.client("organizations", region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(AccountName="shop-prod", Email="prod@example.com")
    member_id = org.describe_create_account_status(
        CreateAccountRequestId=member["CreateAccountStatus"]["Id"]
    )["CreateAccountStatus"]["AccountId"]
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_account_alias(AccountAlias="shop-management")
    # The member account gets its own VPC through the role cloudwall will assume.
    role_arn = f"arn:aws:iam::{member_id}:role/OrganizationAccountAccessRole"
    credentials = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn=role_arn, RoleSessionName="setup")["Credentials"]
    member_session = boto3.Session(aws_access_key_id=credentials["AccessKeyId"],
                                   aws_secret_access_key=credentials["SecretAccessKey"],
                                   aws_session_token=credentials["SessionToken"])
    member_vpc = member_session.client("ec2", region_name="us-east-1").create_vpc(
        CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]

    settings = ProviderSettings(regions=("us-east-1",), org_role="OrganizationAccountAccessRole",
                                max_retries=0)
    snapshot = collect_snapshot([AwsProvider(settings)])
    assert snapshot.errors == ()
    assert {(s.account, s.name) for s in snapshot.scopes} == {(ACCOUNT, "master"),
                                                              (member_id, "shop-prod")}
    member_networks = [n.network_id for n in snapshot.networks if n.account == member_id]
    assert member_vpc in member_networks
    assert member_vpc not in [n.network_id for n in snapshot.networks if n.account == ACCOUNT]

    picked = ProviderSettings(regions=("us-east-1",), org_role="OrganizationAccountAccessRole",
                              accounts=(member_id, "999999999999"), max_retries=0)
    snapshot = collect_snapshot([AwsProvider(picked)])
    assert {s.account for s in snapshot.scopes} == {member_id, "999999999999"}
    (error,) = snapshot.errors
    assert (error.account, error.resource_type, error.code) == ("999999999999", None,
                                                                "NotFound")


def test_role_that_cannot_be_assumed_is_a_failed_account(aws, monkeypatch, tmp_path):
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", aws.url)  # the stub forwards STS to moto
    aws.fail("sts", "AccessDenied", action="AssumeRole")
    role = "arn:aws:iam::111111111111:role/Audit"
    result = CliRunner().invoke(main, ["--store", str(tmp_path / "s.db"), "scan", "--provider",
                                       "aws", "--regions", "us-east-1", "--role-arn", role,
                                       "--format", "json"])
    assert result.exit_code == 3, result.output
    report = json.loads(result.stdout)
    (error,) = report["errors"]
    assert (error["account"], error["region"], error["resource_type"], error["code"]) == (
        "111111111111", "", None, "AccessDenied")
    assert role in error["reason"] and "sts:AssumeRole" in error["hint"]
    assert report["snapshot"]["scopes"][0]["status"] == "failed"


def test_role_arn_is_assumed_for_one_account(aws):
    role = "arn:aws:iam::111111111111:role/Audit"
    settings = ProviderSettings(regions=("us-east-1", "eu-west-1"), role_arn=role,
                                max_retries=0)
    snapshot = collect_snapshot([AwsProvider(settings)])
    assert snapshot.errors == ()
    assert {(s.account, s.region) for s in snapshot.scopes} == {
        ("111111111111", "us-east-1"), ("111111111111", "eu-west-1")}
    # moto gives every account a default VPC per region: read with the role's credentials
    assert {n.account for n in snapshot.networks} == {"111111111111"}


def test_bad_role_arn_is_a_one_line_usage_error(aws):
    result = CliRunner().invoke(main, ["scan", "--provider", "aws", "--regions", "us-east-1",
                                       "--role-arn", "arn:aws:iam::oops"])
    assert result.exit_code == 2
    assert "not an IAM role ARN" in result.stderr and "Traceback" not in result.stderr



def test_denied_region_listing_fails_the_account_not_the_scan(aws, tmp_path):
    aws.fail("ec2", "UnauthorizedOperation", action="DescribeRegions")
    snapshot = collect_snapshot([AwsProvider(ProviderSettings(max_retries=0))])
    (error,) = snapshot.errors
    assert (error.account, error.region, error.resource_type, error.code) == (
        ACCOUNT, "", None, "AccessDenied")
    assert "ec2:DescribeRegions" in error.hint and "--regions" in error.hint
    assert snapshot.scope_status(snapshot.scopes[0]) == "failed"


def test_unknown_profile_is_a_one_line_usage_error(aws):
    result = CliRunner().invoke(main, ["scan", "--provider", "aws", "--profile", "nope"])
    assert result.exit_code == 2
    assert "AWS profile 'nope' not found" in result.stderr and "Traceback" not in result.stderr


def test_missing_credentials_are_a_one_line_error(aws, monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    result = CliRunner().invoke(main, ["scan", "--provider", "aws", "--regions", "us-east-1"])
    assert result.exit_code == 2
    assert "cannot use the AWS credentials" in result.stderr and "hint:" in result.stderr
