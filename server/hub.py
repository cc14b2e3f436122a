"""Fan-out: one Redis subscription per process, one bounded queue and writer per client.

The listener renders each change once and offers the same string to every client's
queue without awaiting anyone. A client whose queue fills, or whose send stalls, is
closed with 1013 (try again later): the htmx websocket extension reconnects on 1006,
1012 and 1013, and its resume id brings it back exactly where it left off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.exceptions import RedisError

from server.frames import DirectWrite, text_frame
from wall.store import CHANNEL_PREFIX, Change, Store, Stream, stream_id

log = logging.getLogger(__name__)

TRY_AGAIN_LATER = 1013


class SlowClient(Exception):
    """The client fell too far behind; close it with 1013 so it reconnects and resumes."""


@dataclass(frozen=True, slots=True)
class Message:
    """One rendered change, the same object for every client; `frame` is it as a websocket frame."""

    id: str
    key: tuple[int, int]
    data: str
    frame: bytes = b""


@dataclass(eq=False, slots=True)
class Client:
    """One websocket client's bounded queue; `last` is the newest change id it was sent.

    With a `direct` writer, a message for a client whose writer is idle with nothing queued
    is written to its socket at once, in the hub's loop, without waking the writer; anything
    else (a replay in progress, a send under way, a backed-up socket) goes through the queue,
    so order, the queue bound and the 1013 rule hold as before.

    The queue is a plain deque and one future for the waiting writer, not an asyncio.Queue:
    that holds three deques and costs about 3 KB per idle client, for nothing used here.
    """

    event: str
    stream: Stream
    maxsize: int
    direct: DirectWrite | None = None
    last: tuple[int, int] = (0, 0)
    overflowed: bool = False
    live: bool = False  # the writer runs: the replay of missed changes is done
    sending: bool = False  # the writer holds a message it has not finished sending
    _queue: deque[Message] | None = field(default=None, init=False, repr=False)
    _waiter: asyncio.Future[None] | None = field(default=None, init=False, repr=False)

    @property
    def queued(self) -> int:
        """Messages waiting for the writer."""
        return len(self._queue) if self._queue else 0

    def offer(self, message: Message) -> None:
        """Send at once if caught up, else queue without waiting; on overflow mark it slow."""
        if self.overflowed:
            return
        if self.direct is not None and self.live and not self.sending and not self._queue:
            if message.key <= self.last:
                return
            if message.frame and self.direct(message.frame):
                self.last = message.key
                return
        if self._queue is None:
            self._queue = deque()
        if len(self._queue) >= self.maxsize:
            # A writer waiting for a message has an empty queue, so a full one means it is
            # stuck in a send: it sees the flag as soon as that send returns or times out.
            self.overflowed = True
        else:
            self._queue.append(message)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def next(self) -> Message:
        """The next message not yet sent; SlowClient if the queue overflowed."""
        while True:
            if self.overflowed:
                raise SlowClient
            if self._queue:
                message = self._queue.popleft()
                if message.key > self.last:
                    return message
                continue
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None


async def pump(client: Client, send: Callable[[str], Awaitable[None]], timeout: float) -> None:
    """Send the client's messages in order until it overflows or a send times out."""
    client.live = True
    try:
        while True:
            message = await client.next()
            client.sending = True
            try:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for wraps every send in
                # a new Task, which profiled as a fifth of the fan-out's CPU.
                async with asyncio.timeout(timeout):
                    await send(message.data)
            except TimeoutError as exc:
                raise SlowClient from exc
            client.last = message.key
            client.sending = False
    finally:
        client.live = False


@dataclass
class HubStats:
    """Counters for /metrics and the tests."""

    received: int = 0
    delivered: int = 0
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
    ) -> None:
        self.redis = redis
        self.store = store
        self.render = render
        self.queue_size = queue_size
        self.stats = HubStats()
        self.subscribed = asyncio.Event()
        self._clients: defaultdict[tuple[str, Stream], set[Client]] = defaultdict(set)
        self._last: dict[tuple[str, Stream], str] = {}

    @property
    def client_count(self) -> int:
        """Connected clients across all events."""
        return sum(len(c) for c in self._clients.values())

    @contextlib.asynccontextmanager
    async def subscribe(
        self, event: str, stream: Stream, direct: DirectWrite | None = None
    ) -> AsyncIterator[Client]:
        """Register a client for an event's stream for the duration of the block."""
        client = Client(event, stream, self.queue_size, direct)
        key = (event, stream)
        self._clients[key].add(client)
        try:
            yield client
        finally:
            self._clients[key].discard(client)
            if not self._clients[key]:
                del self._clients[key]

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

    async def run(self) -> None:
        """Listen forever, resubscribing with backoff if Redis goes away."""
        delay = 0.1
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self.subscribed.clear()
                log.warning("pub/sub connection lost (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            else:
                delay = 0.1

    async def _listen(self) -> None:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.psubscribe(CHANNEL_PREFIX + "*")
            # Whatever was published while we were not subscribed is still in the logs.
            await self._catch_up()
            self.subscribed.set()
            while True:
                item = await pubsub.get_message(timeout=5.0)
                if item is None:
                    continue
                self.stats.received += 1
                try:
                    change = Change.from_message(item["data"])
                    self.dispatch(change)
                except Exception:
                    self.stats.render_errors += 1
                    log.exception("skipped a change that could not be rendered")
                # Let the writers run between changes: in a burst, buffered messages are
                # read without yielding, and the queues would fill before anyone could send.
                await asyncio.sleep(0)
        finally:
            with contextlib.suppress(Exception):
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _catch_up(self) -> None:
        for (event, stream), last in list(self._last.items()):
            if (event, stream) not in self._clients:
                continue
            changes = await self.store.changes_since(event, last, stream=stream)
            for change in changes or []:
                self.dispatch(change)
