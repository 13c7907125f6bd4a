--[[
  Record the end of one execution and claim the next tasks for the slot it frees, in one call: a
  finishing slot costs one script and one round trip (as BullMQ's moveToFinished fetches the next
  job). The result is recorded first, exactly as completeTask-16 does (its header documents
  ARGV[4]'s options); then up to ARGV[5] tasks are claimed exactly as claimTasks-10 does (its
  header documents the rules; hand-offs left in `handoff` first). A lost lease (-6) records
  nothing but still claims.
  Input:  KEYS[1..16] as completeTask-16 (tasks running leases retries results done failed delayed
          distinct stats crashes durations callbacks, the task's log stream, throughput, history outbox)
          KEYS[17] queued  KEYS[18] marker  KEYS[19] paused flag  KEYS[20] stale  KEYS[21] stale count
          KEYS[22] waiting (unused here: a finishing slot never blocks)  KEYS[23] handoff
          ARGV[1] id  ARGV[2] lease token  ARGV[3] result JSON  ARGV[4] options JSON (completeTask-16's)
          ARGV[5] tasks to claim (0: none)  ARGV[6] lease expiry ms  ARGV[7] lease token prefix
          ARGV[8] global cap of running tasks (0 = none)
  Output: { completion code (1 succeeded, 2 retry scheduled, 3 failed, -6 lease lost), id1, spec1, token1, id2, ... }
]]
-- @include wake
-- @include releaseDistinct
-- @include retriesOf
-- @include trimFinished
-- @include recordResult
-- @include claimQueued
local K = { tasks = KEYS[1], running = KEYS[2], leases = KEYS[3], retries = KEYS[4], results = KEYS[5], done = KEYS[6],
  failed = KEYS[7], delayed = KEYS[8], distinct = KEYS[9], stats = KEYS[10], crashes = KEYS[11], durations = KEYS[12],
  callbacks = KEYS[13], log = KEYS[14], throughput = KEYS[15], historyOutbox = KEYS[16], queued = KEYS[17],
  marker = KEYS[18], paused = KEYS[19], stale = KEYS[20], staleCount = KEYS[21], handoff = KEYS[23] }
local out = { recordResult(K, ARGV[1], ARGV[2], ARGV[3], cjson.decode(ARGV[4])) }
local wanted = tonumber(ARGV[5])
if wanted > 0 then claimQueued(K, wanted, ARGV[6], ARGV[7], tonumber(ARGV[8]), out) end
return out
