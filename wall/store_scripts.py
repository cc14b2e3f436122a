"""The Lua scripts of `wall.store.Store`: each change to a post is one of these, run atomically.

Every key a script touches is passed in KEYS and carries the event's `{slug}` hash tag, so
a script never meets keys of two Redis Cluster slots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wall import aggregates
from wall.keys import as_text

# KEYS: posts, state, idx:pending, idx:approved, idx:rejected, idx:hidden, log:public, log:mod,
#       then aggregates.NAMES and agg:built
# ARGV: op, post_id, post_json, new_state, score, maxlen, channel_prefix, slug, actor, reason,
#       expected_state, public_states (comma-separated), the post's aggregate facts,
#       publish command (PUBLISH, or SPUBLISH on a cluster)
APPLY = (
    aggregates.LUA
    + r"""
local op, id, post, new, score = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local maxlen, prefix, slug = ARGV[6], ARGV[7], ARGV[8]
local actor, reason, expected = ARGV[9], ARGV[10], ARGV[11]
local public = {}
for s in string.gmatch(ARGV[12], '[^,]+') do public[s] = true end
local idx = {pending = KEYS[3], approved = KEYS[4], rejected = KEYS[5], hidden = KEYS[6]}
local cur = redis.call('HGET', KEYS[2], id)
if cur == false then cur = nil end
local A = {posts = KEYS[1], meta = KEYS[9], totals = KEYS[10], byauthor = KEYS[11],
           first = KEYS[12], active = KEYS[13], photos = KEYS[14], media = KEYS[15],
           count = KEYS[16]}
local facts, publish = ARGV[13], ARGV[14]

-- The public log keeps no post body: a replay reads the post as it is now, and only while
-- the public may see it, so a post hidden or deleted later can't be read back from the log.
-- The live message carries the body: it is rendered once for the clients connected now.
local function log(stream_key, stream, kind, body, state)
  local kept = body
  if stream == 'public' then kept = '' end
  local xid = redis.call('XADD', stream_key, 'MAXLEN', '~', maxlen, '*',
    'type', kind, 'post_id', id, 'post', kept, 'state', state,
    'actor', actor, 'reason', reason)
  redis.call(publish, prefix .. '{' .. slug .. '}:' .. stream, cjson.encode({
    id = xid, event = slug, stream = stream, type = kind, post_id = id,
    post = body, state = state, actor = actor, reason = reason}))
  return xid
end

local function public_change(was, now, body)
  if was and not now then return log(KEYS[7], 'public', 'remove', '', new) end
  if now and not was then return log(KEYS[7], 'public', 'show', body, new) end
  if now and was and op == 'update' then return log(KEYS[7], 'public', 'update', body, new) end
  return false
end

if not cur then return {-1, ''} end

if op == 'state' then
  if expected ~= '' and cur ~= expected then return {-2, cur} end
  if cur == new then return {0, cur} end
  local body = redis.call('HGET', KEYS[1], id)
  redis.call('HSET', KEYS[2], id, new)
  redis.call('ZREM', idx[cur], id)
  redis.call('ZADD', idx[new], score, id)
  agg_move(A, id, public[cur], public[new], facts)
  log(KEYS[8], 'mod', 'state', body, new)
  public_change(public[cur], public[new], body)
  return {1, cur}
end

if op == 'update' then
  if redis.call('HGET', KEYS[1], id) == post then return {0, cur} end
  agg_replace(A, id, public[cur], facts, post)
  redis.call('HSET', KEYS[1], id, post)
  new = cur
  log(KEYS[8], 'mod', 'update', post, cur)
  public_change(public[cur], public[cur], post)
  return {1, cur}
end

if op == 'delete' then
  agg_move(A, id, public[cur], false, facts)
  agg_forget(A, id)
  redis.call('HDEL', KEYS[1], id)
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', idx[cur], id)
  new = 'deleted'
  log(KEYS[8], 'mod', 'delete', '', 'deleted')
  public_change(public[cur], false, '')
  return {1, cur}
