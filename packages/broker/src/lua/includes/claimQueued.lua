-- Claims up to `wanted` tasks (claimTasks-10 and finishTask-23 share it, enqueueTasks-13 hands
-- tasks to an idle claimer with it; claimTasks-10's header documents the rules: paused flag,
-- global cap, stale entries, hand-offs, wake-up) and appends id, spec, token of each to `out`.
-- K: the keys by name; without K.handoff, tasks handed to an idle claimer are left alone.
local function claimQueued(K, wanted, expiry, tokenPrefix, cap, out)
  if redis.call('EXISTS', K.paused) == 1 then return end
  local claimed, popped = 0, 0
  local function take(id, spec, token)
    redis.call('ZADD', K.leases, expiry, id)
    out[#out + 1] = id
    out[#out + 1] = spec
    out[#out + 1] = token
    claimed = claimed + 1
  end
  -- tasks an enqueue leased for an idle claimer that did not take them (it woke another way, or
  -- died) come first, under their lease token; one whose lease lapsed meanwhile is dropped
  while K.handoff and claimed < wanted do
    local entry = redis.call('RPOP', K.handoff)
    if not entry then break end
    local id, token, spec = string.match(entry, '^([^\n]*)\n([^\n]*)\n(.*)$')
    if id and redis.call('HGET', K.running, id) == token then take(id, spec, token) end
  end
  if cap > 0 then
    local room = cap - redis.call('HLEN', K.running)
    if room < wanted - claimed then wanted = claimed + room end
    -- at the cap: the host whose task finishes claims the freed slot itself
    if wanted <= claimed then return end
  end
  while claimed < wanted and popped < wanted + 1000 do
    local id = redis.call('RPOP', K.queued)
    if not id then break end
    popped = popped + 1
    if redis.call('HEXISTS', K.stale, id) == 1 then
      if redis.call('HINCRBY', K.stale, id, -1) <= 0 then redis.call('HDEL', K.stale, id) end
      redis.call('DECR', K.staleCount)
    else
      local spec = redis.call('HGET', K.tasks, id)
      if spec then
        local token = tokenPrefix .. ':' .. popped
        redis.call('HSET', K.running, id, token)
        take(id, spec, token)
      end
    end
  end
  -- more left (work, or stale entries past this call's budget): let an idle claimer look at once
  if redis.call('LLEN', K.queued) > 0 then wake(K.marker) end
end
