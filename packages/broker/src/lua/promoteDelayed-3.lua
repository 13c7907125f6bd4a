--[[
  Move delayed tasks that are due into the queue.
  Input:  KEYS[1] delayed  KEYS[2] queued  KEYS[3] marker
          ARGV[1] now ms  ARGV[2] max tasks to move
  Output: { moved count, due ms of the next delayed task or -1 }
]]
-- @include wake
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #due > 0 then
  redis.call('ZREM', KEYS[1], unpack(due))
  redis.call('LPUSH', KEYS[2], unpack(due))
  wake(KEYS[3])
end
local nextDue = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #nextDue == 0 then return { #due, -1 } end
return { #due, tonumber(nextDue[2]) }
