"""The demo source: the project's own meetup corpus, paced and looping, photos drawn locally."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from ingest.sources import demo_corpus as corpus
from ingest.sources.base import SourceItem
from ingest.sources.demo_media import ensure_avatar, ensure_scene
from wall.models import Author, Event, Photo, Post
from wall.store import Store

# Posts taken at once on a fresh start, so a newcomer's wall is never empty.
WARM_START = 6


def demo_event() -> Event:
    """The demo meetup's event."""
    return Event(
        slug=corpus.EVENT_SLUG,
        title=corpus.EVENT_TITLE,
        hashtags=(corpus.HASHTAG,),
        description="A fictional evening meetup: talks, pizza and a room full of Pythonistas.",
        # Post-moderated so `make run` shows a moving wall at once; switch it with
        # `eventwall event mode demo pre` to try the moderation console.
        moderation="post",
    )


class DemoSource:
    """Replays the demo corpus at `rate` posts a second, resuming from its cursor in Redis."""

    name = "demo"

    def __init__(
        self, store: Store, media_dir: Path, *, rate: float = 0.5, loop: bool = True
    ) -> None:
        self.store = store
        self.media_dir = media_dir
        self.rate = rate
        self.loop = loop
        self.cursor_key = f"demo:{corpus.EVENT_SLUG}"

    def _authors(self) -> dict[str, Author]:
        authors = {}
        for handle, display_name, colour in corpus.ATTENDEES:
            avatar = ensure_avatar(self.media_dir, handle, display_name, colour)
            authors[handle] = Author(
                handle=f"@{handle}@pyvalley.example",
                display_name=display_name,
                avatar_url=f"/media/{avatar}",
                profile_url=f"https://pyvalley.example/@{handle}",
            )
        return authors

    def _post(self, authors: dict[str, Author], round_no: int, index: int) -> Post:
        handle, _, text, scene = corpus.POSTS[index]
        photos: tuple[Photo, ...] = ()
        if scene:
            path, width, height = ensure_scene(self.media_dir, scene)
            photos = (Photo(f"/media/{path}", width, height, alt=f"Photo: {scene} at the meetup"),)
        return Post(
            source="demo",
            native_id=f"r{round_no}-{index}",
            author=authors[handle],
            text=text,
            created_at=datetime.now(UTC),
            photos=photos,
            url="",
            hashtags=(corpus.HASHTAG,),
            language="fr" if handle == "lea" else "en",
        )

    def items(self) -> AsyncIterator[SourceItem]:
        """The source interface: the demo only ever yields new posts."""
        return self.posts()

    async def posts(self) -> AsyncIterator[Post]:
        """Yield the corpus from where the cursor says, pacing after a short warm start."""
        authors = await asyncio.to_thread(self._authors)
        saved = await self.store.get_cursor(self.cursor_key)
        round_no, index = (int(p) for p in saved.split(":")) if saved else (0, 0)
        taken = 0
        while True:
            if index >= len(corpus.POSTS):
                if not self.loop:
                    return
                round_no, index = round_no + 1, 0
            post = await asyncio.to_thread(self._post, authors, round_no, index)
            yield post
            index += 1
            await self.store.set_cursor(self.cursor_key, f"{round_no}:{index}")
            taken += 1
            if taken > WARM_START and self.rate > 0:
                await asyncio.sleep(1 / self.rate)
