--[[
  RabbitMQ transport: record that queued tasks were published to the channel's queue (the
  broker confirmed them). Each entry leaves the queued list, which is the transport's outbox,
  for the published set, which counts what waits in RabbitMQ. An entry already gone (a consumer
  claimed the task before this call, or another relay published it) is left alone.
  The entries are read near the list's oldest end, where the relay took them: LREM from there
  scans a few entries, not the list.
  Input:  KEYS[1] queued  KEYS[2] published
          ARGV[1..n] task ids
  Output: how many entries moved
]]
local moved = 0
for _, id in ipairs(ARGV) do
  if redis.call('LREM', KEYS[1], -1, id) == 1 then
    redis.call('SADD', KEYS[2], id)
    moved = moved + 1
  end
end
return moved
