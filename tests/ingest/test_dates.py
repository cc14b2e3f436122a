"""A post's claimed time is kept for display, but it sits where a sane time puts it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from ingest.pipeline import apply, take
from ingest.sources.base import Edited
from ingest.sources.bluesky import commit_post, parse_commit
from tests.fake_jetstream import create
from tests.helpers import post_dict
from wall.models import Author, Event, Post
from wall.moderation import State
from wall.ordering import PAST_LIMIT
from wall.store import Store

START = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


def dated(native_id: str, when: datetime | str) -> Post:
    """A post claiming to be from `when`."""
    stamp = when if isinstance(when, str) else when.isoformat()
    return Post.from_dict(post_dict(native_id, created_at=stamp))


async def _event(store: Store, starts_at: datetime | None) -> Event:
    extra = {"starts_at": starts_at.isoformat()} if starts_at else {}
    event = Event(slug="dates", title="Dates", moderation="post", extra=extra)
    await store.save_event(event)
    return event


async def test_a_future_dated_post_is_ordered_at_its_arrival(store: Store) -> None:
    """A post dated 9999 does not sit first forever: it is placed when it arrived, and a
    post arriving after it is newer; its claimed date is kept for display."""
    event = await _event(store, START)
    await take(store, event, dated("before", datetime.now(UTC) - timedelta(minutes=1)))
    arrival = datetime.now(UTC)
    await take(store, event, dated("future", "9999-12-31T23:59:59Z"))
    await take(store, event, dated("after", datetime.now(UTC) + timedelta(seconds=1)))
    posts = await store.posts(event.slug, State.APPROVED)
    assert [p.native_id for p in posts] == ["after", "future", "before"]
    future = posts[1]
    assert future.created_at.year == 9999
    assert future.ordered_at is not None and future.ordered_at >= arrival - timedelta(seconds=1)
    _, snapshot = await store.snapshot(event.slug)
    assert snapshot[0].native_id == "after"


async def test_an_ancient_post_is_placed_a_year_before_the_event(store: Store) -> None:
    """A post dated 0001-01-01 sits at the event's start less a year (the fixed floor
    without a start), after nothing it shouldn't."""
    event = await _event(store, START)
    await take(store, event, dated("ancient", "0001-01-01T00:00:00Z"))
    await take(store, event, dated("old", START - timedelta(days=30)))
    posts = await store.posts(event.slug, State.APPROVED)
    assert [p.native_id for p in posts] == ["old", "ancient"]
    assert posts[1].at == START - PAST_LIMIT and posts[1].created_at.year == 1


async def test_an_edit_keeps_the_post_in_its_place(store: Store) -> None:
    """An edit arriving later does not move a future-dated post to the edit's arrival."""
    event = await _event(store, None)
    await take(store, event, dated("future", "9999-12-31T23:59:59Z"))
    placed = await store.get_post(event.slug, "test:future")
    assert placed is not None and placed.ordered_at is not None
    edited = Post.from_dict({**post_dict("future", "edited"), "created_at": "9999-12-31T23:59:59Z"})
    await apply(store, event, Edited(edited))
    after = await store.get_post(event.slug, "test:future")
    assert after is not None and after.text == "edited" and after.at == placed.at


async def test_bluesky_created_at_is_made_sane_too(store: Store) -> None:
    """Bluesky's createdAt is whatever the author's client wrote: a far-future one is
    placed at its arrival like any other source's."""
    event = await _event(store, START)
    message = create("did:plc:bea", "r1", 10_000, "hello #dates", tags=["dates"])
    message["commit"]["record"]["createdAt"] = "9999-01-01T00:00:00.000Z"
    commit = parse_commit(json.dumps(message))
    assert commit is not None
    post = commit_post(commit, Author(handle="@bea.example"))
    assert post.created_at.year == 9999
    before = datetime.now(UTC)
    await take(store, event, post)
    stored = await store.get_post(event.slug, post.id)
    assert stored is not None and before - timedelta(seconds=1) <= stored.at <= datetime.now(UTC)
