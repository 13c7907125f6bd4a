--[[
  Give a dead (or restarted) node's in-flight task-job entries back to the front of their list
  (the end read next), in their original order.
  Input:  KEYS[1] task-job list  KEYS[2] in-flight list
  Output: number of entries returned
]]
local n = 0
while true do
  local entry = redis.call('LMOVE', KEYS[2], KEYS[1], 'RIGHT', 'LEFT')
  if not entry then break end
  n = n + 1
end
return n
