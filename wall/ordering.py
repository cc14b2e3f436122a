"""How posts are ordered on screens: newest first, ties broken by id so order is total."""

from __future__ import annotations

from collections.abc import Iterable

from wall.models import Post


def newest_first(posts: Iterable[Post]) -> list[Post]:
    """Posts sorted newest first; equal times fall back to the id, so the order is stable."""
    return sorted(posts, key=lambda p: (p.created_ms, p.id), reverse=True)
