--[[
  Move up to N entries from a task-job list (producers RPUSH, so the oldest is at the left) into
  this node's in-flight list, oldest first, so a master killed before handling them loses none.
  Both keys share one hash slot: the in-flight key is "{<list>}:processing:<node>".
  Input:  KEYS[1] task-job list  KEYS[2] in-flight list   ARGV[1] max entries
  Output: the entries, oldest first
]]
local out = {}
for i = 1, tonumber(ARGV[1]) do
  local entry = redis.call('LMOVE', KEYS[1], KEYS[2], 'LEFT', 'RIGHT')
  if not entry then break end
  out[i] = entry
end
return out
