"""``--executor dask`` on Azure: subscriptions collected on a real multi-process Dask cluster,
over HTTPS to the local Resource Manager server. The workers trust its CA and hold its token in
their own environment; the client ships only the provider's name and settings."""

from __future__ import annotations

import pytest

from providers.azure import AzureProvider
from providers.base import ProviderSettings
from scanner.collect import collect_snapshot
from scanner.executors import ExecutorSettings, make_executor
from tests.dask_support import local_cluster
from tests.dask_support import snapshot_content as content
from tests.providers.azure.azure_estate import SUB_LOCKED, build_estate

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def estate(arm_server):
    arm_server.use(build_estate())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("REQUESTS_CA_BUNDLE", arm_server.ca_bundle)
        mp.setenv("CLOUDWALL_AZURE_TOKEN", arm_server.token)
        yield arm_server


@pytest.fixture(scope="module")
def cluster(estate):
    with local_cluster({"REQUESTS_CA_BUNDLE": estate.ca_bundle,
                        "CLOUDWALL_AZURE_TOKEN": estate.token}) as local:
        yield local


def test_subscriptions_on_the_cluster_equal_a_local_scan(estate, cluster):
    settings = ProviderSettings(azure_endpoint=estate.url, max_retries=0, request_timeout=5.0)
    executor = make_executor(ExecutorSettings("dask", cluster.scheduler_address))
    remote = collect_snapshot([AzureProvider(settings)], executor=executor)
    local = collect_snapshot([AzureProvider(settings)], max_workers=3)
    assert remote.rule_sets and len(remote.scopes) >= 2
    # the subscription the token may not read is recorded the same way on the cluster
    assert SUB_LOCKED in {e.account for e in remote.errors}
    assert content(remote) == content(local)
