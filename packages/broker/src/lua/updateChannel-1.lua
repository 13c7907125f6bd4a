--[[
  Replace a channel's definition, unless it changed since the caller read it (compare-and-set:
  two concurrent PATCHes must not lose one another's fields; the loser re-reads and merges again).
  Input:  KEYS[1] channels hash
          ARGV[1] channel name  ARGV[2] the definition read (JSON; '' = none)  ARGV[3] new JSON
  Output: the write's stamp (server time in µs, as a string: later writes get larger stamps),
          or nil when the stored definition is no longer ARGV[2]
]]
local stored = redis.call('HGET', KEYS[1], ARGV[1]) or ''
if stored ~= ARGV[2] then return nil end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
local now = redis.call('TIME')
return now[1] .. string.format('%06d', tonumber(now[2]))
