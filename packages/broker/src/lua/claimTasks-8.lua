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
  Input:  KEYS[1] queued  KEYS[2] tasks  KEYS[3] running  KEYS[4] leases  KEYS[5] marker  KEYS[6] paused flag
          KEYS[7] stale  KEYS[8] stale count
          ARGV[1] max tasks  ARGV[2] lease expiry ms  ARGV[3] lease token prefix
          ARGV[4] global cap of running tasks (0 = none)
  Output: flat array id1, spec1, token1, id2, ... (empty when nothing is queued, the channel is paused or the cap is reached)
]]
-- @include wake
if redis.call('EXISTS', KEYS[6]) == 1 then return {} end
local wanted = tonumber(ARGV[1])
local cap = tonumber(ARGV[4] or '0')
if cap > 0 then
  local room = cap - redis.call('HLEN', KEYS[3])
  if room < wanted then wanted = room end
  -- at the cap: the host whose task finishes claims the freed slot itself
  if wanted <= 0 then return {} end
end
local out = {}
local claimed, popped = 0, 0
while claimed < wanted and popped < wanted + 1000 do
  local id = redis.call('RPOP', KEYS[1])
  if not id then break end
  popped = popped + 1
  if redis.call('HEXISTS', KEYS[7], id) == 1 then
    if redis.call('HINCRBY', KEYS[7], id, -1) <= 0 then redis.call('HDEL', KEYS[7], id) end
    redis.call('DECR', KEYS[8])
  else
    local spec = redis.call('HGET', KEYS[2], id)
    if spec then
      local token = ARGV[3] .. ':' .. popped
      redis.call('HSET', KEYS[3], id, token)
      redis.call('ZADD', KEYS[4], ARGV[2], id)
      out[#out + 1] = id
      out[#out + 1] = spec
      out[#out + 1] = token
      claimed = claimed + 1
    end
  end
end
-- more left (work, or stale entries past this call's budget): let an idle claimer look at once
if redis.call('LLEN', KEYS[1]) > 0 then wake(KEYS[5]) end
return out
