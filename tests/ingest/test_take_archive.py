"""A replayed archive taken a batch at a time ends exactly as taken one post at a time."""

from __future__ import annotations

from redis.asyncio import Redis

from ingest.pipeline import take, take_archive
from tests.helpers import post_dict
from wall.mod_store import ModerationStore, now_ms
from wall.models import Event, Post
from wall.moderation import State
from wall.store import Store


def _posts() -> list[Post]:
    def make(native_id: str, text: str, handle: str = "@ada@example.org", **extra: object) -> Post:
        return Post.from_dict(post_dict(native_id, text, author={"handle": handle}, **extra))

    return [
        make("1", "hello #ev"),
        make("2", "hello #ev"),  # the same text again: an archive holds no duplicates
        make("3", "from a troll", "@TROLL@example.org"),
        make("4", "a spoiler here"),
        make("5", "trusted", "@vip@example.org"),
        make("6", "hidden author", "@shy@example.org"),
        make("7", "", html="<script>alert(1)</script>"),
        make("1", "hello again"),  # seen before, in the same batch
        # Nothing but a link card or a quote: something to show all the same.
        Post.from_dict(
            {**post_dict("8"), "text": "", "card": {"url": "https://example.org/t", "title": "T"}}
        ),
        Post.from_dict(
            {**post_dict("9"), "text": "", "quote": {"url": "https://example.org/q", "text": "Q"}}
        ),
        *(make(f"f{i}", f"flood {i}", "@fast@example.org") for i in range(8)),
    ]


async def _setup(mod: ModerationStore, store: Store, slug: str) -> Event:
    event = Event(slug=slug, title=slug, moderation="pre")
    await store.save_event(event)
    await mod.set_author(slug, "@troll@example.org", "banned")
    await mod.set_author(slug, "@vip@example.org", "trusted")
    await mod.set_rules(slug, blocked_words=["spoiler"], blocked_tags=[], flood_limit=2)
    await mod.opt_out(slug, "@shy@example.org")
    return event


async def _ending(store: Store, mod: ModerationStore, slug: str) -> object:
    ids = sorted({p.id for p in _posts()})
    states = dict(zip(ids, await store.states(slug, ids), strict=True))
    reasons = await mod.reasons(slug, ids)
    audit = sorted((e.actor, e.post_id, e.to_state, e.reason) for e in await mod.audit(slug))
    counts = {s: await store.count(slug, s) for s in State}
    # What the duplicate and flood rules of later live posts will see of each author.
    history = {}
    for handle in ("@ada@example.org", "@fast@example.org", "@vip@example.org"):
        seen = await mod.history(slug, handle, now_ms())
        history[handle] = (sorted(fp for fp, _ in seen.recent_texts), len(seen.approved_at))
    return states, reasons, audit, counts, history


async def test_batch_and_one_at_a_time_end_the_same(redis: Redis, store: Store) -> None:
    """States, reasons, audit entries and outcomes are those of `take(..., archive=True)`."""
    mod = ModerationStore(redis)
    one = await _setup(mod, store, "one")
    many = await _setup(mod, store, "many")
    singles = [await take(store, one, p, archive=True) for p in _posts()]
    batched = await take_archive(store, many, _posts())
    assert [(o.changed, o.missing) for o in batched] == [(o.changed, o.missing) for o in singles]
    assert await _ending(store, mod, "many") == await _ending(store, mod, "one")
    assert (await store.states("many", ["test:3"]))[0] == State.REJECTED
    # A new post's outcome names the state it was stored in (the replay's summary counts it).
    new = [(p.id, o.previous) for p, o in zip(_posts(), batched, strict=True) if o.changed]
    stored = await store.states("many", [post_id for post_id, _ in new])
    assert [previous for _, previous in new] == [str(s) for s in stored]
    again = await take_archive(store, many, _posts())
    assert not any(o.changed for o in again)
