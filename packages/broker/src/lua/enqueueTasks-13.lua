--[[
  Accept tasks into a channel: each queued now, or delayed until its due time. One call takes a
  whole batch (the ingress dispatcher's) or a single task (an HTTP push).
  Claimers blocked on the channel with nothing to do are counted in `waiting` (claimTasks-10):
  while any are, queued tasks are claimed for them here, as claimTasks-10 claims (lease token
  ARGV[5]:<n>, paused flag and global cap respected), and pushed to `handoff` as
  "id\ntoken\nspec", which their blocking read takes: the task reaches an idle slot already
  leased, with no claim round trip after the wake-up. Otherwise the wake-up marker wakes them.
  Input:  KEYS[1] queued  KEYS[2] tasks  KEYS[3] delayed  KEYS[4] distinct  KEYS[5] marker  KEYS[6] stats
          KEYS[7] running  KEYS[8] leases  KEYS[9] paused flag  KEYS[10] stale  KEYS[11] stale count
          KEYS[12] waiting  KEYS[13] handoff
          ARGV[1] now ms  ARGV[2] distinct marker TTL ms
          ARGV[3] the tasks, packed as one JSON array of [id, spec JSON, fingerprint ('' when not
          distinct), due ms (0 = now)]: one argument instead of four per task, which ioredis
          encoded one by one (it showed in the dispatcher's profile)
          ARGV[4] lease expiry ms of a handed-off task  ARGV[5] its lease token prefix
          ARGV[6] the channel's global cap of running tasks (0 = none)
  Output: one code per task: 1 queued, 2 delayed; -1 duplicate command line (distinct),
          -2 id already accepted
]]
-- @include wake
-- @include admitTask
-- @include claimQueued
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
if queued > 0 then
  local waiting = tonumber(redis.call('GET', KEYS[12]) or '0')
  local handed = {}
  if waiting > 0 then
    claimQueued({ queued = KEYS[1], tasks = KEYS[2], running = KEYS[7], leases = KEYS[8], marker = KEYS[5], paused = KEYS[9],
      stale = KEYS[10], staleCount = KEYS[11] }, math.min(waiting, queued), ARGV[4], ARGV[5], tonumber(ARGV[6]), handed)
  end
  for i = 1, #handed, 3 do redis.call('LPUSH', KEYS[13], handed[i] .. '\n' .. handed[i + 2] .. '\n' .. handed[i + 1]) end
  if #handed > 0 then redis.call('DECRBY', KEYS[12], #handed / 3) else wake(KEYS[5]) end
end
return codes
