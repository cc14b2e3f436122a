"""uvicorn's websocket protocol, with every frame a client sends counted, pings included,
and slow readers told apart from gone ones.

Control frames never reach the app: uvicorn answers a ping with a pong itself, however
many arrive and whether or not the client reads them, so a ping flood grows the server's
write buffers without bound while the app's message limit sees nothing. Here each frame
(text, binary, ping, pong) counts towards the per-connection limit; past it the connection
is closed with 1008, and a client pinging while it leaves our answers unread is cut.

A slow reader's pong waits behind everything it has not read yet, so uvicorn's keepalive
may give up on it before the hub does. When data is still queued for it, that client is
slow, not gone: it is closed with 1013 (it resumes) rather than 1011, marked `cut_slow` for
the app to count, and cut if even that close frame can't get out in a ping timeout.
The socket's kernel send buffer is kept small, so that what stands between a slow reader
and its close frame is bounded and the frame can arrive.
"""

from __future__ import annotations

import asyncio
import fcntl
import socket
import struct
import termios
from collections import deque
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request
from websockets.protocol import Protocol

# The same budget as the app's own limit on messages: no page of ours sends anything.
FRAMES_PER_MINUTE = 60
WINDOW = 60.0
POLICY_VIOLATION = 1008
# Unread bytes we hold for a client that still pings: past this it is not reading at all.
UNREAD_LIMIT = 1024 * 1024
PONG_HEADER = bytes((0x80 | Opcode.PONG.value,))  # FIN and the pong opcode
TRY_AGAIN_LATER = 1013
# The kernel's send buffer per websocket (Linux doubles it for its own bookkeeping). Walls
# receive a few KB a second; left to autotuning, loopback and fast links grow it to MBs,
# and a slow reader's close frame would queue behind all of it.
SEND_BUFFER = 64 * 1024
KEEPALIVE_PING = 6  # bytes of a keepalive ping frame (4-byte payload): all that is queued
# for a peer that is gone rather than slow


def unsent_bytes(transport: asyncio.Transport) -> int:
    """Bytes queued for the peer and not yet acknowledged: ours and the kernel's."""
    queued = transport.get_write_buffer_size()
    sock = transport.get_extra_info("socket")
    if sock is None:
        return queued
    try:
        raw = fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0")
    except OSError:
        return queued
    return queued + int(struct.unpack("i", raw)[0])


class Inbox:
    """What uvicorn's protocol uses of its receive queue (`put_nowait`, `get`, `empty`), for
    one reader: a deque made on first use and one future while the app waits. An idle
    wall's socket receives nothing, and asyncio.Queue's three deques and Event cost about
    3 KB per connection."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[Any] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        """Add a message and wake the reader."""
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def empty(self) -> bool:
        """Whether no message waits."""
        return not self._items

    async def get(self) -> Any:
        """The next message, waiting for one."""
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        item = self._items.popleft()
        if not self._items:
            self._items = None  # idle again: hold no deque
        return item


class Writable:
    """What uvicorn's protocol uses of its `writable` asyncio.Event (`set`, `clear`, `is_set`,
    `wait`), with the waiters' list made only while someone waits (an Event holds a deque)."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = True
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        """Whether the transport takes writes."""
        return self._set

    def set(self) -> None:
        """Writable again: wake every waiter."""
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        """Paused: writers wait."""
        self._set = False

    async def wait(self) -> bool:
        """Return once writable."""
        if self._set:
            return True
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        try:
            await waiter
        finally:
            if self._waiters is not None and waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


