--[[
  Move up to N producer entries from the seed's ingress list into this node's in-flight list,
  oldest first, so a master killed before enqueuing them loses nothing.
  Both keys share one hash slot: the in-flight key is "{<ingress key>}:processing:<node>".
  Input:  KEYS[1] ingress list  KEYS[2] in-flight list   ARGV[1] max entries
  Output: the entries, oldest first
]]
local out = {}
for i = 1, tonumber(ARGV[1]) do
  local entry = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
  if not entry then break end
  out[i] = entry
end
return out
