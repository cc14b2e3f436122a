"""The public websocket is read-only: input is ignored, a flood of it closes the socket."""

from __future__ import annotations

import base64
import os
import socket
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from server.sockets import MAX_CLIENT_MESSAGES_PER_MINUTE, POLICY_VIOLATION
from server.ws_protocol import FRAMES_PER_MINUTE
from tests.helpers import deadline, eventwall, post_dict, write_jsonl
from tests.processes import WebServer


def test_input_is_ignored_and_a_flood_closes_the_socket(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A client's messages change nothing and get no answer; past the per-minute limit
    the socket is closed with 1008, while live posts still reach a quiet client."""
    path = write_jsonl(tmp_path / "one.jsonl", [post_dict("one")])
    assert eventwall("ingest", "replay", str(path), "--event", "sockets", env=env).returncode == 0
    with WebServer(env) as server:
        url = f"{server.ws_base}/e/sockets/ws"
        with connect(url) as quiet, connect(url) as noisy:
            noisy.send('{"type": "approve", "post_id": "test:one"}')
            noisy.send('<div hx-swap-oob="innerHTML:#posts"></div>')
            with pytest.raises(TimeoutError):
                noisy.recv(timeout=0.3)  # nothing is echoed or acted on
            later = write_jsonl(tmp_path / "two.jsonl", [post_dict("two")])
            assert (
                eventwall("ingest", "replay", str(later), "--event", "sockets", env=env).returncode
                == 0
            )
            assert "post-test_two" in str(quiet.recv(timeout=deadline(5)))
            with pytest.raises(ConnectionClosed) as closed:
                for _ in range(MAX_CLIENT_MESSAGES_PER_MINUTE * 2):
                    noisy.send("x")
                while True:
                    noisy.recv(timeout=deadline(5))
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == POLICY_VIOLATION


def _upgrade(port: int, path: str) -> socket.socket:
    """A raw TCP connection that has done the websocket handshake and reads nothing yet."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=deadline(10))
    key = base64.b64encode(os.urandom(16)).decode()
    raw.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += raw.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return raw


def _frames(data: bytes) -> list[tuple[int, bytes]]:
    """The (opcode, payload) of each unmasked server frame in `data`."""
    frames, i = [], 0
    while i + 2 <= len(data):
        opcode, size = data[i] & 0x0F, data[i + 1] & 0x7F
        i += 2
        if size == 126:
            size, i = int.from_bytes(data[i : i + 2], "big"), i + 2
        elif size == 127:
            size, i = int.from_bytes(data[i : i + 8], "big"), i + 8
        frames.append((opcode, data[i : i + size]))
        i += size
    return frames


def test_a_ping_flood_counts_and_closes_the_socket(env: dict[str, str], tmp_path: Path) -> None:
    """Pings count towards the per-connection limit: a client pinging without reading gets
    at most the limit's worth of pongs, then a 1008 close (not lost to a reset, however many
    pings are still unread), and its connection ends once it answers the close."""
    path = write_jsonl(tmp_path / "one.jsonl", [post_dict("one")])
    assert eventwall("ingest", "replay", str(path), "--event", "pings", env=env).returncode == 0
    with WebServer(env) as server:
        raw = _upgrade(server.port, "/e/pings/ws")
        ping = bytes((0x89, 0x80)) + os.urandom(4)  # an empty, masked ping
        raw.sendall(ping * 500)
        received = b""
        while not any(opcode == 0x8 for opcode, _ in _frames(received)):
            chunk = raw.recv(65536)
            assert chunk, f"the connection ended without a close frame: {_frames(received)[-3:]}"
            received += chunk
        raw.sendall(bytes((0x88, 0x80)) + os.urandom(4))  # its answering close, masked
        while chunk := raw.recv(65536):  # until the server ends the connection
            received += chunk
        raw.close()
    frames = _frames(received)
    pongs = [f for f in frames if f[0] == 0xA]
    closes = [f for f in frames if f[0] == 0x8]
    assert len(pongs) <= FRAMES_PER_MINUTE
    assert closes and int.from_bytes(closes[0][1][:2], "big") == POLICY_VIOLATION
