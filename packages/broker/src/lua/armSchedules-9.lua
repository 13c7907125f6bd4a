--[[
  Pre-enqueue the runs of coming ticks: for each schedule of the batch, claim its tick by comparing
  and advancing the stored next tick (as fireSchedule does), and accept its run as a delayed task due
  at the tick, so the delayed-task promotion queues it on time and a master dying after this loses
  nothing. The claim makes each tick run once across every master whatever their clocks say. Each run
  is also noted as pending (after the last run that left the delayed set), so pausing, deleting or
  changing the schedule before its tick cancels it and gives the schedule its last run back
  (disarmSchedule). Only schedules whose run needs no check at the tick come here: overlap allow,
  not distinct.
  Input:  KEYS[1] queued  KEYS[2] tasks  KEYS[3] delayed  KEYS[4] distinct  KEYS[5] stats
          KEYS[6] schedule-ticks  KEYS[7] schedule-runs  KEYS[8] schedule-pending  KEYS[9] marker
          ARGV[1] now ms  ARGV[2] the runs, packed as one JSON array of
          [schedule name, tick ms, following tick ms, task id, task spec JSON] (a tick already come
          is queued at once)
  Output: one pair per run: { code, next tick ms ('' when none) }
          code 1 armed (its run is delayed until the tick); 0 the tick was already claimed (the
          stored next tick returned); -5 the schedule is paused or deleted
]]
-- @include wake
-- @include admitTask
local now = tonumber(ARGV[1])
local replies = {}
local accepted, queued = 0, 0

for _, run in ipairs(cjson.decode(ARGV[2])) do
  local name, tick, following, id, spec = run[1], tostring(run[2]), tostring(run[3]), run[4], run[5]
  local current = redis.call('HGET', KEYS[6], name)
  if not current then
    replies[#replies + 1] = { -5, '' }
  elseif current ~= tick then
    replies[#replies + 1] = { 0, current }
  else
    redis.call('HSET', KEYS[6], name, following)
    local code = admitTask(KEYS[1], KEYS[2], KEYS[3], KEYS[4], id, spec, '', tonumber(tick), now, 0)
    if code == 1 then queued = queued + 1 end
    if code > 0 then
      accepted = accepted + 1
      -- pending: the last run that left the delayed set ('-' when none), then the runs still in it
      -- (one whose tick has come stays listed until promoted: a missed one is dropped by id, see
      -- promoteDelayed)
      local fired, coming = nil, {}
      for old in string.gmatch(redis.call('HGET', KEYS[8], name) or '', '%S+') do
        if not fired then
          fired = old
        elseif redis.call('ZSCORE', KEYS[3], old) then
          coming[#coming + 1] = old
        else
          fired = old
        end
      end
      coming[#coming + 1] = id
      redis.call('HSET', KEYS[8], name, (fired or redis.call('HGET', KEYS[7], name) or '-') .. ' ' .. table.concat(coming, ' '))
      redis.call('HSET', KEYS[7], name, id)
    end
    replies[#replies + 1] = { 1, following }
  end
end
if accepted > 0 then redis.call('HINCRBY', KEYS[5], 'accepted', accepted) end
if queued > 0 then wake(KEYS[9]) end
return replies
