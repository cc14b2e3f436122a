"""Attendee uploads as a use-case: pending whatever the mode, photos through the pipeline,
and a rate limit whose counter always expires."""

from __future__ import annotations

from pathlib import Path

from ingest.media import LocalStorage, PhotoPipeline
from tests.images import jpeg
from usecases import Stores
from usecases.uploads import MAX_TEXT, submit, within_rate
from wall.models import Event
from wall.moderation import State
from wall.store import Store


def pipeline(tmp_path: Path) -> PhotoPipeline:
    """A photo pipeline storing under a temporary media folder, downloading nothing."""
    return PhotoPipeline(LocalStorage(tmp_path), None, max_bytes=1_000_000, max_pixels=10**7)


async def test_upload_lands_pending_with_a_local_photo(
    store: Store, stores: Stores, event: Event, tmp_path: Path
) -> None:
    """An upload to a post-moderated event still waits for a moderator, its photo stored locally."""
    result = await submit(
        stores, event, pipeline(tmp_path), text=" Hello room ", name="Ann", photo=jpeg()
    )
    assert result.ok and result.state == "pending"
    [post] = await store.posts(event.slug, State.PENDING)
    assert post.text == "Hello room" and post.author.handle == "Ann"
    assert post.photos[0].url.startswith("/media/") and post.source == "upload"
    assert await store.count(event.slug, State.APPROVED) == 0


async def test_refusals_store_nothing(
    store: Store, stores: Stores, event: Event, tmp_path: Path
) -> None:
    """Too long, empty, or not a picture: refused with a message, nothing stored."""
    photos = pipeline(tmp_path)
    long = await submit(stores, event, photos, text="x" * (MAX_TEXT + 1), name="", photo=b"")
    assert long.problem == "invalid" and f"under {MAX_TEXT}" in long.message
    empty = await submit(stores, event, photos, text="  ", name="", photo=b"")
    assert empty.message == "Write something or add a photo."
    junk = await submit(stores, event, photos, text="hi", name="", photo=b"not an image")
    assert "JPEG, PNG, GIF or WebP" in junk.message
    assert await store.count(event.slug, State.PENDING) == 0


async def test_rate_limit_counts_per_client_and_always_expires(stores: Stores) -> None:
    """The third upload within the window is refused; the counter carries its expiry from the start."""
    results = [await within_rate(stores, "e", "client-a", rate=2, window=600) for _ in range(3)]
    assert results == [True, True, False]
    assert await within_rate(stores, "e", "client-b", rate=2, window=600)
    ttl = await stores.posts.redis.ttl("ew:rl:upload:e:client-a")
    assert 0 < ttl <= 600
