"""The publisher: posts stamped with a sequence number and a nanosecond time, through ingest."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from bench.loadgen import stamp
from ingest.pipeline import take
from wall.models import Author, Event, Photo, Post
from wall.moderation import State
from wall.store import Store

SLUG = "bench"
# Post-moderated: every published post goes straight to the public log, as on a live wall.
EVENT = Event(slug=SLUG, title="Fan-out benchmark", hashtags=("bench",), moderation="post")
FILLER = (
    "Full house tonight at the Python Valley meetup: the talk on structured concurrency "
    "had people taking notes, the pizza arrived on time, and the lightning talks ran over "
    "as usual. Slides are up on the event page. "
)


def bench_post(run: str, seq: int | None, ns: int) -> Post:
    """A realistic post (author, avatar, one photo, ~500 characters), ~1.5 KB rendered."""
    n = "w" if seq is None else str(seq)
    return Post(
        source="bench",
        native_id=f"{run}-{n}-{ns}",
        author=Author(
            handle="@ada@pyvalley.example",
            display_name="Ada Lovelace",
            avatar_url="/media/avatars/ada-lovelace-64.jpg",
            profile_url="https://pyvalley.example/@ada",
        ),
        text=f"{stamp(seq, ns)} {FILLER}{FILLER[:140]}#bench",
        created_at=datetime.now(UTC),
        photos=(
            Photo(
                url="/media/p/3f/3f9a1c0e5b7d4e21a0c6b2d8e4f1a7c9.jpg",
                width=1920,
                height=1280,
                alt="The room from the back, every seat taken, slides on the screen",
            ),
        ),
        url="https://pyvalley.example/@ada/113456789012345678",
        hashtags=("bench",),
        language="en",
    )


async def publish(store: Store, run: str, seq: int | None) -> None:
    """Stamp and take one post through the real ingest path (sanitize, Lua, PUBLISH)."""
    await take(store, EVENT, bench_post(run, seq, time.time_ns()))


async def publish_at_rate(store: Store, run: str, count: int, rate: float) -> float:
    """Publish sequence 0..count-1 on an absolute schedule; the time it took."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for seq in range(count):
        delay = start + seq / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await publish(store, run, seq)
    return loop.time() - start


async def pending_post(store: Store, run: str, seq: int) -> Post:
    """A post taken as pending, for the approve-to-wall measurement."""
    post = bench_post(run, seq, 0)
    await take(store, EVENT, post, state=State.PENDING)
    return post
