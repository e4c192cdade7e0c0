import { createHash } from 'node:crypto';

/**
 * The Lua scripts of the Redis store: each write is one script, so it is
 * atomic and its change is announced in the same step (version, changes
 * sorted set, PUBLISH) — a reader never sees a write without its change.
 *
 * One hash per app holds everything of the app:
 *   secret, secretGen, ticket, ticketAt, n (number of tasks), and per task
 *   `<type>:<sub>` (its "field"): r:<f> registration JSON, g:<f> regGen,
 *   s:<f> fetched state JSON (absent: a new task's state), t:<f> refresh token.
 *
 * Common KEYS: 1 app hash, 2 apps set, 3 the app's slot set, 4 version,
 * 5 changes sorted set, 6 the slot's fence. Common ARGV: 1 appid,
 * 2 the changes channel, 3 the writer's fence ('' = not fenced).
 * A fenced write whose fence is not the slot's current one returns 'FENCED'.
 */
const PRELUDE = `
local function changed()
  local v = redis.call('INCR', KEYS[4])
  redis.call('ZADD', KEYS[5], v, ARGV[1])
  redis.call('PUBLISH', ARGV[2], ARGV[1])
end
if ARGV[3] ~= '' and redis.call('GET', KEYS[6]) ~= ARGV[3] then return 'FENCED' end
`;

/**
 * ARGV 4: '1' when the caller read a stored secret, 5: that stored text,
 * 6: the secret to write ('' = keep the stored one), 7: inline ticket ('' none),
 * 8: now, then per task: field, registration JSON, inline refresh token
 * ('-' none, '+<token>').
 * Returns 'RETRY' when the stored secret changed since the caller read it,
 * else 1 when the app was created, 0 when it existed.
 */
const REGISTER = `
local cur = redis.call('HGET', KEYS[1], 'secret')
if ARGV[4] == '1' then
  if cur ~= ARGV[5] then return 'RETRY' end
elseif cur then return 'RETRY' end
local created = 0
if not cur then
  created = 1
  redis.call('HSET', KEYS[1], 'secret', ARGV[6], 'secretGen', 1, 'n', 0)
  redis.call('SADD', KEYS[2], ARGV[1])
  redis.call('SADD', KEYS[3], ARGV[1])
elseif ARGV[6] ~= '' then
  redis.call('HSET', KEYS[1], 'secret', ARGV[6])
  redis.call('HINCRBY', KEYS[1], 'secretGen', 1)
end
for i = 9, #ARGV, 3 do
  local f = ARGV[i]
  if redis.call('HSETNX', KEYS[1], 'r:' .. f, ARGV[i + 1]) == 1 then
    redis.call('HSET', KEYS[1], 'g:' .. f, 1)
    redis.call('HINCRBY', KEYS[1], 'n', 1)
  else
    redis.call('HSET', KEYS[1], 'r:' .. f, ARGV[i + 1])
    redis.call('HINCRBY', KEYS[1], 'g:' .. f, 1)
  end
  if ARGV[i + 2] ~= '-' then redis.call('HSET', KEYS[1], 't:' .. f, string.sub(ARGV[i + 2], 2)) end
end
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'ticket', ARGV[7], 'ticketAt', ARGV[8]) end
changed()
return created
`;

/** ARGV 4: field, 5: state JSON, 6: refresh token ('-' keep, '0' none, '+<token>'). 1 written, 0 no such task. */
const SAVE_STATE = `
local f = ARGV[4]
if redis.call('HEXISTS', KEYS[1], 'r:' .. f) == 0 then return 0 end
redis.call('HSET', KEYS[1], 's:' .. f, ARGV[5])
if ARGV[6] == '0' then redis.call('HDEL', KEYS[1], 't:' .. f)
elseif ARGV[6] ~= '-' then redis.call('HSET', KEYS[1], 't:' .. f, string.sub(ARGV[6], 2)) end
changed()
return 1
`;

/** ARGV 4: ticket, 5: its time. 1 written, 0 no such app. */
const SAVE_TICKET = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'ticket', ARGV[4], 'ticketAt', ARGV[5])
changed()
return 1
`;

const DELETE_APP = `
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
redis.call('SREM', KEYS[2], ARGV[1])
redis.call('SREM', KEYS[3], ARGV[1])
changed()
return 1
`;

/** ARGV 4: field. The app goes with its last task. */
const DELETE_TASK = `
local f = ARGV[4]
if redis.call('HDEL', KEYS[1], 'r:' .. f, 'g:' .. f, 's:' .. f, 't:' .. f) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[1], 'n', -1) <= 0 then
  redis.call('DEL', KEYS[1])
  redis.call('SREM', KEYS[2], ARGV[1])
  redis.call('SREM', KEYS[3], ARGV[1])
end
changed()
return 1
`;

/** ARGV 4..: the whole hash as field, value pairs. Replaces the app exactly. */
const IMPORT_APP = `
redis.call('DEL', KEYS[1])
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
changed()
return 1
`;

export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

function script(body: string): LuaScript {
  const source = PRELUDE + body;
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

export const SCRIPTS = {
  register: script(REGISTER),
  saveState: script(SAVE_STATE),
  saveTicket: script(SAVE_TICKET),
  deleteApp: script(DELETE_APP),
  deleteTask: script(DELETE_TASK),
  importApp: script(IMPORT_APP),
} as const;
