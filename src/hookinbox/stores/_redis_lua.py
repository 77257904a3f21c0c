"""Lua scripts of the Redis store: each state change is one atomic script.

Keys (``P`` is the store's ``prefix``; a member is ``endpoint:id`` with ``%``
and ``:`` escaped in the endpoint): ``P ev:<member>`` a hash per event,
``P dd:<member>`` the de-duplication key (``SET NX`` with a TTL), and three
sorted sets: ``P all`` (score received_at: listing, retention), ``P pending``
(score received_at) and ``P wait`` (failed events by next attempt,
processing events by lease end): :meth:`due` reads only those two.
"""

RECORD = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 0 end
local st = redis.call('HGET', KEYS[2], 'status')
if st and st ~= 'done' and st ~= 'dead' then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[2], unpack(ARGV, 4))
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[2])
return 1
"""

CLAIM = """
local h = redis.call('HMGET', KEYS[1], 'status', 'next_attempt_at', 'lease_until')
local st = h[1]
if not st then return false end
local now = tonumber(ARGV[1])
local ok = st == 'pending'
  or (st == 'failed' and (not h[2] or tonumber(h[2]) <= now))
  or (st == 'processing' and h[3] and tonumber(h[3]) <= now)
if not ok then return false end
redis.call('HSET', KEYS[1], 'status', 'processing', 'lease_until', ARGV[2], 'updated_at', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('ZREM', KEYS[2], ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[3])
return redis.call('HGETALL', KEYS[1])
"""

# ARGV: member, status, now, next_attempt_at ('' for none), has_error ('0'/'1'), error
SETTLE = """
if redis.call('HGET', KEYS[1], 'status') ~= 'processing' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'updated_at', ARGV[3])
redis.call('HDEL', KEYS[1], 'lease_until')
if ARGV[4] == '' then redis.call('HDEL', KEYS[1], 'next_attempt_at')
else redis.call('HSET', KEYS[1], 'next_attempt_at', ARGV[4]) end
if ARGV[5] == '1' then redis.call('HSET', KEYS[1], 'last_error', ARGV[6])
else redis.call('HDEL', KEYS[1], 'last_error') end
if ARGV[2] == 'failed' then
  redis.call('ZADD', KEYS[2], ARGV[4] == '' and '0' or ARGV[4], ARGV[1])
else
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return 1
"""

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
