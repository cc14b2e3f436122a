"""One websocket endpoint served by the real uvicorn, configured as `eventwall web` serves."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from server.cli import uvicorn_config
from server.frames import KeepAsgiSend
from tests.helpers import eventually
from wall.settings import Settings


@contextlib.asynccontextmanager
async def serving(endpoint: Callable[[WebSocket], Awaitable[None]]) -> AsyncIterator[str]:
    """The URL of `endpoint` at /ws on a real uvicorn in this loop, stopped on leaving."""
    app = Starlette(routes=[WebSocketRoute("/ws", endpoint)], middleware=[Middleware(KeepAsgiSend)])
    server = uvicorn.Server(uvicorn_config(app, Settings(), "127.0.0.1", 0))
    task = asyncio.create_task(server.serve())
    try:
        await eventually(lambda: server.started or task.done(), message="uvicorn listening")
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}/ws"
    finally:
        server.should_exit = True
        await task
