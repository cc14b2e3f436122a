"""The usual peer: a Starlette app on uvicorn using encode/broadcaster, a subscription per client.

This is broadcaster's own chat example shape: each websocket subscribes, and a sender task
loops `async for event in subscriber: await websocket.send_text(...)` beside a receiver.
The fragment is rendered once per message (a cache keyed by the published string, which
broadcaster hands to every subscriber as the same object), so the peer pays no per-client
rendering: what is compared is the fan-out.

broadcaster 0.3.1 loses clients that subscribe at the same moment as the channel's first
subscriber (each of them sees no subscriber yet, subscribes Redis, and replaces the set of
queues); and its Redis listener can stop for good when it starts before the first SUBSCRIBE
has been answered. `prime=True` holds two subscriptions open from start-up (the channel,
then a second one that restarts the listener once the first is in place), so that the
peer's capacity can be measured at all; `peer-raw` runs it as the example has it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from functools import lru_cache

from broadcaster import Broadcast
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from server.render import Renderer
from wall.changes import Change, channel


def create_app(redis_url: str, slug: str, *, prime: bool = True) -> Starlette:
    """The peer app, listening on /e/{slug}/ws."""
    broadcast = Broadcast(redis_url)
    renderer = Renderer()
    name = channel(slug, "public")

    @lru_cache(maxsize=64)
    def render(message: str) -> str:
        return renderer.fragment(Change.from_message(message))

    async def receiver(websocket: WebSocket) -> None:
        with contextlib.suppress(WebSocketDisconnect):
            async for _ in websocket.iter_text():
                pass

    async def sender(websocket: WebSocket) -> None:
        async with broadcast.subscribe(channel=name) as subscriber:
            async for event in subscriber:  # type: ignore[union-attr]
                if event is not None:
                    await websocket.send_text(render(event.message))

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        tasks = [asyncio.create_task(receiver(websocket)), asyncio.create_task(sender(websocket))]
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await broadcast.connect()
        primer = None
        if prime:
            subscribed = asyncio.Event()

            async def hold() -> None:
                async with (
                    broadcast.subscribe(channel=name) as subscriber,
                    broadcast.subscribe(channel=name + ":primer"),
                ):
                    subscribed.set()
                    async for _ in subscriber:  # type: ignore[union-attr]
                        pass

            primer = asyncio.create_task(hold())
            await subscribed.wait()
        try:
            yield
        finally:
            if primer is not None:
                primer.cancel()
            await broadcast.disconnect()

    return Starlette(routes=[WebSocketRoute(f"/e/{slug}/ws", endpoint)], lifespan=lifespan)
