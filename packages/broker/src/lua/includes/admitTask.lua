-- Accept one task into a channel (every door's: pushes, the ingress queue, schedules): queued now,
-- or delayed until `due`. The caller counts it in stats and wakes claimers.
-- Returns 1 queued, 2 delayed; -1 duplicate command line (distinct), -2 id already accepted.
local function admitTask(queuedKey, tasksKey, delayedKey, distinctKey, id, spec, fingerprint, due, now, ttl)
  if redis.call('HEXISTS', tasksKey, id) == 1 then return -2 end
  if fingerprint ~= '' and (tonumber(redis.call('ZSCORE', distinctKey, fingerprint) or 0) > now) then return -1 end
  if fingerprint ~= '' then redis.call('ZADD', distinctKey, now + ttl, fingerprint) end
  redis.call('HSET', tasksKey, id, spec)
  if due > now then
    redis.call('ZADD', delayedKey, due, id)
    return 2
  end
  redis.call('LPUSH', queuedKey, id)
  return 1
end
