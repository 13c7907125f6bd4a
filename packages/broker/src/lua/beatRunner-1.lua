--[[
  RabbitMQ transport: a channel's runner says it is alive (every second), so a redelivery of a
  message it holds is not taken from it while it runs the task (claimDelivered-8.lua). Owners
  whose beat lapsed over a minute ago are removed on the way (their process is gone).
  Input:  KEYS[1] alive (hash owner → expiry ms)
          ARGV[1] owner  ARGV[2] expiry ms, or '0' when the owner leaves  ARGV[3] now ms
  Output: 1
]]
if ARGV[2] == '0' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
local now = tonumber(ARGV[3])
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  if tonumber(entries[i + 1]) < now - 60000 then redis.call('HDEL', KEYS[1], entries[i]) end
end
return 1
