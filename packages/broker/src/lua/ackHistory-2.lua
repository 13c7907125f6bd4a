--[[
  Forget the oldest runs of a channel's history outbox once SQL holds them. Runs are only ever
  pushed on the left and only the lease holder trims on the right, so the `count` rightmost runs
  are exactly the ones it read.
  Input:  KEYS[1] history outbox  KEYS[2] history lock  ARGV[1] writer token  ARGV[2] count
  Output: 1 trimmed; 0 the lease was lost (the runs stay: whoever holds it now copies them
          again, harmless since SQL skips a run it has)
]]
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('LTRIM', KEYS[1], 0, -(tonumber(ARGV[2]) + 1))
return 1
