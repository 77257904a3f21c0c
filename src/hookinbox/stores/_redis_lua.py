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

Ordering by resource (endpoints with ``order_by``): an ordered event's hash also has ``order_key``
and ``order_seq``. Its resource is the *key member* ``<escaped endpoint>:<order_key>`` (the event
member's endpoint part, so it needs no other escaping), with three keys: ``P ok:<key member>`` a hash
(``holder``: the id of the event claimed last, ``last_seq``, ``last_id``, ``updated_at``), ``P
oq:<key member>`` the key's ``pending`` events in order, and ``P okeys`` (score updated_at: retention
of the key hashes). The pending set's score is ``order_seq`` and its member ``<received_at>:<id>``,
received_at as 16 hex digits of its order-preserving IEEE-754 bits (the sign bit flipped, or every
bit for a negative number), so members of one score sort by received_at exactly, then by id, and
the set's order is the contract's ``(order_seq, received_at, id)``. The holder blocks the key only
while its own hash says ``processing`` with ``lease_until > now``: a settled, released or expired
holder never does, and no script has to find and clear it.
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

# Ordering helpers (see the module docstring); ARGV[1] is the prefix in every script that uses them.
# Strings are compared byte by byte (Lua's ``<`` on strings uses strcoll: the locale's order, not the
# sorted set's).
_ORDER = """
local function bytes_less(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a < #b
end
-- received_at as 16 hex digits that sort like the number (-0 written as 0).
local function sortable(x)
  x = tonumber(x)
  if x == 0 then x = 0 end
  local b, out = {string.byte(struct.pack('>d', x), 1, 8)}, {}
  local neg = b[1] >= 128
  for i = 1, 8 do
    local v = b[i]
    if neg then v = 255 - v elseif i == 1 then v = v + 128 end
    out[i] = string.format('%02x', v)
  end
  return table.concat(out)
end
local function key_member(m, okey) return string.match(m, '^[^:]*') .. ':' .. okey end
-- The ordering of event m from its hash: {km, seq, om (its pending-set member), id}, or nil when unordered.
local function order_of(m)
  local h = redis.call('HMGET', ARGV[1] .. 'ev:' .. m, 'order_key', 'order_seq', 'received_at', 'id')
  if not h[1] or not h[2] then return nil end
  return {km = key_member(m, h[1]), seq = h[2], om = sortable(h[3]) .. ':' .. h[4], id = h[4]}
end
local function touch(km, now)
  redis.call('HSET', ARGV[1] .. 'ok:' .. km, 'updated_at', now)
  redis.call('ZADD', ARGV[1] .. 'okeys', now, km)
end
-- (a): the key's holder is another event than `except`, processing under a lease that ends after now.
local function held(km, except, now)
  local holder = redis.call('HGET', ARGV[1] .. 'ok:' .. km, 'holder')
  if not holder or holder == except then return false end
  local h = redis.call('HMGET', ARGV[1] .. 'ev:' .. key_member(km, holder), 'status', 'lease_until')
  return h[1] == 'processing' and h[2] and tonumber(h[2]) > tonumber(now)
end
-- (b): a pending event of o's key other than o comes before it.
local function behind(o)
  local first = redis.call('ZRANGE', ARGV[1] .. 'oq:' .. o.km, 0, 0, 'WITHSCORES')
  if #first == 0 or first[1] == o.om then return false end
  local s, t = tonumber(first[2]), tonumber(o.seq)
  return s < t or (s == t and bytes_less(first[1], o.om))
end
"""

