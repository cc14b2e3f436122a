"""An event's aggregates, kept as its posts change: people, photos, first posts, photo posts.

The recap and the wall's stats read these instead of loading posts, so they cost the same at
a thousand posts as at a million. Only public (approved) posts count. The same Lua that moves
a post between states moves it in and out of the aggregates (`LUA` is spliced into the
store's apply script), so they change in the same atomic step as the post and its logs.

Per event (keys hash-tagged like the rest of the event's):

- `agg:meta` — post id -> its facts (`score|photos|gallery|author`), written at ingest and
  update, so a later approve, hide or delete moves exactly what was counted;
- `agg:byauthor` — every public post as `author\\0score\\0id` (a lexical index): read only
  when a post leaves (its author's next first post is the range's head) and by the recap;
- `agg:count` — author -> public posts, moved by one as a post enters or leaves;
- `agg:first` — author -> first public post time (ms), kept as the earlier of the stored one
  and an arriving post's; `agg:active` — author -> a rank that orders most posts first,
  then earliest first post;
- `agg:totals` — `photos`: photos on public posts; `idx:photos` — public posts with a
  photo that is not marked sensitive, by time (the recap's gallery);
- `media:refs` — local photo URL (`/media/p/...`) -> how many stored posts of the event, in
  any state, show it: a deleted post's files go when no post of any event counts them.

Posts per hour or day are counted with ZCOUNT on the approved index itself (its score is the
post time): exact in every time zone and across DST, O(log n) a bucket, with nothing to drift.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from redis.asyncio import Redis

from wall.models import Author, Post
from wall.moderation import PUBLIC_STATES, author_key
from wall.recap import Person

NAMES = (
    "agg:meta",
    "agg:totals",
    "agg:byauthor",
    "agg:first",
    "agg:active",
    "idx:photos",
    "media:refs",
    "agg:count",
)
"""The aggregate keys, in the order the scripts take them (after the store's own keys)."""
BUILT = "agg:built"
REBUILDING = "agg:rebuilding"
BATCH = 500
RANK_SCALE = 10_000_000_000
"""A rank is count * RANK_SCALE plus the seconds before 2286 of the first post."""

# Helpers spliced into a script that has set `A` to a table of the aggregate keys.
LUA = r"""
local function agg_parse(facts)
  local score, photos, gallery, author = string.match(facts, '^(%d+)|(%d+)|(%d)|(.*)$')
  if not score then return nil end
  return {score = score, photos = tonumber(photos), gallery = gallery == '1', author = author}
end

-- An author's rank: most posts first, then the earliest first post.
local function agg_rank(A, author, count, first)
  redis.call('ZADD', A.active,
    string.format('%.0f', count * 1e10 + (9999999999 - math.floor(first / 1000))), author)
end

-- An author's count moved by `delta` (their lexical entry already added or removed). Counted
-- in `agg:count` so an arrival never reads the index back; an author counted before that
-- hash existed is counted once from the index, then kept.
local function agg_count(A, author, delta)
  if redis.call('HEXISTS', A.count, author) == 1 then
    local count = redis.call('HINCRBY', A.count, author, delta)
    if count <= 0 then redis.call('HDEL', A.count, author) end
    return count
  end
  local count = redis.call('ZLEXCOUNT', A.byauthor, '[' .. author .. '\0', '(' .. author .. '\1')
  if count > 0 then redis.call('HSET', A.count, author, count) end
  return count
end

-- A post of `author` at `score` became public: one more post, and an earlier first post
-- replaces the stored one. Nothing is read back from the lexical index.
local function agg_person_enter(A, author, score)
  local at = tonumber(score)
  local first = tonumber(redis.call('ZSCORE', A.first, author))
  local count = 1
  if not first then
    -- No public post of theirs yet (`agg:first` holds exactly the authors who have one).
    redis.call('HSET', A.count, author, 1)
  else
    count = agg_count(A, author, 1)
  end
  if not first or at < first then
    first = at
    redis.call('ZADD', A.first, first, author)
  end
  agg_rank(A, author, count, first)
end

-- A post of `author` at `score` left the public set: one post fewer; if it was their first,
-- the next first post is the head of their range in the lexical index.
local function agg_person_leave(A, author, score)
  local count = agg_count(A, author, -1)
  local first = tonumber(redis.call('ZSCORE', A.first, author))
  if count > 0 and (not first or tonumber(score) <= first) then
    local lo, hi = '[' .. author .. '\0', '(' .. author .. '\1'
    local head = redis.call('ZRANGEBYLEX', A.byauthor, lo, hi, 'LIMIT', 0, 1)[1]
    if head then
      first = tonumber(string.sub(head, #author + 2, #author + 17))
      redis.call('ZADD', A.first, first, author)
    else
      count = 0  -- a count the index does not back (hand-edited keys): the index wins
    end
  end
  if count <= 0 then
    redis.call('HDEL', A.count, author)
    redis.call('ZREM', A.first, author)
    redis.call('ZREM', A.active, author)
    return
  end
  agg_rank(A, author, count, first)
end

-- Idempotent both ways (keyed on the post's lexical entry), so a rebuild racing live
-- changes never counts a post twice.
local function agg_enter(A, id, facts)
  local f = agg_parse(facts)
  if not f then return end
  if redis.call('ZADD', A.byauthor, 0, f.author .. '\0' .. f.score .. '\0' .. id) == 0 then
    return
  end
  redis.call('HINCRBY', A.totals, 'photos', f.photos)
  if f.gallery then redis.call('ZADD', A.photos, tonumber(f.score), id) end
  agg_person_enter(A, f.author, f.score)
end

local function agg_leave(A, id, facts)
  local f = agg_parse(facts)
  if not f then return end
  if redis.call('ZREM', A.byauthor, f.author .. '\0' .. f.score .. '\0' .. id) == 0 then
    return
  end
  redis.call('HINCRBY', A.totals, 'photos', -f.photos)
  redis.call('ZREM', A.photos, id)
  agg_person_leave(A, f.author, f.score)
end

-- A stored post's local photo files counted up or down (every state counts: a hidden post
-- can be approved again and needs its files).
local function agg_media(A, body, delta)
  if not body or not string.find(body, '/media/p/', 1, true) then return end
  local ok, data = pcall(cjson.decode, body)
  if not ok or type(data) ~= 'table' or type(data.photos) ~= 'table' then return end
  for _, photo in ipairs(data.photos) do
    if type(photo) == 'table' then
      for _, url in ipairs({photo.url or '', photo.thumb_url or ''}) do
        if type(url) == 'string' and string.sub(url, 1, 9) == '/media/p/' then
          if redis.call('HINCRBY', A.media, url, delta) <= 0 then
            redis.call('HDEL', A.media, url)
          end
        end
      end
    end
  end
end

-- A post's facts stored with it and its files counted: a post is counted iff it has facts.
local function agg_store(A, id, facts, body)
  if redis.call('HSETNX', A.meta, id, facts) == 1 then agg_media(A, body, 1) end
end

-- The facts counted for a post: those stored with it, else the caller's (a post stored
-- before aggregates existed), which are then stored.
local function agg_facts(A, id, given)
  local stored = redis.call('HGET', A.meta, id)
  if stored then return stored end
  if given ~= '' then agg_store(A, id, given, redis.call('HGET', A.posts, id)) end
  return given
end

-- A post about to be deleted: its facts and its files' counts go.
local function agg_forget(A, id)
  if redis.call('HDEL', A.meta, id) == 1 then
    agg_media(A, redis.call('HGET', A.posts, id), -1)
  end
end

-- A post moved between states: out of or into the public aggregates.
local function agg_move(A, id, was_public, now_public, given)
  local facts = agg_facts(A, id, given)
  if was_public and not now_public then agg_leave(A, id, facts) end
  if now_public and not was_public then agg_enter(A, id, facts) end
end

-- A post's content about to be replaced by `body`: counted again with its new facts.
local function agg_replace(A, id, is_public, given, body)
  local old = redis.call('HGET', A.meta, id)
  if not old then
    if given ~= '' then agg_store(A, id, given, body) end
    return
  end
  agg_media(A, redis.call('HGET', A.posts, id), -1)
  agg_media(A, body, 1)
  if given == '' then return end
  redis.call('HSET', A.meta, id, given)
  if is_public and old ~= given then
    agg_leave(A, id, old)
    agg_enter(A, id, given)
  end
end
"""

# KEYS: state, posts, then NAMES   ARGV: public states (comma-separated), then id, facts pairs
_REFILL = (
    LUA
    + r"""
local A = {posts = KEYS[2], meta = KEYS[3], totals = KEYS[4], byauthor = KEYS[5],
           first = KEYS[6], active = KEYS[7], photos = KEYS[8], media = KEYS[9],
           count = KEYS[10]}
local public = {}
for s in string.gmatch(ARGV[1], '[^,]+') do public[s] = true end
for i = 2, #ARGV, 2 do
  local id = ARGV[i]
  local state = redis.call('HGET', KEYS[1], id)
  if state then
    agg_store(A, id, ARGV[i + 1], redis.call('HGET', A.posts, id))
    if public[state] then agg_enter(A, id, redis.call('HGET', A.meta, id)) end
  end
end
return 0
"""
)


def key(slug: str, name: str) -> str:
    """The Redis key of one of an event's structures (same hash tag as the store's keys)."""
    return f"ew:{{{slug}}}:{name}"


def keys(slug: str) -> list[str]:
    """The event's aggregate keys, in NAMES order."""
    return [key(slug, name) for name in NAMES]


def facts(post: Post) -> str:
    """What the aggregates count of a post: time, photos, whether the gallery shows it, author."""
    score = max(post.created_ms, 0)
    gallery = 1 if post.photos and not post.sensitive else 0
    return f"{score:016d}|{len(post.photos)}|{gallery}|{author_key(post.author.handle)}"


@dataclass(frozen=True, slots=True)
class Counts:
    """The event's totals over public posts."""

    posts: int
    people: int
    photos: int
    first_ms: int | None
    last_ms: int | None


def _author(body: str) -> Author:
    # Only the author is needed: read it without validating the whole post.
    data = json.loads(body).get("author") or {}
    fields = ("handle", "display_name", "avatar_url", "profile_url")
    return Author(**{f: str(data.get(f) or "") for f in fields})


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


class Aggregates:
    """Reads an event's aggregates, and rebuilds them from its posts."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis
        self._refill = redis.register_script(_REFILL)

    async def counts(self, slug: str) -> Counts:
        """Public posts, distinct people, photos, and the first and last post times."""
        approved = key(slug, "idx:approved")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zcard(approved)
            pipe.zcard(key(slug, "agg:first"))
            pipe.hget(key(slug, "agg:totals"), "photos")
            pipe.zrange(approved, 0, 0, withscores=True)
            pipe.zrange(approved, -1, -1, withscores=True)
            posts, people, photos, first, last = await pipe.execute()
        return Counts(
            posts=int(posts),
            people=int(people),
            photos=int(photos or 0),
            first_ms=int(first[0][1]) if first else None,
            last_ms=int(last[0][1]) if last else None,
        )

    async def count_between(self, slug: str, edges: Sequence[datetime]) -> list[int]:
        """Public posts in each [edges[i], edges[i+1]) span: one ZCOUNT per bucket."""
        approved = key(slug, "idx:approved")
        async with self.redis.pipeline(transaction=True) as pipe:
            for lo, hi in pairwise(edges):
                pipe.zcount(approved, _ms(lo), f"({_ms(hi)}")
            return [int(n) for n in await pipe.execute()]

    async def most_active(self, slug: str, limit: int = 10) -> list[Person]:
        """The people with the most public posts, most first; ties go to whoever posted first."""
        ranked = await self.redis.zrevrange(key(slug, "agg:active"), 0, limit * 2 - 1)
        people = await self._people(slug, [_text(a) for a in ranked])
        people.sort(key=lambda p: (-p.posts, p.first_at, author_key(p.author.handle)))
        return people[:limit]

    async def first_between(self, slug: str, start: datetime, end: datetime) -> list[Person]:
        """People whose first public post falls in [start, end], by first post."""
        found = await self.redis.zrangebyscore(key(slug, "agg:first"), _ms(start), _ms(end))
        people = await self._people(slug, [_text(a) for a in found])
        return sorted(people, key=lambda p: (p.first_at, author_key(p.author.handle)))

    async def _people(self, slug: str, authors: Sequence[str]) -> list[Person]:
        # Each author's count and first time, and their latest post for their latest details.
        if not authors:
            return []
        byauthor = key(slug, "agg:byauthor")
        async with self.redis.pipeline(transaction=True) as pipe:
            for author in authors:
                lo, hi = f"[{author}\0", f"({author}\1"
                pipe.zlexcount(byauthor, lo, hi)
                pipe.zrevrangebylex(byauthor, hi, lo, start=0, num=1)
                pipe.zscore(key(slug, "agg:first"), author)
            replies = await pipe.execute()
        latest_ids = []
        for i in range(len(authors)):
            head = replies[i * 3 + 1]
            latest_ids.append(_text(head[0]).rsplit("\0", 1)[-1] if head else "")
        bodies = await self.redis.hmget(key(slug, "posts"), latest_ids)
        people = []
        for i in range(len(authors)):
            count, first, body = int(replies[i * 3]), replies[i * 3 + 2], bodies[i]
            if not count or first is None or not body:
                continue
            details = _author(_text(body))
            people.append(Person(details, count, datetime.fromtimestamp(first / 1000, UTC)))
        return people

    async def photo_posts(self, slug: str, limit: int) -> list[str]:
        """Ids of the newest public posts with a photo the gallery may show, newest first."""
        ids = await self.redis.zrevrange(key(slug, "idx:photos"), 0, limit - 1)
        return [_text(i) for i in ids]

    async def media_used(self, slug: str, urls: Sequence[str]) -> set[str]:
        """Which of these local media URLs some stored post of the event shows."""
        if not urls:
            return set()
        counts = await self.redis.hmget(key(slug, "media:refs"), list(urls))
        return {u for u, n in zip(urls, counts, strict=True) if n and int(n) > 0}

    async def built(self, slug: str) -> bool:
        """Whether the event's aggregates cover all its posts (false for events stored before
        aggregates existed, until `rebuild`)."""
        return bool(await self.redis.exists(key(slug, BUILT)))

    async def ensure(self, slug: str) -> None:
        """Rebuild the aggregates once if they were never built and nobody is building them."""
        if not await self.built(slug) and await self.redis.exists(key(slug, "posts")):
            await self.rebuild(slug)
        elif not await self.built(slug):
            await self.redis.set(key(slug, BUILT), "1")

    async def rebuild(self, slug: str) -> int:
        """Recompute the aggregates from the posts; returns how many posts were read.

        Safe beside live changes: every change keeps moving the aggregates while this refills
        them, and entering or leaving is idempotent. Skipped (returns -1) while another runs.
        """
        lock = key(slug, REBUILDING)
        if not await self.redis.set(lock, "1", nx=True, ex=3600):
            return -1
        try:
            await self.redis.delete(*keys(slug), key(slug, BUILT))
            read = 0
            async for batch in self._scan(slug):
                args: list[str] = [",".join(PUBLIC_STATES)]
                for post_id, post in batch:
                    args += [post_id, facts(post)]
                await self._refill(
                    keys=[key(slug, "state"), key(slug, "posts"), *keys(slug)], args=args
                )
                read += len(batch)
            await self.redis.set(key(slug, BUILT), "1")
            return read
        finally:
            await self.redis.delete(lock)

    async def _scan(self, slug: str) -> AsyncIterator[list[tuple[str, Post]]]:
        batch: list[tuple[str, Post]] = []
        async for post_id, raw in self.redis.hscan_iter(key(slug, "posts"), count=BATCH):
            try:
                batch.append((_text(post_id), Post.from_dict(json.loads(raw))))
            except (ValueError, TypeError):
                continue  # an unreadable post is skipped by every reader alike
            if len(batch) >= BATCH:
                yield batch
                batch = []
        if batch:
            yield batch
