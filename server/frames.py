"""Pre-encoded websocket frames, written straight to the socket when the server allows it.

Every client gets the same bytes, and a server-to-client frame is never masked, so the
whole frame (header and UTF-8 payload) can be built once per change and written as is to
every socket: no per-client encoding, framing, ASGI message or task switch. This is the
path `websockets.broadcast()` takes; through ASGI each send costs a dict, three awaits and
a wake-up of the client's writer task, which profiled as most of the fan-out's CPU.

The direct path exists only where the ASGI server's connection object is known:
uvicorn's `websockets-sansio` protocol (its default), read through private attributes
(`WebSocketsSansIOProtocol`, `.conn`, `.transport`, `.close_sent`). uvicorn is pinned to
the minor versions tested, and tests/server/test_frames.py fails if a real uvicorn no
longer takes this path. Anywhere else `direct_writer` returns None and messages go
through the client's writer task and ASGI `send`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State

log = logging.getLogger(__name__)

SEND_KEY = "eventwall.asgi_send"
# Past this many bytes waiting in the socket's buffer, messages take the queued path, where
# a send that cannot complete within SEND_TIMEOUT closes the client with 1013.
WRITE_BUFFER_LIMIT = 256 * 1024

DirectWrite = Callable[[bytes], bool]


def text_frame(data: str) -> bytes:
    """One unfragmented, unmasked text frame (RFC 6455 section 5.2) carrying `data`."""
    return Frame(Opcode.TEXT, data.encode()).serialize(mask=False)


class KeepAsgiSend:
    """ASGI middleware keeping the server's own `send` in the websocket scope.

    Starlette wraps `send` on its way to the endpoint; the server's original is what tells
    `direct_writer` which connection object (and socket) it belongs to.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """Pass through, remembering `send` for websocket connections.

        Not a coroutine function: it returns the inner app's awaitable, so a websocket
        does not hold a frame of this middleware for its whole life.
        """
        if scope["type"] == "websocket":
            scope[SEND_KEY] = send
        return self.app(scope, receive, send)


class HttpOnly:
    """Applies an HTTP middleware to HTTP requests only; anything else goes straight on.

    Every middleware frame a websocket passes through stays allocated for as long as the
    socket is open (a coroutine frame each, 300-500 bytes); the HTTP-only ones (security
    headers, body limits, gzip) have nothing to do for it, so it skips them.
    """

    def __init__(self, app: ASGIApp, http: ASGIApp) -> None:
        self.app = app
        self.http = http  # the middleware, wrapping `app`

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """The middleware for HTTP, the app itself for anything else."""
        if scope["type"] == "http":
            return self.http(scope, receive, send)
        return self.app(scope, receive, send)


def http_only(middleware: Callable[..., ASGIApp], **options: Any) -> Callable[[ASGIApp], ASGIApp]:
    """A middleware factory (for Starlette's `Middleware`) applying `middleware` to HTTP only."""

    def wrap(app: ASGIApp) -> ASGIApp:
        return HttpOnly(app, middleware(app, **options))

    return wrap


class DirectWriter:
    """Writes a pre-encoded frame to one uvicorn connection's socket (see `direct_writer`).

    An object with one slot rather than a closure: it sits on every live client, and the
    connection object already holds the transport and protocol state it checks.
    """

    __slots__ = ("connection",)

    def __init__(self, connection: WebSocketsSansIOProtocol) -> None:
        self.connection = connection

    def __call__(self, frame: bytes) -> bool:
        """Write `frame` unless the connection is closing or its buffer is backed up."""
        connection = self.connection
        transport = connection.transport
        if (
            connection.close_sent
            or connection.conn.state is not State.OPEN
            or transport.is_closing()
            or transport.get_write_buffer_size() > WRITE_BUFFER_LIMIT
        ):
            return False
        transport.write(frame)
        return True


def direct_writer(scope: Scope) -> DirectWrite | None:
    """A function writing a pre-encoded frame to this websocket's socket, if the server allows.

    It returns False, writing nothing, whenever the frame must take the ordinary path: the
    connection is closing, or the socket's buffer is backed up (the client is slow).
    """
    connection: Any = getattr(scope.get(SEND_KEY), "__self__", None)
    if not isinstance(connection, WebSocketsSansIOProtocol):
        return None
    if getattr(connection, "transport", None) is None or getattr(connection, "conn", None) is None:
        return None
    if not hasattr(connection, "close_sent"):
        return None
    return DirectWriter(connection)


def abort_connection(scope: Scope, *, after: float = 0.0) -> bool:
    """Cut this websocket's connection, dropping what its buffers hold: now, or `after`
    seconds from now if it still has unsent data then (its close frame not yet taken).
    False if the server's connection object is not known: it closes in its own time."""
    connection: Any = getattr(scope.get(SEND_KEY), "__self__", None)
    transport = getattr(connection, "transport", None)
    if transport is None or not hasattr(transport, "abort"):
        return False
    if after <= 0:
        transport.abort()
        return True

    def abort_if_stuck() -> None:
        if transport.get_write_buffer_size():
            log.info("cut a client that took no close frame in %.0fs", after)
            transport.abort()

    asyncio.get_running_loop().call_later(after, abort_if_stuck)
    return True


def cut_for_slowness(scope: Scope) -> bool:
    """Whether the server's keepalive gave up on this websocket with data still queued for
    it (a slow reader, closed with 1013 by `server.ws_protocol`), rather than the app."""
    connection: Any = getattr(scope.get(SEND_KEY), "__self__", None)
    return bool(getattr(connection, "cut_slow", False))
