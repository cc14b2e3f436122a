"""The Redis client every process uses: a pool sized for the expected clients, that waits.

redis-py's default pool raises at once when its 100 connections are in use, so a room
reconnecting together (a web process restarted under a full room) got HTTP 500s. This pool
makes a burst wait its turn for a connection, up to a timeout; only past that does a
request fail, with a RedisError the server answers with 503 or 1013.
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

# A Redis command takes well under a millisecond, but on a busy event loop a connection is
# held until its task runs again: in a reconnect storm one per 4 clients keeps the waits short.
CLIENTS_PER_CONNECTION = 4
MIN_CONNECTIONS = 16
MAX_CONNECTIONS = 1000


def pool_size(expected_clients: int) -> int:
    """Connections for a process expecting this many websocket clients at once."""
    wanted = expected_clients // CLIENTS_PER_CONNECTION
    return max(MIN_CONNECTIONS, min(MAX_CONNECTIONS, wanted))


def open_redis(
    url: str, *, expected_clients: int, wait: float, health_check_interval: int = 0
) -> Redis:
    """A client whose pool holds `pool_size(expected_clients)` connections and waits `wait` s."""
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=pool_size(expected_clients),
        timeout=wait,
        decode_responses=True,
        health_check_interval=health_check_interval,
    )
    # from_pool: closing the client closes its pool too.
    return Redis.from_pool(pool)
