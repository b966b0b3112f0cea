import { Script } from "./redis-link.ts";

/**
 * The cluster's multi-key changes, each one Lua script so it is atomic and ordered with every
 * other command (cluster.md). Keys are built by the caller from one prefix holding a hash tag
 * (`tsd:{NAME}:`), so a cluster lives in one slot even on Redis Cluster; the member sets of a
 * node are named in the scripts from that prefix (ARGV[1]).
 *
 * Events go to one stream (XADD, MAXLEN ~): a JSON text in field `e`, read by every daemon.
 */

/** The milliseconds of Redis's own clock: the one clock leases are measured on. */
const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/**
 * Lua that takes every record of node (a script's local) still in the online hash off line, each
 * announced left on the stream; the node's member set's name is in `set` after, the count in
 * `left`. ARGV[1] is the prefix; online, events and maxlen name where the script has those.
 */
function takeOffNodeMembers(online: string, events: string, maxlen: string): string {
  return `local set = ARGV[1] .. 'members:' .. node
local left = 0
for _, key in ipairs(redis.call('SMEMBERS', set)) do
  local cur = redis.call('HGET', ${online}, key)
  if cur then
    local c = cjson.decode(cur)
    if c.node == node then
      redis.call('HDEL', ${online}, key)
      redis.call('XADD', ${events}, 'MAXLEN', '~', ${maxlen}, '*', 'e',
        cjson.encode({t = 'line', left = c.name, node = node, sid = c.sid}))
      left = left + 1
    end
  end
end`;
}

/**
 * join: KEYS online, events; ARGV prefix, key, member JSON, node, sid, joined event, maxlen.
 * The newest sign-in wins: a previous session of the account anywhere is taken over (a drop
 * event for its node, nobody told); a first sign-in is announced. Returns the previous member.
 */
export const JOIN = new Script(`
local prev = redis.call('HGET', KEYS[1], ARGV[2])
if prev then
  local p = cjson.decode(prev)
  redis.call('SREM', ARGV[1] .. 'members:' .. p.node, ARGV[2])
  if p.node ~= ARGV[4] then
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*', 'e',
      cjson.encode({t = 'drop', node = p.node, sid = p.sid, takeover = true}))
  end
end
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
redis.call('SADD', ARGV[1] .. 'members:' .. ARGV[4], ARGV[2])
if not prev then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[7], '*', 'e', ARGV[6])
end
return prev or false
`);

/**
 * A node's published record outlives its last line by a day: long past any question about a line
 * in flight, and gone in the end for a node id that is never used again (a default one, killed).
 */
const PUBLISHED_KEEP_MS = 86_400_000;

/**
 * publish a chat line: KEYS events, published (of this node); ARGV event JSON, maxlen, boot, n[,
 * deadline]. The line numbered n of this process (boot) goes on the stream and n is kept as
 * published, in one step, unless the fence has passed n (OUTCOME gave up on it), or Redis's clock
 * has passed the deadline (ms; the line reached Redis that late, after a stall): then nothing is
 * written and the answer is false; a line refused for its deadline is noted (late:N) for OUTCOME,
 * since a later line may still land. Answers the entry's id.
 */
export const PUBLISH_LINE = new Script(`
local cur = redis.call('HMGET', KEYS[2], 'boot', 'seq', 'fence')
local n = tonumber(ARGV[4])
if cur[1] == ARGV[3] and tonumber(cur[3] or '0') >= n then return false end
local deadline = tonumber(ARGV[5] or '0')
if deadline > 0 then
  ${NOW}
  if now > deadline then
    if cur[1] ~= ARGV[3] then
      redis.call('DEL', KEYS[2])
      redis.call('HSET', KEYS[2], 'boot', ARGV[3], 'seq', 0)
    end
    redis.call('HSET', KEYS[2], 'late:' .. n, 1)
    redis.call('PEXPIRE', KEYS[2], ${PUBLISHED_KEEP_MS})
    return false
  end
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'e', ARGV[1])
local seq = n
if cur[1] == ARGV[3] then
  seq = math.max(n, tonumber(cur[2] or '0'))
else
  redis.call('DEL', KEYS[2])
end
redis.call('HSET', KEYS[2], 'boot', ARGV[3], 'seq', seq)
redis.call('PEXPIRE', KEYS[2], ${PUBLISHED_KEEP_MS})
return id
`);

