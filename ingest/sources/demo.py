"""The demo source: the project's own meetup corpus, paced and looping, photos drawn locally."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ingest.sources import demo_corpus as corpus
from ingest.sources.base import CursorSource, SourceItem
from ingest.sources.demo_media import ensure_avatar, ensure_scene
from wall import details
from wall.models import Author, Event, Photo, Post
from wall.store import Store

ZONE = ZoneInfo("Europe/Paris")
# The doors open this long before the talks (minute 0 of the corpus); the evening lasts this long.
DOORS = timedelta(minutes=30)
EVENING = timedelta(hours=3, minutes=30)


def demo_event(now: datetime | None = None) -> Event:
    """The demo meetup's event, whose evening has just taken place.

    Its talks began so long before `now` (the first run) that the whole corpus, build-up,
    evening and morning after, lies in the past: the first round is the event's history.
    """
    last = max(minutes for _, minutes, _, _ in corpus.POSTS)
    latest = ((now or datetime.now(UTC)) - timedelta(minutes=last + 1)).astimezone(ZONE)
    talks = latest.replace(hour=19, minute=0, second=0, microsecond=0)  # talks at 19:00
    if talks > latest:
        talks -= timedelta(days=1)
    event = Event(
        slug=corpus.EVENT_SLUG,
        title=corpus.EVENT_TITLE,
        hashtags=(corpus.HASHTAG,),
        description="A fictional evening meetup: talks, pizza and a room full of Pythonistas.",
        # Post-moderated so `make run` shows a moving wall at once; switch it with
        # `eventwall event mode demo pre` to try the moderation console.
        moderation="post",
    )
    return details.apply(
        event,
        {
            "starts_at": (talks - DOORS).isoformat(),
            "ends_at": (talks - DOORS + EVENING).isoformat(),
            "timezone": ZONE.key,
            "venue": "The Hall, 4 Valley Street",
            "next_title": "Python Valley Meetup #43",
            "next_url": "https://pyvalley.example/43",
            "next_starts_at": (talks - DOORS + timedelta(days=21)).isoformat(),
        },
    )


class DemoSource(CursorSource):
    """Replays the demo corpus at `rate` posts a second, resuming from its cursor in Redis."""

    name = "demo"

    def __init__(
        self, store: Store, media_dir: Path, *, rate: float = 0.5, loop: bool = True
    ) -> None:
        self.store = store
        self.media_dir = media_dir
        self.rate = rate
        self.loop = loop

    @property
    def cursor_key(self) -> str:
        """Where the round and index reached are kept."""
        return f"demo:{corpus.EVENT_SLUG}"

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

    def _post(
        self, authors: dict[str, Author], round_no: int, index: int, talks: datetime | None
    ) -> Post:
        handle, minutes, text, scene = corpus.POSTS[index]
        photos: tuple[Photo, ...] = ()
        if scene:
            path, width, height = ensure_scene(self.media_dir, scene)
            photos = (Photo(f"/media/{path}", width, height, alt=f"Photo: {scene} at the meetup"),)
        return Post(
            source="demo",
            native_id=f"r{round_no}-{index}",
            author=authors[handle],
            text=text,
            # The first round is the event's history, at its times; later rounds happen now.
            created_at=(
                talks + timedelta(minutes=minutes)
                if round_no == 0 and talks is not None
                else datetime.now(UTC)
            ),
            photos=photos,
            url="",
            hashtags=(corpus.HASHTAG,),
            language="fr" if handle == "lea" else "en",
        )

    def items(self) -> AsyncIterator[SourceItem]:
        """The source interface: the demo only ever yields new posts."""
        return self.posts()

    async def posts(self) -> AsyncIterator[Post]:
        """Yield the corpus from where the cursor says: the first round (the event's history)
        at once, so a newcomer's wall is full; then round after round at `rate`."""
        authors = await asyncio.to_thread(self._authors)
        saved = await self.load_cursor()
        round_no, index = (int(p) for p in saved.split(":")) if saved else (0, 0)
        event = await self.store.get_event(corpus.EVENT_SLUG)
        starts = details.event_time(event, "starts_at") if event else None
        talks = starts + DOORS if starts else None
        while True:
            if index >= len(corpus.POSTS):
                if not self.loop:
                    return
                round_no, index = round_no + 1, 0
            post = await asyncio.to_thread(self._post, authors, round_no, index, talks)
            yield post
            index += 1
            await self.save_cursor(f"{round_no}:{index}")
            if round_no > 0 and self.rate > 0:
                await asyncio.sleep(1 / self.rate)
