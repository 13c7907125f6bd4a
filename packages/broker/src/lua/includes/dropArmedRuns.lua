-- Cancel a schedule's pre-enqueued runs (armSchedules) still waiting in the delayed set, never
-- started, whose tick lies in (after, upTo]: each leaves the delayed set and the tasks hash and no
-- longer counts as accepted. A run that has started (a retry waiting out its backoff has a retries
-- entry) is an ordinary task and is left alone. The schedule's pending list keeps the runs still
-- waiting; its last run follows.
-- S holds the keys: tasks, delayed, retries, runs (schedule-runs), pending (schedule-pending), stats.
-- Returns the number cancelled and the earliest cancelled tick (nil when none).
local function dropArmedRuns(S, name, after, upTo)
  local cancelled, earliest = 0, nil
  local lastRun = redis.call('HGET', S.runs, name)
  -- pending: the last run that left the delayed set ('-' when none), then the armed runs still in it
  local fired, coming = nil, {}
  for id in string.gmatch(redis.call('HGET', S.pending, name) or '', '%S+') do
    local due = fired and redis.call('ZSCORE', S.delayed, id)
    local waiting = due and redis.call('HEXISTS', S.retries, id) == 0
    due = due and tonumber(due)
    if not fired then
      fired = id
    elseif waiting and due > after and due <= upTo then
      redis.call('ZREM', S.delayed, id)
      redis.call('HDEL', S.tasks, id)
      cancelled = cancelled + 1
      if not earliest or due < earliest then earliest = due end
      if id == lastRun then lastRun = nil end
    elseif waiting then
      coming[#coming + 1] = id
    else
      fired = id
    end
  end
  if not fired then return 0, nil end
  if not lastRun and fired ~= '-' then redis.call('HSET', S.runs, name, fired) end
  if not lastRun and fired == '-' then redis.call('HDEL', S.runs, name) end
  if #coming > 0 then
    redis.call('HSET', S.pending, name, fired .. ' ' .. table.concat(coming, ' '))
  else
    redis.call('HDEL', S.pending, name)
  end
  if cancelled > 0 then redis.call('HINCRBY', S.stats, 'accepted', -cancelled) end
  return cancelled, earliest
end
