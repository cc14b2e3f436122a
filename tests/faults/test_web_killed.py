"""A web process SIGKILLed under its clients: each resumes on the restarted one, losing nothing."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis

from tests.faults.kit import Poster, ResumingClient, Web, caught_up, last_public_id, public_changes
from tests.helpers import eventually
from wall.models import Event
from wall.redis_server import free_port
from wall.store import Store

# The clients' library may drop, not close, a socket whose server was killed under it: a
# leak in this test's clients, never in the server under test (another process).
pytestmark = pytest.mark.filterwarnings(
    "ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning"
)

# Websocket clients connected while the server is killed (all in this test's process).
CLIENTS = 200
POSTS = 60
RATE = 15.0


async def test_killed_web_process_clients_resume_exactly(
    env: dict[str, str], redis: Redis, store: Store, event: Event
) -> None:
    """Every client reconnects to the restarted process and ends with exactly the public log."""
    port = free_port()
    since = await last_public_id(redis, event.slug)
    web = await asyncio.to_thread(Web(env, port).start)
    url = f"ws://127.0.0.1:{port}/e/{event.slug}/ws"
    clients = [ResumingClient(url, since).start() for _ in range(CLIENTS)]
    try:
        await eventually(
            lambda: all(c.connects for c in clients), timeout=30, message="all clients connected"
        )
        poster = Poster(store, event.slug)
        posting = asyncio.create_task(poster.run(POSTS, RATE))
        await eventually(lambda: poster.count >= POSTS // 3, timeout=20, message="first posts")
        await asyncio.to_thread(web.kill)  # posts keep arriving while no web process runs
        await eventually(lambda: poster.count >= POSTS // 2, timeout=20, message="posts while down")
        web = await asyncio.to_thread(Web(env, port).start)
        await posting

        expected = await public_changes(redis, event.slug, since)
        assert len(expected) > POSTS // 2
        await caught_up(clients, expected, web.lines, timeout=40)
        assert all(c.connects >= 2 for c in clients), "every client reconnected"
        assert not any(c.duplicates for c in clients)
        assert not any(c.resets for c in clients)
    finally:
        for client in clients:
            await client.stop()
        await asyncio.to_thread(web.stop)
