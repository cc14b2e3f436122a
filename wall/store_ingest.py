"""The script that stores new posts: many in one call, each exactly as the apply script would.

An import sends thousands of posts: one script call per post cost more in building,
sending and reading each call (16 keys and 13 arguments a post) than the post itself. Here
the keys and the event's settings go once per call and each post adds 7 arguments; each
post is still stored whole or not at all (the call runs atomically, so a reader sees a
post with its state, indexes, aggregates and log entries, or none of them), and a post
already stored is left as it is.
"""

from __future__ import annotations

from wall import aggregates

CHUNK = 50
"""Posts in one call: Redis runs a call without interruption, so other clients wait for a
chunk (a few milliseconds), never for a whole import."""

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
           first = KEYS[12], active = KEYS[13], photos = KEYS[14], media = KEYS[15]}

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
if redis.call('HLEN', KEYS[1]) == 0 then redis.call('SET', KEYS[16], '1') end
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
