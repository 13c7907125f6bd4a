--[[
  Append TaskLog records to task-job's logs list, keeping its newest ARGV[1] records, and (when
  logs_http is set) to this node's HTTP outbox, kept to the same bound: a consumer or an endpoint
  that stopped answering costs old records, never Redis's memory.
  Input:  KEYS[1] logs list  KEYS[2] HTTP outbox of this node (same slot)
          ARGV[1] records kept per list  ARGV[2] 1 = to the list  ARGV[3] 1 = to the outbox
          ARGV[4..] records, in order
  Output: number of records appended
]]
local keep = tonumber(ARGV[1])
local n = #ARGV - 3
for i = 4, #ARGV do
  if ARGV[2] == '1' then redis.call('RPUSH', KEYS[1], ARGV[i]) end
  if ARGV[3] == '1' then redis.call('RPUSH', KEYS[2], ARGV[i]) end
end
if ARGV[2] == '1' then redis.call('LTRIM', KEYS[1], -keep, -1) end
if ARGV[3] == '1' then redis.call('LTRIM', KEYS[2], -keep, -1) end
return n
