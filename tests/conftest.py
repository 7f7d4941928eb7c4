"""A hermetic test environment: fake credentials, no metadata servers, no retries, no real store.

Set at import time, before any SDK is imported by a test module, so no client ever sees the
developer's own credentials or reaches a cloud. Local servers live in ``tests/servers/`` and are
started as session fixtures by the test packages that need them.
"""

from __future__ import annotations

import os
import tempfile

import pytest

_SCRATCH = tempfile.mkdtemp(prefix="cloudwall-tests-")

_HERMETIC = {
    # AWS: fake static credentials, no instance metadata, no shared config files.
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.path.join(_SCRATCH, "aws-config"),
    "AWS_SHARED_CREDENTIALS_FILE": os.path.join(_SCRATCH, "aws-credentials"),
    "AWS_MAX_ATTEMPTS": "1",
    # GCP: never probe the metadata server; no application default credentials.
    "NO_GCE_CHECK": "true",
    "GCE_METADATA_HOST": "127.0.0.1:9",
    "GCE_METADATA_IP": "127.0.0.1:9",
    "GOOGLE_APPLICATION_CREDENTIALS": os.path.join(_SCRATCH, "no-adc.json"),
    "CLOUDSDK_CONFIG": os.path.join(_SCRATCH, "gcloud"),
    # Azure: no CLI login, no managed identity endpoint.
    "AZURE_CONFIG_DIR": os.path.join(_SCRATCH, "azure"),
    # cloudwall: retries off, a scratch store unless a test names its own.
    "CLOUDWALL_MAX_RETRIES": "0",
    "CLOUDWALL_STORE": os.path.join(_SCRATCH, "default-store.db"),
    # No developer's own configuration file: the per-user config directory is a scratch one.
    "XDG_CONFIG_HOME": os.path.join(_SCRATCH, "config"),
    "CLOUDWALL_CACHE_DIR": os.path.join(_SCRATCH, "cache"),
}
_CLEARED = (
    "AWS_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_TENANT_ID",
    "AZURE_USERNAME",
    "AZURE_PASSWORD",
    "IDENTITY_ENDPOINT",
    "MSI_ENDPOINT",
    "CLOUDWALL_AZURE_TOKEN",
    "CLOUDWALL_AZURE_ENDPOINT",
    "CLOUDWALL_GCP_TOKEN",
    "CLOUDWALL_GCP_ENDPOINT",
    "CLOUDWALL_CONFIG",
    "GOOGLE_CLOUD_PROJECT",
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "https_proxy",
    "http_proxy",
)
for _name in list(os.environ):
    if _name.startswith("AWS_ENDPOINT_URL_") or _name in _CLEARED:
        del os.environ[_name]
os.environ.update(_HERMETIC)
# Local servers are on loopback; a proxy must never see their traffic.
os.environ["NO_PROXY"] = os.environ["no_proxy"] = "127.0.0.1,localhost"


@pytest.fixture
def store_path(tmp_path):
    """A fresh store file for one test."""
    return tmp_path / "store.db"
