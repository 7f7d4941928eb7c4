"""Error classification, client configuration and the IAM policy of the fetch half."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from botocore import exceptions as bx

from providers.aws.fetch import classify, client_config, collection_error
from providers.aws.resources import EC2_RESOURCES, all_actions, iam_policy
from providers.base import ProviderSettings
from scanner.model import Scope

SCOPE = Scope("aws", "123456789012", "eu-west-1")


def client_error(code: str, status: int = 400) -> bx.ClientError:
    return bx.ClientError({"Error": {"Code": code, "Message": f"{code} message"},
                           "ResponseMetadata": {"HTTPStatusCode": status}}, "DescribeVpcs")


@pytest.mark.parametrize(("code", "kind"), [
    ("UnauthorizedOperation", "AccessDenied"), ("AccessDeniedException", "AccessDenied"),
    ("AccessDenied", "AccessDenied"), ("RequestLimitExceeded", "Throttling"),
    ("ThrottlingException", "Throttling"), ("TooManyRequestsException", "Throttling"),
    ("AuthFailure", "AuthFailure"), ("InvalidParameterValue", "InvalidParameterValue"),
])
def test_client_errors_are_classified(code, kind):
    assert classify(client_error(code))[0] == kind


def test_timeouts_and_connection_failures_are_classified():
    assert classify(bx.ReadTimeoutError(endpoint_url="http://x"))[0] == "Timeout"
    assert classify(bx.ConnectTimeoutError(endpoint_url="http://x"))[0] == "Timeout"
    assert classify(bx.EndpointConnectionError(endpoint_url="http://x"))[0] == "ConnectionError"


def test_a_non_sdk_exception_is_a_bug_and_is_raised():
    with pytest.raises(ZeroDivisionError):
        classify(ZeroDivisionError("bug"))


def test_collection_error_names_the_iam_action():
    error = collection_error(SCOPE, "NetworkAcls", "ec2:DescribeNetworkAcls",
                             client_error("UnauthorizedOperation", 403))
    assert (error.account, error.region, error.resource_type, error.code) == (
        "123456789012", "eu-west-1", "NetworkAcls", "AccessDenied")
    assert "ec2:DescribeNetworkAcls" in error.hint
    assert "UnauthorizedOperation" in error.reason


@pytest.mark.parametrize(("retries", "expected"), [(None, None), (0, 0), (4, 4)])
def test_client_config_uses_adaptive_retries_and_timeouts(retries, expected):
    config = client_config(ProviderSettings(max_retries=retries, request_timeout=7.5))
    assert config.retries["mode"] == "adaptive"
    assert config.retries.get("max_attempts") == expected
    assert config.connect_timeout == 7.5 and config.read_timeout == 7.5


def test_every_read_is_in_the_iam_policy_and_the_policy_is_read_only():
    actions = all_actions()
    for resource in EC2_RESOURCES:
        camel = "".join(part.capitalize() for part in resource.operation.split("_"))
        assert resource.action == f"ec2:{camel}" and resource.action in actions
    for needed in ("ec2:GetManagedPrefixListEntries", "guardduty:GetIPSet",
                   "guardduty:ListThreatIntelSets", "guardduty:GetThreatIntelSet",
                   "sts:GetCallerIdentity", "sts:AssumeRole", "organizations:ListAccounts",
                   "cloudtrail:LookupEvents", "iam:ListAccountAliases", "ec2:DescribeRegions"):
        assert needed in actions
    verbs = ("Describe", "Get", "List", "Lookup", "AssumeRole")
    assert all(a.split(":")[1].startswith(verbs) for a in actions)
    document = json.loads(iam_policy())
    assert document["Statement"][0]["Action"] == actions


def test_importing_the_adapter_does_not_import_boto3():
    code = ("import sys, providers.aws, providers.aws.audit; "
            "print('boto3' in sys.modules or 'botocore' in sys.modules)")
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout
    assert output.strip() == "False"
