--[[
  Claim a producer-chosen task id for a channel, across channels: ids are unique in the whole
  deployment, and channels live in different Cluster slots, so this one-key index is written in
  its own step before the channel accepts the task (and released if the channel refuses it).
  Input:  KEYS[1] the id's index key
          ARGV[1] channel  ARGV[2] ttl ms  ARGV[3] the owner it may replace ('' none: only a free id)
          ARGV[4] 'claim' or 'release' (release: delete only if the channel still holds it)
  Output: claim: { 1, prior owner or '' } taken for the channel, or { 0, owner } held by another;
          release: { 1, '' } deleted, { 0, owner } left alone
]]
local owner = redis.call('GET', KEYS[1])
if ARGV[4] == 'release' then
  if owner == ARGV[1] then
    redis.call('DEL', KEYS[1])
    return { 1, '' }
  end
  return { 0, owner or '' }
end
if not owner or owner == ARGV[1] or owner == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return { 1, owner or '' }
end
return { 0, owner }
