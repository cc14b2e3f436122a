"""Redis back after an outage: live messages flow again within a second, not after a backoff."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from redis.asyncio import Redis

from tests.faults.kit import ResumingClient, Valkey, Web, last_public_id
from tests.helpers import deadline, eventually, post_dict
from wall.models import Event, Post
from wall.moderation import State
from wall.redis_server import free_port
from wall.store import Store

OUTAGE = 6.0  # seconds away: long enough for a doubling backoff to reach its maximum
RESUBSCRIBED = 1.0  # seconds after Redis answers again that live messages must flow


async def _healthz(web: Web) -> int:
    async with httpx.AsyncClient(timeout=deadline(5)) as http:
        return (await http.get(f"{web.base}/healthz")).status_code


async def test_live_messages_resume_within_a_second(valkey: Valkey, tmp_path: Path) -> None:
    """After an outage, a change made as Redis returns reaches connected walls within 1 s."""
    redis = Redis.from_url(valkey.url, decode_responses=True)
    store = Store(redis)
    for slug in ("busy", "quiet"):
        await store.save_event(Event(slug=slug, title=slug))
    env = {"REDIS_URL": valkey.url, "DATA_DIR": str(tmp_path / "data")}
    web = await asyncio.to_thread(Web(env, free_port()).start)
    # One wall has seen a change; the other's event has none yet (its log is empty).
    busy = ResumingClient(f"{web.ws_base}/e/busy/ws", await last_public_id(redis, "busy"))
    quiet = ResumingClient(f"{web.ws_base}/e/quiet/ws", await last_public_id(redis, "quiet"))
    clients = [busy.start(), quiet.start()]
    try:
        await eventually(lambda: all(c.connects for c in clients), timeout=10, message="connected")
        await store.ingest("busy", Post.from_dict(post_dict("before")), State.APPROVED)
        await eventually(lambda: len(busy.applied) == 1, timeout=10, message="a live message")
        await redis.aclose()
        await asyncio.to_thread(valkey.stop)
        loop = asyncio.get_running_loop()
        back_at = loop.time() + OUTAGE
        await eventually(lambda: _is(web, 503), timeout=10, message="the outage seen")
        await asyncio.sleep(max(0.0, back_at - loop.time()))  # the outage itself
        await asyncio.to_thread(valkey.start)  # returns once Redis answers PING
        returned = loop.time()

        redis = Redis.from_url(valkey.url, decode_responses=True)
        store = Store(redis)
        for slug in ("busy", "quiet"):
            await store.ingest(slug, Post.from_dict(post_dict(f"after-{slug}")), State.APPROVED)
        try:
            await eventually(
                lambda: len(busy.applied) == 2 and len(quiet.applied) == 1,
                timeout=10,
                message="the live messages",
            )
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}: {busy.applied}, {quiet.applied}\n" + "".join(web.lines[-15:])
            ) from None
        took = loop.time() - returned
        assert took < deadline(RESUBSCRIBED), f"live again {took:.1f}s after Redis returned\n" + (
            "".join(web.lines[-15:])
        )
        assert all(c.connects == 1 for c in clients), "a wall lost its connection"
    finally:
        for client in clients:
            await client.stop()
        await asyncio.to_thread(web.stop)
        await redis.aclose()


async def _is(web: Web, status: int) -> bool:
    return await _healthz(web) == status
