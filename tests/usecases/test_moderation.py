"""Moderators' decisions as use-cases: first one wins, undo, and whatever moderators do,
in any order, the public log and channel carry only approved posts."""

from __future__ import annotations

import asyncio
import itertools
import json

from redis.asyncio import Redis

from ingest.pipeline import take
from tests.helpers import eventually, post_dict
from usecases import Stores
from usecases.moderation import counts, decide, show_warned_text, undo_last
from wall.accounts import Moderator
from wall.actions import ACTIONS
from wall.changes import channel
from wall.models import Event, Post
from wall.moderation import State
from wall.store import Store

ANN = Moderator("ann@example.org", "", admin=True)
BOB = Moderator("bob@example.org", "", events=("testevent",))


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


async def test_every_order_of_three_decisions(redis: Redis, store: Store, stores: Stores) -> None:
    """For every sequence of three actions, the wall shows a post exactly while it is approved."""
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
            await decide(stores, event.slug, ANN, post.id, action, "")
            state = await store.get_state(event.slug, post.id)
            on_wall = post.id in await visible(store, event.slug)
            assert on_wall == (state == State.APPROVED), (actions, action, state)
        await undo_last(stores, event.slug, ANN)
        state = await store.get_state(event.slug, post.id)
        assert (post.id in await visible(store, event.slug)) == (state == State.APPROVED)


async def test_reject_racing_approve(redis: Redis, store: Store, stores: Stores) -> None:
    """Approve and reject sent at once: exactly one applies; the live channel agrees with the log."""
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
            decide(stores, event.slug, first, post.id, "approve", "pending"),
            decide(stores, event.slug, second, post.id, "reject", "pending"),
        )
        assert sorted(r.ok for r in results) == [False, True]
        loser = next(r for r in results if not r.ok)
        assert loser.problem == "conflict" and "Already" in loser.message
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


async def test_hide_after_pin_removes_from_wall(redis: Redis, store: Store, stores: Stores) -> None:
    """A pinned post that is hidden leaves the wall and is unpinned."""
    event = Event(slug="testevent", title="T")
    await store.save_event(event)
    post = Post.from_dict(post_dict("pinned"))
    await take(store, event, post)
    assert (await decide(stores, event.slug, ANN, post.id, "pin", "pending")).ok
    assert post.id in await visible(store, event.slug)
    assert (await decide(stores, event.slug, BOB, post.id, "hide", "approved")).ok
    assert post.id not in await visible(store, event.slug)
    assert post.id not in await stores.mod.pinned(event.slug)
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


async def pending_post(store: Store, native_id: str = "1") -> Post:
    """A pending post in a saved pre-moderated event."""
    event = Event(slug="testevent", title="T")
    await store.save_event(event)
    post = Post.from_dict(post_dict(native_id))
    await take(store, event, post)
    return post


async def test_first_decision_wins_and_both_are_audited(store: Store, stores: Stores) -> None:
    """The second moderator's decision on a post already decided is refused, named and audited."""
    post = await pending_post(store)
    first = await decide(stores, "testevent", ANN, post.id, "approve", "pending")
    second = await decide(stores, "testevent", BOB, post.id, "reject", "pending")
    assert first.ok and first.state == "approved"
    assert second.problem == "conflict" and "approved by ann@example.org" in second.message
    entries = await stores.mod.audit("testevent")
    assert [(e.actor, e.outcome) for e in reversed(entries)] == [
        ("ann@example.org", "applied"),
        ("bob@example.org", "refused"),
    ]
    public = await store.changes_since("testevent", "0-0", stream="public")
    assert public is not None and [c.type for c in public] == ["show"]


async def test_unknown_post_and_state_and_action(store: Store, stores: Stores) -> None:
    """A missing post, an unknown seen state and an unknown action are each refused by name."""
    post = await pending_post(store)
    missing = await decide(stores, "testevent", ANN, "test:nope", "approve")
    assert missing.problem == "missing" and "test:nope" in missing.message
    odd = await decide(stores, "testevent", ANN, post.id, "approve", "sideways")
    assert odd.problem == "invalid" and "sideways" in odd.message
    unknown = await decide(stores, "testevent", ANN, post.id, "launch")
    assert unknown.problem == "conflict" and "launch" in unknown.message
    assert await store.get_state("testevent", post.id) == State.PENDING


async def test_undo_once(store: Store, stores: Stores) -> None:
    """Undo moves the post back to where the moderator's last decision found it, once."""
    post = await pending_post(store)
    assert (await decide(stores, "testevent", ANN, post.id, "approve", "pending")).ok
    undone = await undo_last(stores, "testevent", ANN)
    assert undone.ok and undone.state == "pending"
    assert await store.get_state("testevent", post.id) == State.PENDING
    again = await undo_last(stores, "testevent", ANN)
    assert not again.ok and again.problem == "conflict"


