"""moto in server mode plus the local stub in front of it, both on free loopback ports.

boto3 is pointed at them only through the standard endpoint variables: ``AWS_ENDPOINT_URL`` for
everything moto serves, ``AWS_ENDPOINT_URL_EC2`` / ``_GUARDDUTY`` / ``_CLOUDTRAIL`` for the stub
(which pages EC2 answers and forwards the rest to moto).

``aws`` gives a test a clean moto and stub (moto's reset API). Tests that only read share one
estate per module through ``shared_estate`` and ``stub`` (which clears faults and call counts but
keeps the estate), because building it costs seconds on a busy machine.
"""

from __future__ import annotations

import logging
import urllib.request

import boto3
import pytest
from aws_estate import build

from tests.servers.aws_stub import AwsStub

SERVICES_ON_STUB = ("EC2", "GUARDDUTY", "CLOUDTRAIL")


@pytest.fixture(scope="session")
def moto_url():
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    # moto loads its EC2 data on first use; pay for it once, here.
    boto3.client("ec2", region_name="us-east-1", endpoint_url=url).describe_vpcs()
    yield url
    server.stop()


@pytest.fixture(scope="session")
def stub_server(moto_url):
    stub = AwsStub(upstream=moto_url).start()
    yield stub
    stub.stop()


def _point_at(mp: pytest.MonkeyPatch, moto_url: str, stub: AwsStub) -> None:
    mp.setenv("AWS_ENDPOINT_URL", moto_url)
    for service in SERVICES_ON_STUB:
        mp.setenv(f"AWS_ENDPOINT_URL_{service}", stub.url)


def reset_moto(moto_url: str) -> None:
    request = urllib.request.Request(f"{moto_url}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=30).close()


@pytest.fixture
def aws(moto_url, stub_server, monkeypatch):
    """A fresh moto estate and stub; returns the stub for faults and call counts."""
    reset_moto(moto_url)
    stub_server.reset()
    _point_at(monkeypatch, moto_url, stub_server)
    return stub_server


@pytest.fixture(scope="module")
def shared_estate(moto_url, stub_server):
    reset_moto(moto_url)
    stub_server.reset()
    with pytest.MonkeyPatch.context() as mp:
        _point_at(mp, moto_url, stub_server)
        yield build(boto3.Session())


@pytest.fixture
def stub(shared_estate, moto_url, stub_server, monkeypatch):
    """The module's shared estate, with no faults and fresh call counts."""
    stub_server.clear_faults()
    _point_at(monkeypatch, moto_url, stub_server)
    return stub_server
