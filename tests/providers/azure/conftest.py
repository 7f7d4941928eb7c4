"""Fixtures: the HTTPS Resource Manager server and a fresh test estate per test."""

from __future__ import annotations

import pytest

from tests.providers.azure.azure_estate import build_estate
from tests.servers.azure_arm import ArmServer


@pytest.fixture(scope="session")
def arm_server():
    with ArmServer() as server:
        yield server


@pytest.fixture
def arm(arm_server, monkeypatch):
    """The server with a fresh copy of the test estate; TLS trust and token in the env."""
    arm_server.use(build_estate())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", arm_server.ca_bundle)
    monkeypatch.setenv("CLOUDWALL_AZURE_TOKEN", arm_server.token)
    return arm_server
