"""The ingest buffer: held while Redis is away, bounded, written in order with cursors after."""

from __future__ import annotations

import logging

import pytest
from redis.asyncio import Redis

from ingest.buffer import IngestBuffer
from tests.helpers import post_dict
from wall.models import Event, Post
from wall.redis_server import free_port
from wall.store import Store


def post(native_id: str) -> Post:
    return Post.from_dict(post_dict(native_id))


async def test_held_while_away_then_written_in_order(
    store: Store, event: Event, caplog: pytest.LogCaptureFixture
) -> None:
    """Items and cursors wait while Redis is away; past maxlen the oldest goes, with a warning;
    when Redis answers, the items are written in order and only then the cursor."""
    away = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", decode_responses=True)
    buffer = IngestBuffer(Store(away), maxlen=3)
    try:
        for n in range(4):
            assert not await buffer.take(event, post(f"b{n}"), None)
            await buffer.set_cursor("test-source", str(n))
        assert len(buffer) == 3 and buffer.dropped == 1
        assert "dropped the oldest" in caplog.text
        assert await store.get_cursor("test-source") is None

        buffer.store = store  # Redis is back
        with caplog.at_level(logging.INFO):
            assert await buffer.flush()
        assert await store.get_post(event.slug, "test:b0") is None  # the dropped one
        changes = await store.changes_since(event.slug, "0-0", stream="mod")
        assert changes is not None
        assert [c.post_id for c in changes] == ["test:b1", "test:b2", "test:b3"]
        assert await store.get_cursor("test-source") == "3"
        # Nothing held: the next item is written at once.
        assert await buffer.take(event, post("b4"), None)
    finally:
        await away.aclose()
