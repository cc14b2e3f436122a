"""What every source is: an async iterator of new posts, edits and deletions for one event."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

import httpx

from ingest.backoff import SLOW_DOWN, server_wait
from ingest.cancel import stop_if_asked
from ingest.media import USER_AGENT
from wall.models import Post
from wall.sources import SourceConfig
from wall.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Edited:
    """A post changed at its source; the new version replaces the stored one, state kept."""

    post: Post


@dataclass(frozen=True, slots=True)
class Deleted:
    """A post deleted at its source; it leaves every screen."""

    post_id: str


@dataclass(frozen=True, slots=True)
class Backfill:
    """A post from before the source started (its first look back): taken without the flood
    and duplicate holds, which are about live bursts, not about history arriving at once."""

    post: Post


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the organizer should know about the source (shown in its status), not a post."""

    message: str


# A bare Post is a new post: the demo and replay sources yield nothing else.
SourceItem = Post | Edited | Deleted | Backfill | Notice


class Source(Protocol):
    """A source of posts; `name` appears in logs and on the status page."""

    name: str

    def items(self) -> AsyncIterator[SourceItem]:
        """Yield posts, edits and deletions as the source emits them, until cancelled."""
        ...


class CursorSource:
    """A source that resumes where it stopped: its cursor is kept in Redis under `cursor_key`.

    Loaded once when the source starts, saved after each item is applied (through the
    worker's buffer, so never ahead of an item still held).
    """

    store: Store

    @property
    def cursor_key(self) -> str:
        """Where this source's cursor is kept."""
        raise NotImplementedError

    async def load_cursor(self) -> str:
        """The saved cursor ("" when the source has never run)."""
        return await self.store.get_cursor(self.cursor_key) or ""

    async def save_cursor(self, cursor: str) -> None:
        """Record how far the source has got."""
        await self.store.set_cursor(self.cursor_key, cursor)


class PolledSource(CursorSource):
    """What the HTTP-polled sources share: configuration, store, client, the poll loop and
    the politeness every request gets (a server asking to wait is waited for)."""

    def __init__(
        self,
        config: SourceConfig,
        store: Store,
        client: httpx.AsyncClient,
        *,
        poll_interval: float = 15.0,
    ) -> None:
        self.config = config
        self.store = store
        self.client = client
        self.poll_interval = poll_interval
        self.name = config.id
        self._pause_until = 0.0

    def poll_once(self) -> AsyncIterator[SourceItem]:
        """The items new since the last poll."""
        raise NotImplementedError

    async def poll(self) -> AsyncIterator[SourceItem]:
        """Poll every `poll_interval` seconds, until cancelled."""
        while True:
            async for item in self.poll_once():
                yield item
            stop_if_asked()  # a swallowed cancel must not keep a stopped source polling
            await asyncio.sleep(self.poll_interval)

    def items(self) -> AsyncIterator[SourceItem]:
        """Polled sources poll."""
        return self.poll()

    async def fetch(
        self, url: str, *, params: dict[str, str | int] | None = None, headers: dict[str, str]
    ) -> httpx.Response:
        """GET with the User-Agent, waiting first if the server asked us to; a 429/503 is
        waited out (its Retry-After or rate-limit reset) and asked again."""
        while True:
            pause = self._pause_until - time.time()
            if pause > 0:
                log.info("%s: asked to wait; waiting %.1fs", self.name, pause)
                await asyncio.sleep(pause)
            response = await self.client.get(
                url, params=params, headers={"User-Agent": USER_AGENT, **headers}
            )
            wait = server_wait(response, time.time())
            if wait is None:
                return response
            self._pause_until = time.time() + wait
            if response.status_code not in SLOW_DOWN:
                return response  # answered, but the next request waits
