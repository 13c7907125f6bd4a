--[[
  Release a lock (a string holding its owner's token, with a TTL) only if the caller still holds
  it: a lock that lapsed and was taken by another owner is left to that owner.
  Input:  KEYS[1] the lock  ARGV[1] the caller's token
  Output: 1 released, 0 not held by the caller
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
