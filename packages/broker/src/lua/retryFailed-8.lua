--[[
  Put a failed task back at the end of the queue: one more re-run counted, a fresh max_retries
  allowance and a fresh crash count. In a distinct
  channel it re-takes its dedup marker, and is refused (nothing changes) while an identical
  command line queued, delayed or running holds it: the retry would run beside that task.
  Input:  KEYS[1] failed  KEYS[2] queued  KEYS[3] retries  KEYS[4] crashes  KEYS[5] marker
          KEYS[6] distinct  KEYS[7] tasks  KEYS[8] stats (a manual retry counts in `retried`, as an automatic one does)
          ARGV[1] id  ARGV[2] now ms  ARGV[3] distinct marker TTL ms
  Output: 1 requeued; -4 not in the failed list; -1 an identical task holds the distinct marker
]]
-- @include fingerprintOf
-- @include retriesOf
-- @include wake
local id, now = ARGV[1], tonumber(ARGV[2])
if not redis.call('ZSCORE', KEYS[1], id) then return -4 end
local fingerprint = fingerprintOf(KEYS[7], id)
if fingerprint ~= '' then
  if tonumber(redis.call('ZSCORE', KEYS[6], fingerprint) or 0) > now then return -1 end
  redis.call('ZADD', KEYS[6], now + tonumber(ARGV[3]), fingerprint)
end
redis.call('ZREM', KEYS[1], id)
local total = retriesOf(KEYS[3], id)
redis.call('HSET', KEYS[3], id, (total + 1) .. ':0')
redis.call('HDEL', KEYS[4], id)
redis.call('LPUSH', KEYS[2], id)
redis.call('HINCRBY', KEYS[8], 'retried', 1)
wake(KEYS[5])
return 1
