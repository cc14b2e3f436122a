"""What moderation keeps beside the posts: rules, authors' recent activity, reasons, audit log,
pins and announcements. The posts and their states stay in `wall.store.Store`."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, cast

from redis.asyncio import Redis

from wall.changes import channel
from wall.keys import as_text, event_key
from wall.moderation import (
    DEFAULT_FLOOD_LIMIT,
    DUPLICATE_WINDOW_MS,
    FLOOD_WINDOW_MS,
    History,
    Rules,
    author_key,
    fingerprint,
)
from wall.redis_pool import is_cluster, publish_command

# An announcement is a change on the public log, so live pages get it like any other and
# a reconnecting page resumes past it. KEYS: log:public, current
# ARGV: maxlen, channel, json, ttl, slug, publish command
_ANNOUNCE = r"""
local data = ARGV[3]
local xid = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*',
  'type', 'announce', 'post_id', '', 'post', '', 'state', '', 'actor', '', 'reason', data)
if tonumber(ARGV[4]) > 0 then
  redis.call('SET', KEYS[2], data, 'EX', ARGV[4])
else
  redis.call('DEL', KEYS[2])
end
local slug = ARGV[5]
redis.call(ARGV[6], ARGV[2], cjson.encode({id = xid, event = slug, stream = 'public',
  type = 'announce', post_id = '', post = '', state = '', actor = '', reason = data}))
return xid
"""

# KEYS: state, posts, log:public, spotlight
# ARGV: maxlen, channel, post_id, slug, pin (1/0), publish command
_PIN = r"""
local id, body, current = ARGV[3], '', redis.call('GET', KEYS[4])
if ARGV[5] == '1' then
  if redis.call('HGET', KEYS[1], id) ~= 'approved' then return 0 end
  if current == id then return 1 end
  body = redis.call('HGET', KEYS[2], id)
  redis.call('SET', KEYS[4], id)
else
  if current ~= id then return 1 end
  redis.call('DEL', KEYS[4])
  id = ''
end
local state = ''
if body ~= '' then state = 'approved' end
-- No body in the log (a replay reads the post as it is now), only in the live message.
local xid = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[1], '*',
  'type', 'spotlight', 'post_id', id, 'post', '', 'state', state, 'actor', '', 'reason', '')
redis.call(ARGV[6], ARGV[2], cjson.encode({id = xid, event = ARGV[4], stream = 'public',
  type = 'spotlight', post_id = id, post = body, state = state, actor = '', reason = ''}))
return 1
"""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One decision: who (a moderator's email or `rule:NAME`), what, when, from and to which state."""

    at_ms: int
    actor: str
    action: str
    post_id: str
    from_state: str
    to_state: str
    reason: str = ""
    outcome: str = "applied"  # applied | refused | undone
    id: str = ""

    def to_fields(self) -> dict[str, str]:
        """Stream fields."""
        data = asdict(self)
        data.pop("id")
        return {k: str(v) for k, v in data.items()}

    @classmethod
    def from_fields(cls, xid: str, fields: dict[str, Any]) -> AuditEntry:
        """Read back a stream entry."""
        return cls(
            at_ms=int(fields.get("at_ms", 0)),
            actor=fields.get("actor", ""),
            action=fields.get("action", ""),
            post_id=fields.get("post_id", ""),
            from_state=fields.get("from_state", ""),
            to_state=fields.get("to_state", ""),
            reason=fields.get("reason", ""),
            outcome=fields.get("outcome", "applied"),
            id=xid,
        )


@dataclass(frozen=True, slots=True)
class Announcement:
    """A short message over the wall until it expires or is withdrawn."""

    text: str
    expires_ms: int
    by: str = ""


def now_ms() -> int:
    """Wall-clock milliseconds."""
    return int(time.time() * 1000)


