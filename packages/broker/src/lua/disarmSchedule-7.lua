--[[
  Cancel the pre-enqueued runs (armSchedules) of a schedule that is paused, deleted or changed,
  whose tick has not come yet, and write its next tick, in one step: a master arming the schedule
  meanwhile either sees the new tick or has its run cancelled here. A run whose tick has come is an
  ordinary task by now and is left alone.
  Input:  KEYS[1] tasks  KEYS[2] delayed  KEYS[3] schedule-ticks  KEYS[4] schedule-runs
          KEYS[5] schedule-pending  KEYS[6] stats (a cancelled run no longer counts as accepted)
          KEYS[7] retries
          ARGV[1] now ms  ARGV[2] schedule name
          ARGV[3] tick: 'delete' (no next tick: paused or deleted), 'set' (ARGV[4] is the next tick),
          'keep' (the timing is unchanged: the earliest cancelled run's tick, else the stored one,
          else ARGV[4])
          ARGV[4] next tick ms
  Output: the number of runs cancelled
]]
-- @include dropArmedRuns
local now, name, mode = tonumber(ARGV[1]), ARGV[2], ARGV[3]
local S = { tasks = KEYS[1], delayed = KEYS[2], runs = KEYS[4], pending = KEYS[5], stats = KEYS[6], retries = KEYS[7] }
local cancelled, earliest = dropArmedRuns(S, name, now, math.huge)

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
