"""The hub skips, by channel name and before decoding, changes for streams nobody here follows."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from redis.asyncio import Redis

from server.hub import Hub
from tests.helpers import deadline, eventually, post_dict
from wall.changes import Change, channel
from wall.models import Event, Post
from wall.moderation import State
from wall.store import Store


@contextlib.asynccontextmanager
async def running(hub: Hub) -> AsyncIterator[Hub]:
    listener = asyncio.create_task(hub.run())
    try:
        await asyncio.wait_for(hub.subscribed.wait(), deadline(10))
        yield hub
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener


def post(native_id: str) -> Post:
    return Post.from_dict(post_dict(native_id))


async def test_unwatched_changes_are_neither_decoded_nor_rendered(
    redis: Redis, store: Store, event: Event
) -> None:
    """A change for an event's stream with no client in this process is dropped by its
    channel name, unparsed and unrendered; the watched stream's changes still arrive."""
    rendered: list[tuple[str, str]] = []

    def render(change: Change) -> str:
        rendered.append((change.event, change.stream))
        return change.id

    await store.save_event(Event(slug="other", title="Other", moderation="post"))
    async with running(Hub(redis, store, render)) as hub:
        async with hub.subscribe(event.slug, "public") as client:
            # Not JSON: decoding it would count a render error.
            await redis.publish(channel("other", "public"), "not json")
            await store.ingest("other", post("o1"), State.APPROVED)  # its mod and public change
            await store.ingest(event.slug, post("w1"), State.APPROVED)  # its mod change too
            await eventually(lambda: client.queued == 1)
        assert rendered == [(event.slug, "public")]
        assert (hub.stats.skipped, hub.stats.render_errors) == (4, 0)


async def test_a_client_after_skipped_changes_resumes_from_the_log(
    redis: Redis, store: Store, event: Event
) -> None:
    """Changes skipped while nobody here watched reach a client resuming from before them,
    each once and in order, read from the log; then live changes follow."""

    async def lost() -> tuple[str, str]:
        raise AssertionError("the log holds every change: no full re-render")

    async with running(Hub(redis, store, lambda change: change.post_id)) as hub:
        async with hub.subscribe(event.slug, "public") as first:
            await store.ingest(event.slug, post("w0"), State.APPROVED)
            await eventually(lambda: first.queued == 1)
            seen = first.next_queued()
            assert seen is not None and seen.data == "test:w0"
        for n in (1, 2, 3):
            await store.ingest(event.slug, post(f"w{n}"), State.APPROVED)
        await eventually(lambda: hub.stats.skipped == 7, message="3 posts' changes skipped")
        async with hub.subscribe(event.slug, "public") as second:
            # Where a catch-up after an outage would start: where the log stands now, not
            # the change this process last heard before it stopped listening.
            assert hub._last[(event.slug, "public")] == await store.last_change_id(event.slug)
            missed = [m async for m in hub.missed(second, seen.id, limit=100, lost=lost)]
            assert missed == ["test:w1", "test:w2", "test:w3"]
            second.go_live()
            await store.ingest(event.slug, post("w4"), State.APPROVED)
            await eventually(lambda: second.queued == 1)
            live = second.next_queued()
            assert live is not None and live.data == "test:w4"


async def test_only_a_stream_without_clients_is_skipped(redis: Redis, store: Store) -> None:
    """A name that parses as `ew:chan:{slug}:stream` with no client here is skipped; a watched
    stream, or a name of another shape, goes on to be decoded as before."""
    hub = Hub(redis, store, lambda change: change.id)
    async with hub.subscribe("x", "public"):
        watched = {
            name: hub._watched(name)
            for name in (
                "ew:chan:{x}:public",
                "ew:chan:{x}:mod",
                "ew:chan:{y}:public",
                "ew:chan:odd",
            )
        }
    assert watched == {
        "ew:chan:{x}:public": True,
        "ew:chan:{x}:mod": False,
        "ew:chan:{y}:public": False,
        "ew:chan:odd": True,
    }
