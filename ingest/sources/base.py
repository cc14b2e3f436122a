"""What every source is: an async iterator of new posts, edits and deletions for one event."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

import httpx

from wall.models import Post
from wall.sources import SourceConfig
from wall.store import Store


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


class PolledSource:
    """What the HTTP-polled sources share: their configuration, store, client and pace."""

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
