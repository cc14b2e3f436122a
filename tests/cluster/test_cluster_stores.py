"""Every store on a real Redis Cluster: no script or transaction meets keys of two slots, and
each change is published on its event's shard channel (SPUBLISH), not broadcast."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.crc import key_slot

from ingest.pipeline import take
from tests.cluster.valkey_cluster import ValkeyCluster
from tests.helpers import eventually, eventwall, post_dict, write_jsonl
from usecases import Stores
from usecases.announcements import announce
from usecases.moderation import decide, undo_last
from wall.accounts import Moderator
from wall.changes import Change, channel
from wall.keys import event_key
from wall.models import Event, Post
from wall.moderation import State
from wall.screens import Scene, ScreenStore
from wall.settings import Settings

pytestmark = pytest.mark.xdist_group("cluster")

ANN = Moderator("ann@example.org", "", admin=True)


def slugs_on_every_primary(count: int = 2) -> list[str]:
    """Event slugs whose keys fall in each third of the slots: `count` per primary."""
    found: dict[int, list[str]] = {0: [], 1: [], 2: []}
    n = 0
    while any(len(v) < count for v in found.values()):
        slug = f"ev{n}"
        third = min(2, key_slot(event_key(slug, "posts").encode()) * 3 // 16384)
        if len(found[third]) < count:
            found[third].append(slug)
        n += 1
    return [s for third in sorted(found) for s in found[third]]


async def test_every_store_works_across_slots(cluster: ValkeyCluster, cluster_redis: Redis) -> None:
    """Scripts, transactions and reads of events on all three primaries succeed (no CROSSSLOT)."""
    stores = Stores.on(cluster_redis)
    slugs = slugs_on_every_primary()
    owners = {cluster.primary_of(event_key(slug, "posts")).port for slug in slugs}
    assert len(owners) == 3, "the events are spread over every primary"
    screens = ScreenStore(cluster_redis)
    for slug in slugs:
        await stores.posts.save_event(Event(slug=slug, title=slug))  # pre-moderated
        event = await stores.posts.get_event(slug)
        assert event is not None
        posts = [Post.from_dict(post_dict(f"{slug}-{i}")) for i in range(4)]
        for post in posts:
            await take(stores.posts, event, post)  # the ingest script, rules and history
        assert await stores.posts.count(slug, State.PENDING) == 4
        # A replay's batch: scripts can't be pipelined on a cluster, each runs on its own.
        batch = [Post.from_dict(post_dict(f"{slug}-replayed-{i}")) for i in range(3)]
        taken = await stores.posts.ingest_many(slug, [(p, State.REJECTED, "", "") for p in batch])
        assert [o.changed for o in taken] == [True] * 3
        result = await decide(stores, slug, ANN, posts[0].id, "approve")
        assert result.ok, result
        assert (await decide(stores, slug, ANN, posts[1].id, "pin")).ok
        assert await stores.mod.pinned(slug) == {posts[1].id}
        assert (await decide(stores, slug, ANN, posts[2].id, "reject")).ok
        assert (await undo_last(stores, slug, ANN)).ok
        await stores.posts.update(slug, posts[0])
        await stores.posts.delete(slug, posts[3].id)
        await announce(stores, slug, ANN.email, "Coffee in the hall", 5)
        await screens.set_scene(slug, Scene(screen="main", layout="grid"))
        assert await screens.seen(slug, "main", "w" * 16, 1)
        last, shown = await stores.posts.snapshot(slug)
        assert {p.id for p in shown} == {posts[0].id, posts[1].id}
        public = await stores.posts.changes_since(slug, "0-0")
        assert public is not None and public[-1].id == last
        await stores.posts.aggregates.rebuild(slug)
        assert (await stores.posts.aggregates.counts(slug)).posts == 2
    # Reads that span events (and so slots) are split by slot, never one transaction.
    all_counts = await stores.posts.counts(slugs)
    assert all(all_counts[s][State.APPROVED] == 2 for s in slugs)
    assert await stores.posts.mentioned({"/media/p/none.jpg"}) == set()
    # Accounts: sessions and their account's list live in different slots.
    await stores.accounts.add("mod@example.org", "correct horse battery", event=slugs[0])
    session = await stores.accounts.open_session("mod@example.org")
    assert await stores.accounts.get_session(session.sid) is not None
    await stores.accounts.login_failed(["a", "b"])
    await stores.accounts.login_succeeded(["a", "b"])
    assert await stores.accounts.close_sessions("mod@example.org") == 1
    assert await stores.accounts.get_session(session.sid) is None


async def test_changes_go_out_on_the_event_shard_channel(cluster_redis: Redis) -> None:
    """A change is SPUBLISHed on its event's channel, in the slot of the event's keys."""
    stores = Stores.on(cluster_redis)
    slug = slugs_on_every_primary(1)[1]
    name = channel(slug, "public")
    assert key_slot(name.encode()) == key_slot(event_key(slug, "posts").encode())
    cluster = cluster_redis
    assert isinstance(cluster, RedisCluster)
    pubsub = cluster.pubsub()
    await pubsub.ssubscribe(name)
    try:
        await stores.posts.save_event(Event(slug=slug, title=slug, moderation="post"))
        post = Post.from_dict(post_dict("shown"))
        await stores.posts.ingest(slug, post, State.APPROVED)
        heard: list[Change] = []

        async def one() -> bool:
            item = await pubsub.get_sharded_message(ignore_subscribe_messages=True, timeout=0.1)
            if item is not None and item["type"] == "smessage":
                heard.append(Change.from_message(item["data"]))
            return bool(heard)

        await eventually(one, message="the change on the shard channel")
        assert heard[0].post_id == post.id and heard[0].type == "show"
        assert heard[0].event == slug
    finally:
        await pubsub.aclose()  # type: ignore[no-untyped-call]


async def test_decision_waits_for_a_replica(
    cluster: ValkeyCluster, cluster_redis: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """A decision is confirmed once the event's replica holds it; with the replica stopped it
    waits REDIS_REPLICA_WAIT_MS, then says no replica confirmed it (logged)."""
    stores = Stores.on(cluster_redis, Settings(redis_replica_wait_ms=300))
    slug = slugs_on_every_primary(1)[2]
    await stores.posts.save_event(Event(slug=slug, title=slug))
    posts = [Post.from_dict(post_dict(f"w{i}")) for i in range(2)]
    for post in posts:
        await stores.posts.ingest(slug, post, State.PENDING)
    assert (await decide(stores, slug, ANN, posts[0].id, "approve")).ok
    assert await stores.posts.replicated(slug)
    replica = cluster.replica_of(cluster.primary_of(event_key(slug, "posts")))
    assert replica.process is not None
    os.kill(replica.process.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        assert (await decide(stores, slug, ANN, posts[1].id, "approve")).ok
        assert time.monotonic() - started >= 0.3  # it waited for the replica...
        assert "no replica" in caplog.text  # ...and said none confirmed it
        assert not await stores.posts.replicated(slug)
    finally:
        os.kill(replica.process.pid, signal.SIGCONT)
    cluster.wait_healthy()
    # On one Redis there is nothing to wait for: the setting is ignored.
    assert Stores.on(Redis(), Settings(redis_replica_wait_ms=300)).posts.replica_wait_ms == 0


async def test_replay_command_on_a_cluster(
    cluster_redis: Redis, cluster_env: dict[str, str], tmp_path: Path
) -> None:
    """`eventwall ingest replay` takes a file into an event on the cluster, and again: nothing."""
    path = write_jsonl(tmp_path / "posts.jsonl", [post_dict(f"r{i}") for i in range(5)])
    first = eventwall("ingest", "replay", str(path), "--event", "replayed", env=cluster_env)
    assert first.returncode == 0, first.stderr
    assert "5 new" in first.stdout
    again = eventwall("ingest", "replay", str(path), "--event", "replayed", env=cluster_env)
    assert again.returncode == 0 and "0 new, 5 already there" in again.stdout
    assert await Stores.on(cluster_redis).posts.count("replayed", State.APPROVED) == 5
