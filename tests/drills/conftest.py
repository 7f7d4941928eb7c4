"""Fixtures of the drills: the AWS stub alone, the HTTPS ARM server and the Compute server."""

from __future__ import annotations

import pytest

from tests.drills.drill_support import AWS_REGION, small_ec2_estate
from tests.servers.aws_stub import DEFAULT_ACCOUNT, AwsStub
from tests.servers.azure_arm import ArmServer


@pytest.fixture(scope="session")
def drill_stub():
    """The AWS stub alone (no moto): EC2 and GuardDuty from memory, STS answered locally."""
    stub = AwsStub(upstream=None).start()
    yield stub
    stub.stop()


@pytest.fixture
def aws_drill(drill_stub, monkeypatch):
    drill_stub.reset()
    drill_stub.ec2_estate[(DEFAULT_ACCOUNT, AWS_REGION)] = small_ec2_estate()
    monkeypatch.setenv("AWS_ENDPOINT_URL", drill_stub.url)
    return drill_stub


@pytest.fixture(scope="session")
def drill_arm():
    with ArmServer() as server:
        yield server


@pytest.fixture
def arm_drill(drill_arm, monkeypatch):
    from tests.providers.azure.azure_estate import build_estate

    drill_arm.use(build_estate())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", drill_arm.ca_bundle)
    monkeypatch.setenv("CLOUDWALL_AZURE_TOKEN", drill_arm.token)
    return drill_arm


@pytest.fixture
def gcp_drill(monkeypatch):
    from tests.servers.gcp_compute import serve
    from tests.servers.gcp_estate import sample_estate

    with serve(sample_estate()) as server:
        monkeypatch.setenv("CLOUDWALL_GCP_TOKEN", server.estate.token)
        yield server
