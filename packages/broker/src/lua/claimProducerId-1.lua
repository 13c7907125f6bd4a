--[[
  Claim a producer-chosen task id for a channel, across channels: ids are unique in the whole
  deployment, and channels live in different Cluster slots, so this one-key index is written in
  its own step before the channel accepts the task (and released if the channel refuses it).
  A claim lives a short pending ttl until the channel has accepted the task ('keep' then gives it
  the task's ttl), so a claim whose push is still on its way is told from one whose task is gone.
  Input:  KEYS[1] the id's index key
          ARGV[1] channel  ARGV[2] ttl ms  ARGV[3] the owner it may replace ('' none: only a free id)
          ARGV[4] 'claim', 'keep' (the channel accepted: live ttl ms) or 'release' (delete);
          keep and release act only if the channel still holds the id
  Output: claim: { 1, prior owner or '' } taken for the channel (one the channel holds is left
          as it is), or { 0, owner, its PTTL } held by another; keep, release: { 1, '' } done, { 0, owner } left alone
]]
local owner = redis.call('GET', KEYS[1])
if ARGV[4] == 'release' or ARGV[4] == 'keep' then
  if owner == ARGV[1] then
    if ARGV[4] == 'keep' then
      redis.call('PEXPIRE', KEYS[1], ARGV[2])
    else
      redis.call('DEL', KEYS[1])
    end
    return { 1, '' }
  end
  return { 0, owner or '' }
end
if owner == ARGV[1] then
  return { 1, owner }
end
if not owner or owner == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return { 1, owner or '' }
end
return { 0, owner, redis.call('PTTL', KEYS[1]) }
