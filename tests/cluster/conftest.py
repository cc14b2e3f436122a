"""Fixtures of the Redis Cluster tests: one real 3-primary Valkey cluster per test process.

The cluster is session-scoped (all of this folder's tests run in one xdist worker, by file
or by the `xdist_group` mark), and emptied before each test; a test that kills a primary
brings the node back as a replica and waits for the cluster to be whole before it ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from tests.cluster.valkey_cluster import ValkeyCluster
from wall.redis_pool import open_redis


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ValkeyCluster]:
    """Three primaries with a replica each, on loopback, from the embedded Valkey binary."""
    started = ValkeyCluster(tmp_path_factory.mktemp("valkey-cluster")).start()
    yield started
    started.stop()


@pytest.fixture
async def cluster_redis(cluster: ValkeyCluster) -> AsyncIterator[Redis]:
    """A cluster-aware client (as Eventwall opens it), every primary emptied first."""
    cluster.heal()  # whole again, even after a test that failed with a primary down
    client = open_redis(cluster.url, expected_clients=100, wait=5)
    await client.flushall(target_nodes="primaries")  # type: ignore[call-arg]
    yield client
    await client.aclose()


@pytest.fixture
def cluster_env(cluster: ValkeyCluster, tmp_path: Path) -> dict[str, str]:
    """Environment for an `eventwall` subprocess on the cluster."""
    return {"REDIS_URL": cluster.url, "DATA_DIR": str(tmp_path / "data"), "DEMO": "false"}
