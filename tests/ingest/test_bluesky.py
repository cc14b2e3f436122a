"""The Bluesky source against a fake Jetstream (websocket), AppView and CDN on loopback."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from ingest.fetch import safe_client
from ingest.media import LocalStorage, PhotoPipeline
from ingest.sources.bluesky import REWIND_US, BlueskySource
from ingest.worker import run_source
from tests.fake_jetstream import FakeJetstream, create, delete
from tests.fakes import serve
from tests.helpers import eventually, stop_task
from tests.images import jpeg
from wall.models import Event
from wall.moderation import State
from wall.sources import SourceConfig
from wall.store import Store

DID = "did:plc:bea"
T0 = 1_783_175_888_090_631  # a real firehose time_us (µs since the epoch)


@pytest.fixture
async def jetstream() -> AsyncIterator[tuple[FakeJetstream, str]]:
    """A fake Jetstream and its base URL."""
    fake = FakeJetstream()
    async with serve(fake.app()) as base:
        yield fake, base


@pytest.fixture
async def start(
    store: Store, event: Event, jetstream: tuple[FakeJetstream, str], tmp_path: Path
) -> AsyncIterator[Callable[[], asyncio.Task[None]]]:
    """Starts the Bluesky source under `run_source`; tasks cancelled after the test."""
    _, base = jetstream
    tasks: list[asyncio.Task[None]] = []
    async with safe_client(allow_loopback=True, timeout=10) as client:
        photos = PhotoPipeline(LocalStorage(tmp_path / "media"), client)

        def run() -> asyncio.Task[None]:
            config = SourceConfig.create(
                "bluesky", event.slug, server=base.replace("http", "ws"), tag="TestEvent"
            )
            source = BlueskySource(config, store, client, appview=base, cdn=base)
            task = asyncio.create_task(run_source(store, event, source, photos))
            tasks.append(task)
            return task

        yield run
        for task in tasks:
            await stop_task(task, what="source")


async def _count(store: Store, event: Event, n: int) -> bool:
    return await store.count(event.slug, State.APPROVED) == n


async def test_tagged_posts_are_taken_with_profile_and_local_photos(
    jetstream: tuple[FakeJetstream, str],
    start: Callable[[], asyncio.Task[None]],
    store: Store,
    event: Event,
) -> None:
    """Posts tagged in facets or `tags` are taken, others ignored; profiles resolved once; photos local."""
    fake, _ = jetstream
    fake.files["bafkcid1"] = jpeg()
    start()
    await eventually(lambda: bool(fake.sockets), message="subscribed")
    assert fake.connects[0] == {"wantedCollections": "app.bsky.feed.post"}
    await fake.send(
        create("did:plc:zed", "r0", 1_000, "nothing to see #other", facet_tag="other"),
        create(
            DID,
            "r1",
            1_001,
            "hello #testevent",
            facet_tag="testevent",
            images=[("bafkcid1", "A stage")],
        ),
        create(DID, "r2", 1_002, "tagged outside the text", tags=["TestEvent"]),
    )
    await eventually(lambda: _count(store, event, 2), message="two tagged posts")
    posts = {p.native_id: p for p in await store.posts(event.slug, State.APPROVED)}
    first = posts[f"{DID}/r1"]
    assert first.author.handle == "@bea.bsky.social" and first.author.display_name == "Bea"
    assert first.photos[0].url.startswith("/media/p/") and first.photos[0].alt == "A stage"
    assert first.url == f"https://bsky.app/profile/{DID}/post/r1"
    assert fake.profile_requests == 1  # cached for the second post


async def test_restart_and_reconnect_resume_from_the_cursor(
    jetstream: tuple[FakeJetstream, str],
    start: Callable[[], asyncio.Task[None]],
    store: Store,
    event: Event,
) -> None:
    """After a drop or a restart the source reconnects with the cursor rewound a few seconds
    before the last time_us (events in flight come again), and takes no duplicates."""
    fake, _ = jetstream
    task = start()
    await eventually(lambda: bool(fake.sockets), message="subscribed")
    await fake.send(create(DID, "a", T0, "one #testevent", facet_tag="testevent"))
    await eventually(lambda: _count(store, event, 1), message="first")
    await fake.drop()
    await eventually(lambda: len(fake.connects) == 2, timeout=10, message="reconnected")
    assert fake.connects[1]["cursor"] == str(T0 - REWIND_US)
    await fake.send(create(DID, "a", T0, "one #testevent", facet_tag="testevent"))  # replayed
    await fake.send(create(DID, "b", T0 + 1_000, "two #testevent", facet_tag="testevent"))
    await eventually(lambda: _count(store, event, 2), message="second")
    # The cursor is saved when the worker asks for the next item, just after the post is
    # stored: wait for it, or the cancel below can land in between (a race of the test).
    cursor_key = f"bluesky:testevent:{event.slug}"
    await eventually(lambda: _cursor_is(store, cursor_key, str(T0 + 1_000)), message="cursor saved")
    await stop_task(task, what="source")
    start()
    await eventually(lambda: len(fake.connects) == 3, message="restarted")
    assert fake.connects[2]["cursor"] == str(T0 + 1_000 - REWIND_US)
    mod = await store.changes_since(event.slug, "0-0", stream="mod") or []
    assert len([c for c in mod if c.type == "new"]) == 2


async def test_deletes_and_malformed_messages(
    jetstream: tuple[FakeJetstream, str],
    start: Callable[[], asyncio.Task[None]],
    store: Store,
    event: Event,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Our post's delete removes it; malformed messages are logged and skipped; the stream goes on."""
    fake, _ = jetstream
    caplog.set_level(logging.WARNING)
    start()
    await eventually(lambda: bool(fake.sockets), message="subscribed")
    await fake.send(
        create(DID, "d1", 7_000, "soon gone #testevent", facet_tag="testevent"),
        "{not json at all #testevent",
        json.dumps(
            {"kind": "commit", "did": DID, "time_us": "late", "commit": {}, "x": "#testevent"}
        ),
        delete("did:plc:someoneelse", "zz", 7_001),
        create(DID, "d2", 7_002, "stays #testevent", facet_tag="testevent"),
    )
    await eventually(lambda: _count(store, event, 2), message="both posts")
    await fake.send(delete(DID, "d1", 7_003))
    await eventually(lambda: _count(store, event, 1), timeout=2, message="deleted within 2s")
    [left] = await store.posts(event.slug, State.APPROVED)
    assert left.native_id == f"{DID}/d2"
    assert "not JSON" in caplog.text and "no integer time_us" in caplog.text


