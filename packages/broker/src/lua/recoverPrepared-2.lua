--[[
  Give a dead (or restarted) node's in-flight ingress entries back to the ingress list, at the
  end that is read next, in their original order.
  Input:  KEYS[1] ingress list  KEYS[2] in-flight list
  Output: number of entries returned
]]
local n = 0
while true do
  local entry = redis.call('LMOVE', KEYS[2], KEYS[1], 'LEFT', 'RIGHT')
  if not entry then break end
  n = n + 1
end
return n
