--[[
  Move up to N entries from a producers' list into this node's in-flight list, oldest first, so a
  master killed before handling them loses none. Serves every list read this way: the seed's
  ingress list (LPUSHed: the oldest is at the right) and task-job's lists (RPUSHed: at the left).
  Both keys share one hash slot: the in-flight key is "{<list>}:processing:<node>".
  Input:  KEYS[1] list  KEYS[2] in-flight list
          ARGV[1] max entries  ARGV[2] the list's oldest end (LEFT | RIGHT)  ARGV[3] the other end
  Output: the entries, oldest first
]]
local out = {}
for i = 1, tonumber(ARGV[1]) do
  local entry = redis.call('LMOVE', KEYS[1], KEYS[2], ARGV[2], ARGV[3])
  if not entry then break end
  out[i] = entry
end
return out
