"""A replayed archive taken a batch at a time ends exactly as taken one post at a time."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from PIL import Image
from redis.asyncio import Redis

from ingest.fetch import safe_client
from ingest.media import LocalStorage, PhotoPipeline
from ingest.pipeline import take, take_archive
from ingest.turns import InOrder
from tests.helpers import deadline, eventually, post_dict
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


async def test_batches_side_by_side_store_in_the_order_they_were_read(
    store: Store, tmp_path: Path
) -> None:
    """An earlier batch still fetching a photo stores first all the same: the change log (and
    so every wall, which puts each post it is sent on top) follows the archive's order."""
    event = Event(slug="order", title="Order", moderation="post")
    await store.save_event(event)
    release = asyncio.Event()
    image = io.BytesIO()
    Image.new("RGB", (40, 30), "white").save(image, "PNG")
    png = image.getvalue()

    async def slow_photo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        await release.wait()
        head = f"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {len(png)}\r\n"
        writer.write(head.encode() + b"Connection: close\r\n\r\n" + png)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(slow_photo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    photo = {"url": f"http://127.0.0.1:{port}/room.png", "width": 40, "height": 30}
    first = [Post.from_dict(post_dict("a", "the room", photos=[photo]))]
    first += [Post.from_dict(post_dict(f"a{i}", f"early {i}")) for i in range(3)]
    second = [Post.from_dict(post_dict(f"b{i}", f"later {i}")) for i in range(3)]
    order = InOrder()
    async with server, safe_client(allow_loopback=True) as client:
        photos = PhotoPipeline(LocalStorage(tmp_path / "media"), client, timeout=deadline(10))
        early = asyncio.create_task(take_archive(store, event, first, photos, turn=order.next()))
        later = asyncio.create_task(take_archive(store, event, second, photos, turn=order.next()))
        await eventually(lambda: later.done() or order.waiting > 0, message="the later batch")
        release.set()
        await asyncio.gather(early, later)
    changes = await store.changes_since("order", "0-0")
    assert changes is not None
    assert [c.post_id for c in changes] == [p.id for p in first + second]
    stored = await store.get_post("order", first[0].id)
    assert stored is not None and stored.photos[0].url.startswith("/media/")
