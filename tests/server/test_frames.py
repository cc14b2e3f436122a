"""Pre-encoded frames: byte for byte what a websocket server sends, and written straight to the
socket under the uvicorn we pin."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect
from websockets.frames import Frame, Opcode

from server.frames import direct_writer, text_frame
from tests.helpers import deadline
from tests.server.served import serving


@pytest.mark.parametrize("size", [0, 1, 125, 126, 1500, 65535, 65536, 200_000])
def test_text_frame_is_rfc_6455_framing(size: int) -> None:
    """A frame is FIN + text opcode, the 7/16/64-bit length with no mask bit, then the UTF-8."""
    data = ("é" * size)[: size // 2] + "x" * (size - size // 2)
    payload = data.encode()
    if len(payload) < 126:
        header = bytes((0x81, len(payload)))
    elif len(payload) < 1 << 16:
        header = bytes((0x81, 126)) + len(payload).to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + len(payload).to_bytes(8, "big")
    assert text_frame(data) == header + payload
    assert text_frame(data) == Frame(Opcode.TEXT, payload).serialize(mask=False)


def test_no_direct_path_without_a_known_server_connection() -> None:
    """Under any server but uvicorn's sansio websockets, messages take the ASGI path."""

    async def send(message: object) -> None:
        del message

    assert direct_writer({"type": "websocket"}) is None
    assert direct_writer({"type": "websocket", "eventwall.asgi_send": send}) is None


async def test_pinned_uvicorn_takes_the_direct_write_path() -> None:
    """Under the uvicorn we pin, served as `eventwall web` serves, a frame goes straight to the socket.

    The shortcut reads uvicorn's private connection object; if a release renames it, this fails
    instead of the fan-out silently paying the ASGI path for every client.
    """
    taken: list[bool] = []

    async def endpoint(websocket: WebSocket) -> None:
        await websocket.accept()
        write = direct_writer(websocket.scope)
        taken.append(write is not None)
        if write is None or not write(text_frame("direct")):
            await websocket.send_text("through ASGI")
        with contextlib.suppress(Exception):
            await websocket.receive_text()

    async with serving(endpoint) as url, connect(url) as socket:
        received = await asyncio.wait_for(socket.recv(), deadline(5))
    assert taken == [True]
    assert received == "direct"
