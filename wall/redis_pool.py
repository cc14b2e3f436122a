"""The Redis client every process uses: a pool sized for the expected clients, that waits.

redis-py's default pool raises at once when its 100 connections are in use, so a room
reconnecting together (a web process restarted under a full room) got HTTP 500s. This pool
makes a burst wait its turn for a connection, up to a timeout; only past that does a
request fail, with a RedisError the server answers with 503 or 1013.

A `redis+cluster://host:port` URL names a Redis Cluster (any node is a seed): the client is
then redis-py's cluster-aware `RedisCluster`, which routes each command by its key's slot.
Every event's keys carry its `{slug}` hash tag, so each script and transaction stays in one
slot; changes are published with SPUBLISH on the event's shard channel.
"""

from __future__ import annotations

import logging
from typing import cast
from urllib.parse import urlsplit

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import ClusterDownError

log = logging.getLogger(__name__)

# A Redis command takes well under a millisecond, but on a busy event loop a connection is
# held until its task runs again: in a reconnect storm one per 4 clients keeps the waits short.
CLIENTS_PER_CONNECTION = 4
MIN_CONNECTIONS = 16
MAX_CONNECTIONS = 1000
CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")


def pool_size(expected_clients: int) -> int:
    """Connections for a process expecting this many websocket clients at once."""
    wanted = expected_clients // CLIENTS_PER_CONNECTION
    return max(MIN_CONNECTIONS, min(MAX_CONNECTIONS, wanted))


def names_cluster(url: str) -> bool:
    """Whether a REDIS_URL names a Redis Cluster (`redis+cluster://` or `rediss+cluster://`)."""
    return urlsplit(url).scheme in CLUSTER_SCHEMES


def is_cluster(redis: object) -> bool:
    """Whether this client talks to a Redis Cluster."""
    return isinstance(redis, RedisCluster)


def publish_command(redis: object) -> str:
    """How a script publishes a change: SPUBLISH on a cluster (the channel lives in the event's
    slot, so only that shard carries it), plain PUBLISH on one server (one pattern
    subscription per process hears every event)."""
    return "SPUBLISH" if is_cluster(redis) else "PUBLISH"


async def wait_for_replica(redis: Redis, key: str, timeout_ms: int) -> int:
    """Wait until a replica of the cluster node serving `key` holds every write that node has
    acknowledged so far (at most `timeout_ms`); how many replicas do (0 when none in time).

    WAIT counts the writes of the connection it is sent on, and a pooled client may have sent
    ours on another: so one small write to `key`, then WAIT, both on one connection of that
    node. Replication keeps order, so a replica holding this write holds ours before it.
    """
    cluster = cast(RedisCluster, redis)
    node = cluster.get_node_from_key(key)
    if node is None:
        raise ClusterDownError(f"no node serves {key} now")
    connection = node.acquire_connection()
    try:
        await connection.send_packed_command(
            connection.pack_commands([("INCR", key), ("WAIT", 1, timeout_ms)])
        )
        await connection.read_response()
        replicas = int(await connection.read_response())
    except BaseException:
        await connection.disconnect()  # a reply may be left unread on it
        raise
    finally:
        node.release(connection)
    if replicas < 1:
        log.warning("no replica of %s confirmed a write within %d ms", node.name, timeout_ms)
    return replicas


def open_redis(
    url: str, *, expected_clients: int, wait: float, health_check_interval: int = 0
) -> Redis:
    """A client whose pool holds `pool_size(expected_clients)` connections and waits `wait` s.

    For a cluster URL it is a `RedisCluster` with that many connections per node: it has
    the same command methods, and is typed as `Redis` so the stores need not care which.
    """
    if names_cluster(url):
        scheme, rest = url.split("://", 1)
        cluster = RedisCluster.from_url(
            f"{scheme.removesuffix('+cluster')}://{rest}",
            max_connections=pool_size(expected_clients),
            decode_responses=True,
            health_check_interval=health_check_interval,
        )
        return cast(Redis, cluster)
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=pool_size(expected_clients),
        timeout=wait,
        decode_responses=True,
        health_check_interval=health_check_interval,
    )
    # from_pool: closing the client closes its pool too.
    return Redis.from_pool(pool)
