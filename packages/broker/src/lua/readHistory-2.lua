--[[
  Take (or keep) the lease on a channel's history outbox and read its oldest runs, so that one
  history writer at a time, on any host, copies them to SQL.
  Input:  KEYS[1] history outbox  KEYS[2] history lock  ARGV[1] writer token  ARGV[2] lease ms
          ARGV[3] most runs to read
  Output: the oldest runs (newest first), or nil when another writer holds the lease
]]
local holder = redis.call('GET', KEYS[2])
if holder and holder ~= ARGV[1] then return nil end
redis.call('SET', KEYS[2], ARGV[1], 'PX', tonumber(ARGV[2]))
return redis.call('LRANGE', KEYS[1], -tonumber(ARGV[3]), -1)
