"""Lua scripts of the Redis store: each state change is one atomic script.

Keys (``P`` is the store's ``prefix``; a member is ``endpoint:id`` with ``%``
and ``:`` escaped in the endpoint): ``P ev:<member>`` a hash per event,
``P dd:<member>`` the de-duplication key (``SET NX`` with a TTL), and three
sorted sets: ``P all`` (score received_at: listing, retention), ``P pending``
(score received_at) and ``P wait`` (failed events by next attempt,
processing events by lease end): :meth:`due` reads only those two.

Processes (heartbeats) are the hash ``P processes``: id -> ``<last_heartbeat>\\n<json>``
(the JSON holds id, host, pid, kind, started_at). An event hash's ``owner`` is the
claiming process; its ``history`` is the attempts, one JSON object per line, oldest
first, at most 25 (newline-separated so a script appends and trims without decoding).
"""

# The hot path runs in batches (:mod:`hookinbox.stores._groupcommit`): one script call
# per batch, the batch as ONE argument of fields, each ``<length>:<bytes>`` (or
# ``-`` for nil), item after item. Per item each script does exactly what one
# call for that item alone would do, in batch order, and returns one result per
# item (so a key twice in one batch is recorded once, by its first item).
_FIELDS = """
local batch, pos = ARGV[#ARGV], 1
local function field()
  if string.byte(batch, pos) == 45 then pos = pos + 1 return nil end
  local colon = string.find(batch, ':', pos, true)
  local n = tonumber(string.sub(batch, pos, colon - 1))
  local v = string.sub(batch, colon + 1, colon + n)
  pos = colon + n + 1
  return v
end
local out = {}
"""

# Appends one attempt to a history field (JSON objects, one per line), keeping the last 25.
# Numbers arrive as the exact decimal strings Python wrote (repr), so nothing is rounded.
_ATTEMPT = """
local function attempt(hist, number, started, finished, outcome, err, process)
  local item = '{"number":' .. (number or '0') .. ',"started_at":' .. (started or '0')
    .. ',"finished_at":' .. finished .. ',"outcome":"' .. outcome .. '","error":'
    .. (err and cjson.encode(err) or 'null') .. ',"process":' .. (process and cjson.encode(process) or 'null') .. '}'
  if not hist or hist == '' then return item end
  local _, lines = string.gsub(hist, '\\n', '')
  while lines >= 24 do
    hist = string.sub(hist, string.find(hist, '\\n', 1, true) + 1)
    lines = lines - 1
  end
  return hist .. '\\n' .. item
end
"""

# KEYS: all, pending; ARGV: prefix, dedup ms, batch of
# (member, received_at, endpoint, id, type, headers json, timestamp or nil, body or nil).
# Per item 1 if recorded, 0 for a duplicate: the dedup key is SET NX with the
# dedup TTL, and an unfinished event whose dedup key expired is not overwritten.
RECORD_MANY = (
    _FIELDS
    + """
while pos <= #batch do
  local m = field()
  local recv = field()
  local ep = field()
  local id = field()
  local typ = field()
  local headers = field()
  local ts = field()
  local body = field()
  local ev = ARGV[1] .. 'ev:' .. m
  local ok = 0
  if redis.call('SET', ARGV[1] .. 'dd:' .. m, '1', 'NX', 'PX', ARGV[2]) then
    local st = redis.call('HGET', ev, 'status')
    if not st or st == 'done' or st == 'dead' then
      redis.call('DEL', ev)
      redis.call('HSET', ev, 'endpoint', ep, 'id', id, 'type', typ, 'status', 'pending', 'received_at', recv,
        'updated_at', recv, 'attempts', '0', 'handlers_done', '[]', 'headers', headers)
      if ts then redis.call('HSET', ev, 'timestamp', ts) end
      if body then redis.call('HSET', ev, 'body', body) end
      redis.call('ZADD', KEYS[1], recv, m)
      redis.call('ZADD', KEYS[2], recv, m)
      ok = 1
    end
  end
  out[#out + 1] = ok
end
return out
"""
)

# KEYS: pending, wait; ARGV: prefix, batch of (member, now, lease_until, owner or nil).
# Claimable: pending; failed and due; processing with an expired lease. Per item
# the claimed hash (HGETALL, with attempts + 1 and the owner) or 0.
CLAIM_MANY = (
    _FIELDS
    + """
while pos <= #batch do
  local m = field()
  local now = field()
  local lease_until = field()
  local owner = field()
  local ev = ARGV[1] .. 'ev:' .. m
  local h = redis.call('HMGET', ev, 'status', 'next_attempt_at', 'lease_until')
  local st = h[1]
  local t = tonumber(now)
  local ok = st and (st == 'pending'
    or (st == 'failed' and (not h[2] or tonumber(h[2]) <= t))
    or (st == 'processing' and h[3] and tonumber(h[3]) <= t))
  if ok then
    if owner then
      redis.call('HSET', ev, 'status', 'processing', 'lease_until', lease_until, 'updated_at', now, 'owner', owner)
    else
      redis.call('HSET', ev, 'status', 'processing', 'lease_until', lease_until, 'updated_at', now)
      redis.call('HDEL', ev, 'owner')
    end
    redis.call('HINCRBY', ev, 'attempts', 1)
    redis.call('ZREM', KEYS[1], m)
    redis.call('ZADD', KEYS[2], lease_until, m)
    out[#out + 1] = redis.call('HGETALL', ev)
  else
    out[#out + 1] = 0
  end
end
return out
"""
)

