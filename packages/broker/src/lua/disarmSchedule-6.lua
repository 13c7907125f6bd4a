--[[
  Cancel the pre-enqueued runs (armSchedules) of a schedule that is paused, deleted or changed,
  whose tick has not come yet, and write its next tick, in one step: a master arming the schedule
  meanwhile either sees the new tick or has its run cancelled here. A run whose tick has come is an
  ordinary task by now and is left alone.
  Input:  KEYS[1] tasks  KEYS[2] delayed  KEYS[3] schedule-ticks  KEYS[4] schedule-runs
          KEYS[5] schedule-pending  KEYS[6] stats (a cancelled run no longer counts as accepted)
          ARGV[1] now ms  ARGV[2] schedule name
          ARGV[3] tick: 'delete' (no next tick: paused or deleted), 'set' (ARGV[4] is the next tick),
          'keep' (the timing is unchanged: the earliest cancelled run's tick, else the stored one,
          else ARGV[4])
          ARGV[4] next tick ms
  Output: the number of runs cancelled
]]
local now, name, mode = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local cancelled, earliest = 0, nil
local lastRun = redis.call('HGET', KEYS[4], name)

-- pending: the last run whose tick has come ('-' when none), then the runs armed for coming ticks
local fired = nil
for id in string.gmatch(redis.call('HGET', KEYS[5], name) or '', '%S+') do
  local due = fired and redis.call('ZSCORE', KEYS[2], id)
  if not fired then
    fired = id
  elseif due and tonumber(due) > now then
    redis.call('ZREM', KEYS[2], id)
    redis.call('HDEL', KEYS[1], id)
    cancelled = cancelled + 1
    if not earliest or tonumber(due) < earliest then earliest = tonumber(due) end
    if id == lastRun then lastRun = nil end
  else
    fired = id
  end
end
if not lastRun and fired and fired ~= '-' then redis.call('HSET', KEYS[4], name, fired) end
if not lastRun and fired == '-' then redis.call('HDEL', KEYS[4], name) end
redis.call('HDEL', KEYS[5], name)
if cancelled > 0 then redis.call('HINCRBY', KEYS[6], 'accepted', -cancelled) end

if mode == 'delete' then
  redis.call('HDEL', KEYS[3], name)
elseif mode == 'set' then
  redis.call('HSET', KEYS[3], name, ARGV[4])
elseif earliest then
  redis.call('HSET', KEYS[3], name, string.format('%d', earliest))
else
  redis.call('HSETNX', KEYS[3], name, ARGV[4])
end
return cancelled
