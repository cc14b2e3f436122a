"""The Redis store: posts, their moderation states, and each event's change logs.

Every change is one Lua script: it writes the post, moves it between the state indexes,
appends to the event's capped change-log streams and PUBLISHes the same entry, so a
reader of the log and a subscriber of the channel can never disagree.

Two logs per event: `mod` sees every change; `public` sees only what the wall may show
(a post becoming visible, changing while visible, or leaving). A pending or rejected
post is never written to `public`, so no replay or live push can leak it. The public log
holds post ids, never bodies: a replay renders each post as it is now, and only while it is
visible, so what moderators took down or authors deleted can't be read back from it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from wall import aggregates, store_scripts
from wall.changes import CHANNEL_PREFIX, Change, Stream, channel, stream_id
from wall.keys import as_text, event_key
from wall.models import Event, Post
from wall.moderation import PUBLIC_STATES, State
from wall.redis_pool import is_cluster, publish_command, wait_for_replica
from wall.store_scripts import Outcome as Outcome  # re-exported: callers import it from here
from wall.store_scripts import outcome_of

log = logging.getLogger(__name__)

BATCH = 500
"""Posts read in one HMGET when reading them all."""
# Public changes that show a post: a replay reads that post as it is now.
_BODY_TYPES = frozenset({"show", "update", "spotlight"})


class Store:
    """Reads and changes posts of events in Redis; every write is one atomic script."""

    EVENTS = "ew:events"

    def __init__(self, redis: Redis, *, log_maxlen: int = 10_000, replica_wait_ms: int = 0) -> None:
        self.redis = redis
        self.log_maxlen = log_maxlen
        self.cluster = is_cluster(redis)
        self.replica_wait_ms = replica_wait_ms if self.cluster else 0
        self.publish = publish_command(redis)
        self._apply = redis.register_script(store_scripts.APPLY)
        self._snapshot = redis.register_script(store_scripts.SNAPSHOT)
        self._since = redis.register_script(store_scripts.SINCE)
        self._ingest = redis.register_script(store_scripts.INGEST)
        self.aggregates = aggregates.Aggregates(redis)

    # -- events -----------------------------------------------------------------------
    async def save_event(self, event: Event) -> None:
        """Create or replace an event."""
        await self.redis.hset(self.EVENTS, event.slug, json.dumps(event.to_dict()))

    async def get_event(self, slug: str) -> Event | None:
        """The event with this slug, or None."""
        raw = await self.redis.hget(self.EVENTS, slug)
        return Event.from_dict(json.loads(raw)) if raw else None

    async def list_events(self) -> list[Event]:
        """Every event, by slug."""
        raw = await self.redis.hgetall(self.EVENTS)
        return sorted((Event.from_dict(json.loads(v)) for v in raw.values()), key=lambda e: e.slug)

    # -- source cursors -----------------------------------------------------------------
    async def get_cursor(self, source: str) -> str | None:
        """Where a source left off, so a restarted worker resumes without gap or duplicate."""
        raw = await self.redis.hget("ew:cursors", source)
        return as_text(raw) if raw is not None else None

    async def set_cursor(self, source: str, cursor: str) -> None:
        """Record where a source has got to."""
        await self.redis.hset("ew:cursors", source, cursor)

    # -- changes ----------------------------------------------------------------------
    async def _run(
        self,
        slug: str,
        op: str,
        post_id: str,
        *,
        post: Post | None = None,
        state: str = "",
        score: int = 0,
        actor: str = "",
        reason: str = "",
        expected: str = "",
        facts: str = "",
        pipe: Any = None,
    ) -> Outcome:
        keys = _post_keys(slug)
        args: list[str | int] = [
            op,
            post_id,
            json.dumps(post.to_dict(), sort_keys=True) if post else "",
            state,
            score,
            self.log_maxlen,
            CHANNEL_PREFIX,
            slug,
            actor,
            reason,
            expected,
            ",".join(PUBLIC_STATES),
            facts or (aggregates.facts(post) if post else ""),
            self.publish,
        ]
        if pipe is not None:  # queued on a pipeline: its execute() gives the reply
            await self._apply(keys=keys, args=args, client=pipe)
            return Outcome(changed=False, previous="")
        return outcome_of(await self._apply(keys=keys, args=args))

    async def ingest_many(
        self, slug: str, items: Sequence[tuple[Post, State, str, str]]
    ) -> list[Outcome]:
        """Store new posts, each (post, state, actor, reason) as `ingest` does: a chunk of
        them per script call, the calls sent in one pipeline (one round trip)."""
        if not items:
            return []
        keys = _post_keys(slug)
        head: list[str | int] = [
            self.log_maxlen,
            channel(slug, "public"),
            channel(slug, "mod"),
            slug,
            ",".join(PUBLIC_STATES),
            self.publish,
        ]
        calls = []
        for start in range(0, len(items), store_scripts.INGEST_CHUNK):
            args = list(head)
            for post, state, actor, reason in items[start : start + store_scripts.INGEST_CHUNK]:
                body = json.dumps(post.to_dict(), sort_keys=True)
                args += [post.id, body, state, post.created_ms, actor, reason]
                args.append(aggregates.facts(post))
            calls.append(args)
        if len(calls) == 1 or self.cluster:
            # No pipeline for one call (it would first ask whether the script is loaded), nor
            # on a cluster (redis-py refuses scripts in a cluster pipeline).
            replies = [await self._ingest(keys=keys, args=args) for args in calls]
        else:
            async with self.redis.pipeline(transaction=False) as pipe:
                for args in calls:
                    await self._ingest(keys=keys, args=args, client=pipe)
                replies = await pipe.execute()
        return store_scripts.ingested(replies)

    async def states(self, slug: str, post_ids: Sequence[str]) -> list[State | None]:
        """The moderation state of each of these posts (None for one not stored)."""
        if not post_ids:
            return []
        raw = await self.redis.hmget(event_key(slug, "state"), list(post_ids))
        return [State(as_text(r)) if r else None for r in raw]

    async def ingest(
        self, slug: str, post: Post, state: State, *, actor: str = "", reason: str = ""
    ) -> Outcome:
        """Store a new post in `state`; ingesting the same post id again changes nothing."""
        (outcome,) = await self.ingest_many(slug, [(post, state, actor, reason)])
        return outcome

    async def set_state(
        self,
        slug: str,
        post_id: str,
        state: State,
        *,
        expected: State | None = None,
        actor: str = "",
        reason: str = "",
    ) -> Outcome:
        """Move a post to `state`; with `expected`, only if it is still in that state."""
        post = await self.get_post(slug, post_id)
        return await self._run(
            slug,
            "state",
            post_id,
            state=state,
            score=post.created_ms if post else 0,
            actor=actor,
            reason=reason,
            expected=expected or "",
            facts=aggregates.facts(post) if post else "",
        )

    async def update(self, slug: str, post: Post) -> Outcome:
        """Replace a stored post's content (an edit at the source); its state is kept."""
        return await self._run(slug, "update", post.id, post=post)

    async def delete(self, slug: str, post_id: str, *, reason: str = "") -> Outcome:
        """Remove a post entirely (deleted at its source)."""
        return await self._run(slug, "delete", post_id, reason=reason)

    async def replicated(self, slug: str) -> bool:
        """On a Redis Cluster, wait (up to `replica_wait_ms`) until a replica holds every write
        made to this event so far, so a failover can't lose it; False if none did in time."""
        key, wait = event_key(slug, "replicated"), self.replica_wait_ms
        return not wait or await wait_for_replica(self.redis, key, wait) >= 1

    # -- reads ------------------------------------------------------------------------
    async def get_post(self, slug: str, post_id: str) -> Post | None:
        """One post, or None."""
        raw = await self.redis.hget(event_key(slug, "posts"), post_id)
        return Post.from_dict(json.loads(raw)) if raw else None

    async def get_state(self, slug: str, post_id: str) -> State | None:
        """A post's moderation state, or None if it is unknown."""
        raw = await self.redis.hget(event_key(slug, "state"), post_id)
        return State(as_text(raw)) if raw else None

    async def count(self, slug: str, state: State) -> int:
        """How many posts are in a state."""
        return int(await self.redis.zcard(event_key(slug, f"idx:{state.value}")))

    async def counts(self, slugs: Sequence[str]) -> dict[str, dict[State, int]]:
        """Posts in every state of these events; one event's are read in one transaction,
        so they add up (several events' keys live in different cluster slots: no MULTI)."""
        async with self.redis.pipeline(transaction=len(slugs) == 1) as pipe:
            for slug in slugs:
                for state in State:
                    pipe.zcard(event_key(slug, f"idx:{state.value}"))
            sizes = iter(await pipe.execute())
        return {slug: {state: int(next(sizes)) for state in State} for slug in slugs}

    async def posts(self, slug: str, state: State, *, limit: int = 50) -> list[Post]:
        """The newest posts in a state, newest first."""
        ids = await self.redis.zrevrange(event_key(slug, f"idx:{state.value}"), 0, limit - 1)
        return await self._load(slug, ids)

    async def snapshot(self, slug: str, *, limit: int = 50) -> tuple[str, list[Post]]:
        """The newest approved posts and the public log id they are current as of, atomically."""
        last_id, raw = await self._snapshot(
            keys=[
                event_key(slug, "idx:approved"),
                event_key(slug, "posts"),
                event_key(slug, "log:public"),
            ],
            args=[limit],
        )
        return as_text(last_id), _readable(raw)

    async def posts_before(
        self, slug: str, score: int, post_id: str, *, state: State = State.APPROVED, limit: int = 50
    ) -> list[Post]:
        """Posts in a state strictly older than (score, post_id), newest first: one page.

        Redis orders equal scores by member bytes, as `newest_first` orders equal times by
        id; the ties on the cursor's own score are compared here, not in Lua (whose string
        comparison follows the server's locale).
        """
        key = event_key(slug, f"idx:{state.value}")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrevrangebyscore(key, score, score)
            pipe.zrevrangebyscore(key, f"({score}", "-inf", start=0, num=limit)
            ties, older = await pipe.execute()
        ids = [m for m in map(as_text, ties) if m.encode() < post_id.encode()][:limit]
        ids += [as_text(m) for m in older][: limit - len(ids)]
        return await self._load(slug, ids)

    async def posts_after(
        self,
        slug: str,
        score: float,
        post_id: str,
        *,
        state: State = State.APPROVED,
        limit: int = 50,
    ) -> list[Post]:
        """Posts in a state strictly newer than (score, post_id), oldest first: one page.

        The mirror of `posts_before`; ties on the cursor's score are compared here by bytes.
        """
        page = await self._after(slug, score, post_id, state, limit)
        return await self._load(slug, [m for _, m in page])

    async def _after(
        self, slug: str, score: float, post_id: str, state: State, limit: int
    ) -> list[tuple[float, str]]:
        # (score, id) of the next `limit` index entries after the cursor.
        key = event_key(slug, f"idx:{state.value}")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrangebyscore(key, score, score)
            pipe.zrangebyscore(key, f"({score}", "+inf", start=0, num=limit, withscores=True)
            ties, newer = await pipe.execute()
        page = [(score, m) for m in map(as_text, ties) if m.encode() > post_id.encode()][:limit]
        return page + [(float(s), as_text(m)) for m, s in newer][: limit - len(page)]

    async def iter_posts(
        self, slug: str, state: State = State.APPROVED, *, batch: int = 500
    ) -> AsyncIterator[list[Post]]:
        """Every post in a state, oldest first, a batch at a time: one page read per batch
        from a (time, id) cursor, so memory stays flat and a change meanwhile shifts nothing.
        Each batch is parsed in a thread: parsed on the event loop, a batch of posts held it
        for milliseconds, a stall of every other request of a web process."""
        score, last = float("-inf"), ""
        while page := await self._after(slug, score, last, state, batch):
            score, last = page[-1]
            raw = await self.redis.hmget(event_key(slug, "posts"), [m for _, m in page])
            yield await asyncio.to_thread(_readable, raw)

    async def post_ids(self, slug: str, state: State = State.APPROVED) -> list[str]:
        """Every post id in a state, oldest first (one read, so a consistent list)."""
        return [
            as_text(m)
            for m in await self.redis.zrange(event_key(slug, f"idx:{state.value}"), 0, -1)
        ]

    async def load(self, slug: str, ids: Sequence[str]) -> list[Post]:
        """These posts, in this order; ids no longer stored are left out."""
        return await self._load(slug, ids)

    async def all_posts(
        self,
        slug: str,
        state: State = State.APPROVED,
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> list[Post]:
        """Every post in a state, oldest first, read in batches (`progress(done, total)` after
        each) through `iter_posts`. It holds them all: exports page with `iter_posts` instead."""
        total = await self.count(slug, state)
        posts: list[Post] = []
        if progress:
            progress(0, total)
        async for batch in self.iter_posts(slug, state, batch=BATCH):
            posts += batch
            if progress:
                progress(len(posts), max(total, len(posts)))
        return posts

    async def _load(self, slug: str, ids: Sequence[Any]) -> list[Post]:
        if not ids:
            return []
        raw = await self.redis.hmget(event_key(slug, "posts"), list(ids))
        return _readable(raw)

    async def mentioned(self, urls: set[str]) -> set[str]:
        """Which of these local photo URLs (`/media/p/...`) some stored post of any event shows:
        one look-up in each event's reference counts, never a scan of its posts."""
        found: set[str] = set()
        for event in await self.list_events():
            await self.aggregates.ensure(event.slug)  # an event stored before the counts
            found |= await self.aggregates.media_used(event.slug, sorted(urls - found))
            if found == urls:
                break
        return found

    async def last_change_id(self, slug: str, stream: Stream = "public") -> str:
        """The id of the newest entry in an event's log, or '0-0' when it is empty."""
        entries = await self.redis.xrevrange(event_key(slug, f"log:{stream}"), count=1)
        return as_text(entries[0][0]) if entries else "0-0"

    async def changes_since(
        self, slug: str, since: str, *, stream: Stream = "public", limit: int = 1000
    ) -> list[Change] | None:
        """Every change after `since`, oldest first; None when the log cannot say exactly.

        None means: `since` is malformed, newer than the log, older than what trimming has
        kept, or more than `limit` changes behind. The caller then re-renders in full.
        """
        try:
            since_key = stream_id(since)
        except ValueError:
            return None
        key = event_key(slug, f"log:{stream}")
        try:
            info = await self.redis.xinfo_stream(key)
        except ResponseError:  # no such key: an empty log (a lost connection is raised)
            return [] if since_key == (0, 0) else None
        last = as_text(info.get("last-generated-id") or "0-0")
        first = as_text(info.get("recorded-first-entry-id") or "0-0")
        trimmed = int(info.get("entries-added", 0)) > int(info.get("length", 0))
        # Once trimming has begun, a resume point before the oldest kept entry may have
        # missed trimmed entries: the log can no longer say exactly what came after it.
        if since_key > stream_id(last) or (trimmed and since_key < stream_id(first)):
            return None
        entries = await self._since(keys=[key], args=[since, limit])
        if entries is None:
            return None
        changes = [
            Change.from_fields(slug, stream, as_text(xid), _pairs(fields))
            for xid, fields in entries
        ]
        return await self._as_now(slug, changes) if stream == "public" else changes

    async def _as_now(self, slug: str, changes: list[Change]) -> list[Change]:
        """Public changes with each post as it is now: a show or update of a post no longer
        visible is left out, a spotlight on one is cleared; its body is never read."""
        ids = sorted({c.post_id for c in changes if c.post_id and c.type in _BODY_TYPES})
        if not ids:
            return changes
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hmget(event_key(slug, "state"), ids)
            pipe.hmget(event_key(slug, "posts"), ids)
            states, bodies = await pipe.execute()
        now: dict[str, Post] = {}
        for post_id, state, body in zip(ids, states, bodies, strict=True):
            if state is not None and as_text(state) in PUBLIC_STATES and body:
                now.update((post_id, post) for post in _readable([body]))
        kept: list[Change] = []
        for change in changes:
            if change.type not in _BODY_TYPES or not change.post_id:
                kept.append(change)
            elif change.post_id in now:
                kept.append(replace(change, post=now[change.post_id]))
            elif change.type == "spotlight":
                kept.append(replace(change, post_id="", post=None, state=""))
        return kept


def _post_keys(slug: str) -> list[str]:
    """The keys a post's scripts take, in their KEYS order."""
    return [
        event_key(slug, "posts"),
        event_key(slug, "state"),
        *(event_key(slug, f"idx:{s.value}") for s in State),
        event_key(slug, "log:public"),
        event_key(slug, "log:mod"),
        *aggregates.keys(slug),
        event_key(slug, aggregates.BUILT),
    ]


def _readable(raw: Sequence[Any]) -> list[Post]:
    """Stored posts, skipping (and logging) any that no longer validate: one bad post, written
    by an older version or by hand, must not take a whole page down."""
    posts = []
    for item in raw:
        if not item:
            continue
        try:
            posts.append(Post.from_dict(json.loads(item)))
        except (ValueError, TypeError) as exc:  # PostError and JSONDecodeError are ValueErrors
            log.warning("skipped an unreadable stored post: %s", exc)
    return posts


def _pairs(fields: Any) -> dict[str, str]:
    """A stream entry's fields as a dict: a script returns them as a flat list."""
    if isinstance(fields, dict):
        return {as_text(k): as_text(v) for k, v in fields.items()}
    flat = [as_text(f) for f in fields or ()]
    return dict(zip(flat[::2], flat[1::2], strict=True))