# KEYS: texts:<author>, approved:<author> per taken post
# ARGV: at_ms, duplicate window ms, flood window ms, then per post: text member, approved id or ''
# What `remember` does for each post, for a batch in one call (an archive replay).
_REMEMBER = r"""
local at, dup, flood = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
for i = 1, #KEYS, 2 do
  local n = 4 + (i - 1)
  redis.call('ZADD', KEYS[i], at, ARGV[n])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', at - dup)
  redis.call('EXPIRE', KEYS[i], math.floor(dup / 1000) + 60)
  if ARGV[n + 1] ~= '' then
    redis.call('ZADD', KEYS[i + 1], at, ARGV[n + 1])
    redis.call('ZREMRANGEBYSCORE', KEYS[i + 1], '-inf', at - flood)
    redis.call('EXPIRE', KEYS[i + 1], math.floor(flood / 1000) + 60)
  end
end
return 0
"""


class ModerationStore:
    """Per-event moderation data in Redis, keyed in the event's cluster slot."""

    def __init__(
        self, redis: Redis, *, audit_maxlen: int = 10_000, log_maxlen: int = 10_000
    ) -> None:
        self.redis = redis
        self.audit_maxlen = audit_maxlen
        self.log_maxlen = log_maxlen
        self.publish = publish_command(redis)
        self._announce = redis.register_script(_ANNOUNCE)
        self._remember = redis.register_script(_REMEMBER)
        self._pin = redis.register_script(_PIN)

    # -- rules ---------------------------------------------------------------------------
    async def rules(self, slug: str) -> Rules:
        """The event's rules."""
        trusted = await self.redis.smembers(event_key(slug, "trusted"))
        banned = await self.redis.smembers(event_key(slug, "banned"))
        raw = await self.redis.get(event_key(slug, "rules"))
        data = json.loads(raw) if raw else {}
        return Rules(
            trusted=frozenset(as_text(t) for t in trusted),
            banned=frozenset(as_text(b) for b in banned),
            blocked_words=tuple(data.get("blocked_words", ())),
            blocked_tags=tuple(data.get("blocked_tags", ())),
            flood_limit=int(data.get("flood_limit", DEFAULT_FLOOD_LIMIT)),
            hold_duplicates=bool(data.get("hold_duplicates", True)),
        )

    async def has_rules(self, slug: str) -> bool:
        """Whether the event's rules were ever saved (else the defaults apply)."""
        return bool(await self.redis.exists(event_key(slug, "rules")))

    async def set_rules(
        self,
        slug: str,
        *,
        blocked_words: list[str],
        blocked_tags: list[str],
        flood_limit: int,
        hold_duplicates: bool = True,
    ) -> None:
        """Replace the event's blocked words, hashtags, flood limit and duplicate rule."""
        data = {
            "hold_duplicates": hold_duplicates,
            "blocked_words": [w.strip() for w in blocked_words if w.strip()],
            "blocked_tags": [t.strip().lstrip("#") for t in blocked_tags if t.strip()],
            "flood_limit": max(0, flood_limit),
        }
        await self.redis.set(event_key(slug, "rules"), json.dumps(data))

    async def set_author(self, slug: str, handle: str, standing: str) -> None:
        """Trust or ban an author (one excludes the other)."""
        who = author_key(handle)
        other = "banned" if standing == "trusted" else "trusted"
        await self.redis.srem(event_key(slug, other), who)
        await self.redis.sadd(event_key(slug, standing), who)

    async def clear_author(self, slug: str, handle: str, standing: str) -> None:
        """Take an author off the trusted or banned list."""
        await self.redis.srem(event_key(slug, standing), author_key(handle))

    async def opt_out(self, slug: str, handle: str, *, out: bool = True) -> None:
        """Put an author on the event's opt-out list (their posts are never taken), or off it."""
        if out:
            await self.redis.sadd(event_key(slug, "optout"), author_key(handle))
        else:
            await self.redis.srem(event_key(slug, "optout"), author_key(handle))

    async def opted_out(self, slug: str) -> set[str]:
        """The event's opt-out list, as author keys."""
        return {as_text(h) for h in await self.redis.smembers(event_key(slug, "optout"))}

    # -- authors' recent activity ------------------------------------------------------------
    async def history(self, slug: str, handle: str, at_ms: int) -> History:
        """The author's posts of the last 10 minutes and approvals of the last minute."""
        who = author_key(handle)
        texts: list[Any] = await self.redis.zrangebyscore(
            event_key(slug, f"texts:{who}"), at_ms - DUPLICATE_WINDOW_MS, "+inf", withscores=True
        )
        approved: list[Any] = await self.redis.zrangebyscore(
            event_key(slug, f"approved:{who}"), at_ms - FLOOD_WINDOW_MS, "+inf", withscores=True
        )
        return History(
            recent_texts=[(as_text(m).split("|", 1)[0], int(s)) for m, s in texts],
            approved_at=[int(s) for _, s in approved],
        )

    async def remember(
        self, slug: str, handle: str, post_id: str, text: str, at_ms: int, *, approved: bool
    ) -> None:
        """Record a taken post for the duplicate and flood rules."""
        who = author_key(handle)
        texts, approvals = event_key(slug, f"texts:{who}"), event_key(slug, f"approved:{who}")
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.zadd(texts, {f"{fingerprint(text)}|{post_id}": at_ms})
            pipe.zremrangebyscore(texts, "-inf", at_ms - DUPLICATE_WINDOW_MS)
            pipe.expire(texts, DUPLICATE_WINDOW_MS // 1000 + 60)
            if approved:
                pipe.zadd(approvals, {post_id: at_ms})
                pipe.zremrangebyscore(approvals, "-inf", at_ms - FLOOD_WINDOW_MS)
                pipe.expire(approvals, FLOOD_WINDOW_MS // 1000 + 60)
            await pipe.execute()

    async def record_taken(
        self,
        slug: str,
        reasons: dict[str, str],
        remembered: Sequence[tuple[str, str, str, bool]],
        audit: Sequence[AuditEntry],
        at_ms: int,
    ) -> None:
        """What a batch of taken posts leaves besides the posts, in one round trip: each
        one's reason, `remember` of each (handle, post id, text, approved) in one script
        call, and the rules' own decisions (never undoable) in the audit log."""
        keys: list[str] = []
        args: list[str | int] = [at_ms, DUPLICATE_WINDOW_MS, FLOOD_WINDOW_MS]
        for handle, post_id, text, approved in remembered:
            who = author_key(handle)
            keys += [event_key(slug, f"texts:{who}"), event_key(slug, f"approved:{who}")]
            args += [f"{fingerprint(text)}|{post_id}", post_id if approved else ""]
        cluster = is_cluster(self.redis)
        if remembered and cluster:  # redis-py refuses scripts in a cluster pipeline
            await self._remember(keys=keys, args=args)
        async with self.redis.pipeline(transaction=False) as pipe:
            if reasons:
                pipe.hset(event_key(slug, "reasons"), mapping=cast(Any, reasons))
            if remembered and not cluster:
                await self._remember(keys=keys, args=args, client=pipe)
            for entry in audit:
                pipe.xadd(
                    event_key(slug, "audit"),
                    cast(Any, entry.to_fields()),
                    maxlen=self.audit_maxlen,
                    approximate=True,
                )
            await pipe.execute()

    # -- reasons and pins -------------------------------------------------------------------
    async def set_reason(self, slug: str, post_id: str, reason: str) -> None:
        """The reason a post is in its state, shown in the console."""
        await self.redis.hset(event_key(slug, "reasons"), post_id, reason)

    async def reasons(self, slug: str, post_ids: list[str]) -> dict[str, str]:
        """Reasons of these posts."""
        if not post_ids:
            return {}
        values = await self.redis.hmget(event_key(slug, "reasons"), post_ids)
        return {pid: as_text(v) for pid, v in zip(post_ids, values, strict=True) if v}

    async def pin(self, slug: str, post_id: str, pinned: bool) -> bool:
        """Put an approved post in the wall's spotlight, or take it out; False if refused.

        One script checks the post is approved and writes the public log, so a post that a
        racing moderator has just rejected can never be spotlighted.
        """
        result = await self._pin(
            keys=[
                event_key(slug, "state"),
                event_key(slug, "posts"),
                event_key(slug, "log:public"),
                event_key(slug, "spotlight"),
            ],
            args=[
                self.log_maxlen,
                channel(slug, "public"),
                post_id,
                slug,
                int(pinned),
                self.publish,
            ],
        )
        return bool(result)

    async def pinned(self, slug: str) -> set[str]:
        """The id of the post in the spotlight, as a set (empty when none)."""
        raw = await self.redis.get(event_key(slug, "spotlight"))
        return {as_text(raw)} if raw else set()

    # -- audit ---------------------------------------------------------------------------
    async def record(self, slug: str, entry: AuditEntry) -> str:
        """Append a decision to the audit log; a moderator's last applied one is kept for undo."""
        xid = await self.redis.xadd(
            event_key(slug, "audit"),
            cast(Any, entry.to_fields()),
            maxlen=self.audit_maxlen,
            approximate=True,
        )
        # Showing a warned post's text is not a decision on its state: undo skips it.
        undoable = entry.post_id and entry.action not in {
            "undo",
            "ingest",
            "show-text",
            "hide-text",
        }
        if entry.outcome == "applied" and undoable and not entry.actor.startswith("rule:"):
            await self.redis.hset(
                event_key(slug, "last-decision"),
                entry.actor,
                json.dumps({**entry.to_fields(), "id": xid}),
            )
        return str(xid)

    async def audit(self, slug: str, *, limit: int = 100) -> list[AuditEntry]:
        """The newest decisions first."""
        entries: list[Any] = await self.redis.xrevrange(event_key(slug, "audit"), count=limit) or []
        return [AuditEntry.from_fields(as_text(xid), fields) for xid, fields in entries]

    async def last_decision(self, slug: str, actor: str) -> AuditEntry | None:
        """A moderator's last applied decision, not yet undone."""
        raw = await self.redis.hget(event_key(slug, "last-decision"), actor)
        if not raw:
            return None
        data = json.loads(raw)
        return AuditEntry.from_fields(data.pop("id"), data)

    async def forget_last(self, slug: str, actor: str) -> None:
        """After an undo there is nothing more to undo."""
        await self.redis.hdel(event_key(slug, "last-decision"), actor)

    async def last_decider(self, slug: str, post_id: str) -> AuditEntry | None:
        """The newest applied decision on a post (who got there first)."""
        for entry in await self.audit(slug, limit=500):
            if entry.post_id == post_id and entry.outcome == "applied":
                return entry
        return None

    # -- announcements ---------------------------------------------------------------------
    async def announce(self, slug: str, announcement: Announcement | None) -> str:
        """Show an announcement on the wall (None withdraws it); returns the change id."""
        if announcement is None:
            data, ttl = json.dumps({"text": "", "expires_ms": 0}), 0
        else:
            data = json.dumps(asdict(announcement))
            ttl = max(1, (announcement.expires_ms - now_ms()) // 1000)
        xid = await self._announce(
            keys=[event_key(slug, "log:public"), event_key(slug, "announcement")],
            args=[self.log_maxlen, channel(slug, "public"), data, ttl, slug, self.publish],
        )
        return str(xid)

    async def announcement(self, slug: str) -> Announcement | None:
        """The current announcement, if one is showing."""
        raw = await self.redis.get(event_key(slug, "announcement"))
        if not raw:
            return None
        data = json.loads(raw)
        return Announcement(data["text"], int(data["expires_ms"]), data.get("by", ""))