async def test_undo_refused_after_another_moderator(store: Store, stores: Stores) -> None:
    """Undo leaves a post alone that another moderator has moved since."""
    post = await pending_post(store)
    assert (await decide(stores, "testevent", ANN, post.id, "approve", "pending")).ok
    assert (await decide(stores, "testevent", BOB, post.id, "hide", "approved")).ok
    undone = await undo_last(stores, "testevent", ANN)
    assert undone.problem == "conflict" and undone.state == "hidden"
    assert await store.get_state("testevent", post.id) == State.HIDDEN


async def test_ban_and_trust_set_standing_and_undo_clears_it(store: Store, stores: Stores) -> None:
    """Banning rejects the post and bans the author; undo lifts the ban; trust likewise."""
    post = await pending_post(store)
    assert (await decide(stores, "testevent", ANN, post.id, "ban")).state == "rejected"
    assert "ada@example.org" in (await stores.mod.rules("testevent")).banned
    await undo_last(stores, "testevent", ANN)
    assert "ada@example.org" not in (await stores.mod.rules("testevent")).banned
    assert (await decide(stores, "testevent", ANN, post.id, "trust")).state == "approved"
    rules = await stores.mod.rules("testevent")
    assert "ada@example.org" in rules.trusted and not rules.banned


async def test_counts_per_tab(store: Store, stores: Stores) -> None:
    """The tab counts add the states each tab shows: rejected and hidden share a tab."""
    posts = [await pending_post(store, str(n)) for n in range(4)]
    await decide(stores, "testevent", ANN, posts[0].id, "approve")
    await decide(stores, "testevent", ANN, posts[1].id, "reject")
    await decide(stores, "testevent", ANN, posts[2].id, "approve")
    await decide(stores, "testevent", ANN, posts[2].id, "hide")
    assert await counts(stores, "testevent") == {"pending": 1, "approved": 1, "rejected": 2}


async def test_ban_and_hide_takes_the_authors_earlier_posts_off_the_wall(
    store: Store, stores: Stores
) -> None:
    """ "Ban and hide their posts": the author's approved posts leave the wall (hidden), their
    pending ones are rejected, other authors' stay; undo lifts the ban on the one post."""
    ada = [await pending_post(store, str(n)) for n in range(4)]
    bea = Post.from_dict(post_dict("b1", author={"handle": "@bea@example.org"}))
    await take(store, Event(slug="testevent", title="T"), bea)
    for post in (*ada[:2], bea):
        assert (await decide(stores, "testevent", ANN, post.id, "approve")).ok
    assert await visible(store, "testevent") == {ada[0].id, ada[1].id, bea.id}

    result = await decide(stores, "testevent", BOB, ada[3].id, "ban-all", "pending")
    assert result.ok and result.state == "rejected" and "(3 more)" in result.message
    assert await visible(store, "testevent") == {bea.id}
    states = [await store.get_state("testevent", p.id) for p in ada]
    assert states == [State.HIDDEN, State.HIDDEN, State.REJECTED, State.REJECTED]
    assert "ada@example.org" in (await stores.mod.rules("testevent")).banned

    undone = await undo_last(stores, "testevent", BOB)
    assert undone.ok and await store.get_state("testevent", ada[3].id) == State.PENDING
    assert "ada@example.org" not in (await stores.mod.rules("testevent")).banned
    assert await store.get_state("testevent", ada[0].id) == State.HIDDEN  # restored by hand


async def test_a_moderator_shows_a_warned_posts_text_on_the_wall(
    store: Store, stores: Stores
) -> None:
    """ "Show text on the wall" sets the post's flag (the public log carries the update);
    it is not a decision undo takes back; a post without a warning is refused."""
    event = Event(slug="testevent", title="T", moderation="post")
    await store.save_event(event)
    post = Post.from_dict(post_dict("cw", "the twist", content_warning="Spoilers"))
    await take(store, event, post)
    plain = await pending_post(store, "plain")
    assert (await decide(stores, "testevent", ANN, plain.id, "reject")).ok

    shown = await show_warned_text(stores, "testevent", BOB, post.id)
    assert shown.ok and shown.state == "approved"
    stored = await store.get_post("testevent", post.id)
    assert stored is not None and stored.warning_shown
    updates = await store.changes_since("testevent", "0-0", stream="public") or []
    assert any(c.type == "update" and c.post and c.post.warning_shown for c in updates)
    assert (await undo_last(stores, "testevent", BOB)).problem == "conflict"  # nothing to undo
    assert (await show_warned_text(stores, "testevent", BOB, post.id, shown=False)).ok
    again = await store.get_post("testevent", post.id)
    assert again is not None and not again.warning_shown
    refused_plain = await show_warned_text(stores, "testevent", BOB, plain.id)
    assert refused_plain.problem == "invalid"
