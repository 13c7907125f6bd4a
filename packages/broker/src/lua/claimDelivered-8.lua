--[[
  RabbitMQ transport: lease the task a delivery names to the consumer that got it.
  A delivery stands for one entry: in the published sorted set, or still in the queued list when it
  arrived before markPublished ran. Without its entry the delivery is a duplicate (the task was
  claimed through another delivery, cancelled, or finished) and is dropped, with one exception:
  a redelivery of the very message whose lease token the task holds (the token ends with the
  message id) means the holder's AMQP connection ended. Then:
    - the holder is the caller (its own connection came back): the task runs on; the new
      delivery stands for it from now on (code 4);
    - the holder's runner still beats (`alive`: owner → expiry ms, renewed every second): the
      holder is alive, its connection ended without it (a RabbitMQ restart, a network cut). On a
      first look the caller asks again once the beat would have lapsed (code 5, with the wait);
      on the second look the holder beat again, so the task runs on there under its Redis lease
      and the delivery is dropped;
    - the holder stopped beating (its process died): the lease passes to the caller at once
      instead of when it lapses (code 2).
  A channel with a global cap: while the running hash (every host's leases) is that large, a
  queued task is not leased and nothing changes (code 3); the caller keeps the delivery and asks
  again when a slot frees. (A duplicate delivery is dropped whatever the cap.)
  An entry counted in `stale` was cancelled while queued: it is dropped and uncounted, as
  claimTasks does.
  Input:  KEYS[1] queued  KEYS[2] published  KEYS[3] tasks  KEYS[4] running  KEYS[5] leases
          KEYS[6] stale  KEYS[7] stale count  KEYS[8] alive
          ARGV[1] task id  ARGV[2] lease token (<owner>:<ms>:<message id>)  ARGV[3] lease expiry ms
          ARGV[4] '1' when RabbitMQ redelivers the message  ARGV[5] message id
          ARGV[6] global cap of running tasks (0 = none)  ARGV[7] now ms  ARGV[8] the caller's owner
          ARGV[9] '1' on a second look after code 5
  Output: {1, spec} leased; {2, spec} lease taken over from a dead holder; {0} dropped;
          {3} at the cap; {4, token} the caller holds it already under token; {5, ms} look again after ms;
          {6} dropped, and the channel holds no task of that id (removed since, or never queued here)
]]
local id = ARGV[1]
local holder = redis.call('HGET', KEYS[4], id)
local cap = tonumber(ARGV[6])
if not holder and cap > 0 and redis.call('HEXISTS', KEYS[6], id) == 0 and redis.call('HLEN', KEYS[4]) >= cap
  and (redis.call('ZSCORE', KEYS[2], id) or redis.call('LPOS', KEYS[1], id, 'RANK', -1, 'MAXLEN', 1000)) then
  return {3}
end
local removed = redis.call('ZREM', KEYS[2], id)
-- the relay's mark may not have run yet: the entry is then still at the list's oldest end
if removed == 0 then removed = redis.call('LREM', KEYS[1], -1, id) end
local function lease()
  local spec = redis.call('HGET', KEYS[3], id)
  if not spec then return nil end
  redis.call('HSET', KEYS[4], id, ARGV[2])
  redis.call('ZADD', KEYS[5], ARGV[3], id)
  return spec
end
if removed > 0 then
  if redis.call('HEXISTS', KEYS[6], id) == 1 then
    if redis.call('HINCRBY', KEYS[6], id, -1) <= 0 then redis.call('HDEL', KEYS[6], id) end
    redis.call('DECR', KEYS[7])
    return {0}
  end
  local spec = lease()
  if spec then return {1, spec} end
  return {0}
end
if ARGV[4] == '1' and holder then
  local suffix = ':' .. ARGV[5]
  if string.sub(holder, -#suffix) == suffix then
    local owner = string.match(holder, '^(.*):%d+:[^:]*$')
    if owner == ARGV[8] then return {4, holder} end
    local beat = tonumber(redis.call('HGET', KEYS[8], owner or '') or '0')
    local now = tonumber(ARGV[7])
    if beat > now then
      if ARGV[9] == '1' then return {0} end
      return {5, tostring(beat - now)}
    end
    if owner then redis.call('HDEL', KEYS[8], owner) end
    local spec = lease()
    if spec then return {2, spec} end
  end
end
if redis.call('HEXISTS', KEYS[3], id) == 0 then return {6} end
return {0}