async def test_filter_keeps_up_with_the_firehose(store: Store, event: Event) -> None:
    """The tag filter handles far more than the firehose's few hundred posts a second."""
    config = SourceConfig.create("bluesky", event.slug, server="ws://127.0.0.1:9", tag="testevent")
    async with safe_client(allow_loopback=True) as client:
        source = BlueskySource(config, store, client)
        messages = [
            json.dumps(
                create(
                    f"did:plc:u{i}",
                    f"r{i}",
                    10_000 + i,
                    f"just a post number {i} about lunch #food",
                    facet_tag="food",
                )
            )
            for i in range(20_000)
        ]
        started = time.perf_counter()
        for message in messages:
            items, time_us = await source._handle(message)
            assert items == [] and time_us
        rate = len(messages) / (time.perf_counter() - started)
    print(f"jetstream filter: {rate:,.0f} messages/s")
    assert rate > 5_000


async def _cursor_is(store: Store, key: str, value: str) -> bool:
    return await store.get_cursor(key) == value


async def test_author_with_nowall_in_profile_is_not_taken(
    jetstream: tuple[FakeJetstream, str],
    start: Callable[[], asyncio.Task[None]],
    store: Store,
    event: Event,
) -> None:
    """A Bluesky author whose profile description says #nowall: their tagged posts are skipped."""
    fake, _ = jetstream
    shy = "did:plc:shy"
    fake.bios[shy] = "Photographer. Please #NoWall"
    start()
    await eventually(lambda: bool(fake.sockets), message="subscribed")
    await fake.send(
        create(shy, "s1", 7_000, "hello #testevent", facet_tag="testevent"),
        create(DID, "b1", 7_001, "hello too #testevent", facet_tag="testevent"),
    )
    await eventually(lambda: _count(store, event, 1), message="the other author's post")
    assert await store.get_state(event.slug, f"bluesky:{DID}/b1") == State.APPROVED
    assert await store.get_state(event.slug, f"bluesky:{shy}/s1") is None
