"""SIGTERM: clients are closed with 1012 (service restart) and the process exits in time."""

from __future__ import annotations

import asyncio
import socket
import time

from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.faults.kit import Web, last_public_id
from tests.helpers import deadline
from wall.models import Event
from wall.redis_server import free_port

CLIENTS = 50
SHUTDOWN_TIMEOUT = 3


async def close_code(client: ClientConnection) -> int | None:
    """The close code the server sent, once the connection ends."""
    try:
        async for _ in client:
            pass
    except ConnectionClosed:
        pass
    return client.close_code


async def test_sigterm_closes_with_1012_and_exits_in_time(
    env: dict[str, str], redis: Redis, event: Event
) -> None:
    """Every reading client gets 1012; a stalled one does not hold the exit past the bound."""
    web = await asyncio.to_thread(
        Web({**env, "SHUTDOWN_TIMEOUT": str(SHUTDOWN_TIMEOUT)}, free_port()).start
    )
    url = f"{web.ws_base}/e/{event.slug}/ws?since={await last_public_id(redis, event.slug)}"
    clients = [await connect(url) for _ in range(CLIENTS)]
    # One that never reads, with a tiny receive buffer.
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.connect(("127.0.0.1", web.port))
    stalled = await connect(url, sock=raw, max_queue=1)
    try:
        started = time.monotonic()
        web.terminate()
        codes = await asyncio.wait_for(
            asyncio.gather(*(close_code(c) for c in clients)), deadline(SHUTDOWN_TIMEOUT + 5)
        )
        assert codes == [1012] * CLIENTS
        assert web.process is not None
        await asyncio.to_thread(web.process.wait, deadline(SHUTDOWN_TIMEOUT + 5))
        elapsed = time.monotonic() - started
        assert elapsed < SHUTDOWN_TIMEOUT + 2, f"took {elapsed:.1f}s to exit"
        assert not any("Traceback" in line for line in web.lines), "".join(web.lines)
    finally:
        await stalled.close()
        await asyncio.to_thread(web.stop)
