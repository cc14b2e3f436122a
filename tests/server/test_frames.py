"""Pre-encoded frames: byte for byte what a websocket server sends, for every length class."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from server.frames import direct_writer, text_frame


@pytest.mark.parametrize("size", [0, 1, 125, 126, 1500, 65535, 65536, 200_000])
def test_text_frame_matches_the_websockets_library(size: int) -> None:
    """Our frame equals an unmasked, final text frame serialized by `websockets` itself."""
    data = ("é" * size)[: size // 2] + "x" * (size - size // 2)
    expected = Frame(Opcode.TEXT, data.encode()).serialize(mask=False)
    assert text_frame(data) == expected


def test_no_direct_path_without_a_known_server_connection() -> None:
    """Under any server but uvicorn's sansio websockets, messages take the ASGI path."""

    async def send(message: object) -> None:
        del message

    assert direct_writer({"type": "websocket"}) is None
    assert direct_writer({"type": "websocket", "eventwall.asgi_send": send}) is None
