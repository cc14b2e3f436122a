"""The Mastodon source against a fake Mastodon (REST and streaming) on loopback."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest

from ingest.fetch import safe_client
from ingest.media import LocalStorage, PhotoPipeline
from ingest.sources.mastodon import MastodonSource
from ingest.worker import run_source
from tests.fake_mastodon import TOKEN, FakeMastodon, image, status
from tests.fakes import serve
from tests.helpers import eventually, stop_task
from tests.images import gps_exif, jpeg
from wall.mod_store import ModerationStore
from wall.models import Event
from wall.moderation import State
from wall.sources import SourceConfig
from wall.store import Store


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeMastodon, str]]:
    """A fake Mastodon server and its base URL."""
    server = FakeMastodon()
    async with serve(server.app()) as base:
        yield server, base


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the source and the photo pipeline."""
    async with safe_client(allow_loopback=True, timeout=10) as http:
        yield http


Runner = Callable[..., asyncio.Task[None]]


@pytest.fixture
async def runner(
    store: Store, event: Event, client: httpx.AsyncClient
) -> AsyncIterator[Callable[..., asyncio.Task[None]]]:
    """Starts `run_source` for a Mastodon config as a task; every task is cancelled after."""
    tasks: list[asyncio.Task[None]] = []

    def start(
        base: str, *, token: str = "", photos: PhotoPipeline | None = None
    ) -> asyncio.Task[None]:
        config = SourceConfig.create(
            "mastodon", event.slug, server=base, tag="testevent", token=token
        )
        source = MastodonSource(config, store, client, poll_interval=0.05)
        task = asyncio.create_task(run_source(store, event, source, photos))
        tasks.append(task)
        return task

    yield start
    for task in tasks:
        await stop_task(task, what="source")


async def stop(task: asyncio.Task[None]) -> None:
    """Cancel a source task and wait for it, as a stopping worker does."""
    await stop_task(task, what="source")


async def approved_ids(store: Store, event: Event) -> list[str]:
    """Native status ids of the approved posts, oldest first."""
    posts = await store.posts(event.slug, State.APPROVED, limit=1000)
    return sorted((p.native_id.rpartition(":")[2] for p in posts), key=int)


