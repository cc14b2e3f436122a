"""Real HTTP and websocket servers on loopback for tests: any Starlette app under uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import uvicorn
from starlette.types import ASGIApp

from tests.helpers import deadline


@contextlib.asynccontextmanager
async def serve(app: ASGIApp, port: int = 0) -> AsyncIterator[str]:
    """Run `app` under real uvicorn on 127.0.0.1 (port 0: any free one); yield its http URL."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        ws="websockets-sansio",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    # The test owns the process's signals, not this in-process server.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(deadline(10)):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{bound}"
    finally:
        server.should_exit = True
        # A client that keeps its connection (a long poll, a stream) must not hold the test
        # up: past the graceful window the server is forced down, then cancelled.
        await asyncio.wait({task}, timeout=deadline(5))
        if not task.done():
            server.force_exit = True
            await asyncio.wait({task}, timeout=deadline(5))
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