# One plain claim (KEYS[1] pending, KEYS[2] wait; needs _ORDER). Claimable: pending; failed and due;
# processing with an expired lease. The claimed hash (HGETALL, with attempts + 1 and the owner), or 0.
# An ordered event leaves its key's pending set and becomes the key's holder, whichever claim took it.
_CLAIM = """
local function claim(m, now, lease_until, owner)
  local ev = ARGV[1] .. 'ev:' .. m
  local h = redis.call('HMGET', ev, 'status', 'next_attempt_at', 'lease_until', 'order_key')
  local st = h[1]
  local t = tonumber(now)
  local ok = st and (st == 'pending'
    or (st == 'failed' and (not h[2] or tonumber(h[2]) <= t))
    or (st == 'processing' and h[3] and tonumber(h[3]) <= t))
  if not ok then return 0 end
  if owner then
    redis.call('HSET', ev, 'status', 'processing', 'lease_until', lease_until, 'updated_at', now, 'owner', owner)
  else
    redis.call('HSET', ev, 'status', 'processing', 'lease_until', lease_until, 'updated_at', now)
    redis.call('HDEL', ev, 'owner')
  end
  redis.call('HINCRBY', ev, 'attempts', 1)
  redis.call('ZREM', KEYS[1], m)
  redis.call('ZADD', KEYS[2], lease_until, m)
  local o = h[4] and order_of(m)
  if o then
    redis.call('ZREM', ARGV[1] .. 'oq:' .. o.km, o.om)
    redis.call('HSET', ARGV[1] .. 'ok:' .. o.km, 'holder', o.id)
    touch(o.km, now)
  end
  return redis.call('HGETALL', ev)
end
"""

# One settlement (KEYS[1] wait; needs _ATTEMPT): processing -> done, stale, failed (due at
# next_attempt_at) or dead, the owner cleared and the attempt appended to the history. 1, or 0 if
# not processing.
_SETTLE = """
local outcomes = {done = 'done', failed = 'retry', dead = 'dead', stale = 'stale'}
local function settle(m, status, now, retry_at, err)
  local ev = ARGV[1] .. 'ev:' .. m
  local h = redis.call('HMGET', ev, 'status', 'attempts', 'updated_at', 'owner', 'history')
  if h[1] ~= 'processing' then return 0 end
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
  return 1
end
"""