/**
 * outcome: KEYS published (of this node); ARGV boot, fence. After a connection was lost with lines
 * in flight: answers the highest line number of this process that reached the stream (0: none)
 * and the numbers below it refused for their deadline (they did not land), and raises the fence to
 * ARGV[2], so a line at or below it that reaches Redis late (a stale TCP segment) is refused by
 * PUBLISH_LINE: once answered, each line's outcome is final.
 */
export const OUTCOME = new Script(`
local cur = redis.call('HMGET', KEYS[1], 'boot', 'seq', 'fence')
local landed = 0
local fence = tonumber(ARGV[2])
local late = {}
if cur[1] == ARGV[1] then
  landed = tonumber(cur[2] or '0')
  fence = math.max(fence, tonumber(cur[3] or '0'))
  for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(field, 1, 5) == 'late:' then
      table.insert(late, string.sub(field, 6))
      redis.call('HDEL', KEYS[1], field)
    end
  end
else
  redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[1], 'boot', ARGV[1], 'seq', landed, 'fence', fence)
redis.call('PEXPIRE', KEYS[1], ${PUBLISHED_KEEP_MS})
return {landed, late}
`);

/**
 * leave: KEYS online, events; ARGV prefix, key, node, sid, left event, maxlen[, drop event].
 * Only the session that holds the name leaves (a taken-over one has nothing left to leave). The
 * drop event (a kick, a ban of another node's member) goes on the stream in the same step, so a
 * member taken off line is always closed by its node: never announced left and still chatting.
 */
export const LEAVE = new Script(`
local cur = redis.call('HGET', KEYS[1], ARGV[2])
if not cur then return 0 end
local c = cjson.decode(cur)
if c.node ~= ARGV[3] or c.sid ~= ARGV[4] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[2])
redis.call('SREM', ARGV[1] .. 'members:' .. ARGV[3], ARGV[2])
if ARGV[5] ~= '' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'e', ARGV[5])
end
if ARGV[7] and ARGV[7] ~= '' then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'e', ARGV[7])
end
return 1
`);

/** patch: KEYS online; ARGV key, node, sid, new member JSON: replaced only if that session still holds the name. */
export const PATCH = new Script(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
local c = cjson.decode(cur)
if c.node ~= ARGV[2] or c.sid ~= ARGV[3] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[4])
return 1
`);

/**
 * claim a node id at start: KEYS nodes, online, events; ARGV prefix, node, maxlen, lease ms, host, pid.
 * A node id whose lease is live is refused (returns -1). Otherwise what a previous process under
 * this id left (it ended without leaving: kill -9, a power cut, and no other daemon reaped it, as
 * when the whole cluster restarts) is reaped as BEAT reaps a dead node: its members removed and
 * announced left, once. Without this the first beat would renew the id's lease and keep them
 * listed for ever. Then the lease is taken, with the host and pid, in the same step: of two
 * daemons started at once under one new id, exactly one gets it. Returns how many were announced left.
 */
export const CLAIM_NODE = new Script(`
${NOW}
local node = ARGV[2]
local lease = redis.call('ZSCORE', KEYS[1], node)
if lease and tonumber(lease) > now then return -1 end
redis.call('ZREM', KEYS[1], node)
${takeOffNodeMembers("KEYS[2]", "KEYS[3]", "ARGV[3]")}
redis.call('DEL', set)
redis.call('DEL', ARGV[1] .. 'node:' .. node)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), node)
redis.call('HSET', ARGV[1] .. 'node:' .. node, 'host', ARGV[5], 'pid', ARGV[6], 'users', 0, 'seen', now)
return left
`);

/**
 * release a node id at a clean stop: KEYS nodes, online, events, node info, published; ARGV prefix,
 * node, maxlen. The lease and the node's keys go, and so does every record of this node still in
 * online (a leave Redis was never told: a join whose answer was lost), announced left, as
 * CLAIM_NODE does: no record of a stopped node outlives it. Returns how many were announced left.
 */
export const RELEASE_NODE = new Script(`
local node = ARGV[2]
redis.call('ZREM', KEYS[1], node)
${takeOffNodeMembers("KEYS[2]", "KEYS[3]", "ARGV[3]")}
redis.call('DEL', set, KEYS[4], KEYS[5])
return left
`);

/**
 * beat: KEYS nodes, tick, grace, node info, online, events;
 * ARGV prefix, node, lease ms, stall ms, registered (1/0), host, pid, users, maxlen.
 *
 * Renews this node's lease (on Redis's clock) and reaps the nodes whose lease ran out: their
 * members are removed and announced left, each once, whoever runs it first (the ZREM inside the
 * script is the claim). A Redis stall (a restart, DEBUG SLEEP, a long fork) makes every lease look
 * expired at once; it is told from dead nodes by the tick, the last time any node beat: a gap
 * longer than the stall bound means nobody could beat, so every lease gets a grace period instead
 * of being reaped. Answers {status, now, users online, [node, host, pid, users, seen]..., reaped...}:
 * status "lost" when this node was registered but has been reaped (paused past its lease) or
 * forgotten (Redis lost its data): it must sign its members in again.
 */
export const BEAT = new Script(`
${NOW}
local lease = tonumber(ARGV[3])
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
redis.call('SET', KEYS[2], now)
if last > 0 and now - last > tonumber(ARGV[4]) then
  redis.call('SET', KEYS[3], now + lease)
