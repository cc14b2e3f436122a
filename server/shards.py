"""Sharded pub/sub on a Redis Cluster: SSUBSCRIBE per event, for the events that have clients.

On one Redis server the hub hears every event through one pattern subscription. On a
cluster, a plain PUBLISH is copied to every node, so the scripts SPUBLISH on the event's
shard channel instead (it hashes to the event's slot) and only that shard carries it. The
hub then subscribes each channel an event's first client needs, and releases it with the
event's last client.

This is still one subscription per process: one `ShardSubscription`, holding one connection
per primary that serves a subscribed event, each read by its own reader task. When any of
them is lost (a primary killed, a slot moved away) the whole subscription ends with a
ConnectionError and the hub starts it afresh from the cluster's current map of slots, then
catches every subscribed channel up from the change logs, as after any outage.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable

from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.client import PubSub
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.exceptions import ConnectionError, RedisClusterException

from server.listening import messages

log = logging.getLogger(__name__)


class ShardSubscription:
    """The channels this process wants, and one life of the connections that carry them."""

    def __init__(
        self,
        cluster: RedisCluster,
        on_message: Callable[[str, str], None],
        on_subscribed: Callable[[str], Awaitable[None]],
    ) -> None:
        self.cluster = cluster
        self.on_message = on_message  # a change's JSON, as published, and its channel
        self.on_subscribed = on_subscribed  # a channel's SSUBSCRIBE took effect
        self.wanted: set[str] = set()
        self.ready = asyncio.Event()  # every wanted channel has been asked for
        self._changed = asyncio.Event()
        self._fresh = True  # the first life uses the map the client already has

    def want(self, channel: str) -> None:
        """Subscribe this channel (an event's first client arrived)."""
        self.wanted.add(channel)
        self.ready.clear()
        self._changed.set()

    def release(self, channel: str) -> None:
        """Unsubscribe this channel (the event's last client left)."""
        self.wanted.discard(channel)
        self._changed.set()

    async def run(self) -> None:
        """Follow `wanted` until a connection is lost; raises ConnectionError then."""
        try:
            if self._fresh:
                await self.cluster.initialize()  # learns the map once, if no command has yet
            else:
                # After a loss the map of slots may be stale (a replica took over): ask again.
                await self.cluster.nodes_manager.initialize()
        except RedisClusterException as exc:  # no node answers: an outage like any other
            raise ConnectionError(str(exc)) from exc
        self._fresh = False
        pubsubs: dict[str, PubSub] = {}
        readers: dict[str, asyncio.Task[None]] = {}
        where: dict[str, str] = {}  # channel -> name of the node it is subscribed on
        leaving: Counter[str] = Counter()  # SUNSUBSCRIBEs sent and not yet confirmed
        try:
            while True:
                self._changed.clear()
                for name in sorted(self.wanted - where.keys()):
                    try:
                        node = self.cluster.get_node_from_key(name)
                    except RedisClusterException as exc:  # the slot is not covered now
                        raise ConnectionError(str(exc)) from exc
                    if node is None:  # the slot has no primary now (a failover under way)
                        raise ConnectionError(f"no node serves {name} yet")
                    pubsub = pubsubs.get(node.name)
                    if pubsub is None:
                        pubsub = pubsubs[node.name] = _node_pubsub(node)
                    await pubsub.ssubscribe(name)
                    where[name] = node.name
                    if node.name not in readers:
                        readers[node.name] = asyncio.create_task(
                            self._read(pubsub, leaving), name=f"eventwall-shard-{node.name}"
                        )
                for name in sorted(where.keys() - self.wanted):
                    leaving[name] += 1
                    await pubsubs[where.pop(name)].sunsubscribe(name)
                if not self._changed.is_set():
                    self.ready.set()
                changed = asyncio.ensure_future(self._changed.wait())
                try:
                    await asyncio.wait(
                        [changed, *readers.values()], return_when=asyncio.FIRST_COMPLETED
                    )
                finally:
                    changed.cancel()
                for task in readers.values():
                    if task.done():
                        task.result()  # raises what ended it
                        raise ConnectionError("a shard's reader stopped")
        finally:
            self.ready.clear()
            for task in readers.values():
                task.cancel()
            for task in readers.values():
                with contextlib.suppress(BaseException):
                    await task
            for pubsub in pubsubs.values():
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _read(self, pubsub: PubSub, leaving: Counter[str]) -> None:
        """Hand on one node's messages; ConnectionError if it goes silent or drops a channel."""
        # A ping through the subscribed connection proves it still delivers.
        silent = "a shard's subscription stopped answering"
        async with contextlib.aclosing(messages(pubsub, pubsub.ping, silent=silent)) as items:
            async for item in items:
                kind, name = item["type"], str(item.get("channel") or "")
                if kind == "smessage":
                    self.on_message(item["data"], name)
                    # Let the writers run between changes (see Hub._listen).
                    await asyncio.sleep(0)
                elif kind == "ssubscribe":
                    await self.on_subscribed(name)
                elif kind == "sunsubscribe":
                    if leaving[name] > 0:
                        leaving[name] -= 1
                        if not leaving[name]:
                            del leaving[name]
                    elif name in self.wanted:
                        # Not asked for: the slot moved to another node (resharding, failover).
                        raise ConnectionError(f"the cluster moved {name} away")


def _node_pubsub(node: ClusterNode) -> PubSub:
    """A pub/sub of its own on one node, with the cluster client's connection settings."""
    kwargs = dict(node.connection_kwargs)
    kwargs.pop("event_dispatcher", None)
    # No retry of its own: a lost node must end the subscription at once, so the hub
    # resubscribes from the cluster's new map and catches up from the logs.
    kwargs["retry"] = None
    pool = ConnectionPool(connection_class=node.connection_class, **kwargs)
    return Redis.from_pool(pool).pubsub()
