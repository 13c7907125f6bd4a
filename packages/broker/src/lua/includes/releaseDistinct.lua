-- Drop a task's dedup marker, if the task holds one. Needs: distinctKey, fingerprint ('' for none).
local function releaseDistinct(distinctKey, fingerprint)
  if fingerprint and fingerprint ~= '' then
    redis.call('ZREM', distinctKey, fingerprint)
  end
end
