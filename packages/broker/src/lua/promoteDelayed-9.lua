--[[
  Move delayed tasks that are due into the queue. A schedule's pre-enqueued run (armSchedules) that
  no master promoted within the missed window of its tick (every master was down) is a missed tick:
  catch_up none drops it; catch_up once keeps only the schedule's latest one, and none of them when
  the schedule's stored next tick is missed too (its firer then runs the one catch-up: fireSchedule
  drops what is left here in the same step, whichever comes first).
  Input:  KEYS[1] delayed  KEYS[2] queued  KEYS[3] marker  KEYS[4] tasks  KEYS[5] retries
          KEYS[6] schedule-ticks  KEYS[7] schedule-runs  KEYS[8] schedule-pending  KEYS[9] stats
          ARGV[1] now ms  ARGV[2] max tasks to move  ARGV[3] missed after ms
  Output: { moved count, due ms of the next delayed task or -1, missed runs dropped }
]]
-- @include wake
-- @include dropArmedRuns
local now, max = tonumber(ARGV[1]), tonumber(ARGV[2])
local missedBefore = now - tonumber(ARGV[3])
local dropped = 0

-- rare (after an outage): only runs overdue past the missed window are looked at
local overdue = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. missedBefore, 'LIMIT', 0, max)
if #overdue > 0 then
  local S = { tasks = KEYS[4], delayed = KEYS[1], runs = KEYS[7], pending = KEYS[8], stats = KEYS[9], retries = KEYS[5] }
  local seen = {}
  for _, id in ipairs(overdue) do
    local stored = redis.call('HEXISTS', KEYS[5], id) == 0 and redis.call('HGET', KEYS[4], id)
    -- most overdue tasks are no schedule's: skip decoding them
    local ok, spec = false, nil
    if stored and string.find(stored, '"schedule":', 1, true) then ok, spec = pcall(cjson.decode, stored) end
    local name = ok and type(spec) == 'table' and spec.schedule
    if type(name) == 'string' and not seen[name] then
      seen[name] = true
      local upTo = missedBefore - 1
      local nextTick = tonumber(redis.call('HGET', KEYS[6], name) or '')
      if spec.scheduleCatchUp == 'once' and nextTick and nextTick >= missedBefore then
        -- the latest missed run is the one catch-up: the others go
        local latest = nil
        for other in string.gmatch(redis.call('HGET', KEYS[8], name) or '', '%S+') do
          local due = tonumber(redis.call('ZSCORE', KEYS[1], other) or '')
          local armed = due and due < missedBefore and redis.call('HEXISTS', KEYS[5], other) == 0
          if armed and (not latest or due > latest) then latest = due end
        end
        upTo = latest and latest - 1 or -math.huge
      end
      dropped = dropped + dropArmedRuns(S, name, -math.huge, upTo)
    end
  end
end

local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, max)
if #due > 0 then
  redis.call('ZREM', KEYS[1], unpack(due))
  redis.call('LPUSH', KEYS[2], unpack(due))
  wake(KEYS[3])
end
local nextDue = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #nextDue == 0 then return { #due, -1, dropped } end
return { #due, tonumber(nextDue[2]), dropped }
