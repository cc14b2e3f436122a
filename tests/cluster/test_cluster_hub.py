"""The hub on a Redis Cluster: an event's shard channel is subscribed while it has clients, once
per process, and released with its last client; a cluster it can't reach gives 503, not 500."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from starlette.testclient import TestClient

from ingest.buffer import IngestBuffer
from server.app import create_app
from server.hub import Hub
from tests.cluster.test_cluster_stores import slugs_on_every_primary
from tests.helpers import eventually, post_dict
from wall.changes import channel
from wall.models import Event, Post
from wall.moderation import State
from wall.redis_pool import open_redis
from wall.redis_server import free_port
from wall.settings import Settings
from wall.store import Store

pytestmark = pytest.mark.xdist_group("cluster")


async def subscribers(redis: Redis, name: str) -> int:
    """How many connections are subscribed to this shard channel, on the node that owns it."""
    cluster = redis
    assert isinstance(cluster, RedisCluster)
    node = cluster.get_node_from_key(name)
    reply = await cluster.execute_command("PUBSUB", "SHARDNUMSUB", name, target_nodes=node)
    return int(dict(zip(reply[::2], reply[1::2], strict=True))[name])


async def test_subscribed_with_the_first_client_released_with_the_last(
    cluster_redis: Redis,
) -> None:
    """SSUBSCRIBE when an event's first client arrives, one for all its clients, SUNSUBSCRIBE
    with the last; a change reaches both clients through that one subscription."""
    store = Store(cluster_redis)
    hub = Hub(cluster_redis, store, lambda change: change.id)
    listener = asyncio.create_task(hub.run())
    slugs = slugs_on_every_primary(1)
    for slug in slugs:
        await store.save_event(Event(slug=slug, title=slug, moderation="post"))
    watched, other = slugs[0], slugs[1]
    name = channel(watched, "public")
    try:
        await asyncio.wait_for(hub.subscribed.wait(), 10)
        assert await subscribers(cluster_redis, name) == 0
        async with contextlib.AsyncExitStack() as stack:
            first = await stack.enter_async_context(hub.subscribe(watched, "public"))
            await eventually(lambda: subscribers(cluster_redis, name), message="SSUBSCRIBE")
            second = await stack.enter_async_context(hub.subscribe(watched, "public"))
            post = Post.from_dict(post_dict("live"))
            await store.ingest(watched, post, State.APPROVED)
            await store.ingest(other, Post.from_dict(post_dict("unwatched")), State.APPROVED)
            await eventually(lambda: first.queued == 1 and second.queued == 1)
            message = first.next_queued()
            assert message is not None
            assert message.data == (await store.changes_since(watched, "0-0") or [])[0].id
            assert await subscribers(cluster_redis, name) == 1  # one for both clients
            assert await subscribers(cluster_redis, channel(other, "public")) == 0
            assert hub.stats.received == 1  # the unwatched event's change never came here

        async def released() -> bool:
            return await subscribers(cluster_redis, name) == 0

        await eventually(released, message="SUNSUBSCRIBE")
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener


def test_unreachable_cluster_gives_503(tmp_path: Path) -> None:
    """With no cluster node answering, a page and /healthz are 503, never a 500."""
    settings = Settings(
        redis_url=f"redis+cluster://127.0.0.1:{free_port()}", data_dir=tmp_path, demo=False
    )
    with TestClient(create_app(settings)) as client:
        page = client.get("/e/anything/wall")
        health = client.get("/healthz")
    assert page.status_code == 503
    assert health.status_code == 503 and health.text.startswith("redis unreachable")


async def test_a_cut_subscription_resubscribes_and_catches_up(
    cluster_redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """A shard's pub/sub connection cut by the server (CLIENT KILL): the hub resubscribes and
    the changes made meanwhile still reach the client, in order, from the change log."""
    store = Store(cluster_redis)
    hub = Hub(cluster_redis, store, lambda change: change.id)
    listener = asyncio.create_task(hub.run())
    slug = slugs_on_every_primary(1)[1]
    await store.save_event(Event(slug=slug, title=slug, moderation="post"))
    name = channel(slug, "public")
    assert isinstance(cluster_redis, RedisCluster)
    node = cluster_redis.get_node_from_key(name)
    try:
        async with hub.subscribe(slug, "public") as client:
            await eventually(lambda: subscribers(cluster_redis, name), message="SSUBSCRIBE")
            await cluster_redis.execute_command(
                "CLIENT", "KILL", "TYPE", "pubsub", target_nodes=node
            )
            for i in range(5):
                await store.ingest(slug, Post.from_dict(post_dict(f"cut{i}")), State.APPROVED)
            expected = [c.id for c in await store.changes_since(slug, "0-0") or []]
            received: list[str] = []

            async def all_received() -> bool:
                while (message := client.next_queued()) is not None:
                    received.append(message.data)
                return received == expected

            await eventually(all_received, timeout=10, message="the changes made while cut")
            assert "pub/sub connection lost" in caplog.text  # it did lose it
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener


async def test_worker_holds_items_while_no_cluster_node_answers() -> None:
    """The ingest buffer holds an item when the cluster can't be reached (RedisClusterException
    is an outage, not a bad item), and writes nothing until it can."""
    away = open_redis(f"redis+cluster://127.0.0.1:{free_port()}", expected_clients=10, wait=1)
    buffer = IngestBuffer(Store(away))
    try:
        event = Event(slug="held", title="Held")
        assert not await buffer.take(event, Post.from_dict(post_dict("h1")), None)
        assert len(buffer) == 1
    finally:
        await away.aclose()
