"""Redis restarted, or away for a while: nothing acknowledged is lost, everything reconnects."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from tests.faults.kit import (
    ResumingClient,
    Valkey,
    Web,
    Worker,
    caught_up,
    last_public_id,
    public_changes,
)
from tests.helpers import eventually
from wall.moderation import State
from wall.redis_server import free_port
from wall.store import Store

CLIENTS = 20
DEMO = "demo"


@pytest.fixture
def fault_env(valkey: Valkey, tmp_path: Path) -> dict[str, str]:
    """Processes on that Valkey, the demo posting fast into its event."""
    return {
        "REDIS_URL": valkey.url,
        "DATA_DIR": str(tmp_path / "data"),
        "DEMO": "true",
        "DEMO_RATE": "8",
        "DEMO_LOOP": "true",
        "SOURCE_RELOAD": "0.5",
    }


async def demo_posts(redis: Redis) -> list[str]:
    """The demo posts stored, by id."""
    return [str(k) for k in await redis.hkeys(f"ew:{{{DEMO}}}:posts")]


def contiguous(ids: list[str]) -> bool:
    """The demo's ids (demo:r<round>-<index>) run without a gap from the first."""
    corpus = 60
    seen = sorted(
        int(r) * 1000 + int(i) for r, i in (x.removeprefix("demo:r").split("-") for x in ids)
    )
    ordinals = [(n // 1000) * corpus + n % 1000 for n in seen]
    return ordinals == list(range(len(ordinals)))


async def health(base: str) -> int:
    """The status of /healthz."""
    async with httpx.AsyncClient(timeout=5) as http:
        return (await http.get(f"{base}/healthz")).status_code


async def test_redis_restarted_loses_nothing(
    valkey: Valkey, fault_env: dict[str, str], tmp_path: Path
) -> None:
    """Restarting Redis loses no post and no decision; web, ingest and clients carry on alone."""
    redis = Redis.from_url(valkey.url, decode_responses=True)
    store = Store(redis)
    worker = Worker(fault_env).start()
    web = await asyncio.to_thread(Web(fault_env, free_port()).start)
    clients: list[ResumingClient] = []
    try:
        await eventually(lambda: _count(redis, 10), timeout=30, message="demo posts")
        since = await last_public_id(redis, DEMO)
        url = f"{web.ws_base}/e/{DEMO}/ws"
        clients = [ResumingClient(url, since).start() for _ in range(CLIENTS)]
        await eventually(lambda: all(c.connects for c in clients), timeout=20, message="clients")
        # A moderator's decisions just before the restart.
        hidden = (await demo_posts(redis))[:3]
        for post_id in hidden:
            await store.set_state(DEMO, post_id, State.HIDDEN, actor="mod@example.org")
        before = set(await demo_posts(redis))
        await redis.aclose()

        await asyncio.to_thread(valkey.stop)
        await asyncio.to_thread(valkey.start)

        redis = Redis.from_url(valkey.url, decode_responses=True)
        store = Store(redis)
        assert before <= set(await demo_posts(redis)), "posts lost in the restart"
        for post_id in hidden:
            assert await store.get_state(DEMO, post_id) == State.HIDDEN
        # Ingest carries on by itself...
        await eventually(lambda: _count(redis, len(before) + 10), timeout=30, message="ingest")
        assert worker.stop() == 0
        posts = await demo_posts(redis)
        assert contiguous(posts), sorted(posts)
        # ...and so do the web process and its clients, with what was published meanwhile.
        expected = await public_changes(redis, DEMO, since)
        await caught_up(clients, expected, web.lines)
        assert not any(c.duplicates or c.resets for c in clients)
        assert await health(web.base) == 200
    finally:
        for client in clients:
            await client.stop()
        if worker.process and worker.process.poll() is None:
            worker.stop()
        await asyncio.to_thread(web.stop)
        await redis.aclose()


async def _count(redis: Redis, n: int) -> bool:
    return len(await demo_posts(redis)) >= n


OUTAGE = 5.0  # seconds Redis stays away (docs/operating.md describes 30)


async def test_redis_away_for_a_while(
    valkey: Valkey, fault_env: dict[str, str], tmp_path: Path
) -> None:
    """Redis away: walls keep their clients, /healthz says 503, ingest holds and later writes."""
    redis = Redis.from_url(valkey.url, decode_responses=True)
    worker = Worker(fault_env).start()
    web = await asyncio.to_thread(Web(fault_env, free_port()).start)
    clients: list[ResumingClient] = []
    try:
        await eventually(lambda: _count(redis, 10), timeout=30, message="demo posts")
        since = await last_public_id(redis, DEMO)
        url = f"{web.ws_base}/e/{DEMO}/ws"
        clients = [ResumingClient(url, since).start() for _ in range(CLIENTS)]
        # Resumed and live: every client has had a live post.
        await eventually(lambda: all(c.applied for c in clients), timeout=20, message="clients")
        before = len(await demo_posts(redis))
        await redis.aclose()

        await asyncio.to_thread(valkey.stop)
        loop = asyncio.get_running_loop()
        down_until = loop.time() + OUTAGE
        assert await health(web.base) == 503
        await asyncio.sleep(max(0.0, down_until - loop.time()))  # the outage itself
        assert all(c.connects == 1 for c in clients), "a wall lost its connection"
        await asyncio.to_thread(valkey.start)

        redis = Redis.from_url(valkey.url, decode_responses=True)
        await eventually(lambda: _health_is(web.base, 200), timeout=10, message="healthy again")
        # The demo went on taking posts in the outage (8 a second): they were held, not lost.
        await eventually(
            lambda: _count(redis, before + int(OUTAGE * 4)), timeout=30, message="held posts"
        )
        assert worker.stop() == 0, "".join(worker.lines[-40:])
        posts = await demo_posts(redis)
        assert contiguous(posts), sorted(posts)
        assert any("holding items in memory" in line for line in worker.lines)
        expected = await public_changes(redis, DEMO, since)
        await caught_up(clients, expected, web.lines)
        assert not any(c.duplicates or c.resets for c in clients)
        if not all(c.connects == 1 for c in clients):
            raise AssertionError(
                f"walls lost their connection: {[(c.connects, c.closes) for c in clients]}\n"
                + "".join(x for x in web.lines if "open" not in x and "accepted" not in x)
            )
    finally:
        for client in clients:
            await client.stop()
        if worker.process and worker.process.poll() is None:
            worker.stop()
        await asyncio.to_thread(web.stop)
        await redis.aclose()


async def _health_is(base: str, status: int) -> bool:
    return await health(base) == status
