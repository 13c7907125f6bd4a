--[[
  Accept a task into a channel: queued now, or delayed until its due time.
  Input:  KEYS[1] queued  KEYS[2] tasks  KEYS[3] delayed  KEYS[4] distinct  KEYS[5] marker  KEYS[6] stats
          ARGV[1] id  ARGV[2] spec JSON  ARGV[3] fingerprint ('' when not distinct)
          ARGV[4] now ms  ARGV[5] due ms (0 = now)  ARGV[6] distinct marker TTL ms
  Output: 1 queued, 2 delayed; -1 duplicate command line (distinct), -2 id already accepted
]]
-- @include wake
local id, fingerprint = ARGV[1], ARGV[3]
local now, due = tonumber(ARGV[4]), tonumber(ARGV[5])

if redis.call('HEXISTS', KEYS[2], id) == 1 then return -2 end
if fingerprint ~= '' then
  local expiry = redis.call('ZSCORE', KEYS[4], fingerprint)
  if expiry and tonumber(expiry) > now then return -1 end
  redis.call('ZADD', KEYS[4], now + tonumber(ARGV[6]), fingerprint)
end
redis.call('HSET', KEYS[2], id, ARGV[2])
redis.call('HINCRBY', KEYS[6], 'accepted', 1)
if due > now then
  redis.call('ZADD', KEYS[3], due, id)
  return 2
end
redis.call('LPUSH', KEYS[1], id)
wake(KEYS[5])
return 1
