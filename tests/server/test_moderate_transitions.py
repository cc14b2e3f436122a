"""Whatever moderators do, in any order, the public log and channel carry only approved posts."""

from __future__ import annotations

import asyncio
import itertools
import json
from pathlib import Path

from redis.asyncio import Redis

from ingest.pipeline import take
from server.hub import Hub
from server.moderate import decide, undo_last
from server.render import Renderer
from server.services import Services
from tests.helpers import eventually, post_dict
from wall.accounts import Moderator
from wall.models import Event, Post
from wall.moderation import ACTIONS, State
from wall.settings import Settings
from wall.store import Store, channel

ANN = Moderator("ann@example.org", "", admin=True)
BOB = Moderator("bob@example.org", "", events=("testevent",))


def services_for(redis: Redis, store: Store, tmp_path: Path) -> Services:
    renderer = Renderer()
    return Services(
        Settings(data_dir=tmp_path), redis, store, renderer, Hub(redis, store, renderer.fragment)
    )


async def visible(store: Store, slug: str) -> set[str]:
    """Posts on the wall according to the public log replayed from the start."""
    shown: set[str] = set()
    spotlight = ""
    for change in await store.changes_since(slug, "0-0", stream="public") or []:
        assert change.type in {"show", "update", "remove", "spotlight"}
        if change.type == "spotlight":
            # Only a post on the wall goes into the spotlight...
            assert not change.post_id or change.post_id in shown, change
            spotlight = change.post_id
        elif change.type == "remove":
            # ...and it leaves the spotlight before it leaves the wall.
            assert change.post_id != spotlight, change
            shown.discard(change.post_id)
        else:
            # A post body in the public log is always one that is approved at that moment.
            assert change.state == State.APPROVED, change
            shown.add(change.post_id)
    return shown


async def test_every_order_of_three_decisions(redis: Redis, store: Store, tmp_path: Path) -> None:
    """For every sequence of three actions, the wall shows a post exactly while it is approved."""
    svc = services_for(redis, store, tmp_path)
    for n, actions in enumerate(itertools.product(sorted(ACTIONS), repeat=3)):
        # An event of its own each time keeps each public log short.
        event = Event(slug=f"seq{n}", title="T")  # pre-moderation
        await store.save_event(event)
        # A new author each time: earlier sequences trust and ban their authors.
        author = {"handle": f"@user{n}@example.org"}
        post = Post.from_dict(post_dict(f"p{n}", f"post number {n}", author=author))
        await take(store, event, post)
        assert post.id not in await visible(store, event.slug)
        for action in actions:
            await decide(svc, event.slug, ANN, post.id, action, "")
            state = await store.get_state(event.slug, post.id)
            on_wall = post.id in await visible(store, event.slug)
            assert on_wall == (state == State.APPROVED), (actions, action, state)
        await undo_last(svc, event.slug, ANN)
        state = await store.get_state(event.slug, post.id)
        assert (post.id in await visible(store, event.slug)) == (state == State.APPROVED)


async def test_reject_racing_approve(redis: Redis, store: Store, tmp_path: Path) -> None:
    """Approve and reject sent at once: exactly one applies; the live channel agrees with the log."""
    svc = services_for(redis, store, tmp_path)
    event = Event(slug="testevent", title="T")
    await store.save_event(event)
    pubsub = redis.pubsub()
    await pubsub.subscribe(channel(event.slug, "public"))

    async def confirmed() -> bool:
        message = await pubsub.get_message(timeout=0.1)
        return message is not None and message["type"] == "subscribe"

    await eventually(confirmed, message="subscribed")
    outcomes = []
    for n in range(20):
        post = Post.from_dict(post_dict(f"r{n}"))
        await take(store, event, post)
        first, second = (ANN, BOB) if n % 2 else (BOB, ANN)
        results = await asyncio.gather(
            decide(svc, event.slug, first, post.id, "approve", "pending"),
            decide(svc, event.slug, second, post.id, "reject", "pending"),
        )
        assert sorted(r.ok for r in results) == [False, True]
        loser = next(r for r in results if not r.ok)
        assert loser.status == 409 and "Already" in loser.message
        outcomes.append((post.id, await store.get_state(event.slug, post.id)))
    approved = {pid for pid, state in outcomes if state == State.APPROVED}
    assert await visible(store, event.slug) == approved
    live: set[str] = set()

    async def drained() -> bool:
        message = await pubsub.get_message(timeout=0.1)
        if message and message["type"] == "message":
            data = json.loads(message["data"])
            assert data["state"] == "approved" and data["type"] == "show"
            live.add(data["post_id"])
        return live == approved

    await eventually(drained, message="every approved post on the live channel")
    await pubsub.aclose()


async def test_hide_after_pin_removes_from_wall(redis: Redis, store: Store, tmp_path: Path) -> None:
    """A pinned post that is hidden leaves the wall and is unpinned."""
    svc = services_for(redis, store, tmp_path)
    event = Event(slug="testevent", title="T")
    await store.save_event(event)
    post = Post.from_dict(post_dict("pinned"))
    await take(store, event, post)
    assert (await decide(svc, event.slug, ANN, post.id, "pin", "pending")).ok
    assert post.id in await visible(store, event.slug)
    assert (await decide(svc, event.slug, BOB, post.id, "hide", "approved")).ok
    assert post.id not in await visible(store, event.slug)
    from wall.mod_store import ModerationStore

    assert post.id not in await ModerationStore(redis).pinned(event.slug)
    logged = await redis.xrange(f"ew:{{{event.slug}}}:log:public")
    assert [(f["type"], f["post_id"], f["post"]) for _, f in logged] == [
        ("show", post.id, ""),
        ("spotlight", post.id, ""),
        ("spotlight", "", ""),
        ("remove", post.id, ""),
    ]
    # Replayed now, nothing shows the hidden post: its show is left out, its spotlight cleared.
    public = await store.changes_since(event.slug, "0-0", stream="public")
    assert public is not None
    assert [(c.type, c.post_id, c.post) for c in public] == [
        ("spotlight", "", None),
        ("spotlight", "", None),
        ("remove", post.id, None),
    ]
