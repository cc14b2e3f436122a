"""The lean websocket protocol: uvicorn's, holding less per connection, and still correct."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.websockets import WebSocket
from websockets.asyncio.client import connect
from websockets.protocol import Protocol

from server.frames import SEND_KEY
from server.ws_protocol import GuardedWebSocketProtocol, Inbox, Writable
from tests.helpers import deadline
from tests.server.served import serving


async def test_inbox_hands_messages_over_in_order() -> None:
    """Messages come out in the order put, a waiting reader is woken, an idle inbox is empty."""
    inbox = Inbox()
    assert inbox.empty()
    waiting = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait({"n": 1})
    inbox.put_nowait({"n": 2})
    assert await asyncio.wait_for(waiting, deadline(5)) == {"n": 1}
    assert not inbox.empty()
    assert await inbox.get() == {"n": 2}
    assert inbox.empty()


async def test_inbox_reader_cancelled_leaves_the_message() -> None:
    """A reader cancelled while waiting takes nothing: the next one gets the message."""
    inbox = Inbox()
    waiting = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    inbox.put_nowait("kept")
    assert await inbox.get() == "kept"


async def test_writable_wakes_every_waiter() -> None:
    """Cleared, writers wait; set, all of them go on (a cancelled one does not hold others)."""
    writable = Writable()
    assert writable.is_set() and await writable.wait()
    writable.clear()
    first = asyncio.ensure_future(writable.wait())
    second = asyncio.ensure_future(writable.wait())
    gone = asyncio.ensure_future(writable.wait())
    await asyncio.sleep(0)
    assert not first.done()
    gone.cancel()
    await asyncio.sleep(0)
    writable.set()
    assert await asyncio.wait_for(asyncio.gather(first, second), deadline(5)) == [True, True]


async def test_pinned_servers_take_the_lean_paths() -> None:
    """Served as `eventwall web` serves, a connection holds the lean queue and event, no
    handshake request or response, and a frame parser without the request; messages flow.

    These reach into uvicorn's and websockets' private state (both pinned): if a release
    renames it, this fails instead of every connection silently costing more again.
    """
    seen: dict[str, Any] = {}

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        connection = websocket.scope[SEND_KEY].__self__
        seen["connection"] = connection
        echo = await websocket.receive_text()
        await websocket.send_text(echo.upper())
        with contextlib.suppress(Exception):
            await websocket.receive_text()

    async with serving(endpoint) as url, connect(url) as socket:
        await socket.send("hello")
        assert await asyncio.wait_for(socket.recv(), deadline(5)) == "HELLO"
        connection = seen["connection"]
        assert isinstance(connection, GuardedWebSocketProtocol)
        assert isinstance(connection.queue, Inbox)
        assert isinstance(connection.writable, Writable)
        assert not hasattr(connection, "request") and not hasattr(connection, "response")
        assert connection.conn.parser.gi_code is Protocol.parse.__code__
