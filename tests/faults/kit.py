"""Fault-injection kit: real processes to kill and restart, and clients that resume like the page.

`ResumingClient` speaks the protocol of static/eventwall.js: connect with `?since=` the last
change id applied, remember the id of every message, and on any close reconnect with backoff
and that id. Every change id it applies is recorded, so a test can compare the exact sequence
with the event's public change log: no gap, no duplicate, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from tests.helpers import eventually, post_dict
from tests.processes import RealProcess, WebServer
from wall.models import Post
from wall.moderation import State
from wall.redis_server import EmbeddedRedis, free_port
from wall.store import Store

CHANGE_ID = re.compile(r'data-change-id="(\d+)-(\d+)"')
POST_ID = re.compile(r'<article id="(post-[^"]+)"')
RESET = '<div id="posts" hx-swap-oob="innerHTML"'
# Public changes carrying a post: a resume or catch-up leaves out those whose post is no
# longer public when the log is read (the post's `remove` follows), as the page would.
BODY_TYPES = frozenset({"show", "update", "spotlight"})


@dataclass(frozen=True)
class LogEntry:
    """One entry of an event's public change log: its id, type and post."""

    id: str
    type: str
    post_id: str


def key_of(change_id: str) -> tuple[int, int]:
    """A change id as a comparable pair."""
    major, minor = change_id.split("-")
    return int(major), int(minor)


class Valkey:
    """A real Valkey server on a fixed port and data folder, so it can be stopped and restarted."""

    def __init__(self, data_dir: Path, port: int = 0) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.server: EmbeddedRedis | None = None

    @property
    def url(self) -> str:
        """Where the server listens, whether it runs or not."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Valkey:
        """Start it (append-only, as `eventwall` does) on the same port and files."""
        self.server = EmbeddedRedis(self.data_dir, port=self.port)
        self.server.start()
        return self

    def stop(self) -> None:
        """A clean stop: SHUTDOWN writes the append-only file first."""
        if self.server is not None:
            self.server.stop()
            self.server = None

    def kill(self) -> None:
        """SIGKILL: whatever was not yet fsynced (at most a second of writes) may be lost."""
        if self.server is not None and self.server.process is not None:
            self.server.process.kill()
            self.server.process.wait()
            self.server.stop()  # nothing left to stop: gives up the data folder's lock
            self.server = None


class Web(WebServer):
    """`eventwall web` on a fixed port, so a killed server can be replaced at the same address."""

    def __init__(self, env: dict[str, str], port: int) -> None:
        super().__init__({**env, "PORT": str(port)})


class Worker(RealProcess):
    """`eventwall ingest worker` in a subprocess, its log kept."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(["-m", "server.cli", "ingest", "worker"], env)

    def start(self) -> Worker:
        """Start the worker."""
        super().start()
        return self


MODERATOR_PASSWORD = "a long passphrase for tests"


async def moderator_session(
    base: str, email: str, slug: str = "testevent"
) -> tuple[httpx.AsyncClient, str]:
    """A logged-in moderator's HTTP client of a web server, and its CSRF token."""
    http = httpx.AsyncClient(base_url=base, timeout=10)
    page = await http.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, page.text
    login = await http.post(
        "/login",
        data={"email": email, "password": MODERATOR_PASSWORD, "csrf": token.group(1), "next": "/"},
    )
    assert login.status_code in (200, 303), login.text
    console = await http.get(f"/e/{slug}/moderate")
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', console.text)
    assert csrf, console.text
    return http, csrf.group(1)


def change_key(message: str) -> tuple[int, int] | None:
    """The change id a live message carries, as a comparable pair."""
    match = CHANGE_ID.search(message[:2000])
    return (int(match.group(1)), int(match.group(2))) if match else None


