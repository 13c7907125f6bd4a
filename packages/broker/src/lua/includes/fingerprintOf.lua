-- The dedup fingerprint stored in a task's spec, or '' when the spec is gone or has none.
local function fingerprintOf(tasksKey, id)
  local spec = redis.call('HGET', tasksKey, id)
  if not spec then return '' end
  local ok, decoded = pcall(cjson.decode, spec)
  if ok and type(decoded) == 'table' and type(decoded.fingerprint) == 'string' then
    return decoded.fingerprint
  end
  return ''
end
