"""An event's aggregates move with its posts, in the same step, and a rebuild agrees with them."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from tests.helpers import eventwall, post_dict
from wall import aggregates
from wall.aggregates import Aggregates
from wall.models import Event, Post
from wall.moderation import State, author_key
from wall.store import Store

T0 = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
PHOTO = {"url": "/media/p/a.jpg", "width": 10, "height": 10}


def make(
    native_id: str, handle: str = "ann", minute: int = 0, photos: int = 0, sensitive: bool = False
) -> Post:
    return Post.from_dict(
        post_dict(
            native_id,
            author={"handle": handle, "display_name": handle.title()},
            created_at=(T0 + timedelta(minutes=minute)).isoformat(),
            photos=[{**PHOTO, "url": f"/media/p/{k}.jpg"} for k in range(photos)],
            sensitive=sensitive,
        )
    )


async def test_people_counted_case_folded_and_photos_summed(store: Store, event: Event) -> None:
    """People are distinct case-folded handles; photos add up over approved posts only."""
    agg = Aggregates(store.redis)
    await store.ingest(event.slug, make("1", "Ann", 0, photos=2), State.APPROVED)
    await store.ingest(event.slug, make("2", "@ANN", 5), State.APPROVED)
    await store.ingest(event.slug, make("3", "bob", 7, photos=1), State.APPROVED)
    await store.ingest(event.slug, make("4", "cyd", 9, photos=3), State.PENDING)
    counts = await agg.counts(event.slug)
    assert (counts.posts, counts.people, counts.photos) == (3, 2, 3)
    assert counts.first_ms == make("1").created_ms


async def test_hide_delete_and_reject_after_approve_move_them(store: Store, event: Event) -> None:
    """Hiding, deleting and rejecting an approved post take it out; approving puts it in."""
    agg = Aggregates(store.redis)
    await store.ingest(event.slug, make("1", "ann", 0, photos=1), State.APPROVED)
    await store.ingest(event.slug, make("2", "ann", 5, photos=1), State.APPROVED)
    await store.ingest(event.slug, make("3", "bob", 7), State.PENDING)
    await store.set_state(event.slug, "test:1", State.HIDDEN)
    people = await agg.most_active(event.slug)
    assert [(p.author.handle, p.posts) for p in people] == [("ann", 1)]
    assert people[0].first_at == T0 + timedelta(minutes=5)
    await store.set_state(event.slug, "test:3", State.APPROVED)
    await store.set_state(event.slug, "test:3", State.REJECTED)
    await store.delete(event.slug, "test:2")
    counts = await agg.counts(event.slug)
    assert (counts.posts, counts.people, counts.photos) == (0, 0, 0)
    await store.set_state(event.slug, "test:1", State.APPROVED)
    counts = await agg.counts(event.slug)
    assert (counts.posts, counts.people, counts.photos) == (1, 1, 1)
    assert await agg.photo_posts(event.slug, 10) == ["test:1"]


async def test_update_recounts_photos_and_gallery(store: Store, event: Event) -> None:
    """An edit that adds photos or marks the post sensitive is counted at once."""
    agg = Aggregates(store.redis)
    await store.ingest(event.slug, make("1", "ann", 0), State.APPROVED)
    await store.update(event.slug, make("1", "ann", 0, photos=2, sensitive=True))
    assert (await agg.counts(event.slug)).photos == 2
    assert await agg.photo_posts(event.slug, 10) == []
    await store.update(event.slug, make("1", "ann", 0, photos=1))
    assert (await agg.counts(event.slug)).photos == 1
    assert await agg.photo_posts(event.slug, 10) == ["test:1"]


async def test_most_active_and_first_timers(store: Store, event: Event) -> None:
    """Most posts first, ties to the earlier first post; first-timers by first post in a window."""
    agg = Aggregates(store.redis)
    for i, (handle, minute) in enumerate(
        [("bob", 1), ("ann", 2), ("bob", 3), ("cyd", 30), ("ann", 40), ("dan", 50)]
    ):
        await store.ingest(event.slug, make(str(i), handle, minute), State.APPROVED)
    active = await agg.most_active(event.slug, limit=3)
    assert [(p.author.handle, p.posts) for p in active] == [("bob", 2), ("ann", 2), ("cyd", 1)]
    window = await agg.first_between(
        event.slug, T0 + timedelta(minutes=10), T0 + timedelta(hours=1)
    )
    assert [p.author.handle for p in window] == ["cyd", "dan"]


async def test_buckets_are_counted_from_the_index(store: Store, event: Event) -> None:
    """Posts per span come from the approved index: half-open spans, approved only."""
    agg = Aggregates(store.redis)
    for i, minute in enumerate([0, 59, 60, 61, 200]):
        await store.ingest(event.slug, make(str(i), "ann", minute), State.APPROVED)
    await store.ingest(event.slug, make("p", "ann", 1), State.PENDING)
    edges = [T0 + timedelta(hours=h) for h in range(5)]
    assert await agg.count_between(event.slug, edges) == [2, 2, 0, 1]


async def test_event_stored_before_aggregates_is_rebuilt_once(store: Store, event: Event) -> None:
    """An event whose aggregates were never built gets them from its posts on first read."""
    agg = Aggregates(store.redis)
    await store.ingest(event.slug, make("1", "ann", 0, photos=1), State.APPROVED)
    await store.ingest(event.slug, make("2", "Bob", 1), State.APPROVED)
    await store.redis.delete(*aggregates.keys(event.slug), aggregates.key(event.slug, "agg:built"))
    assert (await agg.counts(event.slug)).people == 0
    assert not await agg.built(event.slug)
    await agg.ensure(event.slug)
    counts = await agg.counts(event.slug)
    assert (counts.people, counts.photos) == (2, 1)
    assert await agg.built(event.slug)


async def test_rebuild_stats_command(store: Store, event: Event, env: dict[str, str]) -> None:
    """`eventwall event rebuild-stats SLUG` recomputes lost stats; an unknown event exits 2."""
    await store.ingest(event.slug, make("1", "ann", 0, photos=2), State.APPROVED)
    await store.redis.delete(*aggregates.keys(event.slug))
    result = await asyncio.to_thread(eventwall, "event", "rebuild-stats", event.slug, env=env)
    assert result.returncode == 0, result.stderr
    assert "rebuilt from 1 posts" in result.stdout
    assert (await Aggregates(store.redis).counts(event.slug)).photos == 2
    assert await store.redis.hgetall(aggregates.key(event.slug, "agg:count")) == {"ann": "1"}
    missing = await asyncio.to_thread(eventwall, "event", "rebuild-stats", "nope", env=env)
    assert missing.returncode == 2 and "no event called 'nope'" in missing.stderr


async def test_photo_files_are_counted_over_every_event(store: Store, event: Event) -> None:
    """A photo stays `mentioned` while a stored post of any event, in any state, shows it."""
    other = Event(slug="other", title="Other")
    await store.save_event(other)
    await store.ingest(event.slug, make("1", photos=2), State.APPROVED)
    await store.ingest(other.slug, make("2", photos=1), State.PENDING)
    both = {"/media/p/0.jpg", "/media/p/1.jpg", "/media/p/9.jpg"}
    assert await store.mentioned(both) == {"/media/p/0.jpg", "/media/p/1.jpg"}
    await store.set_state(event.slug, "test:1", State.HIDDEN)
    await store.delete(other.slug, "test:2")
    assert await store.mentioned(both) == {"/media/p/0.jpg", "/media/p/1.jpg"}
    await store.update(event.slug, make("1", photos=1))
    assert await store.mentioned(both) == {"/media/p/0.jpg"}
    await store.delete(event.slug, "test:1")
    assert await store.mentioned(both) == set()


async def _index_reads(redis: Redis) -> int:
    # Calls of the commands that read the per-author lexical index back, scripts' included.
    stats = await redis.info("commandstats")
    names = ("cmdstat_zlexcount", "cmdstat_zrangebylex")
    return sum(int(stats[n]["calls"]) for n in names if n in stats)


async def test_an_arriving_post_never_reads_the_author_index(store: Store, event: Event) -> None:
    """A post becoming public counts its author in O(1); only a leaving first post reads the
    index (for the author's next first post)."""
    agg = Aggregates(store.redis)
    await store.ingest(event.slug, make("0", "ann", 30), State.APPROVED)
    await store.redis.config_resetstat()
    await store.ingest(event.slug, make("1", "ann", 10), State.APPROVED)  # earlier: new first
    await store.ingest(event.slug, make("2", "ann", 50), State.APPROVED)
    await store.ingest(event.slug, make("3", "bob", 20), State.PENDING)
    await store.set_state(event.slug, "test:3", State.APPROVED)
    await store.set_state(event.slug, "test:2", State.HIDDEN)  # not ann's first: no read
    assert await _index_reads(store.redis) == 0
    assert await store.redis.hgetall(aggregates.key(event.slug, "agg:count")) == {
        "ann": "2",
        "bob": "1",
    }
    await store.set_state(event.slug, "test:1", State.HIDDEN)  # ann's first leaves
    assert await _index_reads(store.redis) == 1
    active = await agg.most_active(event.slug)
    assert [(p.author.handle, p.posts, p.first_at) for p in active] == [
        ("bob", 1, T0 + timedelta(minutes=20)),
        ("ann", 1, T0 + timedelta(minutes=30)),
    ]


async def test_authors_counted_before_the_count_hash(store: Store, event: Event) -> None:
    """An event whose aggregates predate the per-author count hash counts on from the index."""
    agg = Aggregates(store.redis)
    for i, minute in enumerate([0, 5, 9]):
        await store.ingest(event.slug, make(str(i), "ann", minute), State.APPROVED)
    await store.redis.delete(aggregates.key(event.slug, "agg:count"))
    await store.ingest(event.slug, make("3", "ann", 12), State.APPROVED)
    assert [p.posts for p in await agg.most_active(event.slug)] == [4]
    await store.redis.delete(aggregates.key(event.slug, "agg:count"))
    await store.set_state(event.slug, "test:0", State.HIDDEN)
    active = await agg.most_active(event.slug)
    assert [(p.posts, p.first_at) for p in active] == [(3, T0 + timedelta(minutes=5))]
    assert await store.redis.hget(aggregates.key(event.slug, "agg:count"), "ann") == "3"


async def test_a_count_the_index_does_not_back_gives_way(store: Store, event: Event) -> None:
    """A hand-edited per-author count never fails a change: the index decides who is left."""
    agg = Aggregates(store.redis)
    await store.ingest(event.slug, make("1", "ann", 0), State.APPROVED)
    await store.redis.hset(aggregates.key(event.slug, "agg:count"), "ann", 5)
    await store.set_state(event.slug, "test:1", State.HIDDEN)
    assert (await agg.counts(event.slug)).people == 0
    assert await agg.most_active(event.slug) == []


# -- a random history of changes, then a rebuild ---------------------------------------------

HANDLES = ["ann", "Ann", "@ANN", "bob", "cyd"]
ops = st.lists(
    st.one_of(
        st.tuples(
            st.just("ingest"),
            st.integers(0, 7),
            st.sampled_from(list(State)),
            st.sampled_from(HANDLES),
            st.integers(0, 3),
            st.booleans(),
            st.integers(0, 300),
        ),
        st.tuples(st.just("state"), st.integers(0, 7), st.sampled_from(list(State))),
        st.tuples(
            st.just("update"),
            st.integers(0, 7),
            st.integers(0, 3),
            st.booleans(),
            st.integers(0, 1),
        ),
        st.tuples(st.just("delete"), st.integers(0, 7)),
    ),
    max_size=40,
)


async def _dump(redis: Redis, slug: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in aggregates.NAMES:
        k = aggregates.key(slug, name)
        kind = await redis.type(k)
        if kind == "zset":
            out[name] = await redis.zrange(k, 0, -1, withscores=True)
        elif kind == "hash":
            # A counter back at 0 and one never written are the same count.
            out[name] = {f: v for f, v in (await redis.hgetall(k)).items() if v != "0"} or None
        else:
            out[name] = None
    return out


async def _run_history(redis_url: str, history: list[tuple[Any, ...]]) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        await redis.flushall()
        store = Store(redis, log_maxlen=100)
        slug = "prop"
        await store.save_event(Event(slug=slug, title="Prop"))
        live: dict[str, Post] = {}
        for op in history:
            post_id = f"test:{op[1]}"
            if op[0] == "ingest":
                _, n, state, handle, photos, sensitive, minute = op
                post = make(str(n), handle, minute, photos=photos, sensitive=sensitive)
                if (await store.ingest(slug, post, state)).changed:
                    live[post_id] = post
            elif op[0] == "state":
                await store.set_state(slug, post_id, op[2])
            elif op[0] == "update" and post_id in live:
                old = live[post_id]
                post = make(str(op[1]), old.author.handle, op[4], photos=op[2], sensitive=op[3])
                # An edit keeps the post's time: the score is fixed at ingest.
                post = Post.from_dict({**post.to_dict(), "created_at": old.to_dict()["created_at"]})
                await store.update(slug, post)
                live[post_id] = post
            elif op[0] == "delete":
                await store.delete(slug, post_id)
                live.pop(post_id, None)
        before = await _dump(redis, slug)
        agg = Aggregates(redis)
        counts = await agg.counts(slug)
        # The live aggregates agree with the approved posts counted directly...
        approved = [live[i] for i in await store.post_ids(slug)]
        assert counts.posts == len(approved)
        assert counts.people == len({author_key(p.author.handle) for p in approved})
        assert counts.photos == sum(len(p.photos) for p in approved)
        per_author = Counter(author_key(p.author.handle) for p in approved)
        active = await agg.most_active(slug, limit=10)
        assert {author_key(p.author.handle): p.posts for p in active} == dict(per_author)
        gallery = {p.id for p in approved if p.photos and not p.sensitive}
        # Files are counted over stored posts in every state.
        shown = Counter(ph.url for p in live.values() for ph in p.photos)
        refs = await redis.hgetall(aggregates.key(slug, "media:refs"))
        assert {u: int(n) for u, n in refs.items()} == dict(shown)
        assert set(await agg.photo_posts(slug, 100)) == gallery
        # ...and a rebuild from the posts gives exactly the same keys.
        await agg.rebuild(slug)
        assert await _dump(redis, slug) == before
    finally:
        await redis.aclose()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=ops)
def test_rebuild_equals_live_aggregates(redis_url: str, history: list[tuple[Any, ...]]) -> None:
    """After any sequence of ingests, state changes, edits and deletes, rebuild == live."""
    asyncio.run(_run_history(redis_url, history))
