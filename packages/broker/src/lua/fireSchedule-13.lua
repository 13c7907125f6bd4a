--[[
  Fire one tick of a schedule: claim the tick by comparing and advancing the schedule's next tick,
  and accept its run into the channel in the same step, so the tick fires exactly once across every
  master (the tick is the cron time stored here, never a host's clock) and a master dying after the
  claim loses nothing. A missed tick (claimed past the missed window: every master was down) also
  drops the runs pre-enqueued for earlier ticks that no master promoted (see promoteDelayed): this
  fire is the one catch-up run, or none.
  Input:  KEYS[1] queued  KEYS[2] tasks  KEYS[3] delayed  KEYS[4] distinct  KEYS[5] marker  KEYS[6] stats
          KEYS[7] schedule-ticks  KEYS[8] schedule-runs  KEYS[9] done  KEYS[10] failed  KEYS[11] cancelled
          ARGV[1] now ms  ARGV[2] distinct marker TTL ms  ARGV[3] schedule name
          ARGV[4] mode: 'tick' (claim ARGV[5], run), 'miss' (claim ARGV[5], no run), 'now' (run, no claim)
          ARGV[5] the tick being claimed (ms)  ARGV[6] the tick after it (ms)
          ARGV[7] overlap: allow | skip | replace
          ARGV[8] task id  ARGV[9] task spec JSON  ARGV[10] fingerprint ('' when not distinct)
          KEYS[12] retries  KEYS[13] schedule-pending  ARGV[11] missed after ms
  Output: { code, next tick ms ('' when none), previous run id ('' when none) }
          code 1 queued, 2 skipped (previous run still queued or running), 3 missed (claimed, not run),
          4 duplicate command line (distinct); 0 the tick was already claimed (next tick returned);
          -5 the schedule is paused or deleted
]]
-- @include wake
-- @include admitTask
-- @include dropArmedRuns
local now, ttl, name, mode = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4]
local overlap, id, spec, fingerprint = ARGV[7], ARGV[8], ARGV[9], ARGV[10]

local nextTick = ''
if mode ~= 'now' then
  local current = redis.call('HGET', KEYS[7], name)
  if not current then return { -5, '', '' } end
  if current ~= ARGV[5] then return { 0, current, '' } end
  nextTick = ARGV[6]
  redis.call('HSET', KEYS[7], name, nextTick)
  local missedBefore = now - tonumber(ARGV[11])
  if tonumber(ARGV[5]) < missedBefore then
    local S = { tasks = KEYS[2], delayed = KEYS[3], runs = KEYS[8], pending = KEYS[13], stats = KEYS[6], retries = KEYS[12] }
    dropArmedRuns(S, name, -math.huge, missedBefore - 1)
  end
  if mode == 'miss' then return { 3, nextTick, '' } end
end

-- the previous run lasts while its task exists and has neither finished, failed nor been cancelled
local previous = redis.call('HGET', KEYS[8], name) or ''
local lasting = previous ~= '' and redis.call('HEXISTS', KEYS[2], previous) == 1
  and not redis.call('ZSCORE', KEYS[9], previous) and not redis.call('ZSCORE', KEYS[10], previous)
  and not redis.call('ZSCORE', KEYS[11], previous)
if lasting and overlap == 'skip' then return { 2, nextTick, previous } end

local code = admitTask(KEYS[1], KEYS[2], KEYS[3], KEYS[4], id, spec, fingerprint, 0, now, ttl)
if code < 0 then return { 4, nextTick, previous } end
redis.call('HSET', KEYS[8], name, id)
redis.call('HINCRBY', KEYS[6], 'accepted', 1)
wake(KEYS[5])
if not lasting then previous = '' end
return { 1, nextTick, previous }
