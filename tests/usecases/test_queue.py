"""The console's queue at scale: paged by cursor to the very oldest post, searched, and
decided in bulk with one audit entry per post."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.helpers import post_dict
from usecases import Stores
from usecases.queue import decide_many, queue_page
from wall.accounts import Moderator
from wall.models import Event, Post
from wall.moderation import State
from wall.store import Store

ANN = Moderator("ann@example.org", "", admin=True)
T0 = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


async def _seed(store: Store, slug: str, n: int, state: State = State.PENDING) -> list[str]:
    ids = []
    for i in range(n):
        # Pairs of posts share a time: paging must order the ties by id too.
        at = (T0 + timedelta(minutes=i // 2)).isoformat()
        handle = "@bob@example.org" if i % 7 == 0 else "@ada@example.org"
        post = Post.from_dict(
            post_dict(
                f"{state.value}{i:03d}", f"post {i}", created_at=at, author={"handle": handle}
            )
        )
        await store.ingest(slug, post, state)
        ids.append(post.id)
    return ids


async def _all_pages(stores: Stores, slug: str, tab: str, **kw: object) -> list[list[str]]:
    pages, after = [], None
    while True:
        page = await queue_page(stores, slug, tab, after=after, limit=7, **kw)  # type: ignore[arg-type]
        pages.append([p.id for p in page.posts])
        if page.next is None:
            return pages
        after = page.next


async def test_oldest_first_really_starts_at_the_oldest_and_reaches_all(
    store: Store, stores: Stores, event: Event
) -> None:
    """Oldest first begins with the oldest pending post and paging reaches every one, once."""
    ids = await _seed(store, event.slug, 40)
    pages = await _all_pages(stores, event.slug, "pending")
    assert pages[0][0] == ids[0]
    assert [i for page in pages for i in page] == ids
    newest = await _all_pages(stores, event.slug, "pending", newest=True)
    assert [i for page in newest for i in page] == ids[::-1]


async def test_a_tab_of_two_states_pages_as_one(store: Store, stores: Stores, event: Event) -> None:
    """Rejected and hidden posts interleave by time in the rejected tab, paged as one list."""
    rejected = await _seed(store, event.slug, 9, State.REJECTED)
    hidden = await _seed(store, event.slug, 9, State.HIDDEN)
    pages = await _all_pages(stores, event.slug, "rejected")
    got = [i for page in pages for i in page]
    assert sorted(got) == sorted(rejected + hidden) and len(got) == 18
    assert got[:4] == sorted(rejected[:2] + hidden[:2])  # four posts of the same minute


async def test_search_by_author_or_text(store: Store, stores: Stores, event: Event) -> None:
    """A search keeps posts whose author or text matches, any case, across pages."""
    ids = await _seed(store, event.slug, 30)
    by_bob = [i for n, i in enumerate(ids) if n % 7 == 0]
    pages = await _all_pages(stores, event.slug, "pending", query="BOB@")
    assert [i for page in pages for i in page] == by_bob
    text = await queue_page(stores, event.slug, "pending", query="post 12")
    assert [p.id for p in text.posts] == [ids[12]]


async def test_bulk_decisions_each_audited(store: Store, stores: Stores, event: Event) -> None:
    """Approving selected posts applies each one, one audit entry each; a post moved
    meanwhile is refused without stopping the rest."""
    ids = await _seed(store, event.slug, 4)
    await store.set_state(event.slug, ids[1], State.REJECTED)
    chosen = [(i, "pending") for i in ids[:3]]
    results = await decide_many(stores, event.slug, ANN, chosen, "approve")
    assert [r.ok for r in results] == [True, False, True]
    assert [await store.get_state(event.slug, i) for i in ids] == [
        State.APPROVED,
        State.REJECTED,
        State.APPROVED,
        State.PENDING,
    ]
    audit = await stores.mod.audit(event.slug)
    assert sorted(e.post_id for e in audit if e.outcome == "applied") == [ids[0], ids[2]]
