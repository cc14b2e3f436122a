"""What the worker holds while Redis is away: taken items and cursors, in order, bounded.

A source keeps producing while Redis is unreachable. Its items wait here, oldest first, and
so do its cursor writes: a cursor is written only after every item taken before it, so a
worker killed with items still buffered re-reads them from its source when it restarts.
Past `maxlen` items the oldest is dropped, with a warning: memory stays bounded through a
long outage, at the price of the oldest posts of it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass

from redis.exceptions import RedisClusterException, RedisError

from ingest.cancel import stop_if_asked
from ingest.media import PhotoPipeline
from ingest.pipeline import apply
from ingest.sources.base import SourceItem
from wall.models import Event
from wall.store import Outcome, Store

log = logging.getLogger(__name__)

# Redis being away (a cluster with no node for a slot, mid-failover, too): the item waits.
# Anything else is the item's own fault.
UNREACHABLE = (RedisError, RedisClusterException, OSError)


@dataclass(slots=True)
class _Taken:
    event: Event
    item: SourceItem
    photos: PhotoPipeline | None
    taken_at: float


class IngestBuffer:
    """Applies items to the store at once, or keeps them until Redis answers again."""

    def __init__(self, store: Store, *, maxlen: int = 10_000, retry: float = 0.5) -> None:
        self.store = store
        self.maxlen = maxlen
        self.retry = retry
        self.dropped = 0
        self._items: deque[_Taken] = deque()
        # Cursor writes held back behind items: (items ahead of it, source key, cursor).
        self._cursors: deque[tuple[int, str, str]] = deque()
        self._written = 0  # items written from the buffer so far, to order cursor writes
        self._queued = 0  # items ever queued
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._items)

    async def take(
        self, event: Event, item: SourceItem, photos: PhotoPipeline | None
    ) -> Outcome | None:
        """Apply an item now if Redis answers and nothing waits before it; else keep it.

        What applying it did if it was written now; None if it is held. Errors other than
        Redis being away are the caller's.
        """
        async with self._lock:
            # Said once per outage: only the first item held finds the buffer empty.
            if not self._items:
                if not await self._flush_cursors():
                    log.warning("redis unreachable (writing a cursor): holding items in memory")
                else:
                    try:
                        return await apply(self.store, event, item, photos)
                    except UNREACHABLE as exc:
                        log.warning("redis unreachable (%s): holding items in memory", exc)
            self._hold(_Taken(event, item, photos, time.time()))
            return None

    def _hold(self, taken: _Taken) -> None:
        if len(self._items) >= self.maxlen:
            self._items.popleft()
            self._written += 1  # a dropped item no longer holds back the cursors behind it
            self.dropped += 1
            log.warning(
                "ingest buffer full (%d items): dropped the oldest; %d dropped so far",
                self.maxlen,
                self.dropped,
            )
        self._items.append(taken)
        self._queued += 1

    async def set_cursor(self, source: str, cursor: str) -> None:
        """Record a source's cursor once every item taken before it is in Redis."""
        async with self._lock:
            self._cursors.append((self._queued, source, cursor))
            if not self._items:
                await self._flush_cursors()

    async def _flush_cursors(self) -> bool:
        """Write the cursors whose items are all written; False if Redis is away."""
        while self._cursors and self._cursors[0][0] <= self._written:
            _, source, cursor = self._cursors[0]
            try:
                await self.store.set_cursor(source, cursor)
            except UNREACHABLE:
                return False
            self._cursors.popleft()
        return True

    async def flush(self) -> bool:
        """Write what is held, in order; True when nothing is left."""
        async with self._lock:
            while self._items:
                taken = self._items[0]
                try:
                    await apply(self.store, taken.event, taken.item, taken.photos)
                except UNREACHABLE:
                    return False
                except Exception:
                    log.exception("skipped a held item that could not be applied")
                self._items.popleft()
                self._written += 1
                if not await self._flush_cursors():
                    return False
            if not await self._flush_cursors():
                return False
            if self._written:
                log.info("redis is back: wrote the held items")
            return True

    async def run(self) -> None:
        """Retry writing what is held until cancelled."""
        while True:
            if self._items or self._cursors:
                await self.flush()
            stop_if_asked()
            await asyncio.sleep(self.retry)

    async def drain(self, timeout: float) -> bool:
        """Try to write everything within `timeout` seconds (at shutdown); True if it did."""
        end = time.monotonic() + timeout
        while True:
            if await self.flush():
                return True
            if time.monotonic() > end:
                log.warning("stopping with %d items not written to redis", len(self._items))
                return False
            await asyncio.sleep(min(self.retry, max(0.0, end - time.monotonic())))


class BufferedCursors(Store):
    """The store the sources see: cursor writes go through the buffer, behind held items."""

    def __init__(self, store: Store, buffer: IngestBuffer) -> None:
        super().__init__(store.redis, log_maxlen=store.log_maxlen)
        self.buffer = buffer

    async def set_cursor(self, source: str, cursor: str) -> None:
        """Record a source's cursor after every item taken before it."""
        await self.buffer.set_cursor(source, cursor)
