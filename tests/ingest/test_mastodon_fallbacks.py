"""Mastodon: deletions and edits while polling, the streaming host, fallbacks and backfill."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from ingest.sources.mastodon import MastodonSource
from tests.fake_mastodon import TOKEN, FakeMastodon, recorded, status
from tests.fakes import serve
from tests.helpers import eventually
from tests.ingest.sourcekit import running_source
from wall import details
from wall.mod_store import ModerationStore
from wall.models import Event
from wall.moderation import State
from wall.sources import SourceConfig, SourceRegistry
from wall.store import Store


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeMastodon, str]]:
    """A fake Mastodon server and its base URL."""
    server = FakeMastodon()
    async with serve(server.app()) as base:
        yield server, base


def running(
    store: Store,
    event: Event,
    base: str,
    *,
    token: str = "",
    registry: SourceRegistry | None = None,
) -> contextlib.AbstractAsyncContextManager[MastodonSource]:
    """The Mastodon source for #testevent running through run_source."""
    config = SourceConfig.create("mastodon", event.slug, server=base, tag="testevent", token=token)
    return running_source(
        store,
        event,
        lambda client: MastodonSource(config, store, client, poll_interval=0.05),
        registry=registry,
    )


def post_id(base: str, status_id: str) -> str:
    """The wall's id of a status from the fake."""
    return f"mastodon:{base.split('//', 1)[1]}:{status_id}"


async def state(store: Store, event: Event, pid: str) -> State | None:
    """A post's state (None once it is gone)."""
    return await store.get_state(event.slug, pid)


async def test_a_status_deleted_on_the_server_leaves_the_wall_while_polling(
    store: Store, event: Event, fake: tuple[FakeMastodon, str]
) -> None:
    """Polling without a token: a status gone from the server is removed at the next poll."""
    server, base = fake
    server.statuses = [status(n, f"hello {n}") for n in (1, 2, 3)]
    async with running(store, event, base):
        await eventually(lambda: _count(store, event, 3), message="3 statuses taken")
        server.remove("2")
        await eventually(
            lambda: _is(store, event, post_id(base, "2"), None), message="deleted status gone"
        )
        assert await state(store, event, post_id(base, "1")) == State.APPROVED
        assert await state(store, event, post_id(base, "3")) == State.APPROVED


async def test_an_edit_on_the_server_replaces_the_post_while_polling(
    store: Store, event: Event, fake: tuple[FakeMastodon, str]
) -> None:
    """Polling without a token: a status with a new edited_at is replaced, state kept."""
    server, base = fake
    server.statuses = [status(1, "first words")]
    async with running(store, event, base):
        await eventually(lambda: _count(store, event, 1), message="status taken")
        edited = status(1, "better words", edited_at="2026-05-01T10:00:00.000Z")
        server.statuses = [edited]
        await eventually(
            lambda: _text(store, event, post_id(base, "1"), "better words"), message="edit shown"
        )


async def test_streaming_redirect_to_another_host_follows_the_instance_streaming_url(
    store: Store, event: Event, fake: tuple[FakeMastodon, str]
) -> None:
    """The server redirects its streaming API; the source streams from
    `configuration.urls.streaming` with its token and says so in its status."""
    server, base = fake
    streaming = FakeMastodon()
    async with serve(streaming.app()) as streaming_base:
        server.streaming_redirect = f"{streaming_base.replace('http', 'ws')}/api/v1/streaming"
        instance = recorded("instance_v2.json")
        instance["configuration"]["urls"]["streaming"] = streaming_base.replace("http", "ws")
        server.instance = instance
        registry = SourceRegistry(store.redis)
        async with running(store, event, base, token=TOKEN, registry=registry) as source:
            await eventually(
                lambda: bool(streaming.sockets), message="subscribed on the other host"
            )
            await streaming.push("update", status(7, "streamed"))
            await eventually(lambda: _count(store, event, 1), message="streamed status taken")
            assert (await registry.status(source.name)).note == "streaming"


