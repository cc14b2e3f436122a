"""Fan-out: one Redis subscription per process, one bounded queue and writer per client.

The listener renders each change once and offers the same string to every client's
queue without awaiting anyone. A client whose queue fills, or whose send stalls, is
closed with 1013 (try again later): the htmx websocket extension reconnects on 1006,
1012 and 1013, and its resume id brings it back exactly where it left off.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
from collections import defaultdict, deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from server.frames import DirectWrite, text_frame
from server.listening import messages
from server.shards import ShardSubscription
from wall.changes import CHANNEL_PREFIX, Change, Stream, channel, stream_id
from wall.redis_pool import is_cluster
from wall.store import Store

log = logging.getLogger(__name__)

TRY_AGAIN_LATER = 1013
# Published by an idle hub to itself (every hub ignores these channels).
HEARTBEAT_PREFIX = CHANNEL_PREFIX + "~hub:"
# Resubscribing: first retry after RETRY_FIRST seconds, doubling to RETRY_MAX. A retry is
# one connect attempt, so a short cap costs nothing and bounds the wait once Redis is back.
RETRY_FIRST = 0.05
RETRY_MAX = 0.5


class SlowClient(Exception):
    """The client fell too far behind; close it with 1013 so it reconnects and resumes."""


@dataclass(frozen=True, slots=True)
class Message:
    """One rendered change, the same object for every client; `frame` is it as a websocket frame."""

    id: str
    key: tuple[int, int]
    data: str
    frame: bytes = b""


StartWriter = Callable[["Client"], "asyncio.Task[None]"]


@dataclass(eq=False, slots=True)
class Client:
    """One websocket client's bounded queue; `last` is the newest change id it was sent.

    A live client with nothing queued and no send under way has no writer task at all:
    with a `direct` writer, each message is written to its socket at once, in the hub's
    loop. Anything else (a replay in progress, a send under way, a backed-up socket) goes
    through the queue, and `start_writer` starts a task draining it that ends once the
    queue is empty; so order, the queue bound and the 1013 rule hold, and an idle
    client costs no task, no future and no deque.
    """

    event: str
    stream: Stream
    maxsize: int
    direct: DirectWrite | None = None
    start_writer: StartWriter | None = None  # one function for every client, not a closure
    socket: Any = None  # what start_writer's task writes to
    last: tuple[int, int] = (0, 0)
    overflowed: bool = False
    live: bool = False  # the replay of missed changes is done: messages go out as they come
    writer: asyncio.Task[None] | None = field(default=None, repr=False)
    _queue: deque[Message] | None = field(default=None, init=False, repr=False)
    kind: str = ""  # which page it serves (wall, live, embed, moderate), for /metrics
    sent: int = 0

    @property
    def queued(self) -> int:
        """Messages waiting for the writer."""
        return len(self._queue) if self._queue else 0

    def offer(self, message: Message) -> None:
        """Send at once if caught up, else queue without waiting; on overflow mark it slow."""
        if self.overflowed:
            return
        if self.live and self.writer is None and not self._queue:
            if message.key <= self.last:
                return
            if self.direct is not None and message.frame and self.direct(message.frame):
                self.last = message.key
                self.sent += 1
                return
        if self._queue is None:
            self._queue = deque()
        if len(self._queue) >= self.maxsize:
            # A full queue means its writer is stuck in a send: it sees the flag as soon as
            # that send returns or times out.
            self.overflowed = True
        else:
            self._queue.append(message)
        self._start_writer()

    def go_live(self) -> None:
        """The replay is done: what queued meanwhile goes out, then each message as it comes."""
        self.live = True
        if self._queue or self.overflowed:
            self._start_writer()

    def drop(self) -> None:
        """Have the writer give up on this client (1013), even if nothing is queued."""
        self.overflowed = True
        self._start_writer()

    def _start_writer(self) -> None:
        if self.live and self.writer is None and self.start_writer is not None:
            self.writer = self.start_writer(self)

    def next_queued(self) -> Message | None:
        """For the writer: the next queued message not yet sent; None once the queue is empty,
        and the writer is then done (the next message may go straight to the socket);
        SlowClient if the queue overflowed."""
        while True:
            if self.overflowed:
                raise SlowClient
            if not self._queue:
                self._queue = None
                self.writer = None  # the writer returns without waiting: none runs from here
                return None
            message = self._queue.popleft()
            if message.key > self.last:
                return message


async def drain(client: Client, send: Callable[[str], Awaitable[None]], timeout: float) -> None:
    """Send the client's queued messages in order until none is left; SlowClient when it
    overflowed or a send took longer than `timeout`."""
    while (message := client.next_queued()) is not None:
        try:
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for wraps every send in
            # a new Task, which profiled as a fifth of the fan-out's CPU.
            async with asyncio.timeout(timeout):
                await send(message.data)
        except TimeoutError as exc:
            raise SlowClient from exc
        client.last = message.key
        client.sent += 1


@dataclass
class HubStats:
    """Counters for /metrics and the tests."""

    received: int = 0
    skipped: int = 0  # received for an event's stream with no client here: never decoded
    delivered: int = 0
    sent: int = 0  # messages sent to clients that have since gone (see Hub.messages_sent)
    dropped_slow: int = 0
    render_errors: int = 0


class Hub:
    """Reads every event's channels through one pattern subscription and fans out."""

    def __init__(
        self,
        redis: Redis,
        store: Store,
        render: Callable[[Change], str],
        *,
        queue_size: int = 256,
        observe_fanout: Callable[[float], None] | None = None,
    ) -> None:
        self.redis = redis
        self.store = store
        self.render = render
        self.queue_size = queue_size
        # Called once per change fanned out (never per client) with the seconds since the
        # change was published: its log id carries Redis's clock in milliseconds.
        self.observe_fanout = observe_fanout
        self.stats = HubStats()
        self.subscribed = asyncio.Event()
        self._clients: defaultdict[tuple[str, Stream], set[Client]] = defaultdict(set)
        self._last: dict[tuple[str, Stream], str] = {}
        self._down_since: float | None = None  # when the subscription was lost, if it is
        # On a Redis Cluster: SSUBSCRIBE per event with clients, instead of one pattern.
        self._shards = (
            ShardSubscription(cast(RedisCluster, redis), self._receive, self._channel_subscribed)
            if is_cluster(redis)
            else None
        )

    @property
    def client_count(self) -> int:
        """Connected clients across all events."""
        return sum(len(c) for c in self._clients.values())

    def clients_by_kind(self) -> dict[str, int]:
        """Connected clients per page kind (counted when asked, not per message)."""
        counts: dict[str, int] = defaultdict(int)
        for clients in list(self._clients.values()):
            for client in clients:
                counts[client.kind or "other"] += 1
        return dict(counts)

    @property
    def messages_sent(self) -> int:
        """Messages sent to clients since start, the connected ones' included."""
        live = sum(c.sent for clients in list(self._clients.values()) for c in clients)
        return self.stats.sent + live

    @contextlib.asynccontextmanager
    async def subscribe(
        self,
        event: str,
        stream: Stream,
        *,
        direct: DirectWrite | None = None,
        start_writer: StartWriter | None = None,
        socket: Any = None,
        kind: str = "",
    ) -> AsyncIterator[Client]:
        """Register a client for an event's stream for the duration of the block; `socket`
        is what `start_writer` writes to, `direct` writes a frame straight to it."""
        client = Client(event, stream, self.queue_size, direct, start_writer, socket, kind=kind)
        key = (event, stream)
        self._clients[key].add(client)
        if self._shards is not None and len(self._clients[key]) == 1:
            self._shards.want(channel(event, stream))
        try:
            if key not in self._last:
                # Where this log stands, so that a catch-up after an outage starts there even
                # if no change has arrived yet (a wall opened before the event's first post).
                self._last.setdefault(key, await self.store.last_change_id(event, stream))
            yield client
        finally:
            self._clients[key].discard(client)
            self.stats.sent += client.sent
            if not self._clients[key]:
                del self._clients[key]
                # Its changes are skipped from now on, so where this process last saw the log
                # goes stale: its next first client reads where the log stands then.
                self._last.pop(key, None)
                if self._shards is not None:
                    self._shards.release(channel(event, stream))

    async def missed(
        self,
        client: Client,
        since: str,
        *,
        limit: int,
        lost: Callable[[], Awaitable[tuple[str, str]]],
    ) -> AsyncGenerator[str, None]:
        """What the client missed after `since`, in order, for its socket to send.

        The client's resume position moves past each message only once the caller asks for
        the next one (it has been sent). When the log cannot say what was missed (trimmed,
        or more than `limit` behind), `lost()` gives the one message that replaces it all
        and the change id that message is current as of. A RedisError reaches the caller.
        """
        if not since:
            return
        changes = await self.store.changes_since(
            client.event, since, stream=client.stream, limit=limit
        )
        if changes is None:
            data, last_id = await lost()
            yield data
            client.last = stream_id(last_id)
            client.sent += 1
            return
        for change in changes:
            yield self.message(change).data
            client.last = stream_id(change.id)
            # Counted like live sends: a change published during the replay is sent from here.
            client.sent += 1

    def message(self, change: Change) -> Message:
        """Render and frame a change once into the message every client gets."""
        data = self.render(change)
        return Message(change.id, stream_id(change.id), data, text_frame(data))

    def dispatch(self, change: Change) -> None:
        """Render a change once and offer it to each of its clients, waiting for none."""
        key = (change.event, change.stream)
        self._last[key] = change.id
        clients = self._clients.get(key)
        if not clients:
            return
        message = self.message(change)
        for client in clients:
            was_slow = client.overflowed
            client.offer(message)
            if client.overflowed and not was_slow:
                self.stats.dropped_slow += 1
        self.stats.delivered += len(clients)
        if self.observe_fanout is not None:
            self.observe_fanout(max(0.0, time.time() - message.key[0] / 1000))

    async def run(self) -> None:
        """Listen forever; when Redis goes away, resubscribe as soon as it answers again.

        Retries start at RETRY_FIRST and double up to RETRY_MAX, and start afresh after
        every outage, so live messages flow within a second of Redis returning. Logged once
        when the subscription is lost and once when it is back, not at every retry.
        """
        delay = RETRY_FIRST
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.subscribed.is_set() or self._down_since is None:
                    # It was live (or this is the first try): a new outage, a fresh backoff.
                    self._down_since = time.monotonic()
                    delay = RETRY_FIRST
                    if isinstance(exc, RedisError | OSError):
                        log.warning("pub/sub connection lost (%s); resubscribing", exc)
                    else:
                        # Never let a surprise end the one listener: every screen of this
                        # process would stay connected and silent.
                        log.exception("the live listener failed; restarting it")
                self.subscribed.clear()
                # Connections idle in the pool were cut with Redis: drop them, so the next
                # attempt (and the catch-up after it) dials afresh instead of failing on one.
                # (A cluster client drops a lost node's connections by itself.)
                with contextlib.suppress(RedisError, OSError):
                    if self._shards is None:
                        await self.redis.connection_pool.disconnect(inuse_connections=False)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)

    async def _listen(self) -> None:
        if self._shards is not None:
            await self._listen_sharded(self._shards)
            return
        pubsub = self.redis.pubsub()
        # Heartbeats go to a channel of this hub's own, which the pattern covers.
        beat = f"{HEARTBEAT_PREFIX}{os.getpid()}:{id(self)}"
        try:
            await pubsub.psubscribe(CHANNEL_PREFIX + "*")
            heartbeat = functools.partial(self.redis.publish, beat, "")
            silent = "the subscription stopped delivering"
            async with contextlib.aclosing(messages(pubsub, heartbeat, silent=silent)) as items:
                async for item in items:
                    if item["type"] == "psubscribe":
                        # Our subscription, or redis-py's own after it reconnected by itself:
                        # whatever was published while we were not subscribed is in the logs.
                        await self._catch_up()
                        self.subscribed.set()
                        if self._down_since is not None:
                            away = time.monotonic() - self._down_since
                            log.info("pub/sub resubscribed after %.1fs; caught up", away)
                            self._down_since = None
                        continue
                    if item["type"] != "pmessage" or item["channel"].startswith(HEARTBEAT_PREFIX):
                        continue
                    self._receive(item["data"], item["channel"])
                    # Let the writers run between changes: in a burst, buffered messages are
                    # read without yielding, and the queues would fill before anyone could send.
                    await asyncio.sleep(0)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    def _receive(self, data: str, name: str = "") -> None:
        """One published change on channel `name`: render it once and offer it to its clients;
        skipped unread when no client of this process follows that event's stream."""
        self.stats.received += 1
        if name and not self._watched(name):
            # Every process hears every event (one pattern subscription): decoding changes
            # nobody here will see cost an import of a million posts 2M JSON parses a process.
            # A client arriving later reads what it missed from the log, not from here.
            self.stats.skipped += 1
            return
        try:
            self.dispatch(Change.from_message(data))
        except Exception:
            self.stats.render_errors += 1
            log.exception("skipped a change that could not be rendered")

    def _watched(self, name: str) -> bool:
        """Whether a client here follows the event's stream published on channel `name`
        (`ew:chan:{slug}:stream`); a name of another shape is decoded as before."""
        slug, sep, stream = name[len(CHANNEL_PREFIX) + 1 :].rpartition("}:")
        if not sep or not name.startswith(CHANNEL_PREFIX + "{"):
            return True
        return (slug, stream) in self._clients

    async def _listen_sharded(self, shards: ShardSubscription) -> None:
        """One life of the sharded subscription: live once every wanted channel is asked for."""
        life = asyncio.create_task(shards.run(), name="eventwall-shards")
        try:
            ready = asyncio.ensure_future(shards.ready.wait())
            try:
                await asyncio.wait([life, ready], return_when=asyncio.FIRST_COMPLETED)
            finally:
                ready.cancel()
            if not life.done():
                self.subscribed.set()
                if self._down_since is not None:
                    away = time.monotonic() - self._down_since
                    log.info("sharded pub/sub resubscribed after %.1fs", away)
                    self._down_since = None
            await life
        finally:
            life.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await life

    async def _channel_subscribed(self, name: str) -> None:
        # Whatever this event published before its SSUBSCRIBE took effect is in its log.
        await self._catch_up(only=name)

    async def _catch_up(self, only: str = "") -> None:
        for (event, stream), clients in list(self._clients.items()):
            if only and channel(event, stream) != only:
                continue
            # From the newest change this process saw; if it saw none, from the oldest
            # point a client of it has reached.
            last = self._last.get((event, stream))
            if last is None:
                reached = [c.last for c in clients if c.last != (0, 0)]
                if not reached:
                    continue
                oldest = min(reached)
                last = f"{oldest[0]}-{oldest[1]}"
            changes = await self.store.changes_since(event, last, stream=stream)
            if changes is None:
                # The log cannot say what was missed: close these clients with 1013, and
                # each resumes from its own last id (or gets a full re-render).
                for client in clients:
                    client.drop()
                continue
            for change in changes:
                try:
                    self.dispatch(change)
                except Exception:
                    self.stats.render_errors += 1
                    log.exception("skipped a change that could not be rendered")
