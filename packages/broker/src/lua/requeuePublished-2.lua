--[[
  RabbitMQ transport: the channel's queue was deleted (RabbitMQ cancelled its consumer, or a
  publish found no queue), and the messages that waited in it with it. Every entry of the
  published sorted set goes back to the queued list, the outbox, so that the relay publishes it
  again to the queue declared anew: nothing that waited is lost. Entries whose message survived
  elsewhere (a delivery in a consumer's hands) only cost a duplicate message, which
  claimDelivered drops.
  Moves at most ARGV[1] entries per call, the newest first, each batch pushed to the list's
  oldest end newest-first: called until it returns 0, the oldest entry ends up at the list's
  oldest end, to be published (and run) first, as before.
  Input:  KEYS[1] queued  KEYS[2] published
          ARGV[1] how many entries at most
  Output: how many entries moved
]]
local ids = redis.call('ZRANGE', KEYS[2], -tonumber(ARGV[1]), -1)
for i = #ids, 1, -1 do
  redis.call('RPUSH', KEYS[1], ids[i])
end
if #ids > 0 then redis.call('ZREM', KEYS[2], unpack(ids)) end
return #ids
