-- The save script of parcelbot before the store kept copies of the
-- processed-input lists (until December 2026): a replica still running it
-- during a rolling upgrade shares sessions with the current one.
local cur = redis.call('HMGET', KEYS[1], 'v', 's', 'n', 'pf', 'x')
local v = tonumber(cur[1]) or 0
local seen = cur[2] or '\n'
if seen == '' then seen = '\n' end
local id = ARGV[3]
if id ~= '' and string.find(seen, '\n' .. id .. '\n', 1, true) then return -1 end
if v ~= tonumber(ARGV[1]) then return -2 end
if cur[4] and #seen > 1 then
  -- the previous input left work whose mark was lost: the list's last id
  local j = #seen - 1
  local i = j
  while i > 1 and string.byte(seen, i - 1) ~= 10 do i = i - 1 end
  redis.call('HDEL', KEYS[1], 'p', 'p:' .. string.sub(seen, i, j))
end
local n = tonumber(cur[3])
if id ~= '' then
  if not n then -- a session saved before the count was kept
    n = select(2, string.gsub(seen, '\n', '')) - 1
  end
  seen = seen .. id .. '\n'
  n = n + 1
  local keep = tonumber(ARGV[5])
  while n > keep do
    -- drop the oldest id: keep from the newline that ends it
    local i = string.find(seen, '\n', 2, true)
    seen = string.sub(seen, i)
    n = n - 1
  end
end
v = v + 1
-- the TTLs are renewed once a period (ARGV[9]): 'x' is the last period
-- both were, so it is set only by a save that appends to the transcript
local renew = cur[5] ~= ARGV[9]
local x = renew and #ARGV > 9 and ARGV[9] or cur[5] or ''
if id ~= '' and ARGV[8] ~= '' then
  redis.call('HSET', KEYS[1], 'v', v, 'd', ARGV[2], 's', seen, 'n', n, 'x', x, 'p:' .. id, ARGV[8], 'pf', 1)
else
  redis.call('HSET', KEYS[1], 'v', v, 'd', ARGV[2], 's', seen, 'n', n or 0, 'x', x)
end
if renew then
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
if #ARGV > 9 then
  local keep = tonumber(ARGV[7])
  local len = redis.call('RPUSH', KEYS[2], unpack(ARGV, 10))
  if len > keep + math.floor(keep / 8) then
    redis.call('LTRIM', KEYS[2], -keep, -1)
  end
  if renew or len == #ARGV - 9 then -- a new list has no TTL yet
    redis.call('PEXPIRE', KEYS[2], ARGV[6])
  end
end
return v
