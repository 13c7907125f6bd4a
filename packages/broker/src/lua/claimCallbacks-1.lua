--[[
  Claim result callbacks that are due, leasing each so that one api process on one host
  delivers it while the others skip it (a crashed deliverer's claim comes due again).
  Input:  KEYS[1] callbacks  ARGV[1] now ms  ARGV[2] lease ms  ARGV[3] most to claim
  Output: the claimed task ids
]]
local now = tonumber(ARGV[1])
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), id)
end
return ids
