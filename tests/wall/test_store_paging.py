"""The store's cursor page read agrees with the pure paging rule, on a real Redis."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from tests.helpers import post_dict
from tests.wall.test_ordering import at
from wall.models import Event, Post
from wall.moderation import State
from wall.ordering import next_cursor, page_before
from wall.store import Store

feeds = st.lists(
    st.tuples(st.text("abcxyz", min_size=1, max_size=3), st.integers(0, 20)),
    max_size=40,
    unique_by=lambda t: t[0],
)


async def _page_while_arriving(
    redis_url: str, feed: list[tuple[str, int]], initial: int, limit: int, burst: int
) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        await redis.flushall()
        store = Store(redis)
        await store.save_event(Event(slug="paging", title="Paging"))
        posts: list[Post] = [at(n, s) for n, s in feed]
        for post in posts[:initial]:
            await store.ingest("paging", post, State.APPROVED)
        present, pending = list(posts[:initial]), list(posts[initial:])
        # A hidden post sits in another index and must never be paged in.
        await store.ingest("paging", at("hidden", 5), State.HIDDEN)
        _, first = await store.snapshot("paging", limit=limit)
        assert [p.id for p in first] == [p.id for p in page_before(present, None, limit)]
        seen = [p.id for p in first]
        cursor = next_cursor(first, limit)
        while cursor is not None:
            for post in pending[:burst]:
                await store.ingest("paging", post, State.APPROVED)
            present += pending[:burst]
            pending = pending[burst:]
            page = await store.posts_before("paging", cursor.score, cursor.post_id, limit=limit)
            assert [p.id for p in page] == [p.id for p in page_before(present, cursor, limit)]
            seen += [p.id for p in page]
            cursor = next_cursor(page, limit)
        assert len(seen) == len(set(seen))
        assert {p.id for p in posts[:initial]} <= set(seen)
    finally:
        await redis.aclose()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feeds, st.integers(0, 40), st.integers(1, 6), st.integers(0, 4))
def test_store_paging_while_posts_arrive_matches_rule(
    redis_url: str, feed: list[tuple[str, int]], initial: int, limit: int, burst: int
) -> None:
    """Reading pages from Redis while posts are ingested between reads returns exactly
    what the pure rule says: no post skipped, none repeated, ties split by id."""
    asyncio.run(_page_while_arriving(redis_url, feed, initial, limit, burst))


async def test_posts_before_ignores_unknown_cursor_post(store: Store, event: Event) -> None:
    """A cursor whose post was since deleted still pages from its position."""
    for n, s in [("a", 1), ("b", 2), ("c", 3)]:
        await store.ingest(event.slug, at(n, s), State.APPROVED)
    gone = at("gone", 2)
    page = await store.posts_before(event.slug, gone.created_ms, gone.id, limit=5)
    assert [p.native_id for p in page] == ["b", "a"]


async def test_iter_posts_reads_every_post_once_oldest_first(store: Store, event: Event) -> None:
    """Batches cover every post of the state once, oldest first, equal times by id, even
    when a batch boundary falls among posts of the same time."""
    same = "2026-01-01T10:00:00Z"
    for i in range(7):
        post = Post.from_dict(post_dict(f"t{i}", created_at=same))
        await store.ingest(event.slug, post, State.APPROVED)
    for i in range(5):
        post = Post.from_dict(post_dict(f"n{i}", created_at=f"2026-01-01T11:0{i}:00Z"))
        await store.ingest(event.slug, post, State.APPROVED)
    await store.ingest(event.slug, Post.from_dict(post_dict("p")), State.PENDING)
    batches = [b async for b in store.iter_posts(event.slug, batch=3)]
    assert all(len(b) <= 3 for b in batches)
    ids = [p.id for b in batches for p in b]
    assert ids == await store.post_ids(event.slug)
    assert len(ids) == 12 and len(set(ids)) == 12
