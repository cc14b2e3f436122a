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
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from tests.helpers import eventually, post_dict
from tests.processes import RealProcess, WebServer
from wall.keys import as_text
from wall.models import Post
from wall.moderation import PUBLIC_STATES, State
from wall.redis_server import EmbeddedRedis, free_port
from wall.store import Store

CHANGE_ID = re.compile(r'data-change-id="(\d+)-(\d+)"')
POST_ID = re.compile(r'<article id="(post-[^"]+)"')
RESET = '<div id="posts" hx-swap-oob="innerHTML"'


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
        self.duplicates: list[str] = []  # ids at or before one already applied
        self.resets = 0
        self.connects = 0
        self.closes: list[int | None] = []  # close codes received (None: no close frame)
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
    entries = await redis.xrange(f"ew:{{{slug}}}:log:public", min=f"({after}", max="+")
    return [str(xid) for xid, _ in entries]


async def not_replayed(redis: Redis, slug: str, after: str = "0-0") -> frozenset[str]:
    """Log ids after `after` that a resuming client is not sent: a replay reads each post as
    it is now, so the show or update of a post no longer public is left out (a client that
    was connected got it live, then its removal)."""
    entries = await redis.xrange(f"ew:{{{slug}}}:log:public", min=f"({after}", max="+")
    ids: dict[str, str] = {}
    for xid, raw in entries:
        fields = {as_text(k): as_text(v) for k, v in raw.items()}
        if fields.get("type") in ("show", "update") and fields.get("post_id"):
            ids[as_text(xid)] = fields["post_id"]
    if not ids:
        return frozenset()
    posts = sorted(set(ids.values()))
    states = dict(zip(posts, await redis.hmget(f"ew:{{{slug}}}:state", posts), strict=True))
    public = {str(s) for s in PUBLIC_STATES}
    return frozenset(
        xid
        for xid, post in ids.items()
        if states[post] is None or as_text(states[post]) not in public
    )


def has_all(client: ResumingClient, expected: list[str], skip: frozenset[str]) -> bool:
    """The client applied the log in order, missing nothing but entries it isn't replayed."""
    got = set(client.applied)
    return client.applied == [x for x in expected if x in got] and all(
        x in got or x in skip for x in expected
    )


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
    expected: list[str],
    log: list[str],
    skip: frozenset[str] = frozenset(),
) -> None:
    """Wait until every client has applied `expected` (less any of `skip`, see
    `not_replayed`); say how one differs if not."""
    try:
        await eventually(
            lambda: all(has_all(c, expected, skip) for c in clients),
            timeout=30,
            message="every client at the end of the log",
        )
    except AssertionError:
        late = next(c for c in clients if not has_all(c, expected, skip))
        missing = sorted(set(expected) - set(late.applied) - skip)
        extra = [x for x in late.applied if x not in expected]
        raise AssertionError(
            f"a client differs from the log: missing {missing}, extra {extra}, "
            f"{late.connects} connects, closes {late.closes}, duplicates {late.duplicates}, "
            f"{late.resets} resets\n"
            + "".join([x for x in log if "connection " not in x and "[accepted]" not in x][-40:])
        ) from None
