"""``--executor dask`` on GCP: projects collected on a real multi-process Dask cluster.

The workers get the local Google API server's token in their own environment (as a worker has
its own workload identity); the client ships only the provider's name and settings. Policies of
the organization and folders reach every project below them: each worker reports them, and the
client keeps each once, exactly as a local scan does.
"""

from __future__ import annotations

import pytest

from providers.base import ProviderSettings
from providers.gcp import GcpProvider
from scanner.collect import collect_snapshot
from scanner.executors import ExecutorSettings, make_executor
from scanner.model import RuleSetKind
from tests.dask_support import local_cluster
from tests.dask_support import snapshot_content as content
from tests.servers.gcp_compute import serve
from tests.servers.gcp_estate import sample_estate

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def server():
    with serve(sample_estate()) as running, pytest.MonkeyPatch.context() as mp:
        mp.setenv("CLOUDWALL_GCP_TOKEN", running.estate.token)
        yield running


@pytest.fixture(scope="module")
def cluster(server):
    with local_cluster({"CLOUDWALL_GCP_TOKEN": server.estate.token}) as local:
        yield local


def test_projects_on_the_cluster_equal_a_local_scan(server, cluster):
    settings = ProviderSettings(gcp_endpoint=server.url, max_retries=0, request_timeout=5.0)
    executor = make_executor(ExecutorSettings("dask", cluster.scheduler_address))
    remote = collect_snapshot([GcpProvider(settings)], executor=executor)
    # A policy inherited by several projects is reported under the first project that reports
    # it: discovery order on the cluster, completion order on local threads. One local thread
    # completes in discovery order, so both scans are deterministic and must be equal.
    local = collect_snapshot([GcpProvider(settings)], max_workers=1)
    assert len(remote.scopes) >= 2
    hierarchical = [rs.name for rs in remote.rule_sets
                    if rs.kind is RuleSetKind.GCP_HIERARCHICAL_POLICY]
    assert sorted(hierarchical) == ["org-baseline", "prod-folder"]  # once each, not per project
    assert content(remote) == content(local)


def test_hierarchical_policy_parents_reach_the_client_for_attribution(server, cluster):
    settings = ProviderSettings(gcp_endpoint=server.url, max_retries=0, request_timeout=5.0)
    provider = GcpProvider(settings)
    executor = make_executor(ExecutorSettings("dask", cluster.scheduler_address))
    collect_snapshot([provider], executor=executor)
    local = GcpProvider(settings)
    collect_snapshot([local], max_workers=4)
    assert provider._parents and provider._parents == local._parents
