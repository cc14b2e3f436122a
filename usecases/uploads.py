"""Attendee uploads (the wall's QR target): a text and a photo into the moderation queue.

The photo goes through the ingest photo pipeline and the post through `ingest.pipeline.take`,
as every other source's posts do; the web form only parses the request and renders.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from ingest.media import MediaError, PhotoPipeline
from ingest.pipeline import take
from usecases import Result, Stores, done, refused
from wall.models import Author, Event, Photo, Post
from wall.moderation import State

MAX_TEXT = 500
MAX_NAME = 60
THANKS = "Thanks! Your post is waiting for a moderator."


async def within_rate(stores: Stores, slug: str, client: str, *, rate: int, window: int) -> bool:
    """Count one upload from this client; False past `rate` uploads in `window` seconds.

    The window's key is created with its expiry and counted in one transaction, so a crash
    can never leave a counter that does not expire.
    """
    key = f"ew:rl:upload:{slug}:{client}"
    async with stores.posts.redis.pipeline(transaction=True) as pipe:
        pipe.set(key, 0, ex=window, nx=True)
        pipe.incr(key)
        _, count = await pipe.execute()
    return int(count) <= rate


async def submit(
    stores: Stores, event: Event, photos: PhotoPipeline, *, text: str, name: str, photo: bytes
) -> Result:
    """Store an attendee's post, pending whatever the event's mode; refused with a reason."""
    text, name = text.strip(), name.strip()[:MAX_NAME]
    if len(text) > MAX_TEXT:
        return refused(
            "invalid", f"Please keep it under {MAX_TEXT} characters (yours has {len(text)})."
        )
    if not text and not photo:
        return refused("invalid", "Write something or add a photo.")
    stored: tuple[Photo, ...] = ()
    if photo:
        try:
            stored = (await photos.store_bytes(photo, alt=text[:200] or "Photo from an attendee"),)
        except MediaError:
            return refused(
                "invalid",
                "We couldn't read that photo. Please send a JPEG, PNG, GIF or WebP picture.",
            )
    post = Post(
        source="upload",
        native_id=uuid.uuid4().hex,
        author=Author(handle=name or "Attendee", display_name=name),
        text=text,
        created_at=datetime.now(UTC),
        photos=stored,
        hashtags=event.hashtags[:1],
    )
    await take(stores.posts, event, post, state=State.PENDING)
    return done(THANKS, State.PENDING.value)