# KEYS: all, pending; ARGV: prefix, dedup ms, batch of (member, received_at, endpoint, id, type,
# headers json, timestamp or nil, body or nil, order_key or nil, order_seq or nil).
# Per item 1 if recorded, 0 for a duplicate: the dedup key is SET NX with the
# dedup TTL, and an unfinished event whose dedup key expired is not overwritten.
# An event with both order_key and order_seq joins its key's pending set.
RECORD_MANY = (
    _FIELDS
    + _ORDER
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
  local okey = field()
  local oseq = field()
  local ev = ARGV[1] .. 'ev:' .. m
  local ok = 0
  if redis.call('SET', ARGV[1] .. 'dd:' .. m, '1', 'NX', 'PX', ARGV[2]) then
    local st = redis.call('HGET', ev, 'status')
    if not st or st == 'done' or st == 'dead' or st == 'stale' then
      redis.call('DEL', ev)
      redis.call('HSET', ev, 'endpoint', ep, 'id', id, 'type', typ, 'status', 'pending', 'received_at', recv,
        'updated_at', recv, 'attempts', '0', 'handlers_done', '[]', 'headers', headers)
      if ts then redis.call('HSET', ev, 'timestamp', ts) end
      if body then redis.call('HSET', ev, 'body', body) end
      redis.call('ZADD', KEYS[1], recv, m)
      redis.call('ZADD', KEYS[2], recv, m)
      if okey then redis.call('HSET', ev, 'order_key', okey) end
      if oseq then redis.call('HSET', ev, 'order_seq', oseq) end
      if okey and oseq then
        redis.call('ZADD', ARGV[1] .. 'oq:' .. key_member(m, okey), oseq, sortable(recv) .. ':' .. id)
      end
      ok = 1
    end
  end
  out[#out + 1] = ok
end
return out
"""
)

# KEYS: pending, wait; ARGV: prefix, batch of (member, now, lease_until, owner or nil).
# Per item the claimed hash or 0 (see _CLAIM).
CLAIM_MANY = (
    _FIELDS
    + _ORDER
    + _CLAIM
    + """
while pos <= #batch do
  local m = field()
  local now = field()
  local lease_until = field()
  local owner = field()
  out[#out + 1] = claim(m, now, lease_until, owner)
end
return out
"""
)

# KEYS: pending, wait; ARGV: prefix, batch of one (member, now, lease_until, owner or nil).
# claim_ordered: an unordered event is claimed as by CLAIM_MANY; an ordered one only when (a) no
# other event holds its key under a live lease and (b) no pending event of its key comes before it.
# The claimed hash plus the pseudo-field ``stale`` = 1 when the key's last_seq is above its
# order_seq, or 0.
CLAIM_ORDERED = (
    _FIELDS
    + _ORDER
    + _CLAIM
    + """
local m = field()
local now = field()
local lease_until = field()
local owner = field()
local o = order_of(m)
if o and (held(o.km, o.id, now) or behind(o)) then return 0 end
local got = claim(m, now, lease_until, owner)
if got == 0 or not o then return got end
local last = redis.call('HGET', ARGV[1] .. 'ok:' .. o.km, 'last_seq')
if last and tonumber(o.seq) < tonumber(last) then
  got[#got + 1] = 'stale'
  got[#got + 1] = '1'
end
return got
"""
)

# KEYS: wait; ARGV: prefix, batch of (member, status, now, next_attempt_at or nil, error or nil).
# Per item 1, or 0 if not processing (see _SETTLE).
SETTLE_MANY = (
    _FIELDS
    + _ATTEMPT
    + _SETTLE
    + """
while pos <= #batch do
  local m = field()
  local status = field()
  local now = field()
  local retry_at = field()
  local err = field()
  out[#out + 1] = settle(m, status, now, retry_at, err)
end
return out
"""
)

# KEYS: wait; ARGV: prefix, advance (1 or 0), batch of one (member, status, now, next_attempt_at
# or nil, error or nil). settle_ordered: settles as SETTLE_MANY; for an ordered event it also lets
# go of the key (when it is the holder), raises last_seq (and last_id) when advancing, and touches
# the key's updated_at. The id of the key's first pending event when no other event holds the key
# under a live lease, else nil (nil too when unordered or not processing).
SETTLE_ORDERED = (
    _FIELDS
    + _ATTEMPT
    + _ORDER
    + _SETTLE
    + """
local m = field()
local status = field()
local now = field()
local retry_at = field()
local err = field()
if settle(m, status, now, retry_at, err) == 0 then return false end
local o = order_of(m)
if not o then return false end
local ok = ARGV[1] .. 'ok:' .. o.km
local h = redis.call('HMGET', ok, 'holder', 'last_seq')
if h[1] == o.id then redis.call('HDEL', ok, 'holder') end
if ARGV[2] == '1' and (not h[2] or tonumber(o.seq) > tonumber(h[2])) then
  redis.call('HSET', ok, 'last_seq', o.seq, 'last_id', o.id)
end
touch(o.km, now)
if held(o.km, o.id, now) then return false end
local first = redis.call('ZRANGE', ARGV[1] .. 'oq:' .. o.km, 0, 0)
if #first == 0 then return false end
return string.sub(first[1], 18)
"""
)

# KEYS: one due index (pending or wait); ARGV: prefix, now, limit, highest score, offset.
# Reads the index from `offset` in chunks, up to `limit` members due (score <= highest) that a claim
# would take: an ordered event that claim_ordered would refuse ((a) or (b)) is left out, so a backlog
# of a busy resource's events never fills a sweep's page. At most 20 chunks per call (a long scan
# never blocks Redis for long): {next offset, or -1 when the index is exhausted, member...}.
DUE = (
    _ORDER
    + """
local out, limit, offset = {-1}, tonumber(ARGV[3]), tonumber(ARGV[5])
for _ = 1, 20 do
  local chunk = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[4], 'LIMIT', offset, 500)
  for i, m in ipairs(chunk) do
    local o = order_of(m)
    if not o or not (held(o.km, o.id, ARGV[2]) or behind(o)) then
      out[#out + 1] = m
      if #out - 1 >= limit then
        out[1] = offset + i
        return out
      end
    end
  end
  if #chunk < 500 then return out end
  offset = offset + #chunk
end
out[1] = offset
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

# KEYS: ev, pending, wait, all; ARGV: prefix, now, member. Failed, dead, done or stale -> pending
# (back in its key's pending set when ordered).
REPLAY = (
    _ORDER
    + """
local h = redis.call('HMGET', KEYS[1], 'status', 'received_at')
local st = h[1]
if not st or st == 'pending' or st == 'processing' then return 0 end
if st == 'done' then redis.call('HSET', KEYS[1], 'handlers_done', '[]') end
local recv = h[2]
if tonumber(ARGV[2]) < tonumber(recv) then recv = ARGV[2] end
redis.call('HSET', KEYS[1], 'status', 'pending', 'attempts', '0', 'updated_at', ARGV[2], 'received_at', recv)
redis.call('HDEL', KEYS[1], 'next_attempt_at', 'lease_until')
redis.call('ZREM', KEYS[3], ARGV[3])
redis.call('ZADD', KEYS[2], recv, ARGV[3])
redis.call('ZADD', KEYS[4], recv, ARGV[3])
local o = order_of(ARGV[3])
if o then redis.call('ZADD', ARGV[1] .. 'oq:' .. o.km, o.seq, o.om) end
return 1
"""
)

# KEYS: dd, ev, all, pending, wait; ARGV: prefix, member
DISCARD = (
    _ORDER
    + """
local o = order_of(ARGV[2])
if o then redis.call('ZREM', ARGV[1] .. 'oq:' .. o.km, o.om) end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[2])
redis.call('ZREM', KEYS[5], ARGV[2])
return 1
"""
)

# KEYS: all, pending, wait; ARGV: prefix, ',status,status,', members...
PURGE = (
    _ORDER
    + """
local n = 0
for i = 3, #ARGV do
  local k = ARGV[1] .. 'ev:' .. ARGV[i]
  local st = redis.call('HGET', k, 'status')
  if (not st) or string.find(ARGV[2], ',' .. st .. ',', 1, true) then
    local o = order_of(ARGV[i])
    if o then redis.call('ZREM', ARGV[1] .. 'oq:' .. o.km, o.om) end
    redis.call('DEL', k)
    redis.call('ZREM', KEYS[1], ARGV[i])
    redis.call('ZREM', KEYS[2], ARGV[i])
    redis.call('ZREM', KEYS[3], ARGV[i])
    if st then n = n + 1 end
  end
end
return n
"""
)

# KEYS: okeys; ARGV: prefix, before, key members... Forgets the key hashes not touched since
# before, unless their holder is still processing (its lease may be live: the hash is the lock).
PURGE_KEYS = """
local n = 0
for i = 3, #ARGV do
  local ok = ARGV[1] .. 'ok:' .. ARGV[i]
  local h = redis.call('HMGET', ok, 'updated_at', 'holder')
  local busy = false
  if h[2] then
    local ev = ARGV[1] .. 'ev:' .. string.match(ARGV[i], '^[^:]*') .. ':' .. h[2]
    busy = redis.call('HGET', ev, 'status') == 'processing'
  end
  if not h[1] or (tonumber(h[1]) < tonumber(ARGV[2]) and not busy) then
    redis.call('DEL', ok)
    redis.call('ZREM', KEYS[1], ARGV[i])
    n = n + 1
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
  if (st == 'done' or st == 'dead' or st == 'stale') and redis.call('HDEL', k, 'body') == 1 then n = n + 1 end
end
return n
"""
