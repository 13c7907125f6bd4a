--[[
  Accept tasks into a channel: each queued now, or delayed until its due time. One call takes a
  whole batch (the ingress dispatcher's) or a single task (an HTTP push).
  Input:  KEYS[1] queued  KEYS[2] tasks  KEYS[3] delayed  KEYS[4] distinct  KEYS[5] marker  KEYS[6] stats
          ARGV[1] now ms  ARGV[2] distinct marker TTL ms
          ARGV[3] the tasks, packed as one JSON array of [id, spec JSON, fingerprint ('' when not
          distinct), due ms (0 = now)]: one argument instead of four per task, which ioredis
          encoded one by one (it showed in the dispatcher's profile)
  Output: one code per task: 1 queued, 2 delayed; -1 duplicate command line (distinct),
          -2 id already accepted
]]
-- @include wake
local now, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local codes = {}
local accepted, queued = 0, 0

for _, task in ipairs(cjson.decode(ARGV[3])) do
  local id, spec, fingerprint, due = task[1], task[2], task[3], tonumber(task[4])
  local code
  if redis.call('HEXISTS', KEYS[2], id) == 1 then
    code = -2
  elseif fingerprint ~= '' and (tonumber(redis.call('ZSCORE', KEYS[4], fingerprint) or 0) > now) then
    code = -1
  else
    if fingerprint ~= '' then redis.call('ZADD', KEYS[4], now + ttl, fingerprint) end
    redis.call('HSET', KEYS[2], id, spec)
    accepted = accepted + 1
    if due > now then
      redis.call('ZADD', KEYS[3], due, id)
      code = 2
    else
      redis.call('LPUSH', KEYS[1], id)
      queued = queued + 1
      code = 1
    end
  end
  codes[#codes + 1] = code
end
if accepted > 0 then redis.call('HINCRBY', KEYS[6], 'accepted', accepted) end
if queued > 0 then wake(KEYS[5]) end
return codes
