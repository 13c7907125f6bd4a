--[[
  Claim up to N queued tasks of a channel and lease each to the caller.
  Entries counted in `stale` were cancelled while queued: each is dropped here (and uncounted)
  without looking at the id's spec, which may be a cancelled record or a newer task of the same
  id with an entry of its own. An id whose spec is gone is dropped too.
  At most 1,000 dropped entries per call; when that budget ends the look, the wake-up marker
  tells the caller to look again at once instead of blocking.
  A channel with a global cap never has more than that many tasks running across all hosts:
  the running hash holds every host's leases, so its size is the cluster-wide count.
  A paused channel gives nothing, whatever host asks: the pause holds from the moment it is written.
  Hand-offs: a claimer that finds nothing and will block says so (ARGV[6]); it is counted in
  `waiting`, and the next enqueue leases a task for it at once and pushes it to `handoff`, where
  the claimer's blocking read (BRPOP handoff marker) takes it: a push reaches an idle slot with
  no claim round trip after the wake-up. A claimer woken another way (marker, timeout) says so
  (ARGV[5]) and is uncounted; tasks left in `handoff` (their claimer woke another way, or died)
  are claimed first, under the lease token they were handed with.
  Input:  KEYS[1] queued  KEYS[2] tasks  KEYS[3] running  KEYS[4] leases  KEYS[5] marker  KEYS[6] paused flag
          KEYS[7] stale  KEYS[8] stale count  KEYS[9] waiting  KEYS[10] handoff
          ARGV[1] max tasks  ARGV[2] lease expiry ms  ARGV[3] lease token prefix
          ARGV[4] global cap of running tasks (0 = none)
          ARGV[5] '1': the caller was counted waiting and woke without a hand-off
          ARGV[6] '1': the caller blocks if this claim gives nothing (count it waiting)
  Output: flat array id1, spec1, token1, id2, ... (empty when nothing is queued, the channel is paused or the cap is reached)
]]
-- @include wake
-- @include claimQueued
if ARGV[5] == '1' and tonumber(redis.call('GET', KEYS[9]) or '0') > 0 then redis.call('DECR', KEYS[9]) end
local out = {}
claimQueued({ queued = KEYS[1], tasks = KEYS[2], running = KEYS[3], leases = KEYS[4], marker = KEYS[5], paused = KEYS[6],
  stale = KEYS[7], staleCount = KEYS[8], handoff = KEYS[10] }, tonumber(ARGV[1]), ARGV[2], ARGV[3], tonumber(ARGV[4] or '0'), out)
if #out == 0 and ARGV[6] == '1' then redis.call('INCR', KEYS[9]) end
return out
