"""New posts stored many to a script call end exactly as posts stored one at a time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from tests.helpers import post_dict
from wall import store_scripts
from wall.aggregates import Aggregates
from wall.models import Event, Post
from wall.moderation import State
from wall.store import Store

T0 = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


def make(n: int) -> Post:
    return Post.from_dict(
        post_dict(
            str(n),
            author={"handle": f"@p{n % 7}@example.org"},
            created_at=(T0 + timedelta(minutes=n)).isoformat(),
            photos=[{"url": f"/media/p/{n % 3}.jpg", "width": 4, "height": 3}] if n % 5 else [],
        )
    )


def items() -> list[tuple[Post, State, str, str]]:
    # More than two script calls' worth, pending and approved, and a post sent twice across
    # calls: the second copy finds the first already stored.
    posts = [make(n) for n in range(store_scripts.INGEST_CHUNK * 2 + 10)] + [make(3)]
    return [
        (p, State.PENDING if n % 4 == 0 else State.APPROVED, "rule:mode", "")
        for n, p in enumerate(posts)
    ]


async def ending(store: Store, redis: Redis, slug: str) -> object:
    ids = sorted({p.id for p, *_ in items()})
    agg = Aggregates(redis)
    counts = await agg.counts(slug)
    logs = []
    for stream in ("public", "mod"):
        changes = await store.changes_since(slug, "0-0", stream=stream, limit=10_000)
        assert changes is not None
        logs.append([(c.type, c.post_id, c.state) for c in changes])
    return (
        await store.states(slug, ids),
        {s: await store.count(slug, s) for s in State},
        (counts.posts, counts.people, counts.photos, counts.first_ms),
        [(p.author.handle, p.posts) for p in await agg.most_active(slug)],
        await agg.media_used(slug, [f"/media/p/{k}.jpg" for k in range(3)]),
        await agg.photo_posts(slug, 100),
        logs,
    )


async def test_many_posts_a_call_end_as_one_at_a_time(store: Store, redis: Redis) -> None:
    """Outcomes, states, indexes, aggregates and both logs are those of one post per call."""
    for slug in ("one", "many"):
        await store.save_event(Event(slug=slug, title=slug, moderation="post"))
        # A post stored before, in another state: left as it is.
        await store.ingest(slug, make(1), State.HIDDEN)
    singles = [await store.ingest("one", *item[:2], actor=item[2]) for item in items()]
    batched = await store.ingest_many("many", items())
    assert batched == singles
    assert [o.changed for o in batched].count(False) == 2
    assert batched[1].previous == State.HIDDEN and batched[-1].previous == State.APPROVED
    assert await ending(store, redis, "many") == await ending(store, redis, "one")


async def test_many_posts_a_call_agree_with_a_rebuild(store: Store, redis: Redis) -> None:
    """The aggregates a batch leaves are those a rebuild computes from the stored posts."""
    await store.save_event(Event(slug="many", title="many", moderation="post"))
    await store.ingest_many("many", items())
    agg = Aggregates(redis)
    live = (await agg.counts("many"), await agg.most_active("many"))
    await agg.rebuild("many")
    assert (await agg.counts("many"), await agg.most_active("many")) == live
