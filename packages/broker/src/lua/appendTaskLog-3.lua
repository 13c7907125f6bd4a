--[[
  Append output lines to a task's log stream, within its byte budgets: a task's stream holds at
  most ARGV[1] bytes of lines (whatever its entry count), a channel's streams take at most
  ARGV[2] bytes per window of ARGV[4] ms. Lines beyond either budget are dropped and counted.
  Input:  KEYS[1] the task's log stream  KEYS[2] the task's byte counter  KEYS[3] the channel's
          byte counter of the current window
          ARGV[1] bytes per task  ARGV[2] bytes per channel window  ARGV[3] stream TTL ms
          ARGV[4] channel window ms  ARGV[5] max entries (approximate trim)
          ARGV[6..] pairs of stream name ('stdout'|'stderr'), line
  Output: bytes dropped (0 = every line written)
]]
local taskCap, channelCap = tonumber(ARGV[1]), tonumber(ARGV[2])
local taskUsed = tonumber(redis.call('GET', KEYS[2]) or '0')
local channelUsed = tonumber(redis.call('GET', KEYS[3]) or '0')
local written, dropped = 0, 0
for i = 6, #ARGV, 2 do
  local size = #ARGV[i + 1]
  if taskUsed + size > taskCap or channelUsed + written + size > channelCap then
    dropped = dropped + size
  else
    redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[5], '*', 's', ARGV[i], 'd', ARGV[i + 1])
    taskUsed = taskUsed + size
    written = written + size
  end
end
if written > 0 then
  redis.call('SET', KEYS[2], taskUsed, 'PX', ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  redis.call('INCRBY', KEYS[3], written)
  if redis.call('PTTL', KEYS[3]) < 0 then redis.call('PEXPIRE', KEYS[3], ARGV[4]) end
end
return dropped
