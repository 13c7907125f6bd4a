--[[
  RabbitMQ transport: record that queued tasks were published to the channel's queue (the
  broker confirmed them). Each entry leaves the queued list, which is the transport's outbox,
  for the published sorted set, which holds what waits in RabbitMQ in the order it was
  published (score: publish ms × 1000 + its place in the batch), so the queued listing can show
  it next-to-run first. An entry already gone (a consumer claimed the task before this call, or
  another relay published it) is left alone.
  The entries are read near the list's oldest end, where the relay took them: LREM from there
  scans a few entries, not the list.
  Input:  KEYS[1] queued  KEYS[2] published
          ARGV[1] publish time ms  ARGV[2..n] task ids, oldest first (at most 999)
  Output: how many entries moved
]]
local base = tonumber(ARGV[1]) * 1000
local moved = 0
for i = 2, #ARGV do
  local id = ARGV[i]
  if redis.call('LREM', KEYS[1], -1, id) == 1 then
    redis.call('ZADD', KEYS[2], base + i, id)
    moved = moved + 1
  end
end
return moved
