"""Fixtures: the local Google API server over a fresh copy of the test estate per test."""

from __future__ import annotations

import pytest

from providers.base import ProviderSettings
from tests.servers.gcp_compute import serve
from tests.servers.gcp_estate import sample_estate


@pytest.fixture
def gcp(monkeypatch):
    """The running server; the bearer token it expects is in ``CLOUDWALL_GCP_TOKEN``."""
    with serve(sample_estate()) as server:
        monkeypatch.setenv("CLOUDWALL_GCP_TOKEN", server.estate.token)
        monkeypatch.setenv("NO_GCE_CHECK", "true")
        yield server


@pytest.fixture
def settings_for(gcp):
    def make(*projects: str, **overrides) -> ProviderSettings:
        fields = {"projects": projects, "gcp_endpoint": gcp.url, "max_retries": 0,
                  "request_timeout": 5.0, **overrides}
        return ProviderSettings(**fields)

    return make
