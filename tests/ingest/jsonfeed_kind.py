"""A source kind in one module, as "Adding a source kind" in docs/sources.md shows: a JSON Feed, polled."""

from __future__ import annotations

from collections.abc import AsyncIterator

from ingest.sources.base import PolledSource, SourceItem
from ingest.sources.kinds import Option, SourceKind, register
from wall.models import Author, Post, parse_time


class JsonFeedSource(PolledSource):
    """The items of a JSON Feed (jsonfeed.org); the poll loop, politeness and cursor are inherited."""

    @property
    def cursor_key(self) -> str:
        """Where the newest item id taken is kept."""
        return f"jsonfeed:{self.config.event}:{self.config.url}"

    async def poll_once(self) -> AsyncIterator[SourceItem]:
        """The feed's items not taken yet, oldest first."""
        seen = await self.load_cursor()
        response = await self.fetch(self.config.url, headers={"Accept": "application/feed+json"})
        response.raise_for_status()
        for item in reversed(response.json()["items"]):
            if str(item["id"]) > seen:
                yield Post(
                    source="jsonfeed",
                    native_id=str(item["id"]),
                    author=Author(handle=item["author"]["name"]),
                    text=item["content_text"],
                    created_at=parse_time(item["date_published"]),
                )
                await self.save_cursor(str(item["id"]))


register(
    SourceKind(
        "jsonfeed",
        "a JSON Feed, polled",
        options=(Option("url", "the feed's http(s) URL", required=True),),
        build=lambda config, store, client, settings: JsonFeedSource(
            config, store, client, poll_interval=settings.poll_interval
        ),
    )
)
