--[[
  RabbitMQ transport: the relay's read of the channel's outbox (its queued list), oldest first.
  First, tasks an enqueue handed to an idle Redis-transport claimer (enqueueTasks-13, while
  `waiting` counts such claimers: a process of this channel that ran on Redis before a switch to
  RabbitMQ, or died while waiting) are leased to a claimer that no RabbitMQ runner is and would
  sit until their lease lapsed: their hand-off lease is dropped and they go back to the outbox's
  oldest end, and `waiting` is cleared so that enqueues stop handing off.
  Input:  KEYS[1] queued  KEYS[2] handoff  KEYS[3] running  KEYS[4] leases  KEYS[5] waiting
          ARGV[1] how many ids at most
  Output: ids, newest first (the list's order from the oldest end's side: the caller reverses)
]]
if redis.call('EXISTS', KEYS[5]) == 1 then redis.call('DEL', KEYS[5]) end
while true do
  local entry = redis.call('RPOP', KEYS[2])
  if not entry then break end
  local id, token = string.match(entry, '^([^\n]*)\n([^\n]*)\n')
  if id and redis.call('HGET', KEYS[3], id) == token then
    redis.call('HDEL', KEYS[3], id)
    redis.call('ZREM', KEYS[4], id)
    redis.call('RPUSH', KEYS[1], id)
  end
end
return redis.call('LRANGE', KEYS[1], -tonumber(ARGV[1]), -1)
