"""SIGTERM: clients are closed with 1012 (service restart) and the process exits in time."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

import pytest
from redis.asyncio import Redis
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.faults.kit import Web, last_public_id
from tests.helpers import deadline, eventually
from tests.processes import RealProcess
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


@pytest.mark.parametrize("workers", ["1", "2"])
async def test_sigterm_stops_eventwall_run_in_order(tmp_path: Path, workers: str) -> None:
    """`eventwall run`: 1012 to clients, the worker drained, embedded Redis stopped, exit 0."""
    port = free_port()
    env = {
        **os.environ,
        "WEB_WORKERS": workers,  # the web server in the process, or web processes beside it
        "DATA_DIR": str(tmp_path / "data"),
        "PORT": str(port),
        "DEMO_RATE": "20",
        "SHUTDOWN_TIMEOUT": str(SHUTDOWN_TIMEOUT),
    }
    env.pop("REDIS_URL", None)
    # Ready when it prints its URLs: the web server listens and the worker has started.
    run = RealProcess(
        ["-m", "server.cli", "run"], env, ready="Eventwall is running", startup=30, inherit=False
    ).start()
    try:
        client: ClientConnection | None = None

        async def connected() -> bool:
            nonlocal client
            try:
                client = await connect(f"ws://127.0.0.1:{port}/e/demo/ws?since=0-0")
            except InvalidStatus:
                return False  # 404 until the worker, started just after, creates the demo event
            return True

        await eventually(connected, timeout=30, message="the demo event's socket")
        assert client is not None
        await asyncio.wait_for(client.recv(), deadline(10))  # the demo is posting
        started = time.monotonic()
        run.terminate()
        assert await asyncio.wait_for(close_code(client), deadline(10)) == 1012
        code = await asyncio.to_thread(run.wait, 20)
        elapsed = time.monotonic() - started
    finally:
        run.stop()
    output = run.output
    assert code == 0, output
    assert elapsed < 2 * SHUTDOWN_TIMEOUT + 2, f"took {elapsed:.1f}s"
    assert "worker stopped" in output
    assert not (tmp_path / "data" / "redis" / "server.json").exists(), "redis left running"
    assert "Traceback" not in output, output
