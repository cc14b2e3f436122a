"""The demo source: generated photos, paced posts, resume from its cursor."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from PIL import Image

from ingest.sources.demo import DOORS, ZONE, DemoSource, demo_event
from ingest.sources.demo_corpus import ATTENDEES, POSTS
from wall.store import Store


def test_corpus_shape() -> None:
    """About 60 posts from a dozen attendees, before, during and after, some with photos."""
    assert 55 <= len(POSTS) <= 70
    assert len(ATTENDEES) == 12
    minutes = [m for _, m, _, _ in POSTS]
    assert min(minutes) < 0 < max(minutes)
    assert sum(1 for *_, scene in POSTS if scene) >= 10


async def take(source: DemoSource, count: int) -> list[str]:
    ids = []
    posts = source.posts()
    with contextlib.suppress(StopAsyncIteration):
        while len(ids) < count:
            ids.append((await anext(posts)).id)
    await posts.aclose()
    return ids


async def test_photos_are_generated_and_decode(store: Store, tmp_path: Path) -> None:
    """Demo photos and avatars are drawn locally as real images with their sizes."""
    source = DemoSource(store, tmp_path, rate=0)
    posts = source.posts()
    with_photo = None
    for _ in range(len(POSTS)):
        post = await anext(posts)
        if post.photos:
            with_photo = post
            break
    await posts.aclose()
    assert with_photo is not None
    photo = with_photo.photos[0]
    with Image.open(tmp_path / photo.url.removeprefix("/media/")) as image:
        image.verify()
    with Image.open(tmp_path / photo.url.removeprefix("/media/")) as image:
        assert image.size == (photo.width, photo.height)
    assert (tmp_path / with_photo.author.avatar_url.removeprefix("/media/")).exists()


async def test_resumes_from_cursor(store: Store, tmp_path: Path) -> None:
    """A restarted demo continues after the last post it yielded, without repeating."""
    first = await take(DemoSource(store, tmp_path, rate=0), 3)
    second = await take(DemoSource(store, tmp_path, rate=0), 3)
    assert first == ["demo:r0-0", "demo:r0-1", "demo:r0-2"]
    assert second[0] in {"demo:r0-2", "demo:r0-3"}  # at-least-once; the store drops repeats
    assert "demo:r0-0" not in second


async def test_loops_with_new_ids(store: Store, tmp_path: Path) -> None:
    """After the last post the corpus starts again with new ids, so nothing is deduplicated."""
    await store.set_cursor("demo:demo", f"0:{len(POSTS) - 1}")
    ids = await take(DemoSource(store, tmp_path, rate=0), 2)
    assert ids == [f"demo:r0-{len(POSTS) - 1}", "demo:r1-0"]


async def test_first_round_is_the_events_history(store: Store, tmp_path: Path) -> None:
    """The demo event's evening has just happened: round 0 carries the corpus's own times,
    build-up before the doors open, the night inside the event, all before now; round 1 is now."""
    now = datetime.now(UTC)
    event = demo_event(now)
    await store.save_event(event)
    starts = datetime.fromisoformat(event.extra["starts_at"])
    ends = datetime.fromisoformat(event.extra["ends_at"])
    assert ends - starts > timedelta(hours=3)
    assert (starts + DOORS).astimezone(ZONE).hour == 19  # the talks begin at 19:00 local
    source = DemoSource(store, tmp_path, rate=0)
    posts = source.posts()
    history = [await anext(posts) for _ in POSTS]
    live = await anext(posts)
    await posts.aclose()
    for post, (_, minutes, _, _) in zip(history, POSTS, strict=True):
        assert post.created_at == starts + DOORS + timedelta(minutes=minutes)
    assert max(p.created_at for p in history) < now
    build_up = [p for p in history if p.created_at < starts]
    night = [p for p in history if starts <= p.created_at <= ends]
    assert len(build_up) >= 10 and len(night) >= 20
    assert min(p.created_at for p in history) < starts - timedelta(days=2)
    assert live.id == "demo:r1-0" and abs(live.created_at - datetime.now(UTC)) < timedelta(
        minutes=1
    )
