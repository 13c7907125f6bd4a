--[[
  Record the end of one execution: success, a retry after backoff, or the failed list; with it
  the duration histogram, the `done` record of the task's live log (only when the execution
  printed something: a silent task leaves no log stream behind), its result callback, due now,
  and (with -history-url) the run in the channel's bounded history outbox.
  Input:  KEYS[1] tasks  KEYS[2] running  KEYS[3] leases  KEYS[4] retries  KEYS[5] results
          KEYS[6] done  KEYS[7] failed  KEYS[8] delayed  KEYS[9] distinct  KEYS[10] stats
          KEYS[11] crashes  KEYS[12] durations  KEYS[13] callbacks  KEYS[14] the task's log stream
          KEYS[15] history outbox
          ARGV[1] id  ARGV[2] lease token  ARGV[3] 1 success / 0 failure  ARGV[4] result JSON
          ARGV[5] now ms  ARGV[6] 1 retry allowed / 0 not (killed)  ARGV[7] max retries
          ARGV[8] backoff base ms  ARGV[9] fingerprint  ARGV[10] retention count  ARGV[11] retention age ms
          ARGV[12] duration histogram field (le:<s>)  ARGV[13] duration ms  ARGV[14] outcome
          ARGV[15] exit code ('' when none)  ARGV[16] 1 callback armed / 0  ARGV[17] log stream max entries
          ARGV[18] log stream TTL ms  ARGV[19] history record JSON without its attempt ('' when
          history is off)  ARGV[20] most runs the history outbox holds
  A retry counts one more re-run (see includes/retriesOf); the final failure counts none.
  Output: 1 succeeded, 2 retry scheduled, 3 failed; -6 lease lost (result not recorded)
]]
-- @include releaseDistinct
-- @include retriesOf
-- @include trimFinished
local id, now = ARGV[1], tonumber(ARGV[5])
if redis.call('HGET', KEYS[2], id) ~= ARGV[2] then return -6 end
redis.call('HDEL', KEYS[2], id)
redis.call('ZREM', KEYS[3], id)
redis.call('HDEL', KEYS[11], id)
redis.call('HSET', KEYS[5], id, ARGV[4])
redis.call('HINCRBY', KEYS[10], 'processed', 1)
redis.call('HINCRBY', KEYS[12], ARGV[12], 1)
redis.call('HINCRBY', KEYS[12], 'sum_ms', ARGV[13])
redis.call('HINCRBY', KEYS[12], 'count', 1)
if redis.call('EXISTS', KEYS[14]) == 1 then
  redis.call('XADD', KEYS[14], 'MAXLEN', '~', ARGV[17], '*', 's', 'done', 'd', '', 'o', ARGV[14], 'x', ARGV[15])
  redis.call('PEXPIRE', KEYS[14], ARGV[18])
end
-- the history outbox: the attempt is known only here (re-runs so far + 1); a full outbox drops
-- the run and counts it rather than grow Redis or slow the command down
if ARGV[19] ~= '' then
  if redis.call('LLEN', KEYS[15]) < tonumber(ARGV[20]) then
    local reruns = retriesOf(KEYS[4], id)
    redis.call('LPUSH', KEYS[15], string.sub(ARGV[19], 1, -2) .. ',"attempt":' .. (reruns + 1) .. '}')
  else
    redis.call('HINCRBY', KEYS[10], 'history_dropped', 1)
  end
end
-- XX: only a callback armed at acceptance; LT: only ever brought forward
if ARGV[16] == '1' then redis.call('ZADD', KEYS[13], 'XX', 'LT', now, id) end

if ARGV[3] == '1' then
  redis.call('HINCRBY', KEYS[10], 'succeeded', 1)
  redis.call('ZADD', KEYS[6], now, id)
  releaseDistinct(KEYS[9], ARGV[9])
  trimFinished(KEYS[6], KEYS[1], KEYS[5], KEYS[4], now, tonumber(ARGV[10]), tonumber(ARGV[11]))
  return 1
end

local total, round = retriesOf(KEYS[4], id)
if ARGV[6] == '1' and round < tonumber(ARGV[7]) then
  redis.call('HSET', KEYS[4], id, (total + 1) .. ':' .. (round + 1))
  redis.call('HINCRBY', KEYS[10], 'retried', 1)
  local backoff = tonumber(ARGV[8]) * (2 ^ round)
  redis.call('ZADD', KEYS[8], now + backoff, id)
  return 2
end
redis.call('HINCRBY', KEYS[10], 'failed', 1)
redis.call('ZADD', KEYS[7], now, id)
releaseDistinct(KEYS[9], ARGV[9])
trimFinished(KEYS[7], KEYS[1], KEYS[5], KEYS[4], now, tonumber(ARGV[10]), tonumber(ARGV[11]))
return 3
