"""A hermetic test environment: fake credentials, no metadata servers, no retries, no real store.

Set at import time, before any SDK is imported by a test module, so no client ever sees the
developer's own credentials or reaches a cloud. Local servers live in ``tests/servers/`` and are
started as session fixtures by the test packages that need them.
"""

from __future__ import annotations

import os
import tempfile
import uuid

import pytest

from tests.servers import postgres

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
    # PostgreSQL (libpq): no developer's password file or service file.
    "PGPASSFILE": os.path.join(_SCRATCH, "pgpass"),
    "PGSERVICEFILE": os.path.join(_SCRATCH, "pg_service.conf"),
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
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGUSER",
    "PGPASSWORD",
    "PGDATABASE",
    "PGSERVICE",
    "PGOPTIONS",
    "PGSSLMODE",
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


# --- the store, on every backend ----------------------------------------------------------------

POSTGRES_REQUIRED = os.environ.get("CLOUDWALL_POSTGRES_TESTS") == "require"


@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL cluster of this test process's own (each xdist worker starts one), or a
    skip saying how to get one; ``CLOUDWALL_POSTGRES_TESTS=require`` (as ``.ci/run`` sets it)
    turns that skip into a failure."""
    reason = postgres.unavailable()
    if reason:
        message = f"PostgreSQL store tests: {reason}; to run them, {postgres.HOW_TO_ENABLE}"
        if POSTGRES_REQUIRED:
            pytest.fail(f"CLOUDWALL_POSTGRES_TESTS=require, but {message}")
        pytest.skip(message)
    with postgres.running_server() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server):
    """A new, empty database for one test; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_target(request, tmp_path):
    """``--store`` for one test, on each backend: a new SQLite file, a new PostgreSQL
    database."""
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    return request.getfixturevalue("postgres_url")
