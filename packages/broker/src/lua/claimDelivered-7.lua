--[[
  RabbitMQ transport: lease the task a delivery names to the consumer that got it.
  A delivery stands for one entry: in the published set, or still in the queued list when it
  arrived before markPublished ran. Without its entry the delivery is a duplicate (the task was
  claimed through another delivery, cancelled, or finished) and is dropped, with one exception:
  a redelivery of the very message whose consumer holds the lease (the lease token ends with
  the message id) means that consumer's connection died, so the lease passes to this one at
  once instead of when it lapses. An entry counted in `stale` was cancelled while queued: it is
  dropped and uncounted, as claimTasks does.
  Input:  KEYS[1] queued  KEYS[2] published  KEYS[3] tasks  KEYS[4] running  KEYS[5] leases
          KEYS[6] stale  KEYS[7] stale count
          ARGV[1] task id  ARGV[2] lease token (ends with ':' .. message id)  ARGV[3] lease expiry ms
          ARGV[4] '1' when RabbitMQ redelivers the message  ARGV[5] message id
  Output: {1, spec} leased; {2, spec} lease taken over from a dead consumer; {0} dropped
]]
local id = ARGV[1]
local removed = redis.call('SREM', KEYS[2], id)
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
if ARGV[4] == '1' then
  local holder = redis.call('HGET', KEYS[4], id)
  local suffix = ':' .. ARGV[5]
  if holder and string.sub(holder, -#suffix) == suffix then
    local spec = lease()
    if spec then return {2, spec} end
  end
end
return {0}
