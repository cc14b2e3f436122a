"""The console's queue at any size: a tab paged by cursor, oldest or newest first, searched
by author or text, and a decision applied to many selected posts at once.

Every page reads what it shows from the state indexes (O(log n + page)), never a whole tab:
with thousands pending, "oldest first" starts at the oldest post and paging reaches all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from usecases import Result, Stores
from usecases.moderation import TABS, decide
from wall.accounts import Moderator
from wall.models import Post
from wall.moderation import State
from wall.ordering import Cursor

SEARCH_BATCH = 200
SEARCH_SCAN = 2000
"""Posts a search looks through per page; it then offers to search on from there."""


@dataclass(frozen=True, slots=True)
class QueuePage:
    """One page of a tab: its posts and their states, and the cursor to the next page."""

    posts: list[Post]
    states: dict[str, str] = field(default_factory=dict)
    next: Cursor | None = None
    scanned: int = 0


def matches(post: Post, query: str) -> bool:
    """Whether a post's author (handle or name) or text contains the query, any case."""
    needle = query.strip().casefold()
    author = post.author
    return not needle or any(
        needle in part.casefold() for part in (author.handle, author.display_name, post.text)
    )


async def _slice(
    stores: Stores, slug: str, state: State, after: Cursor | None, newest: bool, limit: int
) -> list[tuple[Post, State]]:
    store = stores.posts
    if newest:
        posts = (
            await store.posts(slug, state, limit=limit)
            if after is None
            else await store.posts_before(
                slug, after.score, after.post_id, state=state, limit=limit
            )
        )
    else:
        score, post_id = (after.score, after.post_id) if after else (float("-inf"), "")
        posts = await store.posts_after(slug, score, post_id, state=state, limit=limit)
    return [(p, state) for p in posts]


async def _merged(
    stores: Stores,
    slug: str,
    states: tuple[State, ...],
    after: Cursor | None,
    newest: bool,
    limit: int,
) -> list[tuple[Post, State]]:
    # A tab of several states (rejected and hidden): each read from the same cursor, merged.
    slices = [await _slice(stores, slug, s, after, newest, limit) for s in states]

    merged = [item for part in slices for item in part]
    # The index's own order: time, then id by bytes (as Redis orders equal scores).
    merged.sort(key=lambda item: (item[0].created_ms, item[0].id.encode()), reverse=newest)
    return merged[:limit]


async def queue_page(
    stores: Stores,
    slug: str,
    tab: str,
    *,
    newest: bool = False,
    after: Cursor | None = None,
    query: str = "",
    limit: int = 50,
) -> QueuePage:
    """One page of a tab after `after`, oldest first unless `newest`; with a query, only
    posts it matches, looking through at most SEARCH_SCAN posts before offering more."""
    states = TABS.get(tab, ())
    found: list[tuple[Post, State]] = []
    cursor, scanned = after, 0
    batch = SEARCH_BATCH if query.strip() else limit
    while states:
        page = await _merged(stores, slug, states, cursor, newest, batch)
        for post, state in page:
            scanned += 1
            cursor = Cursor.of(post)
            if matches(post, query):
                found.append((post, state))
                if len(found) >= limit:
                    return _page(found, cursor, scanned)
        if len(page) < batch:
            return _page(found, None, scanned)  # the end of the tab
        if not query.strip() or scanned >= SEARCH_SCAN:
            return _page(found, cursor, scanned)
    return QueuePage([])


def _page(found: list[tuple[Post, State]], after: Cursor | None, scanned: int) -> QueuePage:
    return QueuePage(
        posts=[p for p, _ in found],
        states={p.id: s.value for p, s in found},
        next=after,
        scanned=scanned,
    )


async def decide_many(
    stores: Stores, slug: str, moderator: Moderator, chosen: list[tuple[str, str]], action: str
) -> list[Result]:
    """Apply one action to each selected (post id, state seen) in turn, each a decision of
    its own: its own check, audit entry and undo; one refused leaves the others applied."""
    if action not in {"approve", "reject"}:
        raise ValueError(f"action: approve or reject, not {action!r}")
    return [
        await decide(stores, slug, moderator, post_id, action, expected)
        for post_id, expected in chosen
    ]
