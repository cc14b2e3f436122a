"""Several web processes on one Redis: a change made through any reaches the clients of all."""

from __future__ import annotations

import asyncio

import httpx
from redis.asyncio import Redis

from tests.faults.kit import (
    MODERATOR_PASSWORD,
    ResumingClient,
    Web,
    last_public_id,
    moderator_session,
    public_log,
)
from tests.helpers import eventually, post_dict
from tests.processes import WebServer
from wall.accounts import Accounts
from wall.models import Event, Post
from wall.moderation import State
from wall.redis_server import free_port
from wall.store import Store

CLIENTS_EACH = 10


async def test_two_web_processes_share_every_change(
    env: dict[str, str], redis: Redis, store: Store
) -> None:
    """A post ingested and a moderator's approval made through process A reach B's clients."""
    await store.save_event(Event(slug="testevent", title="Test", moderation="pre"))
    await Accounts(redis).add("mod@example.org", MODERATOR_PASSWORD, event="testevent")
    since = await last_public_id(redis, "testevent")
    first, second = await asyncio.gather(
        asyncio.to_thread(Web(env, free_port()).start),
        asyncio.to_thread(Web(env, free_port()).start),
    )
    clients = [
        ResumingClient(f"{web.ws_base}/e/testevent/ws", since).start()
        for web in (first, second)
        for _ in range(CLIENTS_EACH)
    ]
    http: httpx.AsyncClient | None = None
    try:
        await eventually(lambda: all(c.connects for c in clients), timeout=20, message="clients")
        # Held for moderation, then approved by a moderator logged in to the first process.
        await store.ingest("testevent", Post.from_dict(post_dict("held")), State.PENDING)
        http, csrf = await moderator_session(first.base, "mod@example.org")
        decided = await http.post(
            "/e/testevent/moderate/decide",
            data={"post_id": "test:held", "action": "approve", "expected": "pending"},
            headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
        )
        assert decided.status_code in (200, 303), decided.text
        assert await store.get_state("testevent", "test:held") == State.APPROVED
        # And one approved at once, as the worker would.
        await store.ingest("testevent", Post.from_dict(post_dict("direct")), State.APPROVED)

        expected = await public_log(redis, "testevent", since)
        assert len(expected) == 2
        await eventually(
            lambda: all(c.applied == expected for c in clients),
            timeout=20,
            message="the clients of both processes",
        )
    finally:
        if http is not None:
            await http.aclose()
        for client in clients:
            await client.stop()
        await asyncio.gather(asyncio.to_thread(first.stop), asyncio.to_thread(second.stop))


class UvicornWorkers(WebServer):
    """`uvicorn --workers 2` on the app factory: two processes sharing one listening socket."""

    def __init__(self, env: dict[str, str], port: int) -> None:
        args = ["-m", "uvicorn", "--factory", "server.app:create_app", "--workers", "2"]
        super().__init__(
            {**env, "PORT": str(port)}, [*args, "--port", str(port), "--no-access-log"]
        )


async def test_uvicorn_workers_share_every_change(
    env: dict[str, str], redis: Redis, store: Store
) -> None:
    """With `uvicorn --workers 2`, clients spread over both workers all get every post."""
    await store.save_event(Event(slug="testevent", title="Test", moderation="post"))
    since = await last_public_id(redis, "testevent")
    web = await asyncio.to_thread(UvicornWorkers(env, free_port()).start)
    clients = [ResumingClient(f"{web.ws_base}/e/testevent/ws", since).start() for _ in range(20)]
    try:
        await eventually(lambda: all(c.connects for c in clients), timeout=20, message="clients")
        for name in ("w1", "w2", "w3"):
            await store.ingest("testevent", Post.from_dict(post_dict(name)), State.APPROVED)
        expected = await public_log(redis, "testevent", since)
        await eventually(
            lambda: all(c.applied == expected for c in clients),
            timeout=20,
            message="the clients of both workers",
        )
        pids = {
            line.split("[")[1].split("]")[0]
            for line in web.lines
            if "Started server process" in line
        }
        assert len(pids) == 2, "".join(web.lines)
    finally:
        for client in clients:
            await client.stop()
        await asyncio.to_thread(web.stop)