# KEYS: wait; ARGV: prefix, batch of (member, status, now, next_attempt_at or nil, error or nil).
# processing -> done, failed (due at next_attempt_at) or dead, the owner cleared and the attempt
# appended to the history. Per item 1, or 0 if not processing.
SETTLE_MANY = (
    _FIELDS
    + _ATTEMPT
    + """
local outcomes = {done = 'done', failed = 'retry', dead = 'dead'}
while pos <= #batch do
  local m = field()
  local status = field()
  local now = field()
  local retry_at = field()
  local err = field()
  local ev = ARGV[1] .. 'ev:' .. m
  local h = redis.call('HMGET', ev, 'status', 'attempts', 'updated_at', 'owner', 'history')
  if h[1] == 'processing' then
    local hist = attempt(h[5], h[2], h[3], now, outcomes[status], err, h[4])
    redis.call('HSET', ev, 'status', status, 'updated_at', now, 'history', hist)
    redis.call('HDEL', ev, 'lease_until', 'owner')
    if retry_at then redis.call('HSET', ev, 'next_attempt_at', retry_at)
    else redis.call('HDEL', ev, 'next_attempt_at') end
    if err then redis.call('HSET', ev, 'last_error', err)
    else redis.call('HDEL', ev, 'last_error') end
    if status == 'failed' then
      redis.call('ZADD', KEYS[1], retry_at or '0', m)
    else
      redis.call('ZREM', KEYS[1], m)
    end
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
"""
)

# KEYS: processes; ARGV: id, now. 1, or 0 when the process's row is gone (pruned).
HEARTBEAT = """
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return 0 end
local nl = string.find(v, '\\n', 1, true)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. string.sub(v, nl))
return 1
"""

# KEYS: processes, wait; ARGV: prefix, id, cutoff, now, message.
# Prunes one process if its last heartbeat is still before the cutoff and releases its
# claims: every processing event it owns becomes failed and due now, with the message,
# a 'released' attempt and no owner. {1, member...} when pruned, {0} when another sweeper
# pruned it first or it heartbeated meanwhile. Its claims have leases ending after it
# started, so only that part of the wait index is read.
RELEASE = (
    _ATTEMPT
    + """
local v = redis.call('HGET', KEYS[1], ARGV[2])
if not v then return {0} end
local nl = string.find(v, '\\n', 1, true)
if tonumber(string.sub(v, 1, nl - 1)) >= tonumber(ARGV[3]) then return {0} end
redis.call('HDEL', KEYS[1], ARGV[2])
local started = tonumber(cjson.decode(string.sub(v, nl + 1)).started_at) or 0
local out = {1}
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], tostring(started - 1), '+inf')) do
  local ev = ARGV[1] .. 'ev:' .. m
  local h = redis.call('HMGET', ev, 'status', 'owner', 'attempts', 'updated_at', 'history')
  if h[1] == 'processing' and h[2] == ARGV[2] then
    local hist = attempt(h[5], h[3], h[4], ARGV[4], 'released', ARGV[5], ARGV[2])
    redis.call('HSET', ev, 'status', 'failed', 'next_attempt_at', ARGV[4], 'last_error', ARGV[5],
      'updated_at', ARGV[4], 'history', hist)
    redis.call('HDEL', ev, 'lease_until', 'owner')
    redis.call('ZADD', KEYS[2], ARGV[4], m)
    out[#out + 1] = m
  end
end
return out
"""
)

HANDLER_DONE = """
local cur = redis.call('HGET', KEYS[1], 'handlers_done')
if not cur then return 0 end
local done = cjson.decode(cur)
for _, h in ipairs(done) do if h == ARGV[1] then return 0 end end
table.insert(done, ARGV[1])
redis.call('HSET', KEYS[1], 'handlers_done', cjson.encode(done))
return 1
"""

# KEYS: ev, pending, wait, all; ARGV: now, member
REPLAY = """
local h = redis.call('HMGET', KEYS[1], 'status', 'received_at')
local st = h[1]
if not st or st == 'pending' or st == 'processing' then return 0 end
if st == 'done' then redis.call('HSET', KEYS[1], 'handlers_done', '[]') end
local recv = h[2]
if tonumber(ARGV[1]) < tonumber(recv) then recv = ARGV[1] end
redis.call('HSET', KEYS[1], 'status', 'pending', 'attempts', '0', 'updated_at', ARGV[1], 'received_at', recv)
redis.call('HDEL', KEYS[1], 'next_attempt_at', 'lease_until')
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('ZADD', KEYS[2], recv, ARGV[2])
redis.call('ZADD', KEYS[4], recv, ARGV[2])
return 1
"""

# KEYS: dd, ev, all, pending, wait; ARGV: member
DISCARD = """
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
redis.call('ZREM', KEYS[5], ARGV[1])
return 1
"""

# KEYS: all, pending, wait; ARGV: prefix, ',status,status,', members...
PURGE = """
local n = 0
for i = 3, #ARGV do
  local k = ARGV[1] .. 'ev:' .. ARGV[i]
  local st = redis.call('HGET', k, 'status')
  if (not st) or string.find(ARGV[2], ',' .. st .. ',', 1, true) then
    redis.call('DEL', k)
    redis.call('ZREM', KEYS[1], ARGV[i])
    redis.call('ZREM', KEYS[2], ARGV[i])
    redis.call('ZREM', KEYS[3], ARGV[i])
    if st then n = n + 1 end
  end
end
return n
"""

# ARGV: prefix, members...
DROP_BODIES = """
local n = 0
for i = 2, #ARGV do
  local k = ARGV[1] .. 'ev:' .. ARGV[i]
  local st = redis.call('HGET', k, 'status')
  if (st == 'done' or st == 'dead') and redis.call('HDEL', k, 'body') == 1 then n = n + 1 end
end
return n
"""