end
local status = 'ok'
if ARGV[5] == '1' and not redis.call('ZSCORE', KEYS[1], ARGV[2]) then status = 'lost' end
redis.call('ZADD', KEYS[1], now + lease, ARGV[2])
redis.call('HSET', KEYS[4], 'host', ARGV[6], 'pid', ARGV[7], 'users', ARGV[8], 'seen', now)
local reaped = {}
local grace = tonumber(redis.call('GET', KEYS[3]) or '0')
if now >= grace then
  local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
  for _, node in ipairs(dead) do
    redis.call('ZREM', KEYS[1], node)
    ${takeOffNodeMembers("KEYS[5]", "KEYS[6]", "ARGV[9]")}
    redis.call('DEL', set)
    redis.call('DEL', ARGV[1] .. 'node:' .. node)
    table.insert(reaped, node)
  end
end
local nodes = {}
for _, node in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local info = redis.call('HMGET', ARGV[1] .. 'node:' .. node, 'host', 'pid', 'users', 'seen')
  table.insert(nodes, {node, info[1] or '', info[2] or '0', info[3] or '0', info[4] or '0'})
end
return {status, now, redis.call('HLEN', KEYS[5]), nodes, reaped}
`);

/**
 * rejoin: KEYS online, events; ARGV prefix, node, maxlen, then member JSON texts.
 * A node that was reaped or forgotten signs its members in again: each is announced joined,
 * unless the account has signed in elsewhere meanwhile (newest wins): those keys are returned,
 * and their sessions here are closed.
 */
export const REJOIN = new Script(`
local taken = {}
for i = 4, #ARGV do
  local m = cjson.decode(ARGV[i])
  local cur = redis.call('HGET', KEYS[1], m.key)
  if cur then
    local c = cjson.decode(cur)
    if c.node ~= ARGV[2] or c.sid ~= m.sid then
      table.insert(taken, m.key)
    else
      redis.call('SADD', ARGV[1] .. 'members:' .. ARGV[2], m.key)
    end
  else
    redis.call('HSET', KEYS[1], m.key, ARGV[i])
    redis.call('SADD', ARGV[1] .. 'members:' .. ARGV[2], m.key)
    redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 'e',
      cjson.encode({t = 'line', joined = m.name, node = ARGV[2], sid = m.sid}))
  end
end
return taken
`);

/**
 * register: KEYS accounts, skeletons; ARGV key, record JSON, skeletons...
 * Unique across the cluster: the name's key must be free and none of its look-alike forms may
 * belong to another account; checked and written in one step.
 */
export const REGISTER = new Script(`
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'taken' end
for i = 3, #ARGV do
  local owner = redis.call('HGET', KEYS[2], ARGV[i])
  if owner and owner ~= ARGV[1] then return 'taken' end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
for i = 3, #ARGV do redis.call('HSETNX', KEYS[2], ARGV[i], ARGV[1]) end
return 'ok'
`);

/** replace: KEYS accounts; ARGV key, the record as read, the new record: written only if unchanged since read. */
export const REPLACE = new Script(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 'gone' end
if cur ~= ARGV[2] then return 'changed' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 'ok'
`);

/** wipe: KEYS accounts, skeletons, addresses: every account gone; answers how many there were. */
export const WIPE = new Script(`
local n = redis.call('HLEN', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return n
`);