class ResumingClient:
    """A websocket client that resumes like eventwall.js: reconnect with the last id applied."""

    def __init__(
        self,
        url: str,
        since: str,
        *,
        read: asyncio.Event | None = None,
        small_buffer: bool = False,
    ) -> None:
        self.url = url
        self.small_buffer = small_buffer  # a tiny kernel receive buffer: falls behind fast
        self.since = since
        self.applied: list[str] = []  # every change id applied, in the order received
        self.received_at: dict[str, float] = {}  # change id -> when it arrived (epoch ms)
        self.duplicates: list[str] = []  # ids at or before one already applied
        self.resets = 0
        self.connects = 0
        self.closes: list[int | None] = []  # close codes received (None: no close frame)
        self.served_by: list[str] = []  # the x-eventwall-process header of each connection
        self.read = read  # when given, the client reads only while it is set
        self._task: asyncio.Task[None] | None = None

    def start(self) -> ResumingClient:
        """Connect and keep connected until stopped."""
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        """Disconnect for good."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @property
    def last(self) -> tuple[int, int]:
        """The newest change id applied, as a pair."""
        major, minor = self.since.split("-")
        return int(major), int(minor)

    def apply(self, message: str) -> None:
        """Apply one message: record its change id, or flag it as already applied."""
        key = change_key(message)
        if key is None:
            return  # announcements and other messages without an id
        if message.startswith(RESET):
            self.resets += 1
        elif key <= self.last:
            self.duplicates.append(f"{key[0]}-{key[1]}")
            return
        self.since = f"{key[0]}-{key[1]}"
        self.applied.append(self.since)
        self.received_at[self.since] = time.time() * 1000

    def difference(self, log: list[LogEntry]) -> str:
        """How what this client applied differs from the log ('' if it applied it exactly).

        The one gap allowed is a resume's or catch-up's: a change carrying a post that was
        removed before the log was read, so the change was left out and its `remove` sent
        (a page never shows the post). Only when the client got nothing newer before that
        `remove` was written: a live client's missing change is a loss.
        """
        ids = [entry.id for entry in log]
        if self.applied == ids:
            return ""
        known = set(ids)
        extra = [x for x in self.applied if x not in known]
        if extra:
            return f"extra {extra}"
        if not self.applied or self.applied[-1] != ids[-1]:
            tail = self.applied[-1] if self.applied else "nothing"
            return f"not at the end of the log ({ids[-1]}): applied up to {tail}"
        applied = set(self.applied)
        for i, entry in enumerate(log):
            if entry.id in applied:
                continue
            removal = next(
                (e for e in log[i + 1 :] if e.post_id == entry.post_id and e.type == "remove"),
                None,
            )
            if entry.type not in BODY_TYPES or removal is None or removal.id not in applied:
                return f"misses {entry.id} ({entry.type} {entry.post_id})"
            following = next(x for x in self.applied if key_of(x) > key_of(entry.id))
            if self.received_at[following] < key_of(removal.id)[0]:
                return (
                    f"misses {entry.id} ({entry.type} {entry.post_id}), though it got "
                    f"{following} before the post's removal {removal.id} was written"
                )
        return ""

    def _socket_options(self) -> dict[str, Any]:
        if not self.small_buffer:
            return {}
        host, port = self.url.split("//", 1)[1].split("/", 1)[0].split(":")
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.settimeout(1)
        try:
            raw.connect((host, int(port)))  # loopback: immediate, or refused at once
        except OSError:
            raw.close()
            raise
        return {"sock": raw, "max_queue": 1}

    async def _run(self) -> None:
        delay = 0.05
        while True:
            try:
                async with connect(
                    f"{self.url}?since={self.since}",
                    max_size=None,
                    open_timeout=5,
                    **self._socket_options(),
                ) as ws:
                    assert ws.response is not None
                    self.served_by.append(ws.response.headers.get("x-eventwall-process", ""))
                    self.connects += 1
                    delay = 0.05
                    while True:
                        if self.read is not None:
                            await self.read.wait()
                        self.apply(str(await ws.recv()))
            except ConnectionClosed as exc:
                self.closes.append(exc.rcvd.code if exc.rcvd is not None else None)
            except (OSError, InvalidHandshake, InvalidStatus, TimeoutError):
                pass  # not up yet: try again
            # Backoff with a cap, as the htmx ws extension does.
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)


async def public_log(redis: Redis, slug: str, after: str = "0-0") -> list[str]:
    """Every id in an event's public change log after `after`, oldest first."""
    return [entry.id for entry in await public_changes(redis, slug, after)]


async def public_changes(redis: Redis, slug: str, after: str = "0-0") -> list[LogEntry]:
    """Every entry in an event's public change log after `after`, oldest first."""
    entries = await redis.xrange(f"ew:{{{slug}}}:log:public", min=f"({after}", max="+")
    return [
        LogEntry(str(xid), str(fields.get("type", "")), str(fields.get("post_id", "")))
        for xid, fields in entries
    ]


async def last_public_id(redis: Redis, slug: str) -> str:
    """The newest id in an event's public change log ('0-0' if empty)."""
    entries = await redis.xrevrange(f"ew:{{{slug}}}:log:public", count=1)
    return str(entries[0][0]) if entries else "0-0"


