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
-- @include admitTask
local now, ttl = tonumber(ARGV[1]), tonumber(ARGV[2])
local codes = {}
local accepted, queued = 0, 0

for _, task in ipairs(cjson.decode(ARGV[3])) do
  local id, spec, fingerprint, due = task[1], task[2], task[3], tonumber(task[4])
  local code = admitTask(KEYS[1], KEYS[2], KEYS[3], KEYS[4], id, spec, fingerprint, due, now, ttl)
  if code > 0 then accepted = accepted + 1 end
  if code == 1 then queued = queued + 1 end
  codes[#codes + 1] = code
end
if accepted > 0 then redis.call('HINCRBY', KEYS[6], 'accepted', accepted) end
if queued > 0 then wake(KEYS[5]) end
return codes