/**
 * failed: KEYS the account+address key; ARGV forget ms. A wrong password: the pair's failures
 * grow (from 1 again once it has not failed for `forget`), kept on Redis's clock for `forget`.
 */
export const FAILED = new Script(`
${NOW}
local failures = 1
local cur = redis.call('GET', KEYS[1])
if cur then
  local f, last = string.match(cur, '^(%d+):(%d+)$')
  if f and now - tonumber(last) <= tonumber(ARGV[1]) then failures = tonumber(f) + 1 end
end
redis.call('SET', KEYS[1], failures .. ':' .. now, 'PX', ARGV[1])
return failures
`);

/**
 * pairDelay: KEYS the account+address key; ARGV base ms, max ms. How long this account+address
 * still waits before its next password check: base doubling per failure up to max, less the time
 * since the last failure (the sign-in throttle's pair bound, shared by every daemon).
 */
export const PAIR_DELAY = new Script(`
${NOW}
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local f, last = string.match(cur, '^(%d+):(%d+)$')
if not f then return 0 end
local delay = math.min(tonumber(ARGV[2]), tonumber(ARGV[1]) * 2 ^ (tonumber(f) - 1))
return math.max(0, math.floor(delay - (now - tonumber(last))))
`);

/** remove: KEYS accounts, skeletons; ARGV key, its look-alike forms: the account and the forms it owns gone. */
export const REMOVE = new Script(`
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
for i = 2, #ARGV do
  if redis.call('HGET', KEYS[2], ARGV[i]) == ARGV[1] then redis.call('HDEL', KEYS[2], ARGV[i]) end
end
return 1
`);

/**
 * The changes of the bans and mutes below count themselves in the version key and tell every
 * daemon on the stream; each daemon then reads both hashes again (MODERATION_READ).
 */
const MODERATION_CHANGED = `redis.call('INCR', KEYS[2])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[5], '*', 'e', '{"t":"moderation"}')`;

/**
 * moderation put: KEYS the bans or mutes hash, the version, events; ARGV field, record JSON, now
 * (ms), most entries, maxlen. Records whose until has passed are dropped first (the hash holds
 * what is in force and what has not been pruned yet); a new field past the bound is refused (0).
 */
export const MODERATION_PUT = new Script(`
local now = tonumber(ARGV[3])
local all = redis.call('HGETALL', KEYS[1])
local others = 0
for i = 1, #all, 2 do
  local ok, r = pcall(cjson.decode, all[i + 1])
  local untilMs = ok and type(r) == 'table' and r['until'] or nil
  if type(untilMs) == 'number' and untilMs <= now then
    redis.call('HDEL', KEYS[1], all[i])
  elseif all[i] ~= ARGV[1] then
    others = others + 1
  end
end
if others >= tonumber(ARGV[4]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
${MODERATION_CHANGED}
return 1
`);

/**
 * moderation take: KEYS the bans or mutes hash, the version, events; ARGV field, now (ms), -, -,
 * maxlen. Lifts the entry: 1 if it was in force, 0 if there was none (an expired one is pruned).
 */
export const MODERATION_TAKE = new Script(`
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
local ok, r = pcall(cjson.decode, cur)
local untilMs = ok and type(r) == 'table' and r['until'] or nil
if type(untilMs) == 'number' and untilMs <= tonumber(ARGV[2]) then return 0 end
${MODERATION_CHANGED}
return 1
`);

/** moderation read: KEYS the version, bans, mutes: all three at one moment. */
export const MODERATION_READ = new Script(`
return {redis.call('GET', KEYS[1]) or '', redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[3])}
`);

/**
 * local truth: KEYS nodes, online, accounts; ARGV node, then the account keys of this node's
 * sessions. What Redis holds for each, after this node's reader lost events to the trim (drops
 * among them): false when this node holds no lease (reaped or forgotten: the beat signs its
 * members in again); else one answer per key: its online record, '-' when it is off line, '' when
 * the account itself is gone.
 */
export const LOCAL_TRUTH = new Script(`
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return false end
local out = {}
for i = 2, #ARGV do
  local rec = redis.call('HGET', KEYS[2], ARGV[i])
  if rec then out[i - 1] = rec
  elseif redis.call('HEXISTS', KEYS[3], ARGV[i]) == 1 then out[i - 1] = '-'
  else out[i - 1] = '' end
end
return out
`);
