"""What the Dask tests share: a real multi-process cluster on loopback, and a snapshot's
content without what differs between any two scans (its id and time)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any


def local_cluster(env: Mapping[str, str] | None = None, workers: int = 2, threads: int = 1):
    """A ``distributed.LocalCluster`` of worker processes on loopback, with ``env`` in the
    workers' own environment and its dashboard on an ephemeral port (no clash on 8787 when two
    run at once). Use it as a context manager, or close it."""
    import distributed

    return distributed.LocalCluster(
        n_workers=workers, threads_per_worker=threads, processes=True, host="127.0.0.1",
        dashboard_address="127.0.0.1:0", env=dict(env or {}), silence_logs=logging.ERROR)


def snapshot_content(snapshot) -> dict[str, Any]:
    data = snapshot.to_dict()
    data.pop("snapshot_id")
    data.pop("taken_at")
    return data