class GuardedWebSocketProtocol(WebSocketsSansIOProtocol):
    """Counts every frame a client sends; closes a connection that floods or does not read."""

    frames_per_minute = FRAMES_PER_MINUTE

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Lighter stand-ins for uvicorn's asyncio.Queue and Event (same methods, same use).
        self.queue = Inbox()  # type: ignore[assignment]
        self.writable = Writable()  # type: ignore[assignment]
        self._window_start = 0.0
        self._frames = 0
        self.flooded = False
        self.cut_slow = False  # the keepalive gave up on it with data still queued for it
        # A closing handshake may take as long as a pong (uvicorn's own is 10 s): a slow
        # reader reads its close frame only after what is queued before it.
        if self.ping_timeout:
            self.close_timeout = max(self.close_timeout, self.ping_timeout)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """uvicorn's, with the socket's send buffer bounded (see SEND_BUFFER)."""
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
            except OSError:
                pass  # not a TCP socket (a test's pipe): nothing to bound

    def handle_connect(self, event: Request) -> None:
        """uvicorn's, without keeping the parsed request: the scope holds what the app reads.

        `websockets`' server parser keeps the request (its headers: about 2 KB) in a local
        variable of the generator that goes on to parse every frame; between frames, with
        nothing buffered, it is swapped for the frame parser alone, which holds no state.
        """
        super().handle_connect(event)
        del self.request
        conn = self.conn
        if conn.parser_exc is None and not conn.reader.buffer:
            handshake_parser = conn.parser
            conn.parser = Protocol.parse(conn)
            next(conn.parser)  # started, waiting for the first frame, as before
            handshake_parser.close()

    def start_keepalive(self) -> None:
        """uvicorn calls this right after sending its handshake response: drop the response."""
        del self.response
        super().start_keepalive()

    def keepalive_timeout(self) -> None:
        """No pong in time: a peer with data still queued for it is slow, not gone."""
        if (
            self.close_sent
            or self.transport.is_closing()
            or unsent_bytes(self.transport) <= KEEPALIVE_PING
        ):
            super().keepalive_timeout()
            return
        self.pong_timer = None
        self.pending_ping_payload = None
        self.cut_slow = True
        self.logger.info("closing a slow websocket whose ping went unanswered with 1013")
        # The app hears of it now (it counts the client and stops writing to it).
        self._close_lingering(TRY_AGAIN_LATER, "too slow; reconnect and resume", app_code=1006)

    def _close_lingering(self, code: int, reason: str, *, app_code: int) -> None:
        """Send a close frame, tell the app (`app_code`), and keep reading, dropping what
        the client still sends, until its answering close frame ends the connection (see
        handle_close) or the close timeout does. A socket closed with unread input is reset,
        and the reset takes the close frame still on its way with it."""
        self.conn.send_close(code, reason)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.queue.put_nowait({"type": "websocket.disconnect", "code": app_code, "reason": reason})
        self.close_timer = self.loop.call_later(self.close_timeout, self._give_up)

    def _give_up(self) -> None:
        """The closing handshake did not finish in time: close, or cut if still behind."""
        self.close_timer = None
        if unsent_bytes(self.transport) > 0:
            self.transport.abort()
        else:
            self.transport.close()

    def _allow(self) -> bool:
        """Count one frame; False (and the connection closing) when it is one too many."""
        if self.flooded:
            return False
        now = self.loop.time()
        if now - self._window_start > WINDOW:
            self._window_start, self._frames = now, 0
        self._frames += 1
        if self._frames <= self.frames_per_minute:
            return True
        self.flooded = True
        self.logger.info("closing a websocket that sent over %d frames a minute", self._frames - 1)
        # What it sends from here is read and dropped (`flooded`), so its 1008 gets through.
        self._close_lingering(POLICY_VIOLATION, "too many messages", app_code=POLICY_VIOLATION)
        return False

    def handle_events(self) -> None:
        """uvicorn's dispatch, with pings answered here one by one within the limit."""
        # websockets queues a pong for every ping as it parses it, all of a read's at once:
        # those are dropped, and each ping within the limit is answered below.
        queued = self.conn.data_to_send()
        kept = [frame for frame in queued if frame[:1] != PONG_HEADER]
        if kept:
            self.transport.write(b"".join(kept))
        for event in self.conn.events_received():
            if isinstance(event, Request):
                self.handle_connect(event)
            elif not isinstance(event, Frame):
                continue  # a server never receives a Response
            elif event.opcode == Opcode.PING:
                self._answer_ping(event)
            elif event.opcode == Opcode.CONT:
                self.handle_cont(event)
            elif event.opcode == Opcode.TEXT:
                self.handle_text(event)
            elif event.opcode == Opcode.BINARY:
                self.handle_bytes(event)
            elif event.opcode == Opcode.PONG:
                self.handle_pong(event)
            elif event.opcode == Opcode.CLOSE:
                self.handle_close(event)

    def _answer_ping(self, event: Frame) -> None:
        """Answer a ping only within the limit, and only to a client that reads."""
        if not self._allow():
            return
        if self.transport.get_write_buffer_size() > UNREAD_LIMIT:
            # Pinging but not reading what we send: it can't take a close frame either.
            self.logger.info("cutting a websocket that pings without reading")
            self.flooded = True
            self.queue.put_nowait({"type": "websocket.disconnect", "code": 1006})
            self.transport.abort()
            return
        self.conn.send_pong(event.data)
        self.transport.write(b"".join(self.conn.data_to_send()))

    def handle_pong(self, event: Frame) -> None:
        """Pongs count too: unsolicited ones are a flood like any other."""
        if self._allow():
            super().handle_pong(event)

    def handle_text(self, event: Frame) -> None:
        """A text message, counted."""
        if self._allow():
            super().handle_text(event)

    def handle_bytes(self, event: Frame) -> None:
        """A binary message, counted."""
        if self._allow():
            super().handle_bytes(event)
