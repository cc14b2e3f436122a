"""How posts are ordered on screens: newest first, ties broken by id so order is total."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from wall.models import Post

FUTURE_SKEW = timedelta(minutes=5)
"""How far ahead of our clock a post's time may be (clocks differ) and still be believed."""
PAST_LIMIT = timedelta(days=365)
"""How long before its event's start a post may be placed."""
TIME_FLOOR = datetime(2000, 1, 1, tzinfo=UTC)
"""The earliest a post is placed when its event has no start."""


def sane_time(created_at: datetime, *, now: datetime, starts_at: datetime | None) -> datetime:
    """Where a post claiming `created_at` sits in time: a future one at its arrival (`now`),
    one from long before its event at the earliest believable moment, others as they say.

    A source's time is whatever its author's client wrote: `9999-12-31` would sit first on
    every screen forever, `0001-01-01` would stretch the recap over two thousand years.
    """
    if created_at > now + FUTURE_SKEW:
        return now
    earliest = TIME_FLOOR
    if starts_at is not None:
        try:
            earliest = starts_at - PAST_LIMIT
        except OverflowError:
            pass
    return max(created_at, min(earliest, now))


def newest_first(posts: Iterable[Post]) -> list[Post]:
    """Posts sorted newest first; equal times fall back to the id, so the order is stable."""
    return sorted(posts, key=lambda p: (p.created_ms, p.id), reverse=True)


@dataclass(frozen=True, slots=True, order=True)
class Cursor:
    """A position in the newest-first order: a post's score (creation ms) and id.

    Paging by position instead of by offset is what keeps "Load older" exact while new
    posts arrive: a new post moves every offset, but no post's (score, id) pair.
    """

    score: int
    post_id: str

    def encode(self) -> str:
        """The cursor as a URL query value: `score.post_id`."""
        return f"{self.score}.{self.post_id}"

    @classmethod
    def decode(cls, value: str) -> Cursor | None:
        """Read back an encoded cursor; None if it is malformed."""
        score, dot, post_id = value.partition(".")
        if not dot or not post_id or len(value) > 300 or not score.isdigit():
            return None
        return cls(int(score), post_id)

    @classmethod
    def of(cls, post: Post) -> Cursor:
        """The cursor just at this post: the next page starts after it."""
        return cls(post.created_ms, post.id)


def position(post: Post) -> Cursor:
    """A post's place in the total newest-first order (larger is newer)."""
    return Cursor.of(post)


def page_before(posts: Iterable[Post], cursor: Cursor | None, limit: int) -> list[Post]:
    """The `limit` newest posts strictly older than `cursor` (all posts when it is None)."""
    older = [p for p in posts if cursor is None or position(p) < cursor]
    return newest_first(older)[:limit]


def next_cursor(page: list[Post], limit: int) -> Cursor | None:
    """The cursor for the page after this one; None when this page was the last."""
    return Cursor.of(page[-1]) if page and len(page) >= limit else None
