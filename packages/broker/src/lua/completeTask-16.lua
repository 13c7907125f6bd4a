--[[
  Record the end of one execution: success, a retry after backoff, or the failed list; with it
  the duration histogram, the `done` record of the task's live log (only when the execution
  printed something: a silent task leaves no log stream behind), its result callback, due now,
  and (with -history-url) the run in the channel's bounded history outbox.
  Input:  KEYS[1] tasks  KEYS[2] running  KEYS[3] leases  KEYS[4] retries  KEYS[5] results
          KEYS[6] done  KEYS[7] failed  KEYS[8] delayed  KEYS[9] distinct  KEYS[10] stats
          KEYS[11] crashes  KEYS[12] durations  KEYS[13] callbacks  KEYS[14] the task's log stream
          KEYS[15] throughput (per-minute counts)  KEYS[16] history outbox
          ARGV[1] id  ARGV[2] lease token  ARGV[3] result JSON (stored as given)
          ARGV[4] options JSON (named, as BullMQ's moveToFinished packs its opts):
            success            true: the execution succeeded
            nowMs              the time of the completion
            retryAllowed       false: no retry whatever maxRetries says (killed)
            maxRetries         re-runs allowed after a failure
            backoffMs          the first retry's delay; doubled each round
            fingerprint        the distinct channel's fingerprint of the command ('' when none)
            retentionCount     finished tasks kept per list
            retentionAgeMs     and for how long
            durationField      the duration histogram's bucket field (le:<s>)
            durationMs         the execution's duration
            outcome            the result's outcome
            exitCode           its exit code ('' when none)
            callback           true: a result callback was armed at acceptance
            logMaxEntries      the log stream's cap
            logTtlMs           the log stream's time to live
            throughputMinutes  minutes of throughput history kept
            history            the run's history record JSON without its attempt ('' when history is off)
            historyMax         most runs the history outbox holds
  A retry counts one more re-run (see includes/retriesOf); the final failure counts none.
  Output: 1 succeeded, 2 retry scheduled, 3 failed; -6 lease lost (result not recorded)
]]
-- @include releaseDistinct
-- @include retriesOf
-- @include trimFinished
local id, token, result = ARGV[1], ARGV[2], ARGV[3]
local opts = cjson.decode(ARGV[4])
local now = opts.nowMs
if redis.call('HGET', KEYS[2], id) ~= token then return -6 end
redis.call('HDEL', KEYS[2], id)
redis.call('ZREM', KEYS[3], id)
redis.call('HDEL', KEYS[11], id)
redis.call('HSET', KEYS[5], id, result)
redis.call('HINCRBY', KEYS[10], 'processed', 1)
redis.call('HINCRBY', KEYS[12], opts.durationField, 1)
redis.call('HINCRBY', KEYS[12], 'sum_ms', opts.durationMs)
redis.call('HINCRBY', KEYS[12], 'count', 1)
-- the per-minute history the dashboard draws (GET /throughput): fields of the last minutes only,
-- trimmed when there are more than the window holds; the key expires once the channel is idle
local minute, window = math.floor(now / 60000), opts.throughputMinutes
local function countMinute(counter)
  redis.call('HINCRBY', KEYS[15], minute .. ':' .. counter, 1)
end
countMinute('processed')
if redis.call('HLEN', KEYS[15]) > 2 * window + 2 then
  for _, field in ipairs(redis.call('HKEYS', KEYS[15])) do
    if tonumber(string.match(field, '^%d+')) <= minute - window then redis.call('HDEL', KEYS[15], field) end
  end
end
redis.call('PEXPIRE', KEYS[15], (window + 1) * 60000)
if redis.call('EXISTS', KEYS[14]) == 1 then
  redis.call('XADD', KEYS[14], 'MAXLEN', '~', opts.logMaxEntries, '*', 's', 'done', 'd', '', 'o', opts.outcome, 'x', opts.exitCode)
  redis.call('PEXPIRE', KEYS[14], opts.logTtlMs)
end
-- the history outbox: the attempt is known only here (re-runs so far + 1); a full outbox drops
-- the run and counts it rather than grow Redis or slow the command down
if opts.history ~= '' then
  if redis.call('LLEN', KEYS[16]) < opts.historyMax then
    local reruns = retriesOf(KEYS[4], id)
    redis.call('LPUSH', KEYS[16], string.sub(opts.history, 1, -2) .. ',"attempt":' .. (reruns + 1) .. '}')
  else
    redis.call('HINCRBY', KEYS[10], 'history_dropped', 1)
  end
end
-- XX: only a callback armed at acceptance; LT: only ever brought forward
if opts.callback then redis.call('ZADD', KEYS[13], 'XX', 'LT', now, id) end

if opts.success then
  redis.call('HINCRBY', KEYS[10], 'succeeded', 1)
  redis.call('ZADD', KEYS[6], now, id)
  releaseDistinct(KEYS[9], opts.fingerprint)
  trimFinished(KEYS[6], KEYS[1], KEYS[5], KEYS[4], now, opts.retentionCount, opts.retentionAgeMs, id)
  return 1
end

local total, round = retriesOf(KEYS[4], id)
if opts.retryAllowed and round < opts.maxRetries then
  redis.call('HSET', KEYS[4], id, (total + 1) .. ':' .. (round + 1))
  redis.call('HINCRBY', KEYS[10], 'retried', 1)
  local backoff = opts.backoffMs * (2 ^ round)
  redis.call('ZADD', KEYS[8], now + backoff, id)
  return 2
end
redis.call('HINCRBY', KEYS[10], 'failed', 1)
countMinute('failed')
redis.call('ZADD', KEYS[7], now, id)
releaseDistinct(KEYS[9], opts.fingerprint)
trimFinished(KEYS[7], KEYS[1], KEYS[5], KEYS[4], now, opts.retentionCount, opts.retentionAgeMs, id)
return 3
