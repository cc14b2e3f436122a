"""The Redis store: one atomic step per change, logs that never leak private posts."""

from __future__ import annotations

import asyncio
import json

from redis.asyncio import Redis

from tests.helpers import eventually, post_dict
from wall.changes import Change, channel
from wall.models import Event, Post
from wall.moderation import State
from wall.store import Store


def make(native_id: str, text: str = "") -> Post:
    return Post.from_dict(post_dict(native_id, text))


async def test_ingest_writes_post_index_and_logs(store: Store, event: Event) -> None:
    """Ingesting stores the post, indexes it by state and appends to both logs."""
    outcome = await store.ingest(event.slug, make("1"), State.APPROVED)
    assert outcome.changed
    stored = await store.get_post(event.slug, "test:1")
    assert stored is not None and stored.text == "post 1 #testevent"
    assert await store.get_state(event.slug, "test:1") == State.APPROVED
    assert await store.count(event.slug, State.APPROVED) == 1
    public = await store.changes_since(event.slug, "0-0", stream="public")
    mod = await store.changes_since(event.slug, "0-0", stream="mod")
    assert public is not None and [c.type for c in public] == ["show"]
    assert mod is not None and [c.type for c in mod] == ["new"]


async def test_ingest_twice_changes_nothing(store: Store, event: Event) -> None:
    """The same post ingested again is a no-op: no second log entry, same state."""
    await store.ingest(event.slug, make("1"), State.APPROVED)
    again = await store.ingest(event.slug, make("1", "edited?"), State.PENDING)
    assert not again.changed
    assert await store.get_state(event.slug, "test:1") == State.APPROVED
    public = await store.changes_since(event.slug, "0-0")
    assert public is not None and len(public) == 1


async def test_pending_post_never_in_public_log(store: Store, event: Event) -> None:
    """A pending or rejected post is written to the moderators' log only."""
    await store.ingest(event.slug, make("1"), State.PENDING)
    await store.set_state(event.slug, "test:1", State.REJECTED)
    assert await store.changes_since(event.slug, "0-0", stream="public") == []
    mod = await store.changes_since(event.slug, "0-0", stream="mod")
    assert mod is not None and [c.type for c in mod] == ["new", "state"]


async def test_state_transitions_drive_public_log(store: Store, event: Event) -> None:
    """Approve shows, hide removes, re-approve shows again; repeats are no-ops."""
    await store.ingest(event.slug, make("1"), State.PENDING)
    await store.set_state(event.slug, "test:1", State.APPROVED)
    await store.set_state(event.slug, "test:1", State.APPROVED)
    await store.set_state(event.slug, "test:1", State.HIDDEN)
    await store.set_state(event.slug, "test:1", State.APPROVED)
    public = await store.changes_since(event.slug, "0-0")
    assert public is not None and [c.type for c in public] == ["show", "remove", "show"]
    assert await store.count(event.slug, State.HIDDEN) == 0
    assert await store.count(event.slug, State.APPROVED) == 1


async def test_expected_state_first_decision_wins(store: Store, event: Event) -> None:
    """With `expected`, a second decision on an already-decided post is refused."""
    await store.ingest(event.slug, make("1"), State.PENDING)
    first = await store.set_state(event.slug, "test:1", State.APPROVED, expected=State.PENDING)
    second = await store.set_state(event.slug, "test:1", State.REJECTED, expected=State.PENDING)
    assert first.changed and not second.changed and second.conflict
    assert second.previous == "approved"
    assert await store.get_state(event.slug, "test:1") == State.APPROVED


async def test_unknown_post(store: Store, event: Event) -> None:
    """Changing a post that does not exist reports it missing and writes nothing."""
    outcome = await store.set_state(event.slug, "test:nope", State.APPROVED)
    assert outcome.missing and not outcome.changed
    assert await store.changes_since(event.slug, "0-0", stream="mod") == []


async def test_update_and_delete(store: Store, event: Event) -> None:
    """An edit of a visible post updates the public log; a delete removes it everywhere."""
    await store.ingest(event.slug, make("1"), State.APPROVED)
    await store.update(event.slug, make("1", "edited"))
    public = await store.changes_since(event.slug, "0-0")
    assert public is not None and [c.type for c in public] == ["show", "update"]
    # A replay carries the post as it is now, the show included.
    assert [c.post.text if c.post else "" for c in public] == ["edited", "edited"]
    await store.delete(event.slug, "test:1")
    public = await store.changes_since(event.slug, "0-0")
    assert public is not None and [c.type for c in public] == ["remove"]
    assert await store.get_post(event.slug, "test:1") is None
    assert await store.count(event.slug, State.APPROVED) == 0


