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
-- @include recordResult
return recordResult({ tasks = KEYS[1], running = KEYS[2], leases = KEYS[3], retries = KEYS[4], results = KEYS[5], done = KEYS[6],
  failed = KEYS[7], delayed = KEYS[8], distinct = KEYS[9], stats = KEYS[10], crashes = KEYS[11], durations = KEYS[12],
  callbacks = KEYS[13], log = KEYS[14], throughput = KEYS[15], historyOutbox = KEYS[16] }, ARGV[1], ARGV[2], ARGV[3], cjson.decode(ARGV[4]))
