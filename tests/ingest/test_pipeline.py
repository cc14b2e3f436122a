"""Ingest applies the event's rules and records why a post is where it is."""

from __future__ import annotations

import dataclasses

from redis.asyncio import Redis

from ingest.pipeline import take
from tests.helpers import post_dict
from wall.mod_store import ModerationStore
from wall.models import Event, Post
from wall.moderation import DEFAULT_FLOOD_LIMIT, State
from wall.store import Store


def make(native_id: str, text: str = "", handle: str = "@ada@example.org") -> Post:
    data = post_dict(native_id, text)
    data["author"] = {"handle": handle}
    return Post.from_dict(data)


async def test_pre_moderated_event_holds_posts(store: Store) -> None:
    """In a pre-moderated event a post waits as pending and never reaches the public log."""
    event = Event(slug="pre", title="Pre-moderated")  # pre-moderation is the default
    await store.save_event(event)
    await take(store, event, make("1"))
    assert await store.get_state(event.slug, "test:1") == State.PENDING
    assert await store.changes_since(event.slug, "0-0", stream="public") == []
    mod = await store.changes_since(event.slug, "0-0", stream="mod")
    assert mod is not None and mod[0].actor == "rule:mode" and mod[0].reason == "pre-moderation"


async def test_rules_from_the_store_apply_at_ingest(redis: Redis, store: Store) -> None:
    """Banned, blocked, duplicate and flood rules act on real ingests, reasons recorded."""
    event = Event(slug="rules", title="Rules", moderation="post")
    await store.save_event(event)
    mod = ModerationStore(redis)
    await mod.set_author(event.slug, "@troll@example.org", "banned")
    await mod.set_rules(event.slug, blocked_words=["spoiler"], blocked_tags=[], flood_limit=2)
    await take(store, event, make("banned", "hi", handle="@troll@example.org"), moderation=mod)
    await take(store, event, make("blocked", "huge SPOILER ahead"), moderation=mod)
    await take(store, event, make("a", "first"), moderation=mod)
    await take(store, event, make("dup", "First"), moderation=mod)  # same text, same author
    await take(store, event, make("b", "second"), moderation=mod)
    await take(
        store, event, make("c", "third"), moderation=mod
    )  # a third approved post this minute
    states = {
        pid: await store.get_state(event.slug, f"test:{pid}")
        for pid in ["banned", "blocked", "a", "dup", "b", "c"]
    }
    assert states == {
        "banned": State.REJECTED,
        "blocked": State.REJECTED,
        "a": State.APPROVED,
        "dup": State.PENDING,
        "b": State.APPROVED,
        "c": State.PENDING,
    }
    reasons = await mod.reasons(event.slug, ["test:banned", "test:dup", "test:c"])
    assert reasons["test:banned"] == "banned author"
    assert reasons["test:dup"].startswith("duplicate")
    assert reasons["test:c"].startswith("flood")
    audit = await mod.audit(event.slug)
    assert {e.actor for e in audit} == {
        "rule:banned",
        "rule:blocked",
        "rule:duplicate",
        "rule:flood",
    }


async def test_mode_switch_applies_to_next_post(store: Store) -> None:
    """A mode changed in the store applies to the next post, even with a stale Event in hand."""
    event = Event(slug="switch", title="Switch", moderation="pre")
    await store.save_event(event)
    await take(store, event, make("1"))
    assert await store.get_state(event.slug, "test:1") == State.PENDING
    await store.save_event(dataclasses.replace(event, moderation="post"))
    await take(store, event, make("2"))  # `event` still says pre
    assert await store.get_state(event.slug, "test:2") == State.APPROVED


async def test_an_archive_skips_the_burst_holds_but_not_bans(redis: Redis, store: Store) -> None:
    """A replayed archive arrives all at once: no flood or duplicate hold; bans still apply."""
    event = Event(slug="archive", title="Archive", moderation="post")
    await store.save_event(event)
    mod = ModerationStore(redis)
    await mod.set_author(event.slug, "@troll@example.org", "banned")
    for i in range(8):  # past the default flood limit, and two of them the same text
        await take(store, event, make(f"a{i}", f"post {min(i, 6)}"), archive=True)
    await take(store, event, make("t", "hi", handle="@troll@example.org"), archive=True)
    for i in range(8):
        await take(store, event, make(f"live{i}", f"live {i}", handle="@bob@example.org"))
    assert await store.count(event.slug, State.APPROVED) == 8 + DEFAULT_FLOOD_LIMIT
    assert await store.get_state(event.slug, "test:t") == State.REJECTED
    assert await store.get_state(event.slug, "test:a7") == State.APPROVED