class Poster:
    """Keeps posts arriving: mostly approved, some held as pending, now and then one hidden."""

    def __init__(self, store: Store, slug: str, *, prefix: str = "p") -> None:
        self.store = store
        self.slug = slug
        self.prefix = prefix
        self.count = 0
        self.approved: list[str] = []

    async def post(self) -> None:
        """One more post (every fifth held as pending; every seventh hides an earlier one)."""
        n = self.count
        self.count += 1
        post = Post.from_dict(post_dict(f"{self.prefix}{n}"))
        state = State.PENDING if n % 5 == 4 else State.APPROVED
        await self.store.ingest(self.slug, post, state)
        if state == State.APPROVED:
            self.approved.append(post.id)
        if n % 7 == 6 and len(self.approved) > 2:
            await self.store.set_state(self.slug, self.approved.pop(0), State.HIDDEN)

    async def run(self, total: int, rate: float) -> None:
        """Post `total` times at about `rate` a second."""
        for _ in range(total):
            await self.post()
            await asyncio.sleep(1 / rate)


async def caught_up(
    clients: list[ResumingClient],
    expected: list[LogEntry],
    log: list[str],
    *,
    timeout: float = 30,
) -> None:
    """Wait until every client has applied exactly the `expected` log; say how one differs if
    not (each change exactly once, in order, none missing but what a resume leaves out)."""
    try:
        await eventually(
            lambda: not any(c.difference(expected) for c in clients),
            timeout=timeout,
            message="every client at the end of the log",
        )
    except AssertionError:
        behind = [c for c in clients if c.difference(expected)]
        late = behind[0]
        raise AssertionError(
            f"{len(behind)} client(s) differ from the log; one: {late.difference(expected)}, "
            f"{late.connects} connects, closes {late.closes}, duplicates {late.duplicates}, "
            f"resumes from {late.since}\n"
            + "".join([x for x in log if "connection " not in x and "[accepted]" not in x][-40:])
        ) from None


class SlowReader:
    """A raw socket reading its websocket at `rate` bytes a second at most, kernel buffers
    left as the system sizes them (a screen on a poor link, or too busy to keep up).

    Frames are parsed by the `websockets` sans-I/O client, which also answers pings and the
    server's close frame as a browser would. `read` cleared: it reads nothing until set.
    """

    def __init__(self, url: str, rate: float, *, read: asyncio.Event | None = None) -> None:
        self.url = url
        self.rate = rate
        self.read = read
        self.received = 0  # bytes read from the socket
        self.messages = 0
        self.close_code: int | None = None  # the server's close frame, once read
        self.ended = asyncio.Event()  # the connection is over (close frame read, or cut)
        self.opened = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> SlowReader:
        """Connect and read until the connection ends."""
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> None:
        """Stop reading and drop the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        from websockets.client import ClientProtocol
        from websockets.frames import Frame, Opcode
        from websockets.http11 import Response
        from websockets.uri import parse_uri

        loop = asyncio.get_running_loop()
        protocol = ClientProtocol(parse_uri(self.url), max_size=None)
        host, port = self.url.split("//", 1)[1].split("/", 1)[0].split(":")
        sock = socket.socket()
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, (host, int(port)))
            protocol.send_request(protocol.connect())
            await loop.sock_sendall(sock, b"".join(protocol.data_to_send()))
            while True:
                if self.read is not None and self.opened.is_set():
                    await self.read.wait()
                data = await loop.sock_recv(sock, 4096)
                self.received += len(data)
                if not data:
                    protocol.receive_eof()
                else:
                    protocol.receive_data(data)
                for event in protocol.events_received():
                    if isinstance(event, Response):
                        self.opened.set()
                    elif isinstance(event, Frame) and event.opcode == Opcode.TEXT:
                        self.messages += 1
                    elif isinstance(event, Frame) and event.opcode == Opcode.CLOSE:
                        assert protocol.close_rcvd is not None
                        self.close_code = protocol.close_rcvd.code
                replies = protocol.data_to_send()
                if any(replies):
                    with contextlib.suppress(OSError):
                        await loop.sock_sendall(sock, b"".join(replies))
                if not data or self.close_code is not None:
                    return
                # The pace of a slow link: this client's behaviour, not a wait for anything.
                await asyncio.sleep(len(data) / self.rate)
        except OSError:
            return  # cut: no close frame
        finally:
            sock.close()
            self.ended.set()
