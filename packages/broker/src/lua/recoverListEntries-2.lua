--[[
  Give a dead (or restarted) node's in-flight entries back to their list, at the end that is read
  next, in their original order (the inverse of claimListEntries).
  Input:  KEYS[1] list  KEYS[2] in-flight list
          ARGV[1] the list's oldest end (LEFT | RIGHT)  ARGV[2] the other end
  Output: number of entries returned
]]
local n = 0
while true do
  local entry = redis.call('LMOVE', KEYS[2], KEYS[1], ARGV[2], ARGV[1])
  if not entry then break end
  n = n + 1
end
return n
