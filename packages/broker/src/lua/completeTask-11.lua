--[[
  Record the end of one execution: success, a retry after backoff, or the failed list.
  Input:  KEYS[1] tasks  KEYS[2] running  KEYS[3] leases  KEYS[4] retries  KEYS[5] results
          KEYS[6] done  KEYS[7] failed  KEYS[8] delayed  KEYS[9] distinct  KEYS[10] stats
          KEYS[11] crashes
          ARGV[1] id  ARGV[2] lease token  ARGV[3] 1 success / 0 failure  ARGV[4] result JSON
          ARGV[5] now ms  ARGV[6] 1 retry allowed / 0 not (killed)  ARGV[7] max retries
          ARGV[8] backoff base ms  ARGV[9] fingerprint  ARGV[10] retention count  ARGV[11] retention age ms
  Output: 1 succeeded, 2 retry scheduled, 3 failed; -6 lease lost (result not recorded)
]]
-- @include releaseDistinct
-- @include trimFinished
local id, now = ARGV[1], tonumber(ARGV[5])
if redis.call('HGET', KEYS[2], id) ~= ARGV[2] then return -6 end
redis.call('HDEL', KEYS[2], id)
redis.call('ZREM', KEYS[3], id)
redis.call('HDEL', KEYS[11], id)
redis.call('HSET', KEYS[5], id, ARGV[4])
redis.call('HINCRBY', KEYS[10], 'processed', 1)

if ARGV[3] == '1' then
  redis.call('HINCRBY', KEYS[10], 'succeeded', 1)
  redis.call('ZADD', KEYS[6], now, id)
  releaseDistinct(KEYS[9], ARGV[9])
  trimFinished(KEYS[6], KEYS[1], KEYS[5], KEYS[4], now, tonumber(ARGV[10]), tonumber(ARGV[11]))
  return 1
end

local retries = redis.call('HINCRBY', KEYS[4], id, 1)
if ARGV[6] == '1' and retries <= tonumber(ARGV[7]) then
  redis.call('HINCRBY', KEYS[10], 'retried', 1)
  local backoff = tonumber(ARGV[8]) * (2 ^ (retries - 1))
  redis.call('ZADD', KEYS[8], now + backoff, id)
  return 2
end
redis.call('HINCRBY', KEYS[10], 'failed', 1)
redis.call('ZADD', KEYS[7], now, id)
releaseDistinct(KEYS[9], ARGV[9])
trimFinished(KEYS[7], KEYS[1], KEYS[5], KEYS[4], now, tonumber(ARGV[10]), tonumber(ARGV[11]))
return 3
