--[[
  Take over a dead node's task-job HTTP outbox: its records go, in order, to the end of this
  node's outbox (a task's records stay in order: they all come from the host that ran it).
  Input:  KEYS[1] the dead node's outbox  KEYS[2] this node's outbox (same slot)
  Output: number of records adopted
]]
local n = 0
while true do
  local record = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
  if not record then break end
  n = n + 1
end
return n
