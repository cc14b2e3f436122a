"""Which client a REDIS_URL opens: one server's pooled client, or the cluster-aware one."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from wall.redis_pool import is_cluster, names_cluster, open_redis, publish_command
from wall.settings import Settings


@pytest.mark.parametrize(
    ("url", "cluster"),
    [
        ("redis+cluster://127.0.0.1:7000", True),
        ("rediss+cluster://cache.example:6380", True),
        ("redis://127.0.0.1:6379/0", False),
        ("unix:///run/redis.sock", False),
    ],
)
async def test_a_cluster_url_opens_the_cluster_client(url: str, cluster: bool) -> None:
    """`redis+cluster://` opens RedisCluster, which SPUBLISHes; anything else one server's."""
    assert names_cluster(url) is cluster
    client = open_redis(url, expected_clients=100, wait=1)  # connects lazily: no traffic
    try:
        assert isinstance(client, RedisCluster if cluster else Redis)
        assert is_cluster(client) is cluster
        assert publish_command(client) == ("SPUBLISH" if cluster else "PUBLISH")
    finally:
        await client.aclose()


def test_settings_take_a_cluster_url_and_the_replica_wait() -> None:
    """REDIS_URL takes redis+cluster://; REDIS_REPLICA_WAIT_MS is a bounded number."""
    settings = Settings.from_env(
        {"REDIS_URL": "redis+cluster://10.0.0.1:7000", "REDIS_REPLICA_WAIT_MS": "250"}
    )
    assert settings.redis_url.startswith("redis+cluster://")
    assert settings.redis_replica_wait_ms == 250
    with pytest.raises(ValueError, match="REDIS_URL"):
        Settings.from_env({"REDIS_URL": "cluster://10.0.0.1:7000"})
    with pytest.raises(ValueError, match="REDIS_REPLICA_WAIT_MS"):
        Settings.from_env({"REDIS_REPLICA_WAIT_MS": "-1"})
