"""Ordering and cursor paging: newest first, total, and exact while posts arrive."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import post_dict
from wall.models import Post
from wall.ordering import (
    FUTURE_SKEW,
    PAST_LIMIT,
    TIME_FLOOR,
    Cursor,
    newest_first,
    next_cursor,
    page_before,
    sane_time,
)

BASE = datetime(2026, 5, 1, 19, 0, tzinfo=UTC)


def at(native_id: str, second: int) -> Post:
    return Post.from_dict(
        post_dict(native_id, created_at=(BASE + timedelta(seconds=second)).isoformat())
    )


def test_cursor_round_trips_and_rejects_garbage() -> None:
    """An encoded cursor decodes to itself; malformed ones decode to None."""
    cursor = Cursor(1_700_000_000_000, "mastodon:1.2:3")
    assert Cursor.decode(cursor.encode()) == cursor
    for bad in ["", "abc", "12", "12.", ".x", "-1.x", "1e3.x", "9" * 400 + ".x"]:
        assert Cursor.decode(bad) is None


def test_page_before_breaks_ties_by_id() -> None:
    """Posts at the same millisecond page by id, so none is lost at a page boundary."""
    posts = [at(n, 0) for n in "abcd"]
    first = page_before(posts, None, 2)
    assert [p.native_id for p in first] == ["d", "c"]
    cursor = next_cursor(first, 2)
    assert cursor is not None
    assert [p.native_id for p in page_before(posts, cursor, 2)] == ["b", "a"]


# A feed of (native id, second) arrivals, some sharing a second; and after each page
# is read, how many of the next arrivals land before the reader asks for the next one.
arrivals = st.lists(
    st.tuples(st.text("abcdefgh", min_size=1, max_size=3), st.integers(0, 40)),
    max_size=60,
    unique_by=lambda t: t[0],
)


@given(arrivals, st.integers(1, 40), st.integers(1, 7), st.lists(st.integers(0, 5)))
def test_paging_while_posts_arrive_never_skips_or_repeats(
    feed: list[tuple[str, int]], initial: int, limit: int, bursts: list[int]
) -> None:
    """Paging back from the first page while posts keep arriving (at any time, even
    older than the cursor) returns each post that existed at first render exactly once."""
    posts = [at(n, s) for n, s in feed[:initial]]
    pending = [at(n, s) for n, s in feed[initial:]]
    first = page_before(posts, None, limit)
    seen = [p.id for p in first]
    cursor = next_cursor(first, limit)
    step = 0
    while cursor is not None:
        burst = bursts[step % len(bursts)] if bursts else 0
        posts += pending[:burst]
        pending = pending[burst:]
        step += 1
        page = page_before(posts, cursor, limit)
        assert all(Cursor.of(p) < cursor for p in page)
        seen += [p.id for p in page]
        cursor = next_cursor(page, limit)
    assert len(seen) == len(set(seen)), "a post was shown twice"
    initial_ids = {p.id for p in posts[:initial]}
    assert initial_ids <= set(seen), "a post that was there from the start was skipped"
    assert [p.id for p in newest_first(p for p in posts if p.id in set(seen))] == seen


def test_sane_time_places_future_and_ancient_posts() -> None:
    """A post from the future sits at its arrival, one from long before its event at a year
    before the start (or the fixed floor), others where they say; clock skew is believed."""
    now = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
    start = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
    far_future = datetime(9999, 12, 31, 23, 59, tzinfo=UTC)
    ancient = datetime(1, 1, 1, tzinfo=UTC)
    assert sane_time(far_future, now=now, starts_at=start) == now
    assert sane_time(now + timedelta(hours=1), now=now, starts_at=None) == now
    skewed = now + FUTURE_SKEW - timedelta(seconds=1)
    assert sane_time(skewed, now=now, starts_at=start) == skewed
    assert sane_time(ancient, now=now, starts_at=start) == start - PAST_LIMIT
    assert sane_time(ancient, now=now, starts_at=None) == TIME_FLOOR
    usual = now - timedelta(days=2)
    assert sane_time(usual, now=now, starts_at=start) == usual
    # An event years ahead: an older post is placed at the latest now, never in the future.
    assert sane_time(usual, now=now, starts_at=now + timedelta(days=900)) == now
    # A start the calendar can't go a year before is no reason to fail.
    odd_start = datetime(1, 6, 1, tzinfo=UTC)
    assert sane_time(ancient, now=now, starts_at=odd_start) == TIME_FLOOR


def test_a_post_keeps_its_own_time_for_display_and_sorts_by_the_sane_one() -> None:
    """`created_at` is what the source said; ordering uses `ordered_at`; both round-trip."""
    claimed = datetime(9999, 1, 1, tzinfo=UTC)
    post = Post.from_dict(post_dict("future", created_at=claimed.isoformat()))
    placed = dataclasses.replace(post, ordered_at=BASE)
    assert placed.created_at == claimed and placed.at == BASE
    assert placed.created_ms == int(BASE.timestamp() * 1000)
    assert Post.from_dict(placed.to_dict()) == placed
    assert "ordered_at" not in post.to_dict() and Post.from_dict(post.to_dict()) == post
    assert newest_first([placed, at("now", 1)])[0].native_id == "now"
