"""End to end: the replay command, Redis, real uvicorn and websocket clients, as deployed."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect

from tests.helpers import deadline, eventually, eventwall, metric, post_dict, write_jsonl
from tests.processes import WebServer
from wall.models import Post
from wall.moderation import State
from wall.store import Store

CHANGE_ID = re.compile(r'data-change-id="(\d+-\d+)"')
POST_ID = re.compile(r'<article id="(post-[^"]+)"')


@pytest.fixture
def server(env: dict[str, str], tmp_path: Path, redis: Redis) -> Iterator[WebServer]:
    """A real web server on the test Redis (flushed first), with one seed post."""
    seed = write_jsonl(tmp_path / "seed.jsonl", [post_dict("seed")])
    result = eventwall("ingest", "replay", str(seed), "--event", "testevent", env=env)
    assert result.returncode == 0, result.stderr
    with WebServer(env) as web:
        yield web


async def since_of_page(server: WebServer) -> str:
    """The resume id a freshly rendered wall page carries."""
    async with httpx.AsyncClient() as http:
        html = (await http.get(f"{server.base}/e/testevent/wall")).text
    match = re.search(r'data-since="([^"]+)"', html)
    assert match
    return match.group(1)


@pytest.fixture
async def ws(server: WebServer) -> AsyncIterator[ClientConnection]:
    since = await since_of_page(server)
    async with connect(f"{server.ws_base}/e/testevent/ws?since={since}") as client:
        yield client


async def receive(client: ClientConnection, count: int, timeout: float = 5) -> list[str]:
    """The next `count` messages, failing after a scaled deadline."""
    messages = []
    for _ in range(count):
        messages.append(str(await asyncio.wait_for(client.recv(), deadline(timeout))))
    return messages


def posts_in(messages: list[str]) -> list[str]:
    return [m for message in messages for m in POST_ID.findall(message)]


async def test_replayed_post_reaches_wall_client(
    ws: ClientConnection, env: dict[str, str], tmp_path: Path
) -> None:
    """A post replayed with the CLI reaches a connected wall client as its fragment."""
    path = write_jsonl(tmp_path / "one.jsonl", [post_dict("hello", "Hello from the train")])
    result = await asyncio.to_thread(
        eventwall, "ingest", "replay", str(path), "--event", "testevent", env=env
    )
    assert result.returncode == 0, result.stderr
    [message] = await receive(ws, 1)
    assert 'id="post-test_hello"' in message
    assert "Hello from the train" in message
    assert CHANGE_ID.search(message)


async def test_resume_gets_exactly_what_was_missed(server: WebServer, store: Store) -> None:
    """Reconnecting with the last id seen delivers exactly the missed posts, in order, once."""
    since = await since_of_page(server)
    async with connect(f"{server.ws_base}/e/testevent/ws?since={since}") as first:
        await store.ingest("testevent", Post.from_dict(post_dict("a")), State.APPROVED)
        [message] = await receive(first, 1)
    match = CHANGE_ID.search(message)
    assert match
    last_seen = match.group(1)

    for name in ("b", "c", "d"):
        await store.ingest("testevent", Post.from_dict(post_dict(name)), State.APPROVED)

    async with connect(f"{server.ws_base}/e/testevent/ws?since={last_seen}") as second:
        missed = await receive(second, 3)
        await store.ingest("testevent", Post.from_dict(post_dict("e")), State.APPROVED)
        live = await receive(second, 1)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(second.recv(), 0.3)  # nothing doubled after the live one
    assert posts_in(missed) == ["post-test_b", "post-test_c", "post-test_d"]
    assert posts_in(live) == ["post-test_e"]


async def test_lost_resume_point_gets_full_render(server: WebServer, store: Store) -> None:
    """A resume id the log no longer holds gets one message replacing the whole list."""
    await store.ingest("testevent", Post.from_dict(post_dict("x")), State.APPROVED)
    async with connect(f"{server.ws_base}/e/testevent/ws?since=99999999999999-0") as client:
        [message] = await receive(client, 1)
    assert message.startswith('<div id="posts" hx-swap-oob="innerHTML"')
    assert posts_in([message]) == ["post-test_x", "post-test_seed"]


async def test_hidden_post_leaves_and_pending_never_arrives(
    ws: ClientConnection, store: Store
) -> None:
    """Hiding an approved post sends a delete; a pending post sends nothing at all."""
    await store.ingest("testevent", Post.from_dict(post_dict("held")), State.PENDING)
    await store.set_state("testevent", "test:seed", State.HIDDEN)
    [message] = await receive(ws, 1)
    assert 'id="post-test_seed" hx-swap-oob="delete"' in message
    assert "held" not in message


async def test_healthz_over_http(server: WebServer) -> None:
    """The deployed server answers /healthz with 200 while Redis is up."""
    async with httpx.AsyncClient() as http:
        response = await http.get(f"{server.base}/healthz")
    assert response.status_code == 200 and response.text == "ok\n"


async def _no_clients(server: WebServer) -> bool:
    return await metric(server.base, "eventwall_clients") == 0


async def test_server_logs_are_clean(server: WebServer, ws: ClientConnection) -> None:
    """Connecting and disconnecting a client leaves no traceback in the server log."""
    await ws.close()
    await eventually(lambda: _no_clients(server), message="the server to see the client go")
    assert not any("Traceback" in line for line in server.lines), "".join(server.lines)