async def test_polling_takes_statuses_with_local_photos_alt_and_content_warning(
    fake: tuple[FakeMastodon, str],
    runner: Runner,
    store: Store,
    event: Event,
    client: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    """Polled statuses become posts: sanitized HTML, CW, sensitive, photos local with alt text."""
    server, base = fake
    server.files["p.jpg"] = jpeg((80, 40), gps_exif())
    server.statuses += [
        status(1, "hello <script>alert(1)</script>"),
        status(
            2,
            "the stage",
            images=[image(f"{base}/system/p.jpg", "The stage, lit blue")],
            sensitive=True,
            spoiler_text="flash photo",
        ),
    ]
    photos = PhotoPipeline(LocalStorage(tmp_path / "media"), client)
    runner(base, photos=photos)
    await eventually(lambda: _count(store, event, 2), message="two posts")
    posts = {p.native_id: p for p in await store.posts(event.slug, State.APPROVED)}
    host = base.removeprefix("http://")
    first, second = posts[f"{host}:1"], posts[f"{host}:2"]
    assert "<script" not in first.html and "hello" in first.html
    assert first.author.handle == f"@ada@{host}"
    assert second.sensitive and second.content_warning == "flash photo"
    assert [p.alt for p in second.photos] == ["The stage, lit blue"]
    assert second.photos[0].url.startswith("/media/p/")
    assert all("Eventwall" in r["ua"] for r in server.requests)


async def _count(store: Store, event: Event, n: int) -> bool:
    return await store.count(event.slug, State.APPROVED) == n


async def _cursor_is(store: Store, key: str, value: str) -> bool:
    return await store.get_cursor(key) == value


async def test_resume_after_restart_has_no_gap_and_no_duplicate(
    fake: tuple[FakeMastodon, str], runner: Runner, store: Store, event: Event
) -> None:
    """A restarted worker asks for min_id = the last status taken and takes each status once."""
    server, base = fake
    server.statuses += [status(i) for i in (101, 102, 103)]
    task = runner(base)
    await eventually(lambda: _count(store, event, 3), message="first three")
    # The cursor moves once a status has been applied in full (at-least-once, idempotent).
    key = f"mastodon:{base.removeprefix('http://')}:testevent:{event.slug}"
    await eventually(lambda: _cursor_is(store, key, "103"), message="cursor at 103")
    await stop(task)
    server.statuses += [status(i) for i in (104, 105)]
    before = len(server.requests)
    runner(base)
    await eventually(lambda: _count(store, event, 5), message="all five")
    assert server.requests[before]["params"].get("min_id") == "103"
    assert await approved_ids(store, event) == ["101", "102", "103", "104", "105"]
    news = [
        c
        for c in await store.changes_since(event.slug, "0-0", stream="mod") or []
        if c.type == "new"
    ]
    assert len(news) == 5


async def test_more_than_a_page_behind_is_caught_up_in_order(
    fake: tuple[FakeMastodon, str], runner: Runner, store: Store, event: Event
) -> None:
    """Ninety statuses behind the cursor are all taken, page by page, none skipped."""
    server, base = fake
    # One author posting 91 times a minute would trip the flood rule; this test is about paging.
    await ModerationStore(store.redis).set_rules(
        event.slug, blocked_words=[], blocked_tags=[], flood_limit=0
    )
    server.statuses.append(status(1))
    task = runner(base)
    await eventually(lambda: _count(store, event, 1), message="first")
    # The cursor is saved once the worker asks for the next item, just after the post is
    # stored: wait for it, or the stop below can land in between (a race of the test).
    key = f"mastodon:{base.removeprefix('http://')}:testevent:{event.slug}"
    await eventually(lambda: _cursor_is(store, key, "1"), message="cursor at 1")
    await stop(task)
    server.statuses += [status(i) for i in range(2, 92)]
    runner(base)
    await eventually(lambda: _count(store, event, 91), timeout=20, message="all 91")
    assert await approved_ids(store, event) == [str(i) for i in range(1, 92)]


async def test_boosts_are_skipped(
    fake: tuple[FakeMastodon, str], runner: Runner, store: Store, event: Event
) -> None:
    """A boost is skipped; the original status is taken once."""
    server, base = fake
    original = status(10, "original")
    server.statuses += [original, status(11, reblog=original), status(12)]
    runner(base)
    await eventually(lambda: _count(store, event, 2), message="two posts")
    await eventually(lambda: server.requests[-1]["params"].get("min_id") == "12", message="poll")
    assert await approved_ids(store, event) == ["10", "12"]


async def test_429_waits_until_the_rate_limit_resets(
    fake: tuple[FakeMastodon, str], runner: Runner, store: Store, event: Event
) -> None:
    """After a 429 the source waits until X-RateLimit-Reset before asking again."""
    server, base = fake
    server.rate_limited = 1
    server.reset_in = 1.0
    server.statuses.append(status(1))
    runner(base)
    await eventually(lambda: _count(store, event, 1), message="post after the limit")
    gap = server.requests[1]["at"] - server.requests[0]["at"]
    assert gap >= 0.8


async def test_remaining_zero_pauses_the_next_request(
    fake: tuple[FakeMastodon, str], runner: Runner, store: Store, event: Event
) -> None:
    """X-RateLimit-Remaining: 0 makes the source wait for the reset before its next request."""
    server, base = fake
    server.exhaust_after = 0
    server.reset_in = 1.0
    server.statuses.append(status(1))
    runner(base)
    await eventually(lambda: len(server.requests) >= 2, message="second request")
    assert server.requests[1]["at"] - server.requests[0]["at"] >= 0.8


async def test_malformed_statuses_are_skipped_with_a_logged_reason(
    fake: tuple[FakeMastodon, str],
    runner: Runner,
    store: Store,
    event: Event,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Malformed statuses are logged and skipped; the good ones around them are taken."""
    server, base = fake
    server.raw_timeline = [
        status(3),
        {"id": "2", "account": "not an object"},
        "not even an object",
        status(1, created_at="yesterday-ish"),
        status(0),
    ]
    caplog.set_level(logging.WARNING)
    runner(base)
    await eventually(lambda: _count(store, event, 2), message="the two good statuses")
    assert await approved_ids(store, event) == ["0", "3"]
    text = caplog.text
    assert "no account.acct" in text and "without an id" in text and "created_at" in text


async def test_stream_takes_updates_edits_and_deletes(
    fake: tuple[FakeMastodon, str], runner: Runner, store: Store, event: Event
) -> None:
    """With a token the source streams: update adds, status.update edits, delete removes."""
    server, base = fake
    runner(base, token=TOKEN)
    await eventually(lambda: bool(server.subscriptions), message="subscription")
    assert server.subscriptions[0] == {"type": "subscribe", "stream": "hashtag", "tag": "testevent"}
    await server.push("update", status(50, "first version"))
    await eventually(lambda: _count(store, event, 1), message="streamed post")
    host = base.removeprefix("http://")
    post_id = f"mastodon:{host}:50"
    await server.push(
        "status.update", status(50, "second version", edited_at="2026-01-01T00:00:00Z")
    )

    async def edited() -> bool:
        post = await store.get_post(event.slug, post_id)
        return post is not None and "second version" in post.html

    await eventually(edited, message="edit applied")
    await server.push("delete", "50")
    await eventually(lambda: _count(store, event, 0), timeout=2, message="deleted within 2s")
    assert await store.get_post(event.slug, post_id) is None


async def test_stream_reconnects_after_a_drop_and_catches_up(
    fake: tuple[FakeMastodon, str], runner: Runner, store: Store, event: Event
) -> None:
    """When the server drops the stream the source reconnects and takes what it missed."""
    server, base = fake
    runner(base, token=TOKEN)
    await eventually(lambda: len(server.subscriptions) == 1, message="first subscription")
    await server.push("update", status(60))
    await eventually(lambda: _count(store, event, 1), message="first post")
    server.statuses += [status(60)]
    await server.drop()
    server.statuses += [status(61)]  # posted while the stream was down
    await eventually(lambda: len(server.subscriptions) == 2, timeout=10, message="resubscribed")
    await eventually(lambda: _count(store, event, 2), message="missed post caught up")
    await server.push("update", status(62))
    await eventually(lambda: _count(store, event, 3), message="live again")
    assert await approved_ids(store, event) == ["60", "61", "62"]


async def test_malformed_stream_frames_are_skipped_and_the_stream_goes_on(
    fake: tuple[FakeMastodon, str],
    runner: Runner,
    store: Store,
    event: Event,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Garbage frames and bad payloads are logged and skipped; the next good one is taken."""
    server, base = fake
    caplog.set_level(logging.WARNING)
    runner(base, token=TOKEN)
    await eventually(lambda: bool(server.subscriptions), message="subscription")
    await server.push_raw("{not json")
    await server.push_raw('{"stream": ["hashtag"], "event": "update", "payload": "{broken"}')
    await server.push("update", {"id": "70"})
    await server.push("delete", {"id": 70})
    await server.push("update", status(71))
    await eventually(lambda: _count(store, event, 1), message="good post after garbage")
    assert len(server.subscriptions) == 1  # the same connection carried on
    assert "malformed stream message" in caplog.text and "malformed payload" in caplog.text
    assert "no account.acct" in caplog.text
