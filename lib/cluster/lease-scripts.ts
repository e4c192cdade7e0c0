/**
 * The Lua scripts of the leases: each runs atomically in Redis, so that a
 * lease is taken with its new fence, renewed only while still ours and
 * deleted only by its holder.
 */

/**
 * Take every free lease of KEYS (lease, fence pairs): a new fence
 * (INCR) and `<instanceId>|<fence>` with the lease's expiry. Answers the
 * fence taken per pair, 0 where the lease was held.
 * ARGV: instanceId, leaseMs.
 */
export const ACQUIRE = `
local out = {}
for i = 1, #KEYS, 2 do
  if redis.call('EXISTS', KEYS[i]) == 0 then
    local fence = redis.call('INCR', KEYS[i + 1])
    redis.call('SET', KEYS[i], ARGV[1] .. '|' .. fence, 'PX', ARGV[2])
    out[#out + 1] = fence
  else
    out[#out + 1] = 0
  end
end
return out`;

/**
 * Renew the leases KEYS[3..] that still hold the values ARGV[5..], mark the
 * instance alive (KEYS[1] = this process's run token ARGV[4], same expiry)
 * and write its heartbeat into the hash KEYS[2]. Answers 1 per lease
 * renewed, 0 per lease lost; or -1 alone, touching nothing, when another
 * live process holds the alive key (two instances with one id).
 * ARGV: leaseMs, instanceId, heartbeat JSON, run token, expected values.
 */
export const RENEW = `
local running = redis.call('GET', KEYS[1])
if running and running ~= ARGV[4] then
  return { -1 }
end
redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[1])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
local out = {}
for i = 3, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i + 2] then
    redis.call('PEXPIRE', KEYS[i], ARGV[1])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out`;

/**
 * The cluster as one snapshot: the value of every lease KEYS[2..] and the
 * heartbeat of every live instance of the hash KEYS[1]; the entries of
 * instances no longer alive (no key ARGV[1]..id) are removed.
 * Answers { lease values (false = none), [id, heartbeat, id, heartbeat…] }.
 */
export const VIEW = `
local leases = {}
for i = 2, #KEYS do
  leases[#leases + 1] = redis.call('GET', KEYS[i])
end
local live = {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if redis.call('EXISTS', ARGV[1] .. all[i]) == 1 then
    live[#live + 1] = all[i]
    live[#live + 1] = all[i + 1]
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
return { leases, live }`;

/** Delete the leases KEYS that still hold the values ARGV (compare and delete). Answers how many. */
export const RELEASE = `
local n = 0
for i = 1, #KEYS do
  if redis.call('GET', KEYS[i]) == ARGV[i] then
    redis.call('DEL', KEYS[i])
    n = n + 1
  end
end
return n`;

/** Leave the cluster: delete the alive key KEYS[1] if it holds this run's token ARGV[2], and the heartbeat of ARGV[1] in the hash KEYS[2]. */
export const LEAVE = `
if redis.call('GET', KEYS[1]) == ARGV[2] then
  redis.call('DEL', KEYS[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return 1`;
