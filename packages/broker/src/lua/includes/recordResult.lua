-- The end of one execution (completeTask-16 and finishTask-23 share it; their headers document
-- the options): success, a retry after backoff, or the failed list, with the duration histogram,
-- the per-minute counts, the log stream's `done` record, the callback nudge and the history outbox.
-- K: the keys by name. Answers 1 succeeded, 2 retry scheduled, 3 failed, -6 lease lost (nothing recorded).
local function recordResult(K, id, token, result, opts)
  local now = opts.nowMs
  if redis.call('HGET', K.running, id) ~= token then return -6 end
  redis.call('HDEL', K.running, id)
  redis.call('ZREM', K.leases, id)
  redis.call('HDEL', K.crashes, id)
  redis.call('HSET', K.results, id, result)
  redis.call('HINCRBY', K.stats, 'processed', 1)
  redis.call('HINCRBY', K.durations, opts.durationField, 1)
  redis.call('HINCRBY', K.durations, 'sum_ms', opts.durationMs)
  redis.call('HINCRBY', K.durations, 'count', 1)
  -- the per-minute history the dashboard draws (GET /throughput): fields of the last minutes only,
  -- trimmed when there are more than the window holds; the key expires once the channel is idle
  local minute, window = math.floor(now / 60000), opts.throughputMinutes
  local function countMinute(counter)
    redis.call('HINCRBY', K.throughput, minute .. ':' .. counter, 1)
  end
  countMinute('processed')
  if redis.call('HLEN', K.throughput) > 2 * window + 2 then
    for _, field in ipairs(redis.call('HKEYS', K.throughput)) do
      if tonumber(string.match(field, '^%d+')) <= minute - window then redis.call('HDEL', K.throughput, field) end
    end
  end
  redis.call('PEXPIRE', K.throughput, (window + 1) * 60000)
  if redis.call('EXISTS', K.log) == 1 then
    redis.call('XADD', K.log, 'MAXLEN', '~', opts.logMaxEntries, '*', 's', 'done', 'd', '', 'o', opts.outcome, 'x', opts.exitCode)
    redis.call('PEXPIRE', K.log, opts.logTtlMs)
  end
  -- the history outbox: the attempt is known only here (re-runs so far + 1); a full outbox drops
  -- the run and counts it rather than grow Redis or slow the command down
  if opts.history ~= '' then
    if redis.call('LLEN', K.historyOutbox) < opts.historyMax then
      local reruns = retriesOf(K.retries, id)
      redis.call('LPUSH', K.historyOutbox, string.sub(opts.history, 1, -2) .. ',"attempt":' .. (reruns + 1) .. '}')
    else
      redis.call('HINCRBY', K.stats, 'history_dropped', 1)
    end
  end
  -- XX: only a callback armed at acceptance; LT: only ever brought forward
  if opts.callback then redis.call('ZADD', K.callbacks, 'XX', 'LT', now, id) end

  if opts.success then
    redis.call('HINCRBY', K.stats, 'succeeded', 1)
    redis.call('ZADD', K.done, now, id)
    releaseDistinct(K.distinct, opts.fingerprint)
    trimFinished(K.done, K.tasks, K.results, K.retries, now, opts.retentionCount, opts.retentionAgeMs, id)
    return 1
  end

  local total, round = retriesOf(K.retries, id)
  if opts.retryAllowed and round < opts.maxRetries then
    redis.call('HSET', K.retries, id, (total + 1) .. ':' .. (round + 1))
    redis.call('HINCRBY', K.stats, 'retried', 1)
    local backoff = opts.backoffMs * (2 ^ round)
    redis.call('ZADD', K.delayed, now + backoff, id)
    return 2
  end
  redis.call('HINCRBY', K.stats, 'failed', 1)
  countMinute('failed')
  redis.call('ZADD', K.failed, now, id)
  releaseDistinct(K.distinct, opts.fingerprint)
  trimFinished(K.failed, K.tasks, K.results, K.retries, now, opts.retentionCount, opts.retentionAgeMs, id)
  return 3
end
