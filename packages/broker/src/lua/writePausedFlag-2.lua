--[[
  Set or clear a channel's paused flag (what the claim script reads), unless a later definition
  already wrote it: concurrent changes reach the flag in the order they reached the definition.
  Input:  KEYS[1] paused flag  KEYS[2] stamp of the flag's last write
          ARGV[1] stamp of this definition (from updateChannel)  ARGV[2] '1' paused, '0' not
  Output: 1 written, 0 skipped (older than the flag)
]]
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
if tonumber(ARGV[1]) < last then return 0 end
redis.call('SET', KEYS[2], ARGV[1])
if ARGV[2] == '1' then
  redis.call('SET', KEYS[1], '1')
else
  redis.call('DEL', KEYS[1])
end
return 1