async def test_change_is_published_with_log_id(store: Store, event: Event, redis: Redis) -> None:
    """Each log entry is published on the event's channel with the same id, atomically."""
    pubsub = redis.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel(event.slug, "public"))
    received: list[Change] = []

    async def listen() -> None:
        async for item in pubsub.listen():
            received.append(Change.from_message(item["data"]))

    task = asyncio.create_task(listen())
    try:
        await store.ingest(event.slug, make("1"), State.APPROVED)
        await eventually(lambda: len(received) == 1, message="the published change")
        logged = await store.changes_since(event.slug, "0-0")
        assert logged is not None and received[0].id == logged[0].id
        assert received[0].post is not None and received[0].post.id == "test:1"
    finally:
        task.cancel()
        await pubsub.aclose()


async def test_changes_since_is_exact(store: Store, event: Event) -> None:
    """changes_since returns exactly the entries after the given id, in order."""
    for i in range(5):
        await store.ingest(event.slug, make(str(i)), State.APPROVED)
    everything = await store.changes_since(event.slug, "0-0")
    assert everything is not None
    after = await store.changes_since(event.slug, everything[1].id)
    assert after is not None
    assert [c.post_id for c in after] == ["test:2", "test:3", "test:4"]


async def test_changes_since_lost_or_bogus_gives_none(redis: Redis, event: Event) -> None:
    """A resume point trimmed off the capped log, in the future, or malformed gives None."""
    store = Store(redis, log_maxlen=10)
    await store.save_event(event)
    first = None
    for i in range(200):
        await store.ingest(event.slug, make(str(i)), State.APPROVED)
        if first is None:
            first = await store.last_change_id(event.slug)
    assert first is not None
    assert await store.changes_since(event.slug, first) is None
    assert await store.changes_since(event.slug, "99999999999999-0") is None
    assert await store.changes_since(event.slug, "not-an-id") is None
    latest = await store.last_change_id(event.slug)
    assert await store.changes_since(event.slug, latest) == []


async def test_changes_since_too_many_gives_none(store: Store, event: Event) -> None:
    """More missed changes than the limit gives None: a full re-render is cheaper."""
    for i in range(6):
        await store.ingest(event.slug, make(str(i)), State.APPROVED)
    assert await store.changes_since(event.slug, "0-0", limit=5) is None
    assert await store.changes_since(event.slug, "0-0", limit=6) is not None


async def _bytes_sent(store: Store) -> int:
    return int((await store.redis.info("stats"))["total_net_output_bytes"])


async def test_too_far_behind_is_decided_without_fetching_entries(
    store: Store, event: Event
) -> None:
    """A resume point too far behind gets None without the log's entries crossing the wire."""
    for i in range(50):
        await store.ingest(event.slug, make(str(i), "x" * 2000), State.APPROVED)
    before = await _bytes_sent(store)
    assert await store.changes_since(event.slug, "0-0", stream="mod", limit=40) is None
    too_far = await _bytes_sent(store) - before
    before = await _bytes_sent(store)
    assert await store.changes_since(event.slug, "0-0", stream="mod", limit=50) is not None
    fetched = await _bytes_sent(store) - before
    # 50 entries with 2 kB bodies are 100 kB; the refusal reads XINFO (with the first and last
    # entries) and a nil.
    assert fetched > 100_000
    assert too_far < 20_000


async def test_snapshot_is_newest_first_with_last_id(store: Store, event: Event) -> None:
    """A snapshot lists approved posts newest first and the public log id it is current at."""
    for i in range(3):
        post = Post.from_dict(post_dict(str(i), created_at=f"2026-01-01T10:0{i}:00Z"))
        await store.ingest(event.slug, post, State.APPROVED)
    await store.ingest(event.slug, make("pending"), State.PENDING)
    last_id, posts = await store.snapshot(event.slug, limit=2)
    assert [p.id for p in posts] == ["test:2", "test:1"]
    assert last_id == await store.last_change_id(event.slug)


async def test_events_saved_and_listed(store: Store) -> None:
    """Events round-trip through the store and list by slug."""
    await store.save_event(Event(slug="b", title="B", hashtags=("x",)))
    await store.save_event(Event(slug="a", title="A"))
    assert [e.slug for e in await store.list_events()] == ["a", "b"]
    got = await store.get_event("b")
    assert got is not None and got.hashtags == ("x",)
    assert await store.get_event("missing") is None


async def test_stored_post_json_has_the_id(store: Store, event: Event, redis: Redis) -> None:
    """Posts are stored as JSON that names their id, readable by other tools."""
    await store.ingest(event.slug, make("1"), State.APPROVED)
    raw = await redis.hget("ew:{testevent}:posts", "test:1")
    assert raw is not None and json.loads(raw)["id"] == "test:1"