end
return redis.error_reply('unknown op ' .. op)
"""
)

INGEST_CHUNK = 50
"""New posts in one INGEST call: Redis runs a call without interruption, so other clients
wait for a chunk (a few milliseconds), never for a whole import."""

# New posts, many in one call, each exactly as it would be stored alone: an import sent one
# call per post, and building, sending and reading each (16 keys and 14 arguments) cost more
# than the post itself. Here the keys and the event's settings go once a call and each post
# adds 7 arguments; the call is atomic, so a reader sees a post with its state, indexes,
# aggregates and log entries, or none of them; a post already stored is left as it is.
# KEYS: as the apply script: posts, state, idx:pending, idx:approved, idx:rejected,
#       idx:hidden, log:public, log:mod, then aggregates.NAMES and agg:built
# ARGV: maxlen, the public and the mod channel, slug, public_states (comma-separated), the
#       publish command (PUBLISH, or SPUBLISH on a cluster), then per post:
#       post_id, post_json, state, score, actor, reason, the post's aggregate facts
# Returns one string, per post `1state` (stored in that state) or `0state` (already there,
# in that state), comma-separated: one reply to read instead of two per post.
INGEST = (
    aggregates.LUA
    + r"""
local maxlen, slug, publish = ARGV[1], ARGV[4], ARGV[6]
local channels = {public = ARGV[2], mod = ARGV[3]}
local public = {}
for s in string.gmatch(ARGV[5], '[^,]+') do public[s] = true end
local idx = {pending = KEYS[3], approved = KEYS[4], rejected = KEYS[5], hidden = KEYS[6]}
local A = {posts = KEYS[1], meta = KEYS[9], totals = KEYS[10], byauthor = KEYS[11],
           first = KEYS[12], active = KEYS[13], photos = KEYS[14], media = KEYS[15],
           count = KEYS[16]}

-- As the apply script logs a change: the public log keeps no body, the live message does.
local function log(stream_key, stream, id, kind, body, state, actor, reason)
  local kept = body
  if stream == 'public' then kept = '' end
  local xid = redis.call('XADD', stream_key, 'MAXLEN', '~', maxlen, '*',
    'type', kind, 'post_id', id, 'post', kept, 'state', state,
    'actor', actor, 'reason', reason)
  redis.call(publish, channels[stream], cjson.encode({
    id = xid, event = slug, stream = stream, type = kind, post_id = id,
    post = body, state = state, actor = actor, reason = reason}))
  return xid
end

-- A new event's aggregates are complete from its first post on.
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SET', KEYS[17], '1') end
local out = {}
for i = 7, #ARGV, 7 do
  local id, post, new, score = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local actor, reason, facts = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6]
  local cur = redis.call('HGET', KEYS[2], id)
  if cur then
    out[#out + 1] = '0' .. cur
  else
    redis.call('HSET', KEYS[1], id, post)
    agg_store(A, id, facts, post)
    agg_move(A, id, false, public[new], facts)
    redis.call('HSET', KEYS[2], id, new)
    redis.call('ZADD', idx[new], score, id)
    log(KEYS[8], 'mod', id, 'new', post, new, actor, reason)
    if public[new] then log(KEYS[7], 'public', id, 'show', post, new, actor, reason) end
    out[#out + 1] = '1' .. new
  end
end
return table.concat(out, ',')
"""
)


# KEYS: log   ARGV: since (exclusive), limit
# The entries after `since`, or false when there are more than `limit`: counted in the server
# first, so a client too far behind costs no transfer and no parsing of entries thrown away.
SINCE = r"""
local min = '(' .. ARGV[1]
local limit = tonumber(ARGV[2])
local past = redis.call('XRANGE', KEYS[1], min, '+', 'COUNT', limit + 1)
if #past > limit then return false end
return past
"""

# KEYS: idx:approved, posts, log:public   ARGV: limit
SNAPSHOT = r"""
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
local last_id = '0-0'
if #last > 0 then last_id = last[1][1] end
local ids = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
local posts = {}
if #ids > 0 then posts = redis.call('HMGET', KEYS[2], unpack(ids)) end
return {last_id, posts}
"""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a change did: `changed` is False for a no-op; `previous` is the former state
    (for a post just stored, the state it was stored in)."""

    changed: bool
    previous: str
    conflict: bool = False
    missing: bool = False


def outcome_of(reply: Any) -> Outcome:
    """What the APPLY script's reply says."""
    code, previous = reply
    return Outcome(
        changed=code == 1, previous=as_text(previous), conflict=code == -2, missing=code == -1
    )


def ingested(replies: Sequence[Any]) -> list[Outcome]:
    """What the INGEST calls' replies say, a post at a time."""
    return [
        Outcome(changed=each[0] == "1", previous=each[1:])
        for reply in replies
        for each in as_text(reply).split(",")
    ]
