"""The window asynchronous replication leaves on a Redis Cluster, and what WAIT 1 costs.

On a local 3-primary Valkey cluster with one replica each (the tests' own launcher):

1. **Window**: after each of N decisions (a post approved, then hidden again, through
   `Store.set_state`), how long until the event's replica holds it, timed as one INCR + WAIT 1
   on a connection of the primary, against a plain PING round trip to it.
2. **Loss**: decisions made as fast as C concurrent moderators can, a primary killed with
   `kill -9` in the middle; after its replica takes over, how many acknowledged decisions are
   missing, without waiting for the replica and with REDIS_REPLICA_WAIT_MS.

    python -m bench.cluster_failover [--decisions 2000] [--rounds 3] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

from redis.asyncio import Redis

from tests.cluster.valkey_cluster import Node, ValkeyCluster
from tests.helpers import post_dict
from wall.keys import event_key
from wall.models import Event, Post
from wall.moderation import State
from wall.redis_pool import open_redis, wait_for_replica
from wall.store import Store

SLUG = "failover"


def ms(values: list[float], q: float) -> str:
    """A quantile of seconds, in milliseconds."""
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.2f}"


async def window(redis: Redis, decisions: int) -> None:
    """Time from a decision's acknowledgement to its replica holding it."""
    store = Store(redis)
    await store.save_event(Event(slug=SLUG, title="Failover"))
    post = Post.from_dict(post_dict("w0"))
    await store.ingest(SLUG, post, State.APPROVED)
    key = event_key(SLUG, "replicated")
    node = redis.get_node_from_key(key)  # type: ignore[attr-defined]
    replicated, pings = [], []
    for i in range(decisions):
        await store.set_state(SLUG, post.id, State.HIDDEN if i % 2 == 0 else State.APPROVED)
        started = time.perf_counter()
        assert await wait_for_replica(redis, key, 1000) >= 1
        replicated.append(time.perf_counter() - started)
        started = time.perf_counter()
        await redis.ping(target_nodes=node)
        pings.append(time.perf_counter() - started)
    print(f"window over {decisions} decisions (ms)     p50    p99    max")
    print(f"  INCR + WAIT 1 after a decision     {ms(replicated, 0.5):>6} {ms(replicated, 0.99):>6} "
          f"{max(replicated) * 1000:>6.2f}")  # fmt: skip
    print(f"  PING round trip (for scale)        {ms(pings, 0.5):>6} {ms(pings, 0.99):>6} "
          f"{max(pings) * 1000:>6.2f}")  # fmt: skip
    net = [max(0.0, r - p) for r, p in zip(replicated, pings, strict=True)]
    print(f"  replication beyond one round trip  mean {statistics.mean(net) * 1000:.3f} ms")


async def loss(cluster: ValkeyCluster, wait_ms: int, concurrency: int) -> tuple[int, int, float]:
    """Acknowledged decisions (approvals) and how many of them a failover lost."""
    redis = open_redis(cluster.url, expected_clients=4 * concurrency, wait=10)
    store = Store(redis, replica_wait_ms=wait_ms)
    slug = f"{SLUG}{random.randrange(10**9)}"
    await store.save_event(Event(slug=slug, title="Failover"))
    posts = [Post.from_dict(post_dict(f"{slug}-{i}")) for i in range(concurrency * 400)]
    await store.ingest_many(slug, [(p, State.PENDING, "", "") for p in posts])
    acknowledged: list[str] = []
    stop = asyncio.Event()

    async def moderator(mine: list[Post]) -> None:
        for post in mine:
            if stop.is_set():
                return
            try:
                outcome = await store.set_state(slug, post.id, State.APPROVED)
                if outcome.changed and await store.replicated(slug):
                    acknowledged.append(post.id)
            except Exception:  # mid-failover: not acknowledged
                continue

    victim: Node = cluster.primary_of(event_key(slug, "posts"))
    tasks = [asyncio.create_task(moderator(posts[i::concurrency])) for i in range(concurrency)]
    await asyncio.sleep(0.2 + random.random() * 0.3)
    victim.kill()
    killed = time.monotonic()
    stop.set()
    await asyncio.gather(*tasks)
    while True:  # until the replica serves the event
        try:
            await store.get_state(slug, posts[0].id)
            break
        except Exception:
            await asyncio.sleep(0.05)
    took = time.monotonic() - killed
    states = await store.states(slug, acknowledged)
    lost = sum(1 for s in states if s != State.APPROVED)
    await redis.aclose()
    victim.start()
    await asyncio.to_thread(cluster.wait_healthy)
    return len(acknowledged), lost, took


async def main() -> None:
    """Run both measurements on a fresh local cluster and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cluster = ValkeyCluster(Path(tmp)).start()
        try:
            redis = open_redis(cluster.url, expected_clients=100, wait=10)
            await window(redis, args.decisions)
            await redis.aclose()
            print(f"\nloss: {args.concurrency} concurrent moderators, primary killed mid-stream")
            for wait_ms in (0, 100):
                for _ in range(args.rounds):
                    done, lost, took = await loss(cluster, wait_ms, args.concurrency)
                    print(f"  REDIS_REPLICA_WAIT_MS={wait_ms:<4} acknowledged {done:>5}  "
                          f"lost {lost:>3}  replica serving after {took:.1f}s")  # fmt: skip
        finally:
            cluster.stop()


if __name__ == "__main__":
    asyncio.run(main())