async def test_streaming_refused_falls_back_to_polling_with_the_reason(
    store: Store, event: Event, fake: tuple[FakeMastodon, str]
) -> None:
    """Streaming refused everywhere: the source polls over REST and its status says why."""
    server, base = fake
    server.statuses = [status(1, "polled")]
    registry = SourceRegistry(store.redis)
    async with running(store, event, base, token="wrong-token", registry=registry) as source:
        await eventually(lambda: _count(store, event, 1), message="status taken by polling")
        note = (await registry.status(source.name)).note
        assert note.startswith("streaming refused (") and "polling every" in note
        server.statuses.append(status(2, "polled too"))
        await eventually(lambda: _count(store, event, 2), message="polling goes on")


async def test_a_new_source_backfills_to_the_event_start_without_flood_holds(
    store: Store, event: Event, fake: tuple[FakeMastodon, str]
) -> None:
    """A new source looks back page by page to the event's start; the history it finds is
    not held by the flood rule; statuses from before the start are left out."""
    server, base = fake
    start = datetime.now(UTC) - timedelta(hours=2)
    await store.save_event(details.apply(event, {"starts_at": start.isoformat()}))
    moderation = ModerationStore(store.redis)
    await moderation.set_rules(
        event.slug, blocked_words=[], blocked_tags=[], flood_limit=5, hold_duplicates=True
    )

    def at(minutes: int) -> str:
        return (start + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")

    server.statuses = [status(1, "before the start", created_at=at(-10))] + [
        status(n, f"build-up {n}", created_at=at(n)) for n in range(2, 102)
    ]
    async with running(store, event, base):
        await eventually(lambda: _count(store, event, 100), timeout=30, message="100 backfilled")
    assert await state(store, event, post_id(base, "1")) is None
    assert await store.count(event.slug, State.PENDING) == 0
    with_max_id = [r for r in server.requests if "max_id" in r["params"]]
    assert len(with_max_id) == 2  # 40 + 40 + 20: bounded pages, oldest reached


async def test_retry_after_is_honoured(
    store: Store, event: Event, fake: tuple[FakeMastodon, str]
) -> None:
    """A 429 with Retry-After: the source waits that long before asking again."""
    server, base = fake
    server.statuses = [status(1)]
    server.rate_limited = 1
    server.retry_after = "1"
    async with running(store, event, base):
        await eventually(lambda: _count(store, event, 1), message="taken after the wait")
    first, second = server.requests[0]["at"], server.requests[1]["at"]
    assert second - first >= 0.9


async def test_status_counts_only_new_posts_taken(
    store: Store, event: Event, fake: tuple[FakeMastodon, str]
) -> None:
    """The source status counts posts newly stored; an edit or a repeat is not "taken"."""
    server, base = fake
    server.statuses = [status(1), status(2)]
    registry = SourceRegistry(store.redis)
    async with running(store, event, base, registry=registry) as source:
        await eventually(lambda: _count(store, event, 2), message="2 taken")

        async def counted() -> bool:
            # The status is written just after the post: wait for both to be counted.
            return (await registry.status(source.name)).taken == 2

        await eventually(counted, message="2 counted in the status")
        last = (await registry.status(source.name)).last_event
        server.statuses[0] = status(1, "changed", edited_at="2026-05-01T10:00:00.000Z")
        await eventually(
            lambda: _text(store, event, post_id(base, "1"), "changed"), message="edit applied"
        )
        seen = await registry.status(source.name)
    assert seen.taken == 2
    assert seen.last_event == last


async def _count(store: Store, event: Event, n: int) -> bool:
    return await store.count(event.slug, State.APPROVED) == n


async def _is(store: Store, event: Event, pid: str, wanted: State | None) -> bool:
    return await store.get_state(event.slug, pid) == wanted


async def _text(store: Store, event: Event, pid: str, words: str) -> bool:
    post = await store.get_post(event.slug, pid)
    return post is not None and words in post.text
