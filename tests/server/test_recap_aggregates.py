"""The recap read from the aggregates says what counting every approved post says."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.helpers import post_dict
from usecases.recap import Recap, build_recap, load_recap
from wall import details
from wall.models import Event, Post
from wall.moderation import State
from wall.store import Store

PHOTO = {"url": "/media/p/aa/one.jpg", "width": 4, "height": 3}


def _view(r: Recap) -> object:
    """The parts a reader sees, comparable across both ways of building them."""
    return (
        r.totals,
        [(c.id, c.timeline) for c in r.charts],
        [(p.author.handle, p.posts, p.first_at) for p in r.most_active],
        [(p.author.handle, p.first_at) for p in r.first_timers],
        [(p.id, ph.url) for p, ph in r.photos],
    )


@pytest.mark.parametrize(
    ("days", "zone"), [(1, "Europe/Paris"), (9, "Asia/Kolkata"), (40, "America/St_Johns")]
)
async def test_aggregated_recap_equals_the_counted_one(
    store: Store, event: Event, days: int, zone: str
) -> None:
    """Totals, hourly or daily charts (with the night's close-up), most active, first-timers
    and photos agree with the recap computed from every post, in any zone and span."""
    start = datetime(2026, 10, 24, 18, 7, tzinfo=UTC) + timedelta(days=days)
    event = details.apply(
        event,
        {"starts_at": start.isoformat(), "timezone": zone, "ends_at": ""},
    )
    await store.save_event(event)
    rng = random.Random(days)
    states = [State.APPROVED] * 6 + [State.PENDING, State.HIDDEN, State.REJECTED]
    for i in range(300):
        when = start - timedelta(minutes=rng.randrange(0, days * 24 * 60 + 600))
        handle = rng.choice(["Ann", "ann", "@ANN", "bob", "cyd", "dan", "eve", f"u{i % 40}"])
        post = Post.from_dict(
            post_dict(
                str(i),
                created_at=when.isoformat(),
                author={"handle": handle},
                photos=[PHOTO] * rng.choice([0, 0, 0, 1, 2]),
                sensitive=rng.random() < 0.2,
            )
        )
        await store.ingest(event.slug, post, rng.choice(states))
    for i in rng.sample(range(300), 40):
        await store.set_state(event.slug, f"test:{i}", rng.choice(list(State)))
    counted = build_recap(event, await store.all_posts(event.slug))
    aggregated = await load_recap(store, event, photo_limit=10_000)
    assert _view(aggregated) == _view(counted)


async def test_wall_stats_count_every_approved_post(
    client: httpx.AsyncClient, store: Store, event: Event
) -> None:
    """The wall's stats line: approved posts, people by case-folded handle, photos; pending
    posts and their authors don't count."""
    for native_id, handle, photos, state in [
        ("1", "@ada", 2, State.APPROVED),
        ("2", "@ADA", 0, State.APPROVED),
        ("3", "@bob", 1, State.APPROVED),
        ("4", "@cy", 3, State.PENDING),
    ]:
        post = post_dict(native_id, author={"handle": handle}, photos=[PHOTO] * photos)
        await store.ingest(event.slug, Post.from_dict(post), state)
    html = (await client.get(f"/e/{event.slug}/wall")).text
    assert 'data-posts="3" data-people="2" data-photos="3"' in html
