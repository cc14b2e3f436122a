"""The Python ceiling: `websockets` serve() + broadcast(), fed by one Redis subscription.

It renders each change once with Eventwall's own renderer (same ~1.5 KB fragment) and hands
the string to broadcast(), which writes it to every open connection without awaiting any.
No queue per client, no resume, no slow-client policy: the least work Python can do.
"""

from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from websockets.asyncio.server import ServerConnection, broadcast
from websockets.asyncio.server import serve as ws_serve

from server.render import Renderer
from wall.changes import Change, channel


async def serve(redis_url: str, port: int, slug: str, started: asyncio.Event) -> None:
    """Serve /e/{slug}/ws on the port until cancelled."""
    clients: set[ServerConnection] = set()
    renderer = Renderer()

    async def handler(connection: ServerConnection) -> None:
        clients.add(connection)
        try:
            async for _ in connection:
                pass
        finally:
            clients.discard(connection)

    redis = Redis.from_url(redis_url, decode_responses=True)
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel(slug, "public"))
    async with ws_serve(
        handler, "127.0.0.1", port, compression=None, ping_interval=None, backlog=4096
    ):
        started.set()
        while True:
            item = await pubsub.get_message(timeout=5.0)
            if item is None:
                continue
            broadcast(clients, renderer.fragment(Change.from_message(item["data"])))
