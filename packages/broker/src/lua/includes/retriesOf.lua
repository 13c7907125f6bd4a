-- A task's retry counts, stored as '<re-runs>:<automatic since the last manual retry>':
-- every re-run after a failure (automatic or manual), and the ones max_retries limits. A bare
-- number (written by older versions, counting failures) reads as both.
local function retriesOf(retriesKey, id)
  local value = redis.call('HGET', retriesKey, id)
  if not value then return 0, 0 end
  local total, round = string.match(value, '^(%d+):(%d+)$')
  if total then return tonumber(total), tonumber(round) end
  local failures = tonumber(value) or 0
  return failures, failures
end
