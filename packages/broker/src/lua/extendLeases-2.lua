--[[
  Renew the leases of the tasks a runner is running.
  Input:  KEYS[1] running  KEYS[2] leases
          ARGV[1] new expiry ms  ARGV[2..] pairs of task id, lease token
  Output: ids whose lease was lost (token no longer theirs)
]]
local lost = {}
for i = 2, #ARGV, 2 do
  local id, token = ARGV[i], ARGV[i + 1]
  if redis.call('HGET', KEYS[1], id) == token then
    redis.call('ZADD', KEYS[2], 'XX', ARGV[1], id)
  else
    lost[#lost + 1] = id
  end
end
return lost
